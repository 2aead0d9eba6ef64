"""Which free-text answers end a form: only a message that is nothing but a stop."""

from __future__ import annotations

import pytest

from actions.free_text import is_clear_stop


@pytest.mark.parametrize(
    "text",
    ["stop", "STOP!", "never mind", "Forget it.", "no", "nope", "no thanks",
     "cancel that", "I don’t want to return it anymore"],
)  # fmt: skip
def test_a_whole_message_asking_to_stop_is_a_stop(text: str) -> None:
    assert is_clear_stop(text)


@pytest.mark.parametrize(
    "text",
    ["changed my mind", "no reason", "it broke", "wrong size", "no longer needed",
     "stopped working after a week", "cancelled my trip so I don't need it", ""],
)  # fmt: skip
def test_an_answer_that_mentions_stopping_is_an_answer(text: str) -> None:
    assert not is_clear_stop(text)
