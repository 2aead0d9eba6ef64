"""``python -m actions.db``: once end to end in a subprocess, error paths in-process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from actions.db.__main__ import main
from actions.db.engine import REPO_ROOT


def test_init_migrates_and_seeds_then_is_idempotent(
    empty_db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first = subprocess.run(
        [sys.executable, "-m", "actions.db", "init"],
        env={**os.environ, "DATABASE_URL": empty_db_url, "PYTHONPATH": str(REPO_ROOT)},
        cwd=tmp_path,  # works from any directory
        capture_output=True,
        text=True,
        timeout=600,  # the first use converts and exports e5
    )
    assert first.returncode == 0, first.stderr
    assert "302 customers" in first.stdout
    # 102 in English and 102 in Chinese, each embedded by its language's model
    assert "204 help-center articles added; 204 articles embedded" in first.stdout
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    assert main(["init"]) == 0
    again = capsys.readouterr().out
    assert "0 customers, 0 accounts, 0 orders, 0 help-center articles added" in again
    assert "embedded" not in again  # the vectors were stored the first time


@pytest.mark.parametrize("command", ["migrate", "seed", "init"])
def test_unreachable_database_is_one_clear_line(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        "DATABASE_URL", "postgresql+psycopg2://bot:s3cret@127.0.0.1:1/assistant"
    )
    assert main([command]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(
        "error: database postgresql+psycopg2://bot:***@127.0.0.1:1/assistant"
    )
    assert "Connection refused" in line


def test_invalid_url_is_reported(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "not a url")
    assert main(["migrate"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line == (
        "error: DATABASE_URL='not a url': must be a SQLAlchemy database URL, "
        "e.g. postgresql+psycopg2://host/db"
    )


def test_missing_schema_is_reported(
    empty_db_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", empty_db_url)
    assert main(["seed"]) == 1
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "customers" in line  # "no such table" / "relation does not exist"
