"""The supervisor on small real processes: restarts, backoff, crash loops, status."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cluster.services import Service
from cluster.supervisor import (
    Backoff,
    Supervisor,
    describe_exit,
    format_status,
    read_status,
)
from tests.conftest import REPO_ROOT

FAST = Backoff(first_s=0.1, max_s=0.4, crash_loop_exits=3, window_s=60)


def wait_for(condition: Callable[[], bool], timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended (exited, or a zombie nobody reaped)."""
    try:
        return " Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]
    except FileNotFoundError:
        return True


def service(tmp_path: Path, name: str, script: str) -> Service:
    return Service(name, ["bash", "-c", script], tmp_path / f"{name}.log", lambda: True)


@pytest.fixture
def lines() -> list[str]:
    return []


@pytest.fixture
def supervise(tmp_path: Path, lines: list[str]) -> Iterator[Callable[..., Supervisor]]:
    started: list[Supervisor] = []

    def start(
        *services: Service, backoff: Backoff = FAST, **options: float
    ) -> Supervisor:
        for part in services:
            if part.process is None:
                part.start()
        supervisor = Supervisor(
            list(services),
            tmp_path / "status.json",
            backoff=backoff,
            say=lambda line, loud=False: lines.append(line),
            **options,
        )
        supervisor.start()
        started.append(supervisor)
        return supervisor

    yield start
    for supervisor in started:
        supervisor.stop()
        for part in supervisor.services:
            part.stop(timeout_s=2)


def test_backoff_doubles_to_its_ceiling_and_stays_there_in_a_crash_loop() -> None:
    backoff = Backoff(first_s=1, max_s=30, crash_loop_exits=5)
    assert [backoff.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 30, 30, 30]
    assert Backoff(first_s=1, max_s=6).delay(4) == 6


def test_a_killed_service_is_restarted_and_the_others_are_left_alone(
    tmp_path: Path, supervise: Callable[..., Supervisor], lines: list[str]
) -> None:
    victim = service(tmp_path, "victim", "exec sleep 60")
    bystander = service(tmp_path, "bystander", "exec sleep 60")
    supervise(victim, bystander)
    first_pid, bystander_pid = victim.pid, bystander.pid
    os.kill(first_pid, signal.SIGKILL)
    wait_for(lambda: victim.pid not in (None, first_pid))
    assert bystander.pid == bystander_pid
    assert any(
        line.startswith("victim exited (signal SIGKILL); restart 1 in 0.1 s; log ")
        for line in lines
    ), lines
    wait_for(lambda: any(line.startswith("victim is back") for line in lines))
    status = json.loads((tmp_path / "status.json").read_text())
    victim_status = next(s for s in status["services"] if s["name"] == "victim")
    assert victim_status["state"] == "up"
    assert victim_status["restarts"] == 1
    assert victim_status["pid"] == victim.pid
    assert victim_status["last_exit"] == "signal SIGKILL"


def test_what_the_dead_leader_left_behind_is_killed_before_the_restart(
    tmp_path: Path, supervise: Callable[..., Supervisor]
) -> None:
    # A leader with a child in its process group, like a postmaster and its
    # backends: the child would hold the port or the shared memory.
    child_pid_file = tmp_path / "child.pid"
    leader = service(tmp_path, "leader", f"sleep 60 & echo $! > {child_pid_file}; wait")
    supervise(leader)
    wait_for(child_pid_file.exists)
    wait_for(lambda: child_pid_file.read_text().strip() != "")
    child = int(child_pid_file.read_text())
    first = leader.pid
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: leader.pid not in (None, first))
    assert gone(child)


def test_leftovers_that_may_overlap_finish_beside_the_new_instance(
    tmp_path: Path, supervise: Callable[..., Supervisor]
) -> None:
    # nginx: the old worker finishes a request that needs the new master (a
    # replica reaching the action server through nginx), so the new master must
    # not wait for it; it is still ended after its grace.
    ready, told = tmp_path / "ready", tmp_path / "told"
    drainer = (
        "import signal, time, pathlib;"
        f"tell = lambda *_: pathlib.Path({str(told)!r}).touch();"
        "signal.signal(signal.SIGQUIT, tell);"
        f"pathlib.Path({str(ready)!r}).touch(); time.sleep(60)"
    )
    child_pid_file = tmp_path / "child.pid"
    leader = Service(
        "leader",
        ["bash", "-c", f'"$0" -c "$1" & echo $! > {child_pid_file}; wait',
         sys.executable, drainer],
        tmp_path / "leader.log",
        lambda: True,
        leftover_signal=signal.SIGQUIT,
        leftover_grace_s=3,
        overlap_leftovers=True,
    )  # fmt: skip
    supervise(leader)
    wait_for(ready.exists)
    child = int(child_pid_file.read_text())
    first = leader.pid
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: leader.pid not in (None, first))
    assert told.exists()
    assert not gone(child)  # finishing its requests beside the new leader
    wait_for(lambda: gone(child))


