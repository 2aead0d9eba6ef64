"""The action server's /metrics with two Sanic workers and no database."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.conftest import RASA, offline_env
from tests.prometheus_text import scrape, total
from tests.servers import free_port, start, stop, wait_until_up

CALLS = {"action_handoff": 12, "action_that_does_not_exist": 8}


def _call(port: int, action: str) -> int:
    body = {
        "next_action": action,
        "sender_id": "metrics-test",
        "tracker": {
            "sender_id": "metrics-test",
            "slots": {},
            "latest_message": {"text": "a person please"},
            "events": [],
            "active_loop": {},
        },
        "domain": {},
        "version": "3.6.21",
    }
    return requests.post(
        f"http://127.0.0.1:{port}/webhook", json=body, timeout=30
    ).status_code


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory):
    workdir = tmp_path_factory.mktemp("action-server")
    figures = workdir / "figures"
    figures.mkdir()
    port = free_port()
    env = offline_env(
        ACTION_SERVER_SANIC_WORKERS="2",
        PROMETHEUS_MULTIPROC_DIR=str(figures),
        # Nothing listens there: every action that needs the database apologises.
        DATABASE_URL=f"postgresql+psycopg2://nobody@127.0.0.1:{free_port()}/none",
    )
    log = workdir / "actions.log"
    process = start([str(RASA), "run", "actions", "--port", str(port)], log, env)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", process, log, lambda r: r.ok)
        yield port, figures
    finally:
        stop(process)


def test_every_scrape_adds_up_both_workers(two_workers: tuple[int, Path]) -> None:
    port, figures = two_workers
    calls = [action for action, times in CALLS.items() for _ in range(times)]
    with ThreadPoolExecutor(4) as pool:  # concurrent, so both workers answer
        statuses = list(pool.map(lambda action: _call(port, action), calls))
    assert statuses == [200 if a == "action_handoff" else 404 for a in calls]

    # A worker writes its timings to a file of its own once it answers a call:
    # both did, so a scrape reaching either must add up the other's too.
    assert len(list(figures.glob("histogram_*.db"))) == 2
    for _ in range(10):
        samples = scrape(f"http://127.0.0.1:{port}/metrics")
        runs = "assistant_action_runs_total"
        assert total(samples, runs, action="action_handoff", outcome="ok") == 12
        assert (
            total(
                samples,
                runs,
                action="action_that_does_not_exist",
                outcome="unknown_action",
            )
            == 8
        )
        assert total(samples, "assistant_action_seconds_count") == 20
        assert total(samples, "assistant_action_database_errors_total") == 12
        assert total(samples, "assistant_handoffs_total") == 0  # no ticket opened
