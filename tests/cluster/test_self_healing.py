"""`make cluster` heals itself: black-box crash tests, as on an operator's machine.

The cluster runs as a subprocess of the public command (``python -m cluster``).
Each scenario finds one service's process from the operating system (/proc, or
the pid file PostgreSQL writes), ``kill -9``s it while customers chat through
nginx, and checks that the cluster process kept running, the service came back
within its backoff, customers got answers or apologies throughout (never a
refused connection or an error page), and every message a customer saw
answered is stored exactly once. The figures go to the fault report beside
those of test_faults.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from actions.db.models import OrderStatus
from cluster.services import free_port, rasa_environment
from cluster.supervisor import Backoff
from tests.cluster.conftest import say, stored_events, texts
from tests.cluster.test_faults import assert_nothing_lost, cancellations, record
from tests.cluster.traffic import FaultReport, Traffic
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.e2e

START_TIMEOUT_S = 600
# The first restart waits 1 s (cluster/supervisor.py); a Rasa replica then needs
# its model loaded, which on two busy cores takes up to a minute or so.
BACK_WITHIN_S = {"rasa-0": 150, "actions": 60, "rabbitmq": 90}
DEFAULT_BACK_WITHIN_S = 30
CUSTOMERS = 6


@dataclass
class SupervisedCluster:
    process: subprocess.Popen
    state: Path
    output_file: Path
    api_token: str

    @property
    def status(self) -> dict[str, Any]:
        return json.loads((self.state / "status.json").read_text())

    @property
    def endpoints(self) -> dict[str, Any]:
        return self.status["endpoints"]

    @property
    def url(self) -> str:
        return self.endpoints["url"]

    def service(self, name: str) -> dict[str, Any]:
        return next(s for s in self.status["services"] if s["name"] == name)

    def output(self) -> str:
        return self.output_file.read_text(errors="replace")

    def events_of(self, sender: str) -> list[dict[str, Any]]:
        return stored_events(self.endpoints["replicas"], self.api_token, sender)

    def traffic(self, customers: int = CUSTOMERS, pause_s: float = 0.5) -> Traffic:
        return Traffic(self.url, self.events_of, customers=customers, pause_s=pause_s)

    def all_up(self) -> bool:
        return all(s["state"] == "up" for s in self.status["services"])


@pytest.fixture(scope="module")
def supervised(trained_model: Path) -> Iterator[SupervisedCluster]:
    state = Path(tempfile.mkdtemp(prefix="cluster-supervised-"))
    state.chmod(0o755)  # PostgreSQL's account must reach its data directory
    output_file = state / "cluster-output.txt"
    token = secrets.token_hex(24)
    command = [
        sys.executable, "-m", "cluster", "--replicas", "2",
        "--port", str(free_port()), "--state", str(state),
        "--model", str(trained_model),
    ]  # fmt: skip
    with output_file.open("w") as out:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=rasa_environment(RASA_API_TOKEN=token),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = SupervisedCluster(process, state, output_file, token)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while "cluster: ready" not in running.output():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"cluster did not start:\n{running.output()[-5000:]}")
            time.sleep(1)
        yield running
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=180)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        # Each service leads its own process group; a supervisor killed before it
        # stopped them must not leave them running.
        for pid in _service_pids(running):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        shutil.rmtree(state, ignore_errors=True)


def _service_pids(cluster: SupervisedCluster) -> list[int]:
    try:
        return [s["pid"] for s in cluster.status["services"] if s["pid"]]
    except (OSError, ValueError, KeyError):
        return []


@pytest.fixture
def healthy(supervised: SupervisedCluster) -> SupervisedCluster:
    """Each scenario starts with every service up (the last one may be restarting)."""
    wait_for(supervised.all_up, 180, "every service up before the scenario")
    return supervised


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"not within {timeout_s} s: {what}")
        time.sleep(0.2)
    return time.monotonic() - started


# --- processes, as the operating system sees them ---------------------------


def processes() -> Iterator[tuple[int, str]]:
    """(pid, command line) of every live process."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if ") Z" in (entry / "stat").read_text():
                continue  # a zombie is dead already
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        yield int(entry.name), " ".join(a.decode(errors="replace") for a in argv)


