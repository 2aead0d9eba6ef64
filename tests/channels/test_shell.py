"""A real `rasa shell` session in a terminal, typed into as a person would."""

from __future__ import annotations

from pathlib import Path

import pexpect
import pytest

from tests.channels.conftest import Stack
from tests.conftest import RASA, REPO_ROOT, offline_env
from tests.servers import STARTUP_TIMEOUT_S, credentials_file, free_port

pytestmark = pytest.mark.e2e

REPLY_TIMEOUT_S = 60
PROMPT = "Your input ->"


def test_greeting_and_order_status_in_rasa_shell(
    stack: Stack, trained_model: Path, tmp_path: Path
) -> None:
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(
        f'action_endpoint:\n  url: "http://127.0.0.1:{stack.action_port}/webhook"\n'
    )
    arguments = ["shell", "--model", str(trained_model), "--endpoints", str(endpoints)]
    arguments += ["--credentials", str(credentials_file(tmp_path, {}))]
    arguments += ["--port", str(free_port())]
    transcript = (tmp_path / "shell.log").open("w")
    shell = pexpect.spawn(
        str(RASA),
        arguments,
        cwd=str(REPO_ROOT),
        env=offline_env(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1"),
        encoding="utf-8",
        dimensions=(50, 200),
        timeout=REPLY_TIMEOUT_S,
        logfile=transcript,
    )
    try:
        shell.expect("Bot loaded", timeout=STARTUP_TIMEOUT_S)
        shell.expect(PROMPT)
        shell.sendline("hello")
        shell.expect("I can help with your orders")
        shell.expect(PROMPT)
        shell.sendline("where is my order ORD-1001?")
        shell.expect("email address")
        shell.expect(PROMPT)
        shell.sendline("alice@example.com")
        shell.expect("Order ORD-1001 is on its way with UPS.")
        shell.expect(PROMPT)
        shell.sendline("/stop")
        shell.expect(pexpect.EOF)
    except pexpect.ExceptionPexpect as error:
        transcript.flush()
        pytest.fail(f"{error}\n{(tmp_path / 'shell.log').read_text()[-4000:]}")
    finally:
        shell.close(force=True)
        transcript.close()
