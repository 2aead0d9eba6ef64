"""The trained project model, loaded once for the policy tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.agent import Agent


@pytest.fixture(scope="package")
def agent(trained_model: Path) -> Agent:
    return Agent.load(str(trained_model))
