"""Rasa's message handling, measured for operators (metrics/assistant.py).

``Agent.handle_message`` is where every channel's messages arrive (the lock on
the conversation is taken there), and ``MessageProcessor.parse_message`` is
where the NLU pipeline reads one; both are wrapped to record, not to change:
the wrapped call's result and exceptions pass through untouched.
"""

from __future__ import annotations

import functools
import time
from typing import Any

from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor


def measured_message_handling() -> None:
    from metrics import assistant

    handle_message = Agent.handle_message
    parse_message = MessageProcessor.parse_message

    @functools.wraps(handle_message)
    async def measured_handle(self: Agent, message: UserMessage) -> Any:
        channel = message.input_channel or "none"
        assistant.MESSAGES.labels(channel).inc()
        started = time.perf_counter()
        try:
            return await handle_message(self, message)
        except Exception as error:
            assistant.FAILURES.labels(assistant.failure_cause(error)).inc()
            raise
        finally:
            assistant.REPLY_SECONDS.labels(channel).observe(
                time.perf_counter() - started
            )

    @functools.wraps(parse_message)
    async def measured_parse(
        self: MessageProcessor, message: UserMessage, *args: Any, **kwargs: Any
    ) -> dict[str, Any]:
        started = time.perf_counter()
        parse_data = await parse_message(self, message, *args, **kwargs)
        assistant.record_parse(parse_data, time.perf_counter() - started)
        return parse_data

    Agent.handle_message = measured_handle  # type: ignore[method-assign]
    MessageProcessor.parse_message = measured_parse  # type: ignore[method-assign]
