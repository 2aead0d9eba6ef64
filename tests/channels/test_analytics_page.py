"""The analytics page on the real stack (scripts/serve.sh), in headless Chromium.

Two days of generated conversations whose figures are known
(tests/analytics/known_traffic.py) are written into the stack's own databases;
the page must show exactly those figures, draw every plot, offer every table as
CSV, and stay closed to anyone without the token. A conversation held over
REST today must appear in today's figures.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from playwright.sync_api import Browser, Page

from actions.db.engine import make_engine
from analytics import traffic
from analytics.__main__ import period_of
from analytics.page import CARDS, written
from tests.analytics.known_traffic import START, conversations, expected
from tests.channels.conftest import Stack
from tests.channels.test_web_widget import ARTIFACTS, browser  # noqa: F401

pytestmark = pytest.mark.e2e

FIRST, LAST = START.date().isoformat(), (START.date() + timedelta(days=1)).isoformat()
PLOTS = (
    "conversations",
    "outcomes",
    "handoffs",
    "intents",
    "intent_trend",
    "csat",
    "sentiment",
    "sentiment_by_intent",
)


@pytest.fixture(scope="module")
def known(stack: Stack) -> dict:
    """The generated conversations, written once into the stack's databases."""
    tracker, business = make_engine(stack.tracker_url), make_engine(stack.database_url)
    try:
        written_conversations = conversations()
        traffic.write(tracker, business, written_conversations)
    finally:
        tracker.dispose()
        business.dispose()
    return expected(written_conversations, period_of(FIRST, LAST))


def signed_in(browser: Browser, stack: Stack) -> Page:  # noqa: F811
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(f"{stack.rasa_url}/analytics")
    page.fill("input[name=token]", stack.analytics_token)
    page.click("button[type=submit]")
    page.wait_for_selector("[data-figure=conversations]")
    return page


def test_the_page_shows_the_known_figures_and_draws_every_plot(
    stack: Stack,
    known: dict,
    browser: Browser,  # noqa: F811
) -> None:
    page = signed_in(browser, stack)
    page.goto(f"{stack.rasa_url}/analytics?from={FIRST}&to={LAST}")

    styles = {name: style for name, _, style in CARDS}
    for name in (
        "conversations",
        "customer_messages",
        "containment",
        "resolution_confirmed",
        "resolution_assumed",
        "fallback_rate",
        "negative_share",
        "reply_time_p50",
        "csat_score",
    ):
        shown = page.inner_text(f"[data-figure={name}] .value")
        assert shown == written(known[name], styles[name]), name
    for name in PLOTS:
        box = page.locator(f"[data-plot={name}] svg").bounding_box()
        assert box and box["width"] > 200 and box["height"] > 80, name
    bars = page.locator("[data-plot=handoffs] svg path, [data-plot=handoffs] svg rect")
    assert bars.count() >= len(known["handoffs"])
    handoffs = page.locator("table[data-table=handoffs] tr")
    assert handoffs.count() == len(known["handoffs"]) + 1  # and the header
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "analytics-page.png"), full_page=True)
    page.emulate_media(media="print")
    assert not page.locator("form.picker").is_visible()
    page.close()


def test_every_table_downloads_as_csv_with_the_same_figures(
    stack: Stack, known: dict
) -> None:
    auth = {"Authorization": f"Bearer {stack.analytics_token}"}
    period = {"from": FIRST, "to": LAST}
    url = f"{stack.rasa_url}/analytics/csv"
    summary = requests.get(
        f"{url}/summary.csv", params=period, headers=auth, timeout=60
    )
    assert summary.status_code == 200
    assert summary.headers["content-type"].startswith("text/csv")
    rows = dict(csv.reader(io.StringIO(summary.text)))
    assert int(rows["conversations"]) == known["conversations"]
    assert float(rows["containment"]) == pytest.approx(known["containment"])
    handoffs = requests.get(
        f"{url}/handoffs.csv", params=period, headers=auth, timeout=60
    )
    table = list(csv.DictReader(io.StringIO(handoffs.text)))
    assert {row["reason"]: int(row["tickets"]) for row in table} == dict(
        known["handoffs"]
    )
    unknown = requests.get(
        f"{url}/nonsense.csv", params=period, headers=auth, timeout=60
    )
    assert unknown.status_code == 404 and "tables:" in unknown.text


def test_the_page_and_its_tables_are_closed_without_the_token(stack: Stack) -> None:
    page = requests.get(f"{stack.rasa_url}/analytics", timeout=30)
    assert page.status_code == 401 and 'name="token"' in page.text
    assert "Conversations" not in page.text
    table = requests.get(f"{stack.rasa_url}/analytics/csv/summary.csv", timeout=30)
    assert table.status_code == 401
    wrong = requests.post(
        f"{stack.rasa_url}/analytics/login", data={"token": "guess"}, timeout=30
    )
    assert wrong.status_code == 401 and "not the analytics token" in wrong.text
    forged = requests.get(
        f"{stack.rasa_url}/analytics",
        cookies={"analytics_session": "99999999999.deadbeef"},
        timeout=30,
    )
    assert forged.status_code == 401


def test_a_bad_period_gets_a_clear_answer(stack: Stack) -> None:
    auth = {"Authorization": f"Bearer {stack.analytics_token}"}
    for params, problem in (
        ({"from": "30/11/2026"}, "YYYY-MM-DD"),
        ({"from": LAST, "to": FIRST}, "before its first"),
        ({"days": "lots"}, "whole number"),
        ({"days": "100000"}, "between 1 and"),
    ):
        answer = requests.get(
            f"{stack.rasa_url}/analytics", params=params, headers=auth, timeout=30
        )
        assert answer.status_code == 400, params
        assert problem in answer.text and "Traceback" not in answer.text


def test_a_conversation_today_is_counted_today(stack: Stack) -> None:
    auth = {"Authorization": f"Bearer {stack.analytics_token}"}
    day = datetime.now(timezone.utc).date().isoformat()
    today = {"from": day, "to": day}
    url = f"{stack.rasa_url}/analytics/csv/summary.csv"

    def conversations_today() -> int:
        answer = requests.get(url, params=today, headers=auth, timeout=60)
        return int(dict(csv.reader(io.StringIO(answer.text)))["conversations"])

    before = conversations_today()
    sender = f"analytics-{uuid.uuid4().hex[:8]}"
    for text in ("hi", "how long does shipping take?"):
        requests.post(
            f"{stack.rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=60,
        ).raise_for_status()
    assert conversations_today() == before + 1
