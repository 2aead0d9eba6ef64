"""Every change this project makes to Rasa's own behaviour, in one list.

Four kinds of change, each listed in ``CHANGES`` with what it replaces, why, the
names in Rasa it relies on and the test that holds it to Rasa's own result:

* ``patch``: a monkeypatch, applied by ``apply()`` (code in ``runtime.py`` and
  ``fail_safe_store.py``);
* ``store``: a tracker or lock store that replaces Rasa's, named in endpoints.yml;
* ``policy``: a dialogue policy that subclasses Rasa's and uses its private API,
  named in config.yml;
* ``channel``: an input channel whose handlers replace or wrap Rasa's, named in
  credentials.yml.

``apply()`` runs once per process, whoever calls it first: the three packages
Rasa imports from this project (``components``, ``stores``, ``connectors``) call
it when Rasa loads them, before any message. It first refuses a Rasa version the
changes were not tested with, and one whose names they rely on are gone, with a
message that says what to do. docs/rasa-changes.md has the list and the upgrade
checklist; tests/rasa_changes/ checks that nothing outside this package patches
Rasa and that the list, the docs and Rasa agree.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

# Rasa releases the whole test suite has passed with these changes.
TESTED_RASA_VERSIONS = ("3.6.21",)


@dataclass(frozen=True)
class Change:
    name: str
    kind: str  # "patch", "store", "policy" or "channel"
    where: str  # the module that holds the change
    replaces: str
    why: str
    tested_by: tuple[str, ...]
    # Dotted names in Rasa the change uses or replaces: checked at start-up.
    relies_on: tuple[str, ...] = ()
    apply: Callable[[], None] | None = field(default=None, compare=False)


def _runtime(name: str) -> Callable[[], None]:
    def apply() -> None:
        getattr(importlib.import_module("rasa_changes.runtime"), name)()

    return apply


def _unwrapped_stores() -> None:
    from rasa_changes.fail_safe_store import leave_visible_stores_unwrapped

    leave_visible_stores_unwrapped()


def _models_loaded_beside_the_serving_one() -> None:
    from rasa_changes.model_pulling import models_loaded_beside_the_serving_one

    models_loaded_beside_the_serving_one()


def _measured_message_handling() -> None:
    from rasa_changes.metrics import measured_message_handling

    measured_message_handling()


CHANGES: tuple[Change, ...] = (
    Change(
        "compiled action result check",
        "patch",
        "rasa_changes/runtime.py",
        "RemoteAction._validate_action_result",
        "jsonschema.validate re-checks the constant event schema on every action "
        "server reply, about 50 ms of CPU per custom action call; a validator "
        "built once checks the same and raises Rasa's own error",
        ("tests/rasa_changes/test_runtime.py",),
        (
            "rasa.core.actions.action.RemoteAction._validate_action_result",
            "rasa.core.actions.action.RemoteAction.action_response_format_spec",
        ),
        _runtime("compiled_action_result_check"),
    ),
    Change(
        "event classes by type name",
        "patch",
        "rasa_changes/runtime.py",
        "Event.resolve_by_type",
        "Rasa walks every subclass of Event for each event it reads (~30 per "
        "tracker per message); the classes are looked up by name, in Rasa's order",
        ("tests/rasa_changes/test_runtime.py",),
        (
            "rasa.shared.core.events.Event.resolve_by_type",
            "rasa.shared.utils.common.all_subclasses",
        ),
        _runtime("event_classes_by_type_name"),
    ),
    Change(
        "graph runs in remembered order",
        "patch",
        "rasa_changes/runtime.py",
        "DaskGraphRunner.run",
        "dask's graph and ordering were rebuilt for every run (a parse and 2-3 "
        "predictions per message) and the debug line formatted with the whole "
        "tracker even with debug logging off: 3-4 ms per message; the same nodes "
        "run in the same dependency order, worked out once per targets and inputs",
        ("tests/rasa_changes/test_runtime.py",),
        (
            "rasa.engine.runner.dask.DaskGraphRunner.run",
            "rasa.engine.runner.dask.DaskGraphRunner.__init__",
            "rasa.engine.graph.GraphSchema.target_names",
            "rasa.engine.exceptions.GraphRunError",
        ),
        _runtime("graph_runs_in_remembered_order"),
    ),
    Change(
        "events logged without deep copies",
        "patch",
        "rasa_changes/runtime.py",
        "rasa.shared.core.events.remove_parse_data",
        "the Pika and Kafka brokers deep-copy every published event (~8 per "
        "message) only to log it without its parse data, ~1.7 ms per message; a "
        "shallow copy logs the same",
        ("tests/rasa_changes/test_runtime.py",),
        ("rasa.shared.core.events.remove_parse_data",),
        _runtime("events_logged_without_deep_copies"),
    ),
    Change(
        "pulled models loaded beside the serving one",
        "patch",
        "rasa_changes/model_pulling.py",
        "rasa.core.agent._update_model_from_server",
        "a model pulled from the model server was loaded on the event loop, and "
        "the replica answered nobody for the 10-40 s of the load; it loads on a "
        "worker thread and replaces the old one when ready",
        ("tests/cluster/test_model_swap.py",),
        (
            "rasa.core.agent._update_model_from_server",
            "rasa.core.agent._pull_model_and_fingerprint",
            "rasa.core.agent._load_and_set_updated_model",
        ),
        _models_loaded_beside_the_serving_one,
    ),
    Change(
        "message handling measured",
        "patch",
        "rasa_changes/metrics.py",
        "Agent.handle_message, MessageProcessor.parse_message (wrapped)",
        "operators need messages, reply and parse latency, intents, fallbacks and "
        "failures on /metrics; every channel's messages pass these two methods, "
        "which are timed and counted, their results and errors left untouched",
        ("tests/channels/test_metrics.py",),
        (
            "rasa.core.agent.Agent.handle_message",
            "rasa.core.processor.MessageProcessor.parse_message",
            "rasa.core.lock_store.LockError",
        ),
        _measured_message_handling,
    ),
    Change(
        "visible tracker stores left unwrapped",
        "patch",
        "rasa_changes/fail_safe_store.py",
        "rasa.core.agent.FailSafeTrackerStore (the reference Agent wraps with)",
        "FailSafeTrackerStore hides database failures (events kept in one "
        "process's memory, an empty tracker on a failed read); a store with "
        "fails_visibly = True is left unwrapped so the channel apologises instead",
        ("tests/rasa_changes/test_fail_safe_store.py",),
        ("rasa.core.agent.FailSafeTrackerStore",),
        _unwrapped_stores,
    ),
    Change(
        "ResilientSQLTrackerStore",
        "store",
        "stores/tracker_store.py",
        "SQLTrackerStore (and its FailSafe wrapper)",
        "bounded retries then a loud failure, database calls off the event loop, "
        "one round trip per read and write, events published only once stored",
        (
            "tests/stores/test_tracker_store.py",
            "tests/stores/test_tracker_store_postgres.py",
        ),
        (
            "rasa.core.tracker_store.SQLTrackerStore._event_query",
            "rasa.core.tracker_store.SQLTrackerStore._additional_events",
            "rasa.core.tracker_store.SQLTrackerStore.session_scope",
            "rasa.core.tracker_store.SQLTrackerStore.SQLEvent",
            "rasa.core.tracker_store.TrackerStore._stream_new_events",
        ),
    ),
    Change(
        "FencedRedisLockStore",
        "store",
        "stores/lock_store.py",
        "RedisLockStore",
        "Rasa's Redis lock store races between replicas (RasaHQ/rasa#9213); each "
        "step here is one Lua script, and a crashed holder blocks for seconds",
        ("tests/stores/test_lock_store.py",),
        (
            "rasa.core.lock_store.LockStore.lock",
            "rasa.core.lock_store._get_lock_lifetime",
            "rasa.core.lock.Ticket",
            "rasa.core.lock.TicketLock",
        ),
    ),
    Change(
        "CachedRulePolicy",
        "policy",
        "components/cached_rule_policy.py",
        "RulePolicy's rule search",
        "RulePolicy checks all ~320 rules in Python for each prediction (5-10 ms, "
        "~3 times per message); the matching rules are remembered per dialogue state",
        ("tests/components/test_cached_rule_policy.py",),
        (
            "rasa.core.policies.rule_policy.RulePolicy._get_possible_keys",
            "rasa.core.policies.rule_policy.RulePolicy.load",
        ),
    ),
    Change(
        "CachedTEDPolicy",
        "policy",
        "components/cached_ted_policy.py",
        "TEDPolicy.predict_action_probabilities",
        "TED's prediction is the same for the same dialogue states; it is "
        "remembered per state instead of run through TensorFlow each time",
        ("tests/components/test_cached_ted_policy.py",),
        (
            "rasa.core.policies.ted_policy.TEDPolicy.predict_action_probabilities",
            "rasa.core.policies.ted_policy.TEDPolicy._prediction",
            "rasa.core.featurizers.tracker_featurizers.TrackerFeaturizer.prediction_states",
        ),
    ),
    Change(
        "socket.io channel",
        "channel",
        "connectors/socketio.py",
        "SocketIOInput.blueprint (all its handlers rewritten)",
        "tokens per conversation, rooms shared through Redis across replicas, an "
        "apology instead of silence when a message fails, checked session ids",
        ("tests/channels/",),
        (
            "rasa.core.channels.socketio.SocketIOInput.blueprint",
            "rasa.core.channels.socketio.SocketIOInput.from_credentials",
            "rasa.core.channels.socketio.SocketBlueprint",
        ),
    ),
    Change(
        "REST and callback channels",
        "channel",
        "connectors/rest.py",
        "RestInput.blueprint, CallbackInput.blueprint (wrapped)",
        "input validation, tokens and an apology in the REST reply instead of an "
        "error when a message fails",
        ("tests/channels/",),
        (
            "rasa.core.channels.rest.RestInput.blueprint",
            "rasa.core.channels.callback.CallbackInput.blueprint",
        ),
    ),
)


class UntestedRasa(SystemExit):
    """Raised (and so printed without a traceback) for a Rasa these changes
    were not tested with."""


def resolve(dotted: str) -> object:
    """The object a dotted name refers to; AttributeError or ImportError if gone."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            found = getattr(found, attribute)
        return found
    raise ImportError(dotted)


