"""nginx in front of the replicas: limits and failures answered in the chat's own words.

Runs the cluster's real nginx configuration (cluster/nginx.conf) with tight
limits and no Rasa behind it, so every answer here is nginx's own.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from cluster.services import Service, free_port, nginx
from cluster.topology import Cluster, ClusterSettings

RATE_PER_CLIENT = 2
BURST_PER_CLIENT = 3


@pytest.fixture(scope="module")
def front(trained_model: Path) -> Iterator[tuple[Cluster, Service]]:
    state = Path(tempfile.mkdtemp(prefix="nginx-limits-"))
    settings = ClusterSettings(
        state=state,
        model=trained_model,
        port=free_port(),
        rate_per_client=RATE_PER_CLIENT,
        burst_per_client=BURST_PER_CLIENT,
    )
    cluster = Cluster(settings)
    (state / "log").mkdir()
    server = nginx(state, cluster.nginx_config(), settings.port)
    server.start(30)
    try:
        yield cluster, server
    finally:
        server.stop()


def post(cluster: Cluster, body: object) -> requests.Response:
    return requests.post(f"{cluster.url}/webhooks/rest/webhook", json=body, timeout=10)


def test_no_replica_gets_an_apology_not_an_error_page(
    front: tuple[Cluster, Service],
) -> None:
    """First in this module: later tests use up the rate limit."""
    cluster, _ = front
    response = requests.get(f"{cluster.url}/webhooks/rest/", timeout=10)
    assert response.status_code in (502, 503)  # nginx keeps the upstream status
    assert "trouble on my side" in response.json()[0]["text"]


def test_too_many_messages_get_a_friendly_429(
    front: tuple[Cluster, Service],
) -> None:
    cluster, _ = front
    responses = [post(cluster, {"sender": "fast", "message": "hi"}) for _ in range(12)]
    limited = [response for response in responses if response.status_code == 429]
    assert len(limited) >= 12 - (BURST_PER_CLIENT + RATE_PER_CLIENT + 1)
    [message] = limited[0].json()
    assert "faster than I can read them" in message["text"]


def test_a_huge_message_gets_a_friendly_413(front: tuple[Cluster, Service]) -> None:
    cluster, _ = front
    response = post(cluster, {"sender": "long", "message": "x" * 20_000})
    assert response.status_code == 413
    assert "too long for me" in response.json()[0]["text"]


def test_a_missing_action_server_is_answered_for(
    front: tuple[Cluster, Service],
) -> None:
    cluster, _ = front
    response = requests.post(
        f"http://127.0.0.1:{cluster.actions_proxy_port}/webhook",
        json={"next_action": "action_order_followup"},
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json() == {
        "events": [],
        "responses": [{"response": "utter_db_unavailable"}],
    }


def test_rasas_http_api_is_not_public(front: tuple[Cluster, Service]) -> None:
    cluster, _ = front
    for path in ("/conversations/someone/tracker", "/status", "/model/parse"):
        response = requests.get(f"{cluster.url}{path}", timeout=10)
        assert response.status_code == 404, path
