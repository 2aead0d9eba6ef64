"""Versioned models, the live one, and going back.

A folder (``models/`` by default) holds every promoted model as
``versions/v<N>.tar.gz`` and a manifest, ``versions/manifest.json``: for each
version its number, file, data hash, intents, figures, how it was trained and
when, and which version is live. ``live.tar.gz`` beside them is a copy of the
live version: what the model server (nginx in the cluster) serves, with an ETag
that changes whenever the file does, so every Rasa replica pulling it
(``models:`` in its endpoints) loads a promoted model or a rollback within its
pull interval, without a restart.

Every change is written to a temporary file first and moved into place, the
model before the manifest: a crash leaves the old state or the new one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

LIVE_FILE = "live.tar.gz"
VERSIONS_DIR = "versions"
MANIFEST_FILE = "manifest.json"


class VersionError(RuntimeError):
    """A request the model store cannot honour; the message says why."""


@dataclass
class Version:
    number: int
    file: str  # relative to the store's folder
    data_hash: str
    intents: list[str]
    trained: str  # "full", "fine-tuned from v3", "adopted"
    created_at: str
    metrics: dict[str, Any] = field(default_factory=dict)
    commit: str | None = None


def data_hash(paths: list[Path]) -> str:
    """One hash for the training inputs (names and contents), in order."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def code_commit(folder: Path) -> str | None:
    """The commit of the code in ``folder`` (a model version keeps the one it was
    trained with, a benchmark prints the one it measured); None outside a git
    clone or without git."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=folder,
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    except OSError:  # no git installed
        return None
    return result.stdout.strip() or None


def _write_atomically(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class ModelStore:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.manifest_path = folder / VERSIONS_DIR / MANIFEST_FILE

    @property
    def live_path(self) -> Path:
        return self.folder / LIVE_FILE

    def _manifest(self) -> dict[str, Any]:
        if not self.manifest_path.is_file():
            return {"live": None, "history": [], "versions": []}
        return json.loads(self.manifest_path.read_text())

    def versions(self) -> list[Version]:
        return [Version(**entry) for entry in self._manifest()["versions"]]

    def live(self) -> Version | None:
        manifest = self._manifest()
        live = [v for v in manifest["versions"] if v["number"] == manifest["live"]]
        return Version(**live[0]) if live else None

    def path_of(self, version: Version) -> Path:
        return self.folder / version.file

    def add(
        self,
        model: Path,
        data: str,
        intents: list[str],
        trained: str,
        metrics: dict[str, Any] | None = None,
        commit: str | None = None,
    ) -> Version:
        """Keep a copy of ``model`` as the next version (not live yet)."""
        manifest = self._manifest()
        number = 1 + max((v["number"] for v in manifest["versions"]), default=0)
        relative = f"{VERSIONS_DIR}/v{number}.tar.gz"
        _write_atomically(self.folder / relative, lambda to: shutil.copyfile(model, to))
        version = Version(
            number, relative, data, sorted(intents), trained,
            datetime.now(timezone.utc).isoformat(timespec="seconds"),
            metrics or {}, commit,
        )  # fmt: skip
        manifest["versions"].append(asdict(version))
        self._save(manifest)
        return version

    def make_live(self, number: int, already_served: bool = False) -> Version:
        """Serve version ``number``: copy it to live.tar.gz, then record it.
        ``already_served``: live.tar.gz is a copy of it already; keep that file
        (a new copy would have the replicas load the same model again)."""
        version = next((v for v in self.versions() if v.number == number), None)
        if version is None:
            raise VersionError(f"there is no model version {number}")
        if not already_served:
            _write_atomically(
                self.live_path, lambda to: shutil.copyfile(self.path_of(version), to)
            )
        manifest = self._manifest()
        if manifest["live"] is not None:
            manifest["history"].append(manifest["live"])
        manifest["live"] = number
        self._save(manifest)
        return version

    def add_live_copy(self, model: Path) -> None:
        """Serve ``model`` as live.tar.gz without a version of its own (a cluster
        started on a model the store does not hold yet)."""
        _write_atomically(self.live_path, lambda to: shutil.copyfile(model, to))

    def rollback(self) -> Version:
        """Serve the version that was live before the current one."""
        manifest = self._manifest()
        if not manifest["history"]:
            raise VersionError("no earlier live version to go back to")
        previous = manifest["history"][-1]
        version = self.make_live(previous)
        manifest = self._manifest()
        # Going back is not a step forward: forget both moves in the history.
        manifest["history"] = manifest["history"][:-2]
        self._save(manifest)
        return version

    def _save(self, manifest: dict[str, Any]) -> None:
        text = json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
        _write_atomically(self.manifest_path, lambda to: to.write_text(text))
