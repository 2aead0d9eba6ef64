"""Monkeypatches of Rasa 3.6's runtime: the same behaviour at less CPU per message.

Each function below replaces one piece of Rasa and is listed, with why and its
test, in ``rasa_changes/__init__.py``; ``rasa_changes.apply()`` calls them once.
"""

from __future__ import annotations

import logging
from typing import Any

import rasa.shared.core.events
from jsonschema import ValidationError
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses


def compiled_action_result_check() -> None:
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


def event_classes_by_type_name() -> None:
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


def graph_runs_in_remembered_order() -> None:
    logger = logging.getLogger(DaskGraphRunner.__module__)

    def execution_order(
        runner: DaskGraphRunner, targets: tuple[str, ...], inputs: frozenset[str]
    ) -> list[tuple[str, tuple[str, ...]]]:
        """Each node the targets need, after the nodes it needs (as dask runs them).

        An input stands in for a node of its name, as in Rasa's dask graph.
        """
        orders = runner.__dict__.setdefault("_execution_orders", {})
        if (targets, inputs) not in orders:
            nodes = runner._graph_schema.nodes
            order: list[tuple[str, tuple[str, ...]]] = []
            visited: set[str] = set()

            def visit(name: str) -> None:
                if name in visited or name in inputs or name not in nodes:
                    return
                visited.add(name)
                needs = tuple(nodes[name].needs.values())
                for need in needs:
                    visit(need)
                order.append((name, needs))

            for target in targets:
                visit(target)
            orders[(targets, inputs)] = order
        return orders[(targets, inputs)]

    def run(
        self: DaskGraphRunner,
        inputs: dict[str, Any] | None = None,
        targets: list[str] | None = None,
    ) -> dict[str, Any]:
        inputs = inputs or {}
        run_targets = tuple(targets if targets else self._graph_schema.target_names)
        order = execution_order(self, run_targets, frozenset(inputs))
        for value in inputs.values():
            # Rasa's check: dask would have read such a value as a node's output.
            if isinstance(value, str) and any(value == name for name, _ in order):
                raise GraphRunError(
                    f"Input value '{value}' clashes with a node name. Make sure "
                    f"that none of the input names passed to the `run` method are "
                    f"the same as node names in the graph schema."
                )
        logger.debug(
            "Running graph with inputs: %s, targets: %s and %s.",
            inputs,
            targets,
            self._execution_context,
        )
        # Outputs are (node name, value) pairs, as GraphNode takes and returns them;
        # a need that nothing provides is passed as its bare name, as dask does.
        outputs: dict[str, Any] = {name: (name, val) for name, val in inputs.items()}
        try:
            for name, needs in order:
                node = self._instantiated_nodes[name]
                outputs[name] = node(*(outputs.get(need, need) for need in needs))
        except RuntimeError as error:
            raise GraphRunError("Error running runner.") from error
        return dict(outputs[target] for target in run_targets)

    DaskGraphRunner.run = run  # type: ignore[method-assign]


def events_logged_without_deep_copies() -> None:
    def remove_parse_data(event: dict[str, Any]) -> dict[str, Any]:
        """The event without its parse data, for a log line (which only reads it)."""
        return {key: value for key, value in event.items() if key != "parse_data"}

    rasa.shared.core.events.remove_parse_data = remove_parse_data
