"""Rasa's RulePolicy, remembering which rules match each dialogue state it has seen.

To predict, RulePolicy checks every learned rule (~320 here) against the
conversation's recent states, turn by turn, in Python: 5-10 ms of CPU, run
about three times per customer message. The rules that match depend only on
those states and on the trained rule lookup, and customer-service
conversations go through the same states again and again, so the matching rules
are looked up instead of searched for. Everything else RulePolicy decides
(forms, default actions, unhappy paths) still runs as Rasa wrote it.

Only a loaded policy remembers: while training, RulePolicy edits its lookup as it
checks the rules for contradictions, so an answer could go stale. The cache is
per process, bounded (least recently used entries leave first), and off with
``prediction_cache_size: 0``.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from rasa.core.policies.rule_policy import RulePolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.generator import State

from components.bounded_cache import CACHE_SIZE_KEY, BoundedCache


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class CachedRulePolicy(RulePolicy):
    """RulePolicy with a bounded per-process cache of matching rules by state."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**RulePolicy.get_default_config(), CACHE_SIZE_KEY: 10_000}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._matching_rules: BoundedCache[frozenset[str]] = BoundedCache(0)

    @classmethod
    def load(
        cls, config: dict[str, Any], *args: Any, **kwargs: Any
    ) -> CachedRulePolicy:
        policy = super().load(config, *args, **kwargs)
        policy._matching_rules = BoundedCache(int(config[CACHE_SIZE_KEY]))
        return policy

    def _get_possible_keys(
        self, lookup: dict[str, str], states: list[State]
    ) -> frozenset[str]:
        # The lookups (rules, unhappy loop paths) are fixed once loaded: their
        # identity tells them apart.
        key = f"{id(lookup)}:{json.dumps(states, sort_keys=True)}"
        search = partial(super()._get_possible_keys, lookup, states)
        return self._matching_rules.get_or_compute(key, lambda: frozenset(search()))
