"""The cached rule policy answers as RulePolicy does, searching each state once."""

from __future__ import annotations

from typing import Any

import pytest
from rasa.core.agent import Agent
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RULES
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.shared.core.trackers import DialogueStateTracker

from components.bounded_cache import BoundedCache
from components.cached_rule_policy import CachedRulePolicy
from tests.components.conversations import (
    DETOUR_IN_FORM,
    ORDER_STATUS,
    loaded_component,
    prefixes,
)


@pytest.fixture
def policy(agent: Agent) -> CachedRulePolicy:
    policy = loaded_component(agent, CachedRulePolicy)
    policy._matching_rules.clear()
    return policy


def decision(prediction: PolicyPrediction) -> tuple[Any, ...]:
    """Everything a rule prediction carries that the dialogue acts on."""
    return (
        list(prediction.probabilities),
        [event.as_dict() for event in prediction.events],
        prediction.is_no_user_prediction,
        prediction.is_end_to_end_prediction,
        prediction.hide_rule_turn,
    )


@pytest.mark.e2e
def test_cached_predictions_equal_rule_policys_own(
    agent: Agent, policy: CachedRulePolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    trackers = prefixes(agent, ORDER_STATUS) + prefixes(agent, DETOUR_IN_FORM)
    cache = policy._matching_rules
    monkeypatch.setattr(policy, "_matching_rules", BoundedCache(0))
    searched = [policy.predict_action_probabilities(t, agent.domain) for t in trackers]
    monkeypatch.setattr(policy, "_matching_rules", cache)
    for tracker, expected in zip(trackers, searched):
        first = policy.predict_action_probabilities(tracker, agent.domain)
        again = policy.predict_action_probabilities(tracker, agent.domain)
        assert decision(first) == decision(expected)
        assert decision(again) == decision(expected)
    # The rules decide in these conversations, the form's unhappy path included.
    predicted = {
        agent.domain.action_names_or_texts[p.max_confidence_index]
        for p in searched
        if p.max_confidence == 1.0
    }
    assert {"order_form", "action_answer_question"} <= predicted


@pytest.mark.e2e
def test_a_state_seen_before_is_not_searched_again(
    agent: Agent, policy: CachedRulePolicy, monkeypatch: pytest.MonkeyPatch
) -> None:
    trackers = prefixes(agent, DETOUR_IN_FORM)
    expected = [policy.predict_action_probabilities(t, agent.domain) for t in trackers]

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("the rules were searched for a state seen before")

    monkeypatch.setattr(policy, "_is_rule_applicable", refuse)
    for tracker, before in zip(trackers, expected):
        again = DialogueStateTracker.from_events(
            "someone-else", tracker.events, agent.domain.slots
        )
        prediction = policy.predict_action_probabilities(again, agent.domain)
        assert decision(prediction) == decision(before)


@pytest.mark.e2e
def test_a_policy_in_training_remembers_nothing(
    agent: Agent, policy: CachedRulePolicy
) -> None:
    """Training edits the lookup between searches; every search must see the edit."""
    training = CachedRulePolicy(
        dict(policy.config),
        policy._model_storage,
        policy._resource,
        ExecutionContext(GraphSchema({}), "training"),
        lookup={RULES: dict(policy.lookup[RULES])},
    )
    [tracker] = prefixes(agent, ORDER_STATUS)[1:2]
    states = training._prediction_states(tracker, agent.domain)
    rules = training.lookup[RULES]
    matching = training._get_possible_keys(rules, states)
    assert matching
    for key in matching:
        del rules[key]
    assert not training._get_possible_keys(rules, states)
