"""The set-up finds Python 3.10 on its own and explains itself when there is none."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIND_PYTHON = ROOT / "scripts" / "find_python.sh"


def run_find_python(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(FIND_PYTHON)], env=env, capture_output=True, text=True
    )


def test_finds_a_python_3_10() -> None:
    result = run_find_python({"PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    assert result.returncode == 0, result.stderr
    version = subprocess.run(
        [result.stdout.strip(), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
    ).stdout
    assert version.strip() == "(3, 10)"


def test_explicit_interpreter_wins(tmp_path: Path) -> None:
    found = run_find_python({"PATH": "/usr/bin:/bin", "HOME": str(Path.home())})
    explicit = found.stdout.strip()
    result = run_find_python(
        {"PATH": "/bin", "HOME": str(tmp_path), "PYTHON": explicit}
    )
    assert result.stdout.strip() == explicit


def test_says_what_to_do_without_python_3_10(tmp_path: Path) -> None:
    """An empty HOME (no pyenv) and a PATH with only the system's other Pythons."""
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    fake_python = fake_bin / "python3"
    fake_python.write_text("#!/bin/sh\nexit 1\n")  # answers like a wrong version
    fake_python.chmod(0o755)
    result = run_find_python({"PATH": f"{fake_bin}:/bin", "HOME": str(tmp_path)})
    assert result.returncode == 1
    assert result.stdout == ""
    assert "no Python 3.10 interpreter found" in result.stderr
    assert "pyenv install 3.10" in result.stderr
