"""One multi-replica cluster (cluster/topology.py) shared by the cluster tests.

Real PostgreSQL, Redis, RabbitMQ, nginx, action server and two Rasa replicas,
installed from Debian packages if missing and started in a temporary directory.
A part that cannot start fails the tests; nothing is skipped. Fault tests put
every part back before they end, so the next test finds the whole cluster.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from cluster.services import free_port
from cluster.topology import Cluster, ClusterSettings

REPLY_TIMEOUT_S = 60
ANALYTICS_TOKEN = secrets.token_hex(16)  # the page is on in the test cluster


@pytest.fixture(scope="session")
def cluster(trained_model: Path) -> Iterator[Cluster]:
    # Not under pytest's tmp dir: PostgreSQL runs as its own account, which must be
    # able to reach its data directory (pytest's tmp dirs are private to root).
    state = Path(tempfile.mkdtemp(prefix="cluster-test-"))
    state.chmod(0o755)
    # Every test client is 127.0.0.1: per-client limits high enough for the tests.
    settings = ClusterSettings(
        state=state,
        model=trained_model,
        replicas=2,
        port=free_port(),
        rate_per_client=1000,
        burst_per_client=1000,
        connections_per_client=1000,
        api_token=secrets.token_hex(24),
        scrape_interval_s=1,
        models_dir=state / "models",
        model_pull_s=5,
        extra_env={"ANALYTICS_TOKEN": ANALYTICS_TOKEN},
    )
    running = Cluster(settings)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        shutil.rmtree(state, ignore_errors=True)


def say(base_url: str, sender: str, text: str) -> requests.Response:
    return requests.post(
        f"{base_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        timeout=REPLY_TIMEOUT_S,
    )


def texts(response: requests.Response) -> str:
    return "\n".join(message.get("text", "") for message in response.json())


def stored_events(
    replica_urls: list[str], api_token: str, sender: str
) -> list[dict[str, Any]]:
    """The conversation as stored, read through the first replica that answers."""
    error: Exception | None = None
    for url in replica_urls:
        try:
            response = requests.get(
                f"{url}/conversations/{sender}/tracker",
                params={"token": api_token, "include_events": "ALL"},
                timeout=REPLY_TIMEOUT_S,
            )
            response.raise_for_status()
            return response.json()["events"]
        except requests.RequestException as failed:
            error = failed
    raise AssertionError(f"no replica answered for {sender}: {error}")


def tracker_events(cluster: Cluster, sender: str) -> list[dict[str, Any]]:
    """The conversation as stored, read through a running replica's HTTP API."""
    running = [
        cluster.replica_url(index)
        for index, service in enumerate(cluster.replicas)
        if service.running
    ]
    assert cluster.api_token is not None
    return stored_events(running, cluster.api_token, sender)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the fault scenarios' figures after the run, pass or fail."""
    from tests.cluster.test_faults import REPORTS

    if REPORTS:
        terminalreporter.section("fault injection")
        for report in REPORTS:
            terminalreporter.write_line(report.line())
