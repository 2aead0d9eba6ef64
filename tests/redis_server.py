"""A throw-away Redis server for tests, plus the pytest fixture that runs it.

The server is the cluster's own (cluster/services.py): Debian's redis-server,
installed on demand, keeping nothing on disk, on a free localhost port in a
temporary directory, stopped afterwards. Reuse it from any test module with::

    from tests.redis_server import redis_server  # noqa: F401

``redis_server.url`` is its URL; ``redis_server.restart()`` stops it and starts it
again on the same port, empty, as after a crash. ``running_redis()`` gives a
private server to a test that stops it. If Redis cannot be installed or started
the fixture raises, so dependent tests fail rather than silently skip.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from cluster.services import Service, free_port, redis

STARTUP_TIMEOUT_S = 30


@dataclass
class RedisServer:
    """A running redis-server that can be stopped and started again."""

    service: Service
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.service.start(STARTUP_TIMEOUT_S)

    def stop(self) -> None:
        """Stop the server; its keys are gone."""
        self.service.stop()

    def restart(self) -> None:
        """Stop and start again on the same port, with no keys, as after a crash."""
        self.service.restart(STARTUP_TIMEOUT_S)


@contextmanager
def running_redis() -> Iterator[RedisServer]:
    """Install if needed and start a private server; stop and clean up afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix="redistest-"))
    port = free_port()
    server = RedisServer(redis(workdir, port), port)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real Redis server for the whole test session."""
    with running_redis() as server:
        yield server
