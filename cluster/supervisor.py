"""Keep every service of the topology running: restart whatever exits.

What ``restart: unless-stopped`` does in deploy/docker-compose.yml and a
Deployment does in Kubernetes, for `make cluster` on one machine: a service that
exits, for whatever reason (``kill -9``, the out-of-memory killer, a crash), is
started again after a backoff that doubles from ``first_s`` to ``max_s``; the
rest of the topology keeps serving meanwhile. A service that keeps crashing is
reported loudly and retried every ``max_s``, never given up on. Only Ctrl-C or
SIGTERM stop the topology.

Each service has its own keeper thread, so a slow start (RabbitMQ takes
seconds) never delays noticing another exit. The state of every service is
written to a JSON file on each change; `python -m cluster status` reads it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cluster.services import Service, ServiceError


@dataclass(frozen=True)
class Backoff:
    first_s: float = 1.0
    max_s: float = 30.0
    # This many exits within window_s make a crash loop.
    crash_loop_exits: int = 5
    window_s: float = 120.0

    def delay(self, recent_exits: int) -> float:
        """Seconds to wait before the next start, after ``recent_exits`` exits."""
        if recent_exits >= self.crash_loop_exits:
            return self.max_s
        return min(self.max_s, self.first_s * 2 ** max(recent_exits - 1, 0))


@dataclass
class ServiceStatus:
    name: str
    state: str  # "up", "waiting" (backoff), "starting" or "stopped"
    pid: int | None
    restarts: int
    since: float  # epoch seconds of the last state change
    last_exit: str
    crash_loop: bool
    log: str


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            return f"signal {signal.Signals(-returncode).name}"
        except ValueError:
            return f"signal {-returncode}"
    return f"exit status {returncode}"


def _say(line: str, loud: bool = False) -> None:
    print(f"cluster: {line}", file=sys.stderr if loud else sys.stdout, flush=True)


class Supervisor:
    """Watch ``services`` (already started) and restart any that exits."""

    def __init__(
        self,
        services: list[Service],
        status_file: Path,
        backoff: Backoff = Backoff(),
        start_timeout_s: float = 300,
        endpoints: dict[str, object] | None = None,
        say: Callable[..., None] = _say,
    ) -> None:
        self.services = services
        self.status_file = status_file
        self.backoff = backoff
        self.start_timeout_s = start_timeout_s
        self.endpoints = endpoints or {}
        self.say = say
        self._stopping = threading.Event()
        # Held while a process is launched, so none is launched after stop().
        self._launching = threading.Lock()
        self._status_lock = threading.Lock()
        self._started_at = time.time()
        self._status = {
            service.name: ServiceStatus(
                service.name,
                "up",
                service.pid,
                0,
                time.time(),
                "",
                False,
                str(service.log),
            )  # fmt: skip
            for service in services
        }
        self._threads = [
            threading.Thread(
                target=self._keep,
                args=(service,),
                name=f"keep-{service.name}",
                daemon=True,
            )  # fmt: skip
            for service in services
        ]

    def start(self) -> None:
        self._write_status()
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop restarting; the caller then stops the services themselves."""
        with self._launching:
            self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=5)
        with self._status_lock:
            for status in self._status.values():
                status.state, status.pid = "stopped", None
        self._write_status()

    def _update(self, name: str, **changes: object) -> None:
        with self._status_lock:
            status = self._status[name]
            for key, value in changes.items():
                setattr(status, key, value)
            status.since = time.time()
        self._write_status()

    def _write_status(self) -> None:
        with self._status_lock:
            document = {
                "supervisor_pid": os.getpid(),
                "started_at": self._started_at,
                "written_at": time.time(),
                "endpoints": self.endpoints,
                "services": [asdict(status) for status in self._status.values()],
            }
            partial = self.status_file.with_suffix(".tmp")
            partial.write_text(json.dumps(document, indent=2))
            partial.replace(self.status_file)

    def _keep(self, service: Service) -> None:
        """Restart ``service`` whenever it exits, until stop(): never gives up."""
        keeper = _Keeper()
        while True:
            try:
                if not self._restart_after_exit(service, keeper):
                    return
            except Exception as error:
                # Whatever went wrong, the keeper must live on, or the service
                # would stay down: count it as an exit and go round again.
                self.say(
                    f"{service.name}: {error!r} while restarting it; counted as "
                    "an exit",
                    loud=True,
                )
                keeper.next_exit = f"supervisor error {type(error).__name__}"
                if service.running:
                    service.kill()

    def _restart_after_exit(self, service: Service, keeper: _Keeper) -> bool:
        """Wait for ``service`` to exit, then start it again after its backoff.
        False once the supervisor is stopping."""
        up_since = time.monotonic()
        while service.running:
            if self._stopping.wait(0.2):
                return False
            up_for = time.monotonic() - up_since
            if self._status[service.name].crash_loop and up_for > self.backoff.window_s:
                self._update(service.name, crash_loop=False)  # it has settled
        if self._stopping.is_set():
            return False
        exited_at = time.monotonic()
        assert service.process is not None
        how = keeper.next_exit or describe_exit(service.process.returncode)
        keeper.next_exit = None
        service.kill_leftovers(before_restart=True)
        keeper.exits.append(exited_at)
        while keeper.exits and exited_at - keeper.exits[0] > self.backoff.window_s:
            keeper.exits.popleft()
        delay = self.backoff.delay(len(keeper.exits))
        keeper.restarts += 1
        crash_loop = len(keeper.exits) >= self.backoff.crash_loop_exits
        # The status file is written before each announcement, so whoever acts on
        # a line (an operator, a test) finds the file already agreeing with it.
        self._update(
            service.name, state="waiting", pid=None, restarts=keeper.restarts,
            last_exit=how, crash_loop=crash_loop,
        )  # fmt: skip
        self.say(
            f"{service.name} exited ({how}); restart {keeper.restarts} in {delay:g} s; "
            f"log {service.log}",
            loud=True,
        )
        if crash_loop:
            self.say(
                f"CRASH LOOP: {service.name} exited {len(keeper.exits)} times in "
                f"{self.backoff.window_s:g} s; retrying every "
                f"{self.backoff.max_s:g} s. See {service.log}",
                loud=True,
            )
        if self._stopping.wait(delay):
            return False
        with self._launching:
            if self._stopping.is_set():
                return False
            service.launch()
        self._update(service.name, state="starting", pid=service.pid)
        try:
            service.wait_ready(self.start_timeout_s, self._stopping.is_set)
        except ServiceError:
            if service.running and not self._stopping.is_set():
                keeper.next_exit = "not ready in time"
                service.kill()  # hung in its start: counts as an exit
            return True
        self._update(service.name, state="up", pid=service.pid)
        self.say(
            f"{service.name} is back (pid {service.pid}), "
            f"{time.monotonic() - exited_at:.1f} s after it exited"
        )
        return True


@dataclass
class _Keeper:
    """What one service's keeper remembers between its exits."""

    exits: deque[float] = field(default_factory=deque)
    restarts: int = 0
    # How the next exit came about, when the supervisor caused it.
    next_exit: str | None = None


def read_status(status_file: Path) -> dict[str, object] | None:
    """The status the running supervisor wrote, or None when none is running."""
    try:
        document = json.loads(status_file.read_text())
        os.kill(int(document["supervisor_pid"]), 0)
    except PermissionError:
        return document  # alive, and another user's (sudo make cluster)
    except (OSError, ValueError, KeyError):
        return None
    return document


def format_status(document: dict[str, object]) -> str:
    now = time.time()
    rows = [("service", "state", "pid", "restarts", "for", "last exit")]
    for service in document["services"]:  # type: ignore[union-attr]
        rows.append(
            (
                service["name"],
                service["state"] + (" (CRASH LOOP)" if service["crash_loop"] else ""),
                str(service["pid"] or "-"),
                str(service["restarts"]),
                _duration(now - service["since"]),
                service["last_exit"] or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
        for row in rows
    )


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
