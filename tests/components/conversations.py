"""Conversations the cached policies are checked on, and every state they pass."""

from __future__ import annotations

from typing import TypeVar

from rasa.core.agent import Agent
from rasa.shared.core.events import (
    ActionExecuted,
    ActionExecutionRejected,
    ActiveLoop,
    BotUttered,
    Event,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

Component = TypeVar("Component")

ORDER_STATUS = [
    ActionExecuted("action_listen"),
    UserUttered(
        "where is my order ORD-1001?",
        {"name": "check_order_status", "confidence": 0.99},
        [{"entity": "order_id", "value": "ORD-1001", "start": 18, "end": 26}],
    ),
    SlotSet("order_id", "ORD-1001"),
    ActionExecuted("action_prepare_order_request"),
    SlotSet("order_task", "status"),
    ActionExecuted("order_form"),
    ActiveLoop("order_form"),
    SlotSet("requested_slot", "email"),
    ActionExecuted("action_listen"),
    UserUttered(
        "alice@example.com",
        {"name": "inform", "confidence": 0.97},
        [{"entity": "email", "value": "alice@example.com", "start": 0, "end": 17}],
    ),
    SlotSet("email", "alice@example.com"),
    ActionExecuted("order_form"),
    ActiveLoop(None),
    SlotSet("requested_slot", None),
]

# A question in the middle of the form: the form rejects it, a rule answers it
# (Rasa's unhappy-path rules) and the form asks again.
DETOUR_IN_FORM = [
    *ORDER_STATUS[:9],
    UserUttered(
        "how long does shipping take?",
        {"name": "faq_shipping_times", "confidence": 0.98},
    ),
    ActionExecutionRejected("order_form"),
    ActionExecuted("action_answer_question"),
    BotUttered("How long does shipping take?\nStandard shipping takes 3 to 5 days."),
    ActionExecuted("order_form"),
    SlotSet("requested_slot", "email"),
    ActionExecuted("action_listen"),
]


def prefixes(agent: Agent, events: list[Event]) -> list[DialogueStateTracker]:
    """The conversation after each of its events: every state a policy sees in it."""
    return [
        DialogueStateTracker.from_events("cache-test", events[:end], agent.domain.slots)
        for end in range(1, len(events) + 1)
    ]


def loaded_component(agent: Agent, component_type: type[Component]) -> Component:
    """The one instance of ``component_type`` in the agent's loaded graph."""
    nodes = agent.processor.graph_runner._instantiated_nodes.values()
    [component] = [
        node._component for node in nodes if isinstance(node._component, component_type)
    ]
    return component
