"""Fixes to Rasa 3.6's runtime that this project depends on, applied on import.

``components/__init__.py`` imports this module: Rasa imports that package
whenever it loads this project's model (server, shell, tests), before any
message is handled.

* Action server replies: ``RemoteAction`` checks every reply with
  ``jsonschema.validate``, which first re-validates the (constant) event schema
  itself, about 50 ms of CPU per custom action call and most of a message's
  cost. The same check runs here against a validator built once.
"""

from __future__ import annotations

from typing import Any

from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


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


_compiled_action_result_check()
