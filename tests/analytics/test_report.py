"""``python -m analytics report`` (``make report``): the page as a static file."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest

from analytics import traffic
from analytics.__main__ import period_of, watch_round
from analytics.page import CARDS, written
from tests.analytics.known_traffic import START, conversations, expected
from tests.analytics.test_alerts import END, SURGE, WATCHED, surge_traffic
from tests.conftest import REPO_ROOT, offline_env

FIRST = START.date().isoformat()


def report(args: list[str], tracker, business) -> subprocess.CompletedProcess:
    env = offline_env(
        TRACKER_DATABASE_URL=str(tracker.url), DATABASE_URL=str(business.url)
    )
    return subprocess.run(
        [sys.executable, "-m", "analytics", "report", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_report_is_the_page_for_the_chosen_days(databases, tmp_path) -> None:
    tracker, business = databases
    written_conversations = conversations()
    traffic.write(tracker, business, written_conversations)
    truth = expected(written_conversations, period_of(FIRST, FIRST))
    out = tmp_path / "report.html"

    done = report(
        ["--from", FIRST, "--to", FIRST, "--out", str(out)], tracker, business
    )

    assert done.returncode == 0, done.stderr
    assert f"{truth['conversations']} conversations" in done.stdout
    assert "matplotlib" not in done.stderr  # no screenful about its internals
    html = out.read_text()
    assert html.count("<svg") == 8 and "<script" not in html
    styles = {name: style for name, _, style in CARDS}
    for name in ("conversations", "containment", "negative_share", "csat_score"):
        shown = written(truth[name], styles[name])
        assert f'data-figure="{name}"' in html and f">{shown}<" in html, name
    assert 'name="token"' not in html and "<form" not in html


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_bad_date_is_explained_not_a_traceback(databases, tmp_path) -> None:
    done = report(["--from", "yesterday"], *databases)

    assert done.returncode == 2
    assert "YYYY-MM-DD" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_report_shows_the_alerts_raised_in_its_period(databases, tmp_path) -> None:
    tracker, business = databases
    traffic.write(tracker, business, surge_traffic(surge=True))
    watch_round(tracker, business, SURGE + timedelta(hours=4))
    out = tmp_path / "report.html"
    last_day = (END - timedelta(days=1)).date().isoformat()

    done = report(
        ["--from", WATCHED.date().isoformat(), "--to", last_day, "--out", str(out)],
        tracker,
        business,
    )

    assert done.returncode == 0, done.stderr
    html = out.read_text()
    assert 'id="alerts"' in html and "all messages" in html
    assert 'data-table="alert_reach"' in html
    assert "volume, a surge in all messages that began at" in html
    before = report(["--to", (SURGE - timedelta(days=1)).date().isoformat(),
                     "--out", str(out)], tracker, business)  # fmt: skip
    assert before.returncode == 0 and 'id="alerts"' not in out.read_text()
