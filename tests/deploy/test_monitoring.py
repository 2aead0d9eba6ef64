"""deploy/prometheus/ and deploy/grafana/: valid, tested rules, real metric names."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import REPO_ROOT

PROMETHEUS_DIR = REPO_ROOT / "deploy" / "prometheus"
DASHBOARD = REPO_ROOT / "deploy" / "grafana" / "assistant-dashboard.json"
METRIC_NAME = re.compile(r"\b(assistant_[a-z_]+)\b")


def defined_metric_names() -> set[str]:
    """The series names the servers' metrics/ modules can put on /metrics."""
    from metrics import Counter, Histogram, actions, assistant

    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
    names = set()
    for module in (assistant, actions):
        for value in vars(module).values():
            if isinstance(value, (Counter, Histogram)):
                [family] = value.describe()
                names |= {family.name + suffix for suffix in suffixes[family.type]}
    return names


def alert_rules() -> list[dict]:
    groups = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel["targets"]]


def promtool(*args: str) -> subprocess.CompletedProcess:
    if shutil.which("promtool") is None:
        pytest.fail("promtool is missing: make system-packages installs Prometheus")
    return subprocess.run(
        ["promtool", *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True
    )


@pytest.mark.servers
def test_promtool_accepts_the_configuration_and_the_rules() -> None:
    checked = promtool("check", "config", "prometheus.yml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in checked.stdout


@pytest.mark.servers
def test_every_alert_fires_on_its_unit_test_series() -> None:
    tested = promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0, tested.stdout + tested.stderr
    cases = (PROMETHEUS_DIR / "alerts.test.yml").read_text()
    for rule in alert_rules():
        # Each alert is expected to fire somewhere (not only to stay quiet).
        assert re.search(
            rf"alertname: {rule['alert']}\n\s+exp_alerts:\n\s+- exp_labels", cases
        ), rule["alert"]


def test_rules_and_dashboard_read_only_series_the_servers_expose() -> None:
    defined = defined_metric_names()
    assert "assistant_messages_total" in defined
    assert "assistant_action_seconds_bucket" in defined
    used = {
        name
        for expression in [rule["expr"] for rule in alert_rules()]
        + dashboard_expressions()
        for name in METRIC_NAME.findall(expression)
    }
    assert used - defined == set()
    assert len(used) >= 10


def test_the_dashboard_asks_for_its_prometheus_and_explains_every_panel() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    [source] = dashboard["__inputs"]
    assert source["pluginId"] == "prometheus"
    variable = "${" + source["name"] + "}"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) >= 10
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == variable, panel["title"]
        assert panel["description"] and panel["targets"], panel["title"]


def test_compose_runs_the_prometheus_release_that_is_tested() -> None:
    compose = yaml.safe_load((REPO_ROOT / "deploy" / "docker-compose.yml").read_text())
    prometheus = compose["services"]["prometheus"]
    assert "ports" not in prometheus
    assert "./prometheus:/etc/prometheus:ro" in prometheus["volumes"]
    if shutil.which("prometheus"):
        version = subprocess.run(
            ["prometheus", "--version"], capture_output=True, text=True
        ).stdout
        release = re.search(r"version (\d+\.\d+)", version)[1]
        assert prometheus["image"].startswith(f"prom/prometheus:v{release}.")
    scrape = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in scrape["scrape_configs"]}
    assert set(jobs) == {"rasa", "actions"}
    for name, job in jobs.items():
        [target] = job["dns_sd_configs"]
        assert target["names"] == [name] and name in compose["services"]
