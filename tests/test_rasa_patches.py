"""Rasa's runtime fixes (rasa_patches.py) keep Rasa's behaviour, not its cost."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import Event, SlotSet, UserUttered
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

import components  # noqa: F401  (applies rasa_patches, as loading the model does)
import rasa_patches

GOOD_REPLY = {
    "events": [{"event": "slot", "name": "order_id", "value": "ORD-1001"}],
    "responses": [{"response": "utter_ask_email"}],
}


@pytest.fixture
def action() -> RemoteAction:
    return RemoteAction("action_check_order", EndpointConfig("http://127.0.0.1:1"))


def test_a_valid_action_server_reply_passes(action: RemoteAction) -> None:
    assert action._validate_action_result(GOOD_REPLY) is True


@pytest.mark.parametrize(
    "reply",
    [
        {"events": "not a list"},
        {"events": [{"event": "slot"}]},  # a slot event without its name
        {"responses": [42]},
    ],
)
def test_an_invalid_reply_is_refused_with_rasas_explanation(
    action: RemoteAction, reply: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError, match="Failed to validate Action server"):
        action._validate_action_result(reply)


def test_the_event_schema_is_not_checked_again_per_reply(
    action: RemoteAction, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Re-checking the constant schema was ~50 ms of CPU per custom action."""
    schema_class = validator_for(RemoteAction.action_response_format_spec())

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("the action reply schema was checked again")

    monkeypatch.setattr(schema_class, "check_schema", classmethod(refuse))
    assert action._validate_action_result(GOOD_REPLY) is True


def test_every_event_type_resolves_to_rasas_class(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    subclasses = [cls for cls in all_subclasses(Event) if cls.type_name]
    expected = {}
    for event_class in subclasses:
        expected.setdefault(event_class.type_name, event_class)
    for type_name, event_class in expected.items():
        assert Event.resolve_by_type(type_name) is event_class

    def refuse(*_: Any) -> None:
        raise AssertionError("the Event classes were walked again")

    monkeypatch.setattr(rasa_patches, "all_subclasses", refuse)
    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("slot") is SlotSet


def test_unknown_event_types_keep_rasas_answers() -> None:
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")
