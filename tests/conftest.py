"""Shared test set-up: the ``e2e`` marker; a trained model, and its agent, on demand."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cluster.services import rasa_environment

if TYPE_CHECKING:
    from rasa.core.agent import Agent
    from rasa.shared.core.domain import Domain

REPO_ROOT = Path(__file__).resolve().parents[1]
MODELS_DIR = REPO_ROOT / "models"
RASA = Path(sys.executable).with_name("rasa")
# Same inputs as the Makefile's model target: any change makes the model stale.
TRAINING_INPUT_PATTERNS = (
    "config.yml",
    "domain.yml",
    "data/*.yml",
    "data/reviewed/*.yml",
    "data/sentiment.csv",
    "data/sentiment_zh.csv",
    "components/*.py",
    "base_models/*.py",
)
TRAINING_TIMEOUT_S = 3600


# Fixtures that make a test slow in a way the fast tier (make test-fast) leaves
# out; tests using them are marked automatically, so no test can forget to be.
MODEL_FIXTURES = {"trained_model", "agent"}
SERVER_FIXTURES = {"postgres_server", "postgres_url", "redis_server", "own_redis"}


def pytest_configure(config: pytest.Config) -> None:
    for marker in (
        "e2e: slow; starts the Rasa and action servers, a cluster or a browser",
        "model: needs the project's trained model (trains it when it is missing)",
        "servers: starts PostgreSQL or Redis, or needs the cluster's Debian packages",
        "postgres: runs against a real PostgreSQL server (also marked servers)",
    ):
        config.addinivalue_line("markers", marker)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & MODEL_FIXTURES:
            item.add_marker(pytest.mark.model)
        if fixtures & SERVER_FIXTURES or item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.servers)


def offline_env(**extra: str) -> dict[str, str]:
    """Environment for Rasa subprocesses: no model downloads, repo importable."""
    return rasa_environment(**extra)


def _training_inputs() -> Iterable[Path]:
    for pattern in TRAINING_INPUT_PATTERNS:
        yield from REPO_ROOT.glob(pattern)


def up_to_date_model() -> Path | None:
    """``models/assistant.tar.gz`` (what make train writes; not the English-only
    baseline beside it) if it is newer than every training input."""
    model = MODELS_DIR / "assistant.tar.gz"
    if not model.is_file():
        return None
    newest_input = max(path.stat().st_mtime for path in _training_inputs())
    return model if model.stat().st_mtime > newest_input else None


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """Path of a model trained on the current data, training one only if needed."""
    model = up_to_date_model()
    if model is not None:
        return model
    command = [
        str(RASA),
        "train",
        "--fixed-model-name",
        "assistant",
        "--out",
        str(MODELS_DIR),
    ]
    result = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=offline_env(),
        capture_output=True,
        text=True,
        timeout=TRAINING_TIMEOUT_S,
    )
    model = up_to_date_model()
    if result.returncode != 0 or model is None:
        output = result.stdout[-4000:] + result.stderr[-4000:]
        pytest.fail(f"rasa train failed ({result.returncode}):\n{output}")
    return model


@pytest.fixture(scope="session")
def agent(trained_model: Path) -> Agent:
    """The trained project model, loaded once for every test that reads it."""
    from rasa.core.agent import Agent  # TensorFlow and all: only when needed

    return Agent.load(str(trained_model))


@pytest.fixture(scope="module")
def domain() -> Domain:
    """The project's domain (tests/actions/ has its own, as a dict)."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(REPO_ROOT / "domain.yml"))
