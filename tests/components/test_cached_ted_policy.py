"""The cached TED policy answers exactly as TED does, computing each state once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.shared.core.events import (
    ActionExecuted,
    ActiveLoop,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from components.cached_ted_policy import CachedTEDPolicy

ORDER_STATUS = [
    ActionExecuted("action_listen"),
    UserUttered(
        "where is my order ORD-1001?",
        {"name": "check_order_status", "confidence": 0.99},
        [{"entity": "order_id", "value": "ORD-1001", "start": 18, "end": 26}],
    ),
    SlotSet("order_id", "ORD-1001"),
    ActionExecuted("action_prepare_order_request"),
    SlotSet("order_task", "status"),
    ActionExecuted("order_form"),
    ActiveLoop("order_form"),
    SlotSet("requested_slot", "email"),
    ActionExecuted("action_listen"),
    UserUttered(
        "alice@example.com",
        {"name": "inform", "confidence": 0.97},
        [{"entity": "email", "value": "alice@example.com", "start": 0, "end": 17}],
    ),
    SlotSet("email", "alice@example.com"),
    ActionExecuted("order_form"),
    ActiveLoop(None),
    SlotSet("requested_slot", None),
]


@pytest.fixture(scope="module")
def agent(trained_model: Path) -> Agent:
    return Agent.load(str(trained_model))


@pytest.fixture
def policy(agent: Agent) -> CachedTEDPolicy:
    nodes = agent.processor.graph_runner._instantiated_nodes.values()
    [policy] = [
        node._component
        for node in nodes
        if isinstance(node._component, CachedTEDPolicy)
    ]
    policy._predictions.clear()
    return policy


def prefixes(agent: Agent, events: list[Event]) -> list[DialogueStateTracker]:
    """The conversation after each of its events: every state TED sees in it."""
    return [
        DialogueStateTracker.from_events("cache-test", events[:end], agent.domain.slots)
        for end in range(1, len(events) + 1)
    ]


def probabilities(prediction: Any) -> list[float]:
    return list(prediction.probabilities)


@pytest.mark.e2e
def test_cached_predictions_equal_teds_own(
    agent: Agent, policy: CachedTEDPolicy
) -> None:
    for tracker in prefixes(agent, ORDER_STATUS):
        computed = TEDPolicy.predict_action_probabilities(policy, tracker, agent.domain)
        first = policy.predict_action_probabilities(tracker, agent.domain)
        again = policy.predict_action_probabilities(tracker, agent.domain)
        assert probabilities(first) == probabilities(computed)
        assert probabilities(again) == probabilities(computed)
        assert again.policy_name == "CachedTEDPolicy"


@pytest.mark.e2e
def test_a_state_seen_before_is_not_computed_again(
    agent: Agent, policy: CachedTEDPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    trackers = prefixes(agent, ORDER_STATUS)
    for tracker in trackers:
        policy.predict_action_probabilities(tracker, agent.domain)

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("TED ran for a state it had already predicted")

    monkeypatch.setattr(policy.model, "run_inference", refuse)
    other_customer = [
        DialogueStateTracker.from_events("someone-else", t.events, agent.domain.slots)
        for t in trackers
    ]
    for tracker in other_customer:
        policy.predict_action_probabilities(tracker, agent.domain)


@pytest.mark.e2e
def test_the_cache_stays_within_its_size(
    agent: Agent, policy: CachedTEDPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(policy, "_cache_size", 3)
    for tracker in prefixes(agent, ORDER_STATUS):
        policy.predict_action_probabilities(tracker, agent.domain)
    assert len(policy._predictions) == 3


@pytest.mark.e2e
def test_size_zero_turns_the_cache_off(
    agent: Agent, policy: CachedTEDPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(policy, "_cache_size", 0)
    for tracker in prefixes(agent, ORDER_STATUS):
        policy.predict_action_probabilities(tracker, agent.domain)
    assert len(policy._predictions) == 0
