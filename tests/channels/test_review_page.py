"""The review queue's page under the analytics login, by keyboard, in Chromium."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest
import requests
from playwright.sync_api import Browser, Page
from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.db.engine import make_engine
from actions.db.models import ReviewDecision, ReviewItem
from learning import queue
from tests.channels.conftest import Stack
from tests.channels.test_web_widget import browser  # noqa: F401
from tests.learning.conftest import Chat, said, write

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def queued(stack: Stack) -> list[str]:
    """Three messages the model was unsure about, in the review queue."""
    tracker, business = make_engine(stack.tracker_url), make_engine(stack.database_url)
    recent = datetime.now(timezone.utc) - timedelta(hours=1)
    texts = [f"wheres my parsel {uuid.uuid4().hex[:4]} {n}" for n in "abc"]
    unsure = ("return_item", 0.40)
    chats = [
        Chat(f"review-{n}", recent + timedelta(minutes=n), [
            ("Hi!", text, said(text, "check_order_status", 0.45, unsure))
        ])
        for n, text in enumerate(texts)
    ]  # fmt: skip
    try:
        write(tracker, business, chats)
        with Session(business) as session, session.begin():
            queue.build(session, tracker)
    finally:
        tracker.dispose()
    return texts


def decision_on(stack: Stack, item_id: int) -> ReviewDecision | None:
    engine = make_engine(stack.database_url)
    try:
        with Session(engine) as session:
            return session.scalar(
                select(ReviewDecision).where(ReviewDecision.item_id == item_id)
            )
    finally:
        engine.dispose()


def shown_item(page: Page) -> int:
    return int(page.get_attribute("[data-item]", "data-item"))


def wait_past(page: Page, item: int) -> None:
    """Until the page shows an item other than ``item``."""
    shown = "document.querySelector('[data-item]')?.dataset.item"
    page.wait_for_function(f"{shown} && {shown} != '{item}'")


def signed_in(browser: Browser, stack: Stack) -> Page:  # noqa: F811
    page = browser.new_page()
    page.goto(f"{stack.rasa_url}/analytics/review")
    page.fill("input[name=token]", stack.analytics_token)
    page.click("button[type=submit]")
    page.goto(f"{stack.rasa_url}/analytics/review")
    return page


def test_decisions_by_keyboard_are_stored_with_who_and_never_offered_again(
    browser: Browser,  # noqa: F811
    stack: Stack,
    queued: list[str],
) -> None:
    page = signed_in(browser, stack)
    page.wait_for_selector("[data-item]")
    first = shown_item(page)
    page.fill("input[name=reviewer]", "ana")
    # Keys go to the page, not the name field. (Not a click on the page: its
    # middle may be one of the buttons.)
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("2")  # the model's second guess
    wait_past(page, first)
    decision = decision_on(stack, first)
    assert (decision.verdict, decision.intent, decision.reviewer) == (
        "corrected", "return_item", "ana",
    )  # fmt: skip

    second = shown_item(page)
    assert second != first
    assert page.input_value("input[name=reviewer]") == "ana"  # remembered
    page.keyboard.press("s")  # skip: another item, nothing stored
    wait_past(page, second)
    assert decision_on(stack, second) is None
    third = shown_item(page)
    page.keyboard.press("c")
    page.select_option("select[name=intent]", "check_order_status")
    wait_past(page, third)
    assert decision_on(stack, third).verdict == "corrected"

    page.goto(f"{stack.rasa_url}/analytics/review")
    offered = shown_item(page)
    assert offered not in {first, third}


def test_a_decision_without_a_name_or_twice_is_refused_with_a_reason(
    browser: Browser,  # noqa: F811
    stack: Stack,
    queued: list[str],
) -> None:
    page = signed_in(browser, stack)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}

    engine = make_engine(stack.database_url)
    with Session(engine) as session:
        decided = session.scalar(select(ReviewDecision.item_id))
        pending = session.scalar(
            select(ReviewItem.id).where(
                ReviewItem.id.not_in(select(ReviewDecision.item_id))
            )
        )
    engine.dispose()
    url = f"{stack.rasa_url}/analytics/review"
    nameless = requests.post(f"{url}/{pending}", data={"choice": "out_of_scope"},
                             cookies=cookies, timeout=30)  # fmt: skip
    assert nameless.status_code == 400 and "reviewer&#x27;s name" in nameless.text
    again = {"choice": "out_of_scope", "reviewer": "ben"}
    twice = requests.post(f"{url}/{decided}", data=again, cookies=cookies, timeout=30)
    assert twice.status_code == 400 and "already decided" in twice.text
    eve = {"choice": "out_of_scope", "reviewer": "eve"}
    closed = requests.post(f"{url}/{pending}", data=eve, timeout=30)
    assert closed.status_code == 401 and decision_on(stack, pending) is None
