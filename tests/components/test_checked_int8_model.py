"""The near-tie measure that decides which int8 answers float32 checks."""

from __future__ import annotations

import pytest

from components.checked_int8_model import top_two_margin


@pytest.mark.parametrize(
    "probabilities, margin",
    [
        ([0.5, 0.3, 0.2], 0.2),
        ([0.2, 0.41, 0.39], 0.02),  # in any order
        ([0.5, 0.5], 0.0),
        ([1.0], 1.0),  # one intent: nothing to be tied with
    ],
)
def test_the_margin_is_the_lead_of_the_first_intent_over_the_second(
    probabilities: list[float], margin: float
) -> None:
    assert top_two_margin(probabilities) == pytest.approx(margin)
