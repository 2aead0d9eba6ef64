"""The promotion rule and the per-intent report, on known scores."""

from __future__ import annotations

import pytest

from learning.evaluation import score
from learning.retrain import Comparison, report, verdict

KNOWN = ["greet", "order", "refund"]
GOLD = ["greet"] * 10 + ["order"] * 10 + ["refund"] * 10


def predicted(wrong: int) -> list[str]:
    """GOLD with the first ``wrong`` refund questions read as orders."""
    said = list(GOLD)
    for i in range(20, 20 + wrong):
        said[i] = "order"
    return said


def comparison(live_wrong: int, candidate_wrong: int,
               reviewed: tuple[int, int] | None) -> Comparison:  # fmt: skip
    regression = None, None
    if reviewed is not None:
        gold = ["refund"] * 10
        regression = tuple(
            score(gold, ["refund"] * right + ["order"] * (10 - right), ["refund"])
            for right in reviewed
        )
    return Comparison(
        KNOWN,
        score(GOLD, predicted(live_wrong), KNOWN),
        score(GOLD, predicted(candidate_wrong), KNOWN),
        *regression,
    )


@pytest.mark.parametrize(
    ("live_wrong", "candidate_wrong", "reviewed", "promote"),
    [
        (2, 2, (3, 8), True),  # as good on held-out, better on reviewed
        (2, 0, (3, 3), False),  # better held-out, but the reviewed did not improve
        (0, 1, (3, 9), False),  # one refund lost: about 2 points of macro-F1
        (1, 1, (10, 10), True),  # the reviewed were all right already
        (1, 1, None, True),  # nothing reviewed yet: held-out alone
        (1, 2, None, False),
    ],
)
def test_promoted_only_when_not_worse_and_the_reviewed_improve(
    live_wrong: int, candidate_wrong: int, reviewed, promote: bool
) -> None:
    decided, reasons = verdict(comparison(live_wrong, candidate_wrong, reviewed))
    assert decided is promote
    assert "held-out macro-F1 over the 3 intents" in reasons[0]
    assert len(reasons) == 2


def test_the_allowance_is_half_a_point() -> None:
    c = comparison(0, 0, None)
    assert verdict(c, max_drop=0.005)[0]
    nudged = Comparison(c.known, c.live, c.candidate.__class__(
        c.candidate.accuracy, c.live.macro_f1 - 0.006, c.candidate.per_intent,
        c.candidate.examples), None, None)  # fmt: skip
    assert not verdict(nudged)[0]
    assert "beyond the 0.5-point allowance" in verdict(nudged)[1][0]


def test_the_report_shows_each_intent_and_flags_a_drop() -> None:
    text = report(comparison(0, 5, None))
    lines = {line.split()[0]: line for line in text.splitlines()[1:]}
    assert set(lines) == {"greet", "order", "refund", "macro-F1"}
    assert lines["refund"].endswith("<-- worse")
    assert "worse" not in lines["greet"]
