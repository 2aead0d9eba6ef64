"""The analytics page through the cluster's nginx, on PostgreSQL."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timezone

import pytest
import requests

from cluster.topology import Cluster
from tests.cluster.conftest import ANALYTICS_TOKEN, say

pytestmark = pytest.mark.e2e


def test_the_page_is_behind_its_login_on_the_public_port(cluster: Cluster) -> None:
    page = requests.get(f"{cluster.url}/analytics", timeout=60)
    assert page.status_code == 401 and 'name="token"' in page.text
    wrong = {"Authorization": "Bearer not-the-token"}
    assert (
        requests.get(f"{cluster.url}/analytics", headers=wrong, timeout=60).status_code
        == 401
    )
    auth = {"Authorization": f"Bearer {ANALYTICS_TOKEN}"}
    page = requests.get(f"{cluster.url}/analytics", headers=auth, timeout=60)
    assert page.status_code == 200 and "data-figure" in page.text


def test_a_conversation_through_nginx_is_counted_today(cluster: Cluster) -> None:
    auth = {"Authorization": f"Bearer {ANALYTICS_TOKEN}"}
    day = datetime.now(timezone.utc).date().isoformat()
    url = f"{cluster.url}/analytics/csv/summary.csv"

    def conversations_today() -> int:
        answer = requests.get(
            url, params={"from": day, "to": day}, headers=auth, timeout=60
        )
        assert answer.status_code == 200, answer.text
        return int(dict(csv.reader(io.StringIO(answer.text)))["conversations"])

    before = conversations_today()
    sender = f"analytics-{uuid.uuid4().hex[:8]}"
    assert say(cluster.url, sender, "hi").ok
    assert say(cluster.url, sender, "how long does shipping take?").ok
    assert conversations_today() == before + 1
