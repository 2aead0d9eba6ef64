"""Free-text form answers: the customer's words are the answer, unless they stop.

A question such as "why are you returning it?" is answered in words that read
like other intents: "changed my mind" (stop), "no reason" (deny), "it broke"
(complain). The form's slot takes every such answer; only a message that is
nothing but a request to stop (or a bare "no") ends the form instead. Anything
longer is an answer, even if it mentions stopping: "I had to stop using it".
"""

from __future__ import annotations

import re

STOP_PHRASES = frozenset(
    {
        "stop", "stop it", "stop that", "please stop", "stop please",
        "cancel", "cancel it", "cancel that", "cancel this",
        "never mind", "nevermind", "forget it", "forget about it",
        "quit", "exit", "abort", "leave it", "skip it",
        "no", "nope", "nah", "no thanks", "no thank you",
        "i want to stop", "i don't want to continue",
        "i don't want to return it", "i don't want to return it anymore",
        "don't return it", "not anymore",
    }
)  # fmt: skip
_NOT_WORDS = re.compile(r"[^\w\s']+")


def is_clear_stop(text: str) -> bool:
    """True only when the whole message asks to stop (or says a bare "no")."""
    words = _NOT_WORDS.sub(" ", text.lower().replace("’", "'")).split()
    return " ".join(words) in STOP_PHRASES
