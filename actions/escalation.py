"""When a conversation needs a person, and how the reason travels to the hand-over.

``actions.empathy`` checks each message and sets the ``handoff_reason`` slot
when the customer is upset twice in a row. (Two questions in a row that the
assistant cannot answer are handed over by ``actions.help_center``, which is
the one to know that the second was not answered either.) The
slot influences the dialogue: rules hand over whenever it is set, from anywhere,
forms included, and ``action_handoff`` writes the reason on the ticket and
clears the slot. (Verification getting locked is handed over by the task's
follow-up action, which runs right after the form that locked it.)
"""

from __future__ import annotations

from actions.history import Event, turn_sentiment

HANDOFF_REASON = "handoff_reason"
REQUEST_HUMAN_INTENT = "request_human"

# Values of the handoff_reason slot, and what the agent reads on the ticket.
NEGATIVE_SENTIMENT = "negative_sentiment"
NOT_UNDERSTOOD = "not_understood"
REASONS = {
    NEGATIVE_SENTIMENT: "the customer was upset in two messages in a row",
    NOT_UNDERSTOOD: "the assistant did not understand the customer",
}
# Reasons on tickets opened without the slot.
ASKED_FOR_PERSON = "customer asked for a person"
LOCKED_OUT = "verification locked after repeated failed attempts"

# This many negative customer messages, or unanswered questions, in a row call a person.
IN_A_ROW = 2
NEGATIVE = "negative"


def reason_to_escalate(turns: list[Event]) -> str | None:
    """Why the latest of the customer's messages ``turns`` calls for a person, if so.

    Two upset messages in a row. A message without sentiment (a button tap)
    breaks the run.
    """
    latest = turns[-IN_A_ROW:]
    if len(latest) == IN_A_ROW and all(
        turn_sentiment(turn) == NEGATIVE for turn in latest
    ):
        return NEGATIVE_SENTIMENT
    return None
