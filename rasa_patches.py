"""Fixes to Rasa 3.6's runtime that this project depends on, applied on import.

``components/__init__.py`` imports this module: Rasa imports that package
whenever it loads this project's model (server, shell, tests), before any
message is handled.

* Action server replies: ``RemoteAction`` checks every reply with
  ``jsonschema.validate``, which first re-validates the (constant) event schema
  itself, about 50 ms of CPU per custom action call and most of a message's
  cost. The same check runs here against a validator built once.
* Event types: Rasa finds an event's class by walking every subclass of
  ``Event`` for each event it reads (~30 per tracker per message). The classes
  are looked up by type name instead, walked again only for a name not yet known.
"""

from __future__ import annotations

from typing import Any

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses


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
_event_classes_by_type_name()
