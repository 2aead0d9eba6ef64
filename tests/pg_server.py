"""A throw-away PostgreSQL server for tests, plus the pytest fixture that runs it.

The server is real (Debian's postgresql package, installed on demand), lives in
a temporary directory, listens on a free localhost port with trust auth, and is
stopped and deleted afterwards. Reuse it from any test module or conftest with::

    from tests.pg_server import postgres_server, postgres_url  # noqa: F401

``postgres_url`` is one empty database for the session; ``postgres_server``
creates and drops more (``create_database(name, template=...)``).

If PostgreSQL cannot be installed or started the fixture raises, so dependent
tests fail rather than silently skip.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import pytest
from psycopg2 import sql

POSTGRES_USER = "postgres"
POSTGRES_BIN_GLOB = "/usr/lib/postgresql/*/bin/pg_ctl"


def _pg_bin_dir() -> Path | None:
    """Newest installed PostgreSQL's bin directory (Debian keeps them out of PATH)."""
    candidates = sorted(
        Path("/").glob(POSTGRES_BIN_GLOB.lstrip("/")),
        key=lambda path: tuple(
            int(part) for part in path.parent.parent.name.split(".")
        ),
    )
    return candidates[-1].parent if candidates else None


def _run(command: list[str], log_file: Path | None = None) -> None:
    """Run ``command``; on failure raise with its output and the server log."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        log = log_file.read_text() if log_file is not None and log_file.exists() else ""
        raise RuntimeError(
            f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}{log}"
        )


def ensure_postgres_installed() -> Path:
    """PostgreSQL's bin directory; installs the package first if needed (as root)."""
    bin_dir = _pg_bin_dir()
    if bin_dir is not None:
        return bin_dir
    _run(["apt-get", "update"])
    _run(["apt-get", "install", "-y", "--no-install-recommends", "postgresql"])
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        raise RuntimeError("postgresql was installed but no pg_ctl was found")
    return bin_dir


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PostgresServer:
    """Handle on a running server: connection URLs and database management."""

    def __init__(self, port: int) -> None:
        self.port = port
        connection = self._connect()
        self.version: int = connection.server_version
        connection.close()

    def url(self, database: str) -> str:
        return f"postgresql+psycopg2://{POSTGRES_USER}@127.0.0.1:{self.port}/{database}"

    def _connect(self) -> psycopg2.extensions.connection:
        connection = psycopg2.connect(
            host="127.0.0.1", port=self.port, user=POSTGRES_USER, dbname="postgres"
        )
        connection.autocommit = True
        return connection

    def _admin(self, statement: sql.Composable) -> None:
        connection = self._connect()
        try:
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    def create_database(self, name: str, template: str | None = None) -> str:
        """Create database ``name``, optionally cloned from ``template``."""
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        if self.version >= 150000:
            # For small databases a file copy is ~3x faster than WAL_LOG.
            statement += sql.SQL(" STRATEGY FILE_COPY")
        self._admin(statement)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self._admin(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )


@contextmanager
def running_postgres() -> Iterator[PostgresServer]:
    """Install if needed, initdb in a temp dir, start; stop and clean up afterwards."""
    bin_dir = ensure_postgres_installed()
    as_postgres: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="pgtest-"))
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_postgres = ["runuser", "-u", POSTGRES_USER, "--"]
        account = pwd.getpwnam(POSTGRES_USER)
        os.chown(workdir, account.pw_uid, account.pw_gid)
    data_dir, log_file = workdir / "data", workdir / "server.log"
    port = _free_port()

    def run(*args: str) -> None:
        _run([*as_postgres, *args], log_file)

    # Durability is pointless for a throw-away server and costs test time.
    options = f"-p {port} -k {workdir} -h 127.0.0.1"
    options += " -c fsync=off -c synchronous_commit=off"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-w"]
    try:
        run(str(bin_dir / "initdb"), "-D", str(data_dir), "-U", POSTGRES_USER,
            "--auth=trust", "--encoding=UTF8", "--no-sync")  # fmt: skip
        run(*pg_ctl, "-l", str(log_file), "-o", options, "start")
        try:
            yield PostgresServer(port)
        finally:
            run(*pg_ctl, "-m", "fast", "stop")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for the whole test session."""
    with running_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of an empty database on the session's PostgreSQL server."""
    return postgres_server.create_database("assistant_test")
