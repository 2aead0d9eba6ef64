"""Fixes to Rasa 3.6's runtime that this project depends on, applied on import.

``components/__init__.py`` imports this module: Rasa imports that package
whenever it loads this project's model (server, shell, tests), before any
message is handled.

* Action server replies: ``RemoteAction`` checks every reply with
  ``jsonschema.validate``, which first re-validates the (constant) event schema
  itself, about 50 ms of CPU per custom action call and most of a message's
  cost. The same check runs here against a validator built once.
* Parsing off the event loop: Rasa runs the NLU graph (the BERT forward pass,
  a third of a message's CPU) on the event loop, so one Rasa process computes
  on one core and every other conversation waits while a message is parsed.
  The graph runs in a worker thread instead; torch releases the GIL while it
  computes, so parsing uses a second core while the loop serves the others.
  One thread per process: parses queue in arrival order, each on the
  ``inference_threads`` the NLU component was given.
* Event types: Rasa finds an event's class by walking every subclass of
  ``Event`` for each event it reads (~30 per tracker per message). The classes
  are looked up by type name instead, walked again only for a name not yet known.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import structlog
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses

structlogger = structlog.get_logger()


def _compiled_action_result_check() -> None:
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        try:
            validator.validate(result)
        except ValidationError as error:
            # Rasa's own wording, so its logs read the same.
            error.message += (
                ". Failed to validate Action server response from API, "
                "make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise
        return True

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


@functools.lru_cache
def _parse_executor(process_id: int) -> ThreadPoolExecutor:
    """One parsing thread per process (a forked Sanic worker gets its own)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"nlu-{process_id}")


def _parse_in_worker_thread() -> None:
    rasas_parse_message = MessageProcessor.parse_message

    async def parse_message(
        self: MessageProcessor,
        message: UserMessage,
        tracker: DialogueStateTracker | None = None,
        only_output_properties: bool = True,
    ) -> dict[str, Any]:
        """Rasa 3.6's ``parse_message``, with the graph run in the parsing thread."""
        if self.http_interpreter:
            return await rasas_parse_message(
                self, message, tracker, only_output_properties
            )
        if tracker is None:
            tracker = DialogueStateTracker.from_events(message.sender_id, [])
        parse_data = await asyncio.get_running_loop().run_in_executor(
            _parse_executor(os.getpid()),
            self._parse_message_with_graph,
            message,
            tracker,
            only_output_properties,
        )
        self._update_full_retrieval_intent(parse_data)
        structlogger.debug(
            "processor.message.parse",
            parse_data_text=copy.deepcopy(parse_data["text"]),
            parse_data_intent=parse_data["intent"],
            parse_data_entities=copy.deepcopy(parse_data["entities"]),
        )
        self._check_for_unseen_features(parse_data)
        return parse_data

    MessageProcessor.parse_message = parse_message  # type: ignore[method-assign]


def _event_classes_by_type_name() -> None:
    rasas_resolve_by_type = Event.resolve_by_type
    known: dict[str, type[Event]] = {}

    def resolve_by_type(
        type_name: str, default: type[Event] | None = None
    ) -> type[Event] | None:
        if type_name not in known:
            # Walked in Rasa's order, so the first class with a name keeps it.
            for event_class in all_subclasses(Event):
                known.setdefault(event_class.type_name, event_class)
        if type_name in known:
            return known[type_name]
        return rasas_resolve_by_type(type_name, default)

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign]


_compiled_action_result_check()
_parse_in_worker_thread()
_event_classes_by_type_name()
