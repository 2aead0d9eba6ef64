"""A throw-away Redis server for tests, plus the pytest fixture that runs it.

The server is real (Debian's redis-server package, installed on demand), keeps
nothing on disk, listens on a free localhost port, works in a temporary
directory, and is stopped afterwards. Reuse it from any test module or conftest
with::

    from tests.redis_server import redis_server  # noqa: F401

``redis_server.url`` is its URL; ``redis_server.restart()`` stops it and starts it
again on the same port, empty, as after a crash. ``running_redis()`` gives a
private server to a test that stops it.

If Redis cannot be installed or started the fixture raises, so dependent tests
fail rather than silently skip.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.servers import free_port

REDIS_SERVER = "/usr/bin/redis-server"
STARTUP_TIMEOUT_S = 10
STOP_TIMEOUT_S = 10
APT_LOCK_TIMEOUT_S = 300


def _installed() -> str | None:
    found = shutil.which("redis-server")
    return found or (REDIS_SERVER if Path(REDIS_SERVER).exists() else None)


def ensure_redis_installed() -> str:
    """Path of redis-server; installs Debian's package first if needed.

    An apt-get already running (maybe installing it too) is waited for, not failed on.
    """
    if _installed() is None:
        sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        wait_for_apt = ["-o", f"DPkg::Lock::Timeout={APT_LOCK_TIMEOUT_S}"]
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", *wait_for_apt, "install", "-y", "-qq",
             "--no-install-recommends", "redis-server"],
        ):  # fmt: skip
            result = subprocess.run(
                [*sudo, *command], capture_output=True, text=True, env=env
            )
            if result.returncode != 0:
                raise RuntimeError(
                    f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}"
                )
    path = _installed()
    if path is None:
        raise RuntimeError("redis-server was installed but is not on PATH")
    return path


def _answers_ping(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        if probe.connect_ex(("127.0.0.1", port)) != 0:
            return False
        probe.sendall(b"PING\r\n")
        return probe.recv(16).startswith(b"+PONG")


class RedisServer:
    """A running redis-server process that can be stopped and started again."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.log = workdir / "redis.log"
        self._process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start on ``self.port`` and return once it answers PING."""
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", str(self.workdir),
                   "--logfile", str(self.log)]  # fmt: skip
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _answers_ping(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                log = self.log.read_text() if self.log.exists() else ""
                raise RuntimeError(f"redis-server did not start:\n{log[-4000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL); its keys are gone."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def restart(self) -> None:
        """Stop and start again on the same port, with no keys, as after a crash."""
        self.stop()
        self.start()


@contextmanager
def running_redis() -> Iterator[RedisServer]:
    """Install if needed and start a private server; stop and clean up afterwards."""
    binary = ensure_redis_installed()
    server = RedisServer(binary, Path(tempfile.mkdtemp(prefix="redistest-")))
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real Redis server for the whole test session."""
    with running_redis() as server:
        yield server
