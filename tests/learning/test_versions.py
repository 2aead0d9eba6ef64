"""Versioned models: promote, serve, go back."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from learning.versions import ModelStore, VersionError, code_commit, data_hash


def model(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.tar.gz"
    path.write_bytes(name.encode() * 100)
    return path


def test_versions_go_live_and_back_in_order(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    assert store.live() is None
    with pytest.raises(VersionError, match="no earlier live version"):
        store.rollback()
    numbers = []
    for name in ("first", "second", "third"):
        version = store.add(model(tmp_path, name), "hash-" + name, ["greet"], "full")
        store.make_live(version.number)
        numbers.append(version.number)
        assert store.live_path.read_bytes() == model(tmp_path, name).read_bytes()
    assert numbers == [1, 2, 3] and store.live().number == 3

    assert store.rollback().number == 2
    assert store.live_path.read_bytes() == model(tmp_path, "second").read_bytes()
    assert store.rollback().number == 1
    with pytest.raises(VersionError):
        store.rollback()
    assert store.live().data_hash == "hash-first"
    manifest = json.loads(store.manifest_path.read_text())
    assert [v["file"] for v in manifest["versions"]] == [
        "versions/v1.tar.gz", "versions/v2.tar.gz", "versions/v3.tar.gz",
    ]  # fmt: skip
    with pytest.raises(VersionError, match="no model version 9"):
        store.make_live(9)


def test_no_temporary_file_is_left_behind(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    store.make_live(store.add(model(tmp_path, "a"), "h", [], "full").number)
    leftovers = [p.name for p in (tmp_path / "models").rglob(".*")]
    assert leftovers == []


def test_the_data_hash_follows_names_and_contents(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yml", tmp_path / "b.yml"
    a.write_text("one")
    b.write_text("two")
    first = data_hash([a, b])
    assert data_hash([b, a]) == first
    b.write_text("two!")
    assert data_hash([a, b]) != first


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
    assert code_commit(tmp_path) == git(tmp_path, "rev-parse", "--short", "HEAD")


def test_outside_a_clone_there_is_no_commit_to_record(tmp_path: Path) -> None:
    assert code_commit(tmp_path) is None
