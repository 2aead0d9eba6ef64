"""Debian's Prometheus scrapes the cluster with deploy/prometheus/'s configuration."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
import requests

from cluster.topology import Cluster
from tests.cluster.conftest import say
from tests.deploy.test_monitoring import METRIC_NAME, alert_rules, dashboard_expressions
from tests.prometheus_text import scrape, total

pytestmark = pytest.mark.e2e


def query(cluster: Cluster, expression: str) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{cluster.prometheus_url}/api/v1/query",
        params={"query": expression},
        timeout=10,
    ).json()
    assert answer["status"] == "success", (expression, answer)
    return answer["data"]["result"]


def scalar(cluster: Cluster, expression: str) -> float | None:
    result = query(cluster, expression)
    return float(result[0]["value"][1]) if result else None


def test_prometheus_reads_every_server_and_agrees_with_them(cluster: Cluster) -> None:
    for n in range(3):
        sender = f"prometheus-{n}-{uuid.uuid4().hex[:8]}"
        assert say(cluster.url, sender, "hello").ok
        assert say(cluster.url, sender, "hey do u guys ship to canada??").ok
    replicas = [f"{cluster.replica_url(i)}/metrics" for i in range(2)]
    messages = sum(total(scrape(url), "assistant_messages_total") for url in replicas)
    actions = total(
        scrape(f"http://127.0.0.1:{cluster.actions_port}/metrics"),
        "assistant_kb_questions_total",
    )
    assert messages >= 6 and actions >= 3

    deadline = time.monotonic() + 60  # many scrape intervals
    while time.monotonic() < deadline:
        seen = scalar(cluster, "sum(assistant_messages_total)")
        if seen == messages:
            break
        time.sleep(1)
    by_target = query(cluster, "sum by (instance) (assistant_messages_total)")
    assert seen == messages, (by_target, query(cluster, "up"))
    assert scalar(cluster, "sum(assistant_kb_questions_total)") == actions

    up = {
        (series["metric"]["job"], series["metric"]["instance"]): series["value"][1]
        for series in query(cluster, 'up{job=~"rasa|actions"}')
    }
    assert sorted(job for job, _ in up) == ["actions", "rasa", "rasa"]
    assert set(up.values()) == {"1"}


def test_the_alert_rules_evaluate_without_errors(cluster: Cluster) -> None:
    time.sleep(3)  # at least one evaluation after start-up
    groups = requests.get(f"{cluster.prometheus_url}/api/v1/rules", timeout=10).json()
    rules = [rule for group in groups["data"]["groups"] for rule in group["rules"]]
    assert {rule["name"] for rule in rules} == {rule["alert"] for rule in alert_rules()}
    for rule in rules:
        assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))


def test_the_dashboard_queries_run_on_series_that_exist(cluster: Cluster) -> None:
    names = requests.get(
        f"{cluster.prometheus_url}/api/v1/label/__name__/values", timeout=10
    ).json()["data"]
    for expression in dashboard_expressions():
        query(cluster, expression)  # valid PromQL, accepted by Prometheus
        assert set(METRIC_NAME.findall(expression)) <= set(names), expression


def test_metrics_are_not_public(cluster: Cluster) -> None:
    assert requests.get(f"{cluster.url}/metrics", timeout=10).status_code == 404
    assert requests.get(f"{cluster.replica_url(0)}/metrics", timeout=10).ok