def only_pid(matches: Callable[[str], bool], what: str) -> int:
    found = [pid for pid, command in processes() if matches(command)]
    assert len(found) == 1, f"{what}: expected one process, found {found}"
    return found[0]


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def pid_of(cluster: SupervisedCluster, service: str) -> int:
    """The pid of ``service``'s main process, found in /proc, not asked of the
    supervisor."""
    state, endpoints = str(cluster.state), cluster.endpoints
    if service.startswith("rasa-"):
        port = port_of(endpoints["replicas"][int(service.split("-")[1])])
        return only_pid(
            lambda c: " run --model " in c and f"--port {port}" in c, service
        )
    if service == "actions":
        port = port_of(endpoints["actions"])
        return only_pid(lambda c: f"run actions --port {port}" in c, service)
    if service == "postgres":
        # The postmaster's own pid file, first line.
        return int(
            (cluster.state / "postgres" / "postmaster.pid").read_text().split()[0]
        )
    if service == "redis":
        port = port_of(endpoints["redis_url"])
        return only_pid(
            lambda c: "redis-server" in c and re.search(rf":{port}\b", c), service
        )
    if service == "rabbitmq":
        return only_pid(lambda c: "beam.smp" in c and state in c, service)
    if service == "nginx":
        return only_pid(lambda c: c.startswith("nginx: master") and state in c, service)
    raise ValueError(service)


def kill_and_wait_back(
    cluster: SupervisedCluster, service: str, extra_wait_s: float = 0
) -> float:
    """``kill -9`` ``service``; seconds until the supervisor has it answering."""
    pid = pid_of(cluster, service)
    restarts = cluster.service(service)["restarts"]
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()

    def back() -> bool:
        status = cluster.service(service)
        return status["restarts"] > restarts and status["state"] == "up"

    within_s = BACK_WITHIN_S.get(service, DEFAULT_BACK_WITHIN_S) + extra_wait_s
    wait_for(back, within_s, f"{service} back")
    assert pid_of(cluster, service) != pid  # a new process, seen by the OS too
    return time.monotonic() - killed_at


def assert_cluster_alive(cluster: SupervisedCluster) -> None:
    assert cluster.process.poll() is None, cluster.output()[-5000:]


def crash_scenario(cluster: SupervisedCluster, service: str) -> FaultReport:
    with cluster.traffic() as traffic:
        time.sleep(2)
        recovery_s = kill_and_wait_back(cluster, service)
        time.sleep(3)  # customers are answered by the restarted service too
    assert_cluster_alive(cluster)
    report = traffic.report(f"supervised: {service} killed with kill -9")
    report.recovery_s = recovery_s
    record(report)
    assert_nothing_lost(report)
    assert f"cluster: {service} exited (" in cluster.output()
    return report


# --- scenarios ---------------------------------------------------------------


def test_a_killed_replica_is_restarted_while_the_other_serves(
    healthy: SupervisedCluster,
) -> None:
    report = crash_scenario(healthy, "rasa-0")
    # Only what was in flight on the killed replica (one per customer at most) is
    # apologised for; the other replica answers everything after it.
    assert report.apologised <= CUSTOMERS, report.line()
    # nginx takes the restarted replica back: it answers on its own port.
    reply = say(healthy.endpoints["replicas"][0], "after-restart", "hello")
    assert reply.ok and texts(reply)


def test_a_killed_action_server_is_restarted_and_no_order_is_cancelled_twice(
    healthy: SupervisedCluster,
) -> None:
    customer = f"cancel-{uuid.uuid4().hex[:8]}"
    url = healthy.url
    assert "email address" in texts(say(url, customer, "cancel order ORD-1002"))
    assert "Cancel order ORD-1002?" in texts(say(url, customer, "alice@example.com"))
    restarts = healthy.service("actions")["restarts"]
    with healthy.traffic() as traffic:
        time.sleep(1)
        os.kill(pid_of(healthy, "actions"), signal.SIGKILL)
        killed_at = time.monotonic()
        reply = texts(say(url, customer, "/affirm"))
        wait_for(
            lambda: (
                healthy.service("actions")["state"] == "up"
                and healthy.service("actions")["restarts"] > restarts
            ),
            BACK_WITHIN_S["actions"],
            "actions back",
        )
        recovery_s = time.monotonic() - killed_at
        for _ in range(2):  # the next attempt works; repeating it is harmless
            say(url, customer, "cancel order ORD-1002")
            say(url, customer, "/affirm")
    assert_cluster_alive(healthy)
    assert "I can't reach our order system right now" in reply
    status, audits = cancellations(healthy.endpoints["database_url"], "ORD-1002")
    report = traffic.report("supervised: actions killed with kill -9", audits - 1)
    report.recovery_s = recovery_s
    record(report)
    assert_nothing_lost(report)
    assert status is OrderStatus.CANCELLED and audits == 1, (status, audits)