def check_rasa(version: str | None = None) -> None:
    """Refuse a Rasa release the changes were not tested with, or one without
    the names they rely on."""
    if version is None:
        from rasa.version import __version__ as version
    if version not in TESTED_RASA_VERSIONS:
        raise UntestedRasa(
            f"rasa_changes: Rasa {version} is installed, but this project changes "
            f"Rasa's behaviour in {len(CHANGES)} places and was tested with Rasa "
            f"{', '.join(TESTED_RASA_VERSIONS)} only. Install the pinned version "
            "(requirements/runtime.lock), or follow the upgrade checklist in "
            "docs/rasa-changes.md and add the version to TESTED_RASA_VERSIONS."
        )
    missing = []
    for change in CHANGES:
        for name in change.relies_on:
            try:
                resolve(name)
            except (ImportError, AttributeError):
                missing.append(f"{name} (needed by {change.name}, {change.where})")
    if missing:
        raise UntestedRasa(
            "rasa_changes: this Rasa lacks what the project's changes rely on: "
            + "; ".join(missing)
        )


_state = {"applied": False, "applying": False}
_applying = threading.RLock()


def apply() -> None:
    """Check the installed Rasa, then apply every patch: once per process."""
    with _applying:
        if _state["applied"] or _state["applying"]:
            return  # done, or an import made while applying called again
        _state["applying"] = True
        try:
            check_rasa()
            for change in CHANGES:
                if change.apply is not None:
                    change.apply()
            _state["applied"] = True
        finally:
            _state["applying"] = False
