"""Rasa's TED policy, remembering its prediction for each dialogue state it has seen.

TED runs after every action a turn takes (about three times per customer
message) and costs ~10 ms of CPU each time, a third of a message's work. Its
input is the dialogue state of the last ``max_history`` turns (intents,
entities, slots, previous actions, active form), not the words, unless it was
trained end to end on text. So for an intent-level TED, the same states give the
same prediction, and customer-service conversations go through the same states
again and again: the answer is looked up instead of computed. The cache is per
process, bounded (least recently used entries leave first), and off with
``prediction_cache_size: 0``.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from rasa.core.featurizers.precomputation import MessageContainerForCoreFeaturization
from rasa.core.policies.policy import PolicyPrediction, SupportedData
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

from components.bounded_cache import CACHE_SIZE_KEY, BoundedCache


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True
)
class CachedTEDPolicy(TEDPolicy):
    """TEDPolicy with a bounded per-process cache of predictions by dialogue state."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**TEDPolicy.get_default_config(), CACHE_SIZE_KEY: 10_000}

    def __init__(self, config: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._predictions: BoundedCache[PolicyPrediction] = BoundedCache(
            int(config[CACHE_SIZE_KEY])
        )

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        precomputations: MessageContainerForCoreFeaturization | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        key = self._state_key(tracker, domain, rule_only_data)
        if key is None:
            return super().predict_action_probabilities(
                tracker, domain, rule_only_data, precomputations, **kwargs
            )
        compute = partial(
            super().predict_action_probabilities,
            tracker, domain, rule_only_data, precomputations, **kwargs,
        )  # fmt: skip
        remembered = self._predictions.get_or_compute(key, compute)
        return self._prediction(
            list(remembered.probabilities),
            is_end_to_end_prediction=remembered.is_end_to_end_prediction,
            diagnostic_data=remembered.diagnostic_data,
        )

    def _state_key(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None,
    ) -> str | None:
        """The states TED reads, as text; None where the words matter too."""
        if self._predictions.size <= 0 or self.model is None:
            return None
        if TEXT in self.fake_features:
            return None
        ml_only = self.supported_data() == SupportedData.ML_DATA
        [states] = self.featurizer.prediction_states(
            [tracker],
            domain,
            use_text_for_last_user_input=False,
            ignore_rule_only_turns=ml_only,
            rule_only_data=rule_only_data,
            ignore_action_unlikely_intent=ml_only,
        )
        return json.dumps(states, sort_keys=True)
