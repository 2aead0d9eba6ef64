"""The Rasa server's figures, recorded in this process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from rasa.core.lock_store import LockError
from sqlalchemy.exc import OperationalError

from cluster.services import rasa_environment
from metrics import assistant  # this process's metrics folder is made here
from stores.tracker_store import TrackerStoreUnavailable
from tests.conftest import REPO_ROOT
from tests.prometheus_text import in_this_process, total


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (LockError("busy"), "lock"),
        (OperationalError("SELECT", {}, Exception("down")), "database"),
        (TrackerStoreUnavailable("save"), "database"),
        (KeyError("bug"), "other"),
    ],
)
def test_a_failure_is_put_down_to_what_an_operator_would_check(
    error: Exception, cause: str
) -> None:
    assert assistant.failure_cause(error) == cause


def test_a_parse_counts_its_intent_language_and_fallback() -> None:
    before = in_this_process()
    chinese = [{"entity": "language", "value": "zh"}]
    assistant.record_parse({"intent": {"name": "greet"}, "entities": chinese}, 0.02)
    assistant.record_parse({"intent": {"name": "nlu_fallback"}, "entities": []}, 0.03)
    assistant.record_parse({"text": "/restart"}, 0.001)  # no intent at all
    after = in_this_process()

    def grew(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert grew("assistant_intents_total", intent="greet", language="zh") == 1
    assert grew("assistant_intents_total", intent="nlu_fallback", language="none") == 1
    assert grew("assistant_intents_total", intent="none") == 1
    assert grew("assistant_fallbacks_total") == 1
    assert grew("assistant_parse_seconds_count") == 3
    assert grew("assistant_parse_seconds_sum") == pytest.approx(0.051)


def test_prometheus_client_imported_first_is_refused_loudly() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import prometheus_client, metrics"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "prometheus_client was imported before metrics/" in result.stderr


def test_a_server_started_from_here_counts_only_itself() -> None:
    own = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    assert "PROMETHEUS_MULTIPROC_DIR" not in rasa_environment()
    chosen = rasa_environment(PROMETHEUS_MULTIPROC_DIR="/srv/figures")
    assert chosen["PROMETHEUS_MULTIPROC_DIR"] == "/srv/figures" != own
