"""Customers chatting through nginx while a fault test breaks part of the cluster.

Each simulated customer sends numbered small-talk messages one after another
and records what came back. Afterwards ``report`` compares that with the
conversation trackers: a message the customer saw answered must be stored
exactly once; an apology is fine (the customer knows to try again); a message
with no answer or an error page is lost.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from cluster.topology import Cluster
from tests.cluster.conftest import REPLY_TIMEOUT_S, tracker_events

EventsOf = Callable[[str], list[dict[str, Any]]]

# Phrases of the apologies: channel (connectors/), nginx error page, action proxy.
APOLOGIES = ("trouble on my side", "can't reach our order system")


@dataclass
class Outcome:
    sender: str
    text: str
    kind: str  # "answered", "apologised" or "failed"
    seconds: float


@dataclass
class FaultReport:
    scenario: str
    sent: int
    answered: int
    apologised: int
    lost: int
    duplicated_writes: int
    slowest_reply_s: float
    failures: list[str] = field(default_factory=list)
    # From the kill to the service answering again, where a supervisor restarts it.
    recovery_s: float | None = None

    def line(self) -> str:
        recovery = (
            "" if self.recovery_s is None else f", back after {self.recovery_s:.1f} s"
        )
        return (
            f"{self.scenario}: sent {self.sent}, answered {self.answered}, "
            f"apologised {self.apologised}, lost {self.lost}, duplicated writes "
            f"{self.duplicated_writes}, slowest reply {self.slowest_reply_s:.1f} s"
            f"{recovery}"
        )


def classify(response: requests.Response) -> str:
    try:
        messages = response.json()
    except ValueError:
        return "failed"
    if not isinstance(messages, list) or not messages:
        return "failed"  # a silent drop
    text = " ".join(str(message.get("text", "")) for message in messages)
    if any(phrase in text for phrase in APOLOGIES):
        return "apologised"
    return "answered" if response.status_code == 200 else "failed"


class Traffic:
    """``customers`` conversations sending a message every ``pause_s`` seconds
    to ``url``; ``events_of(sender)`` reads a conversation as stored."""

    def __init__(
        self,
        url: str,
        events_of: EventsOf,
        customers: int = 4,
        pause_s: float = 0.3,
    ):
        self.url = url
        self.events_of = events_of
        self.senders = [f"traffic-{uuid.uuid4().hex[:8]}" for _ in range(customers)]
        self.pause_s = pause_s
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._chat, args=(sender,), daemon=True)
            for sender in self.senders
        ]

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=REPLY_TIMEOUT_S + 10)

    def _chat(self, sender: str) -> None:
        number = 0
        while not self._stop.is_set():
            number += 1
            text = f"hello there {number}"
            started = time.monotonic()
            try:
                response = requests.post(
                    f"{self.url}/webhooks/rest/webhook",
                    json={"sender": sender, "message": text},
                    timeout=REPLY_TIMEOUT_S,
                )
                kind = classify(response)
            except requests.RequestException:
                kind = "failed"
            with self._lock:
                self.outcomes.append(
                    Outcome(sender, text, kind, time.monotonic() - started)
                )
            self._stop.wait(self.pause_s)

    def report(self, scenario: str, duplicated_writes: int = 0) -> FaultReport:
        kinds = Counter(outcome.kind for outcome in self.outcomes)
        stored: Counter[tuple[str, str]] = Counter()
        for sender in self.senders:
            for event in self.events_of(sender):
                if event["event"] == "user":
                    stored[(sender, event["text"])] += 1
        failures = [
            f"{o.sender} {o.text!r}: {o.kind}"
            for o in self.outcomes
            if o.kind == "failed"
            or (o.kind == "answered" and stored[(o.sender, o.text)] == 0)
        ]
        duplicates = sum(count - 1 for count in stored.values() if count > 1)
        return FaultReport(
            scenario=scenario,
            sent=len(self.outcomes),
            answered=kinds["answered"],
            apologised=kinds["apologised"],
            lost=len(failures),
            duplicated_writes=duplicated_writes + duplicates,
            slowest_reply_s=max((o.seconds for o in self.outcomes), default=0.0),
            failures=failures,
        )


def cluster_traffic(cluster: Cluster, **options: Any) -> Traffic:
    """Traffic through ``cluster``'s nginx, checked against its replicas."""
    return Traffic(
        cluster.url, lambda sender: tracker_events(cluster, sender), **options
    )