def test_a_crash_loop_is_reported_loudly_and_retried_at_the_slowest_pace(
    tmp_path: Path, supervise: Callable[..., Supervisor], lines: list[str]
) -> None:
    flaky = Service(
        "flaky", ["bash", "-c", "sleep 0.05; exit 3"], tmp_path / "f.log",
        lambda: False,
    )  # fmt: skip
    flaky.launch()
    supervisor = supervise(flaky)
    wait_for(lambda: sum(x.startswith("flaky exited") for x in lines) >= 5, 20)
    loops = [line for line in lines if line.startswith("CRASH LOOP: flaky")]
    assert loops, lines
    assert "exited 3 times in 60 s; retrying every 0.4 s" in loops[0]
    assert any("exit status 3" in line for line in lines)
    # Still retried after the loop was reported, never given up on.
    exits = [line for line in lines if line.startswith("flaky exited")]
    assert exits[-1].endswith(f"in 0.4 s; log {flaky.log}")
    assert supervisor._status["flaky"].crash_loop


def test_nothing_is_started_after_stop(
    tmp_path: Path, supervise: Callable[..., Supervisor]
) -> None:
    victim = service(tmp_path, "victim", "exec sleep 60")
    supervisor = supervise(victim, backoff=Backoff(first_s=0.5, max_s=0.5))
    os.kill(victim.pid, signal.SIGKILL)
    wait_for(lambda: supervisor._status["victim"].state == "waiting")
    supervisor.stop()
    time.sleep(0.5)
    assert not victim.running


def test_status_command_prints_a_line_per_service_while_the_supervisor_lives(
    tmp_path: Path, supervise: Callable[..., Supervisor]
) -> None:
    alpha = service(tmp_path, "alpha", "exec sleep 60")
    supervise(alpha)
    document = read_status(tmp_path / "status.json")
    assert document is not None
    table = format_status(document)
    assert table.splitlines()[0].split() == [
        "service", "state", "pid", "restarts", "for", "last", "exit",
    ]  # fmt: skip
    assert table.splitlines()[1].split()[:4] == ["alpha", "up", str(alpha.pid), "0"]
    result = subprocess.run(
        [sys.executable, "-m", "cluster", "status", "--state", str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].startswith("alpha")


def test_status_command_says_when_no_cluster_runs(tmp_path: Path) -> None:
    (tmp_path / "status.json").write_text(
        json.dumps({"supervisor_pid": 2**22 + 1, "services": []})
    )
    result = subprocess.run(
        [sys.executable, "-m", "cluster", "status", "--state", str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    assert "not running" in result.stdout


def test_exits_are_described_by_signal_name_or_status() -> None:
    assert describe_exit(-9) == "signal SIGKILL"
    assert describe_exit(137) == "exit status 137"


def test_a_start_that_hangs_is_killed_and_said_so(
    tmp_path: Path, supervise: Callable[..., Supervisor], lines: list[str]
) -> None:
    answers = [True]  # ready the first time only: every restart hangs
    hangs = Service(
        "hangs", ["bash", "-c", "exec sleep 60"], tmp_path / "h.log",
        lambda: answers.pop() if answers else False,
    )  # fmt: skip
    supervise(hangs, start_timeout_s=0.5)
    os.kill(hangs.pid, signal.SIGKILL)
    wait_for(lambda: any("hangs exited (not ready in time)" in x for x in lines))


def test_the_keeper_survives_its_own_errors(
    tmp_path: Path, supervise: Callable[..., Supervisor], lines: list[str]
) -> None:
    checks = iter([True, "boom"])  # the first restart's readiness check raises

    def ready() -> bool:
        answer = next(checks, True)
        if answer == "boom":
            raise ConnectionResetError("while checking")
        return answer

    victim = Service(
        "victim", ["bash", "-c", "exec sleep 60"], tmp_path / "v.log", ready
    )
    supervise(victim)
    first = victim.pid
    os.kill(first, signal.SIGKILL)
    wait_for(lambda: any("counted as an exit" in line for line in lines))
    wait_for(lambda: any(line.startswith("victim is back") for line in lines))
    assert victim.running and victim.pid != first


def test_a_crash_loop_is_cleared_once_the_service_stays_up(
    tmp_path: Path, supervise: Callable[..., Supervisor], lines: list[str]
) -> None:
    count = tmp_path / "starts"
    script = (
        f"n=$(cat {count} 2>/dev/null || echo 0); echo $((n + 1)) > {count}; "
        '[ "$n" -ge 3 ] && exec sleep 60; sleep 0.05; exit 3'
    )
    settles = Service(
        "settles", ["bash", "-c", script], tmp_path / "s.log", lambda: True
    )
    settles.launch()
    supervisor = supervise(
        settles,
        backoff=Backoff(first_s=0.05, max_s=0.1, crash_loop_exits=3, window_s=1),
    )
    wait_for(lambda: supervisor._status["settles"].crash_loop)
    wait_for(lambda: not supervisor._status["settles"].crash_loop, 10)
    assert settles.running
