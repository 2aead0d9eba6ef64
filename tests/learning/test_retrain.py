"""What retraining records about the code a model version was trained with."""

from __future__ import annotations

import subprocess
from pathlib import Path

from learning.retrain import Project


def git(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=folder, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_model_trained_in_a_clone_records_its_commit(tmp_path: Path) -> None:
    git(tmp_path, "init", "-q")
    (tmp_path / "config.yml").write_text("language: en\n")
    git(tmp_path, "add", "config.yml")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com",
        "commit", "-q", "-m", "first")  # fmt: skip
    assert Project(tmp_path).code_commit() == git(
        tmp_path, "rev-parse", "--short", "HEAD"
    )


def test_outside_a_clone_there_is_no_commit_to_record(tmp_path: Path) -> None:
    assert Project(tmp_path).code_commit() is None
