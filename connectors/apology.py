"""Answer with an apology when a message can't be handled, never with silence.

When handling a message raises (tracker store down, Rasa's ``LockError``, a bug),
Rasa's REST channel answers with whatever it had collected, usually ``[]``; the
socket.io channel and the callback channel lose the message without a word. The
customer waits for an answer that never comes. Every channel in connectors/ wraps
its handler with ``apologising``, so the customer is told, on the channel they
wrote on, to try again, and the operator finds the failure in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage

logger = logging.getLogger(__name__)

DEFAULT_UNAVAILABLE_MESSAGE = (
    "Sorry, I'm having trouble on my side and couldn't take in your message. "
    "Please try again in a minute."
)

Handler = Callable[[UserMessage], Awaitable[Any]]


def apologising(on_new_message: Handler, apology: str) -> Handler:
    """``on_new_message`` that answers ``apology`` on the message's channel on error.

    The log names the channel, the conversation and the kind of error, never the
    message or the error's text (a database error can quote the message, and
    messages hold personal data); the traceback is logged at debug level.
    """

    async def handle(message: UserMessage) -> None:
        try:
            await on_new_message(message)
        except Exception as error:
            logger.error(
                "%s: could not handle a message in conversation %s (%s); "
                "answering with an apology",
                message.input_channel,
                message.sender_id,
                type(error).__qualname__,
            )
            logger.debug("the failure", exc_info=True)
            try:
                await message.output_channel.send_text_message(
                    message.sender_id, apology
                )
            except Exception as undelivered:
                logger.error(
                    "%s: the apology to conversation %s was not delivered either (%s)",
                    message.input_channel,
                    message.sender_id,
                    type(undelivered).__qualname__,
                )

    return handle