def test_a_killed_postgres_comes_back_on_the_same_data(
    healthy: SupervisedCluster,
) -> None:
    customer = f"pg-{uuid.uuid4().hex[:8]}"
    say(healthy.url, customer, "hello before the crash")
    crash_scenario(healthy, "postgres")
    # Same data directory and port: the conversation from before is still there.
    texts_stored = [e.get("text") for e in healthy.events_of(customer)]
    assert "hello before the crash" in texts_stored
    # The action server's pooled connections died with the server; it reconnects.
    assert "email address" in texts(say(healthy.url, customer, "where is ORD-1001?"))
    assert "Order ORD-1001 is on its way with UPS." in texts(
        say(healthy.url, customer, "alice@example.com")
    )


def test_a_killed_redis_is_reconnected_to_without_restarting_rasa(
    healthy: SupervisedCluster,
) -> None:
    rasa_restarts = healthy.service("rasa-0")["restarts"]
    crash_scenario(healthy, "redis")
    assert healthy.service("rasa-0")["restarts"] == rasa_restarts


def queued_events(cluster: SupervisedCluster) -> list[dict[str, Any]]:
    """Every event in the cluster's RabbitMQ queue, taken off it."""

    async def drain() -> list[dict[str, Any]]:
        connection = await aio_pika.connect(
            host="127.0.0.1", port=cluster.endpoints["rabbitmq_port"],
            login="guest", password="guest",
        )  # fmt: skip
        async with connection:
            channel = await connection.channel()
            queue = await channel.declare_queue(
                cluster.endpoints["event_queue"], durable=True, passive=True
            )
            events = []
            while (message := await queue.get(fail=False, no_ack=True)) is not None:
                events.append(json.loads(message.body))
            return events

    return asyncio.run(drain())


def said(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What customers and the assistant said: the events every consumer wants."""
    return [event for event in events if event["event"] in ("user", "bot")]


def test_events_published_while_rabbitmq_is_down_reach_the_queue_afterwards(
    healthy: SupervisedCluster,
) -> None:
    queued_events(healthy)  # start from an empty queue
    rasa_restarts = healthy.service("rasa-0")["restarts"]
    with healthy.traffic() as traffic:
        time.sleep(2)
        recovery_s = kill_and_wait_back(healthy, "rabbitmq")
        time.sleep(3)
    assert_cluster_alive(healthy)
    time.sleep(10)  # the replicas reconnect and send what they kept meanwhile
    in_queue = Counter(event["sender_id"] for event in said(queued_events(healthy)))
    stored = {
        sender: len(said(healthy.events_of(sender))) for sender in traffic.senders
    }
    missing = sum(max(stored[s] - in_queue[s], 0) for s in stored)
    total = sum(stored.values())
    report = traffic.report(
        f"supervised: rabbitmq killed with kill -9 (events: {total} stored, "
        f"{total - missing} queued)"
    )
    report.recovery_s = recovery_s
    record(report)
    assert_nothing_lost(report)
    assert healthy.service("rasa-0")["restarts"] == rasa_restarts
    assert total > 0 and missing == 0, report.line()


def test_a_killed_nginx_refuses_no_connection(healthy: SupervisedCluster) -> None:
    report = crash_scenario(healthy, "nginx")
    assert report.lost == 0, "\n".join(report.failures)


def test_a_crash_loop_is_reported_loudly_and_still_retried(
    healthy: SupervisedCluster,
) -> None:
    with healthy.traffic() as traffic:
        for _ in range(5):
            # In a crash loop the next start waits the longest backoff.
            kill_and_wait_back(healthy, "redis", extra_wait_s=Backoff().max_s)
    assert_cluster_alive(healthy)
    report = record(traffic.report("supervised: redis killed 5 times in a row"))
    assert_nothing_lost(report)
    assert "CRASH LOOP: redis exited 5 times" in healthy.output()
    assert healthy.service("redis")["crash_loop"]
    status = subprocess.run(
        [sys.executable, "-m", "cluster", "status", "--state", str(healthy.state)],
        cwd=REPO_ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert re.search(r"^redis\s+up \(CRASH LOOP\)\s+\d+\s+\d+", status.stdout, re.M)
