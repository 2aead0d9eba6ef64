"""Start and stop the project's servers as subprocesses in tests.

Servers run on free localhost ports in their own process group, so stopping one
stops its children too; a server that dies or hangs fails the test with its log.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from scripts.credentials import render
from tests.conftest import REPO_ROOT, offline_env

STARTUP_TIMEOUT_S = 300


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(
    url: str,
    process: subprocess.Popen,
    log: Path,
    ready: Callable[[requests.Response], bool],
) -> None:
    """Poll ``url`` until ``ready``; fail with the server log if it dies or hangs."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"server exited with {process.returncode}:\n{log.read_text()[-4000:]}"
            )
        try:
            if ready(requests.get(url, timeout=2)):
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    pytest.fail(
        f"{url} not ready after {STARTUP_TIMEOUT_S}s:\n{log.read_text()[-4000:]}"
    )


def start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    """Start a server in its own process group: stopping it stops its children."""
    with log.open("w") as out:
        return subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def endpoints_file(workdir: Path, action_port: int, tracker_database_url: str) -> Path:
    """endpoints.yml for a test server: its own action server and conversation DB."""
    path = workdir / "endpoints.yml"
    path.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n'
        "tracker_store:\n"
        "  type: stores.tracker_store.ResilientSQLTrackerStore\n"
        f'  url: "{tracker_database_url}"\n'
        "  retry_seconds: 2\n"
    )
    return path


def credentials_file(workdir: Path, environ: dict[str, str]) -> Path:
    """credentials.yml rendered for ``environ``: Rasa can't read the template."""
    path = workdir / "credentials.yml"
    render(REPO_ROOT / "credentials.yml", path, environ)
    return path


_seeded_template: Path | None = None


def seeded_database(directory: Path) -> str:
    """URL of a fresh database made with the project's own CLI (migrate + seed).

    The CLI runs once per test run (it embeds the help center: about 20 s);
    each caller gets its own copy of the result.
    """
    global _seeded_template
    if _seeded_template is None:
        template = Path(tempfile.mkdtemp(prefix="seeded-")) / "assistant.db"
        subprocess.run(
            [sys.executable, "-m", "actions.db", "init"],
            cwd=REPO_ROOT,
            env=offline_env(DATABASE_URL=f"sqlite:///{template}"),
            check=True,
            capture_output=True,
        )
        _seeded_template = template
    path = directory / "assistant.db"
    shutil.copyfile(_seeded_template, path)
    return f"sqlite:///{path}"
