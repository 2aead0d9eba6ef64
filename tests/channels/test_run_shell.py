"""`make run`'s chat (scripts/run_shell.sh): the conversation, not library noise."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest

from tests.conftest import REPO_ROOT, offline_env
from tests.servers import STARTUP_TIMEOUT_S, free_port

pytestmark = pytest.mark.e2e

PROMPT = "Your input ->"
NOISE = re.compile(r"Warning|DEPRECAT| INFO | DEBUG |tensorflow|Traceback", re.I)


def test_the_chat_shows_the_assistant_and_logs_the_rest(
    trained_model: Path, tmp_path: Path
) -> None:
    env = offline_env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'shop.db'}",
        TRACKER_DATABASE_URL=f"sqlite:///{tmp_path / 'conversations.db'}",
        RASA_PORT=str(free_port()),
        ACTION_SERVER_PORT=str(free_port()),
        TERM="xterm",
        PROMPT_TOOLKIT_NO_CPR="1",
    )
    subprocess.run(
        [sys.executable, "-m", "actions.db", "init"], env=env, cwd=REPO_ROOT, check=True
    )
    log = REPO_ROOT / "var" / "log" / "rasa-shell.log"
    logged_before = log.stat().st_size if log.exists() else 0
    shell = pexpect.spawn(
        "bash",
        ["scripts/run_shell.sh", str(trained_model)],
        cwd=str(REPO_ROOT),
        env=env,
        encoding="utf-8",
        dimensions=(50, 200),
        timeout=60,
    )
    try:
        shell.expect("Loading the assistant", timeout=STARTUP_TIMEOUT_S)
        shell.expect("Bot loaded", timeout=STARTUP_TIMEOUT_S)
        start_up = shell.before
        shell.expect(PROMPT)
        shell.sendline("where is my order ORD-1001?")
        shell.expect("email address")
        shell.expect(PROMPT)
        shell.sendline("alice@example.com")
        shell.expect("Order ORD-1001 is on its way with UPS.")
        conversation = shell.before
        shell.expect(PROMPT)
        shell.sendline("/stop")
        shell.expect(pexpect.EOF)
    finally:
        shell.close(force=True)
    assert not NOISE.search(start_up), start_up
    assert not NOISE.search(conversation), conversation
    # What the terminal did not show is in the log.
    assert log.stat().st_size > logged_before
