"""The cached TED policy answers exactly as TED does, computing each state once."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.shared.core.trackers import DialogueStateTracker

from components.cached_ted_policy import CachedTEDPolicy
from tests.components.conversations import (
    DETOUR_IN_FORM,
    ORDER_STATUS,
    loaded_component,
    prefixes,
)


@pytest.fixture
def policy(agent: Agent) -> CachedTEDPolicy:
    policy = loaded_component(agent, CachedTEDPolicy)
    policy._predictions.clear()
    return policy


def probabilities(prediction: Any) -> list[float]:
    return list(prediction.probabilities)


@pytest.mark.e2e
def test_cached_predictions_equal_teds_own(
    agent: Agent, policy: CachedTEDPolicy
) -> None:
    for tracker in prefixes(agent, ORDER_STATUS) + prefixes(agent, DETOUR_IN_FORM):
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
    monkeypatch.setattr(policy._predictions, "size", 3)
    for tracker in prefixes(agent, ORDER_STATUS):
        policy.predict_action_probabilities(tracker, agent.domain)
    assert len(policy._predictions) == 3


@pytest.mark.e2e
def test_size_zero_turns_the_cache_off(
    agent: Agent, policy: CachedTEDPolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(policy._predictions, "size", 0)
    for tracker in prefixes(agent, ORDER_STATUS):
        policy.predict_action_probabilities(tracker, agent.domain)
    assert len(policy._predictions) == 0
