"""/metrics on the Rasa server and the action server started by `make serve`."""

from __future__ import annotations

import uuid

import pytest
import requests

from actions.escalation import ASKED_FOR_PERSON
from tests.channels.conftest import Stack
from tests.e2e.conftest import talk
from tests.prometheus_text import scrape, total

pytestmark = pytest.mark.e2e


def _fallbacks_in(stack: Stack, sender: str) -> int:
    tracker = requests.get(
        f"{stack.rasa_url}/conversations/{sender}/tracker",
        params={"token": stack.api_token},
        timeout=10,
    ).json()
    return sum(
        event.get("parse_data", {}).get("intent", {}).get("name") == "nlu_fallback"
        for event in tracker["events"]
        if event["event"] == "user"
    )


def test_both_servers_count_what_the_customers_did(stack: Stack) -> None:
    rasa_metrics = f"{stack.rasa_url}/metrics"
    action_metrics = f"http://127.0.0.1:{stack.action_port}/metrics"
    rasa_before, actions_before = scrape(rasa_metrics), scrape(action_metrics)

    english = talk(stack.rasa_url, f"metrics-{uuid.uuid4().hex[:8]}")
    english("hey do u guys ship to canada??")  # the help center answers
    english("what's a good recipe for lasagne")  # ... and declines
    english("/request_human")  # a button: no NLU, but an intent all the same
    chinese = talk(stack.rasa_url, f"metrics-{uuid.uuid4().hex[:8]}")
    chinese("你好")
    chinese("我的订单ORD-1001到哪了")

    rasa, actions = scrape(rasa_metrics), scrape(action_metrics)

    def rasa_grew(name: str, **labels: str) -> float:
        return total(rasa, name, **labels) - total(rasa_before, name, **labels)

    def actions_grew(name: str, **labels: str) -> float:
        return total(actions, name, **labels) - total(actions_before, name, **labels)

    assert rasa_grew("assistant_messages_total", channel="rest") == 5
    assert rasa_grew("assistant_reply_seconds_count", channel="rest") == 5
    assert rasa_grew("assistant_parse_seconds_count") == 5
    assert rasa_grew("assistant_intents_total") == 5
    assert rasa_grew("assistant_intents_total", intent="request_human") == 1
    assert rasa_grew("assistant_intents_total", language="zh") == 2
    assert rasa_grew("assistant_fallbacks_total") == _fallbacks_in(
        stack, english.sender
    ) + _fallbacks_in(stack, chinese.sender)
    assert rasa_grew("assistant_message_failures_total") == 0
    assert {labels["cause"] for name, labels, _ in rasa if "failures" in name} == {
        "lock", "database", "other",
    }  # fmt: skip

    assert actions_grew("assistant_kb_questions_total", outcome="answered") == 1
    assert actions_grew("assistant_kb_questions_total", outcome="declined") == 1
    assert actions_grew("assistant_handoffs_total", trigger=ASKED_FOR_PERSON) == 1
    assert actions_grew("assistant_handoffs_total") == 1
    assert (
        actions_grew(
            "assistant_action_runs_total", action="action_handoff", outcome="ok"
        )
        == 1
    )
    assert actions_grew("assistant_action_runs_total", outcome="error") == 0
    assert (
        actions_grew("assistant_action_seconds_count")
        == actions_grew("assistant_action_runs_total")
        > 3
    )


def test_no_message_text_reaches_metrics(stack: Stack) -> None:
    secret = f"zebra{uuid.uuid4().hex[:6]}"
    talk(stack.rasa_url, f"metrics-{uuid.uuid4().hex[:8]}")(f"my card is {secret}")
    for url in (
        f"{stack.rasa_url}/metrics",
        f"http://127.0.0.1:{stack.action_port}/metrics",
    ):
        assert secret not in requests.get(url, timeout=10).text
