"""The runtime patches (rasa_changes/runtime.py) keep Rasa's behaviour, not its cost."""

from __future__ import annotations

import copy
import logging
from typing import Any

import dask
import pytest
import rasa.shared.core.events
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig

import rasa_changes
from rasa_changes import runtime
from tests.components.conversations import ORDER_STATUS, prefixes

rasa_changes.apply()  # as Rasa's loading of the project's model does

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

    monkeypatch.setattr(runtime, "all_subclasses", refuse)
    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("slot") is SlotSet


def test_unknown_event_types_keep_rasas_answers() -> None:
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")


def run_under_dask(
    runner: DaskGraphRunner, inputs: dict[str, Any], targets: list[str]
) -> dict[str, Any]:
    """What Rasa's own ``DaskGraphRunner.run`` does with these inputs and targets."""
    graph = runner._build_dask_graph(runner._graph_schema.minimal_graph_schema(targets))
    runner._add_inputs_to_graph(inputs, graph)
    return dict(dask.get(graph, targets))


def parse_inputs(agent: Agent, text: str) -> dict[str, Any]:
    """What the processor passes to parse one message, as new objects."""
    return {
        PLACEHOLDER_MESSAGE: [UserMessage(text)],
        PLACEHOLDER_TRACKER: DialogueStateTracker("parse", agent.domain.slots),
    }


@pytest.mark.parametrize(
    "text", ["where is my order ORD-1001?", "this is taking forever!!", "alice@x.org"]
)
def test_a_parse_gives_what_dask_gives(agent: Agent, text: str) -> None:
    runner = agent.processor.graph_runner
    target = agent.processor.model_metadata.nlu_target

    [ours] = runner.run(inputs=parse_inputs(agent, text), targets=[target])[target]
    [dasks] = run_under_dask(runner, parse_inputs(agent, text), [target])[target]

    assert ours.as_dict(only_output_properties=True) == dasks.as_dict(
        only_output_properties=True
    )
    assert ours.get("intent")["name"]  # a real parse, not two empty ones


def test_every_prediction_in_a_conversation_is_what_dask_gives(agent: Agent) -> None:
    runner = agent.processor.graph_runner
    target = agent.processor.model_metadata.core_target
    predicted = []
    for tracker in prefixes(agent, ORDER_STATUS):
        inputs = {PLACEHOLDER_TRACKER: tracker}
        ours = runner.run(inputs=inputs, targets=[target])[target]
        dasks = run_under_dask(runner, inputs, [target])[target]
        assert ours == dasks
        predicted.append(ours.max_confidence_index)
    assert len(set(predicted)) > 2  # the conversation moves through its actions


def test_the_order_of_nodes_is_worked_out_once(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = agent.processor.graph_runner
    target = agent.processor.model_metadata.nlu_target
    [expected] = runner.run(inputs=parse_inputs(agent, "hello"), targets=[target])[
        target
    ]

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("the graph was handed to dask")

    monkeypatch.setattr(dask, "get", refuse)
    monkeypatch.setattr(runner, "_graph_schema", GraphSchema({}))  # nothing to walk
    [again] = runner.run(inputs=parse_inputs(agent, "hello"), targets=[target])[target]
    assert again.get("intent") == expected.get("intent")


def test_the_debug_line_is_only_written_when_debug_logging_is_on(
    agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    """Rasa formatted the tracker into this line on every run, logged or not."""

    class CountsFormatting:
        times = 0

        def __repr__(self) -> str:
            CountsFormatting.times += 1
            return "<counted>"

    runner = agent.processor.graph_runner
    target = agent.processor.model_metadata.nlu_target
    counted = CountsFormatting()
    with caplog.at_level(logging.INFO, logger=DaskGraphRunner.__module__):
        inputs = {**parse_inputs(agent, "hi"), "__unused__": counted}
        runner.run(inputs=inputs, targets=[target])
    assert CountsFormatting.times == 0

    with caplog.at_level(logging.DEBUG, logger=DaskGraphRunner.__module__):
        inputs = {**parse_inputs(agent, "hi"), "__unused__": counted}
        runner.run(inputs=inputs, targets=[target])
    assert CountsFormatting.times > 0  # once per log handler
    assert "Running graph with inputs" in caplog.text and "<counted>" in caplog.text


def test_an_input_value_naming_a_node_is_refused_as_rasa_does(agent: Agent) -> None:
    runner = agent.processor.graph_runner
    target = agent.processor.model_metadata.nlu_target
    some_node = next(iter(runner._graph_schema.minimal_graph_schema([target]).nodes))
    inputs = {**parse_inputs(agent, "hi"), "__other__": some_node}
    with pytest.raises(GraphRunError, match="clashes with a node name"):
        runner.run(inputs=inputs, targets=[target])


def test_an_event_is_logged_without_parse_data_and_without_a_deep_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The brokers logged a deep copy of every event they published."""
    event = UserUttered(
        "where is my order?", {"name": "check_order_status", "confidence": 0.9}
    ).as_dict()
    original = copy.deepcopy(event)

    def refuse(*_: Any) -> None:
        raise AssertionError("the event was deep-copied")

    monkeypatch.setattr(copy, "deepcopy", refuse)
    reduced = rasa.shared.core.events.remove_parse_data(event)

    assert "parse_data" not in reduced
    assert reduced == {k: v for k, v in original.items() if k != "parse_data"}
    assert event == original  # what gets published keeps its parse data
