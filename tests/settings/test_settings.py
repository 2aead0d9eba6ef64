"""One home per process for every setting: defaults, validation, completeness."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from settings import SettingError, action_server, offline_environment, rasa_server
from tests.conftest import REPO_ROOT

# Where the processes' own code lives: none of it reads the environment itself.
CODE = ("actions", "stores", "connectors", "components", "rasa_changes", "metrics")
PLACEHOLDER = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")


def test_unset_variables_read_as_their_defaults() -> None:
    assert action_server.RETURN_WINDOW_DAYS.read({}) == 30
    assert action_server.RASA_URL.read({}) == "http://localhost:5005"
    assert action_server.DATABASE_URL.read({}) is None
    assert action_server.HANDOFF_WEBHOOK_URL.read({"HANDOFF_WEBHOOK_URL": " "}) is None
    for variable in action_server.VARIABLES + rasa_server.VARIABLES:
        variable.read({})  # every default is a valid value


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        (action_server.RETURN_WINDOW_DAYS, "thirty"),
        (action_server.RETURN_WINDOW_DAYS, "0"),
        (action_server.DATABASE_URL, "localhost:5432/shop"),
        (action_server.HANDOFF_WEBHOOK_URL, "ftp://desk.example.com/hook"),
        (action_server.RASA_URL, "localhost:5005"),
        (rasa_server.TRACKER_DATABASE_URL, "not a url"),
        (action_server.KB_EMBEDDING_MODEL, "bert-base-chinese"),  # a hub id
    ],
)
def test_a_value_that_cannot_be_used_is_refused_by_name(variable, value) -> None:
    with pytest.raises(SettingError, match=rf"^{variable.name}="):
        variable.read({variable.name: value})


def test_good_values_are_read() -> None:
    environ = {
        "RETURN_WINDOW_DAYS": "14",
        "DATABASE_URL": "postgresql+psycopg2://shop@db:5432/shop",
        "RASA_URL": "https://rasa.example.com/",
    }
    assert action_server.RETURN_WINDOW_DAYS.read(environ) == 14
    assert action_server.DATABASE_URL.read(environ) == environ["DATABASE_URL"]
    assert action_server.RASA_URL.read(environ) == "https://rasa.example.com"
    e5 = {"KB_EMBEDDING_MODEL": "multilingual-e5-small"}
    assert action_server.KB_EMBEDDING_MODEL.read(e5) == "multilingual-e5-small"
    assert action_server.KB_EMBEDDING_MODEL.read({}) == "all-MiniLM-L6-v2"


def test_the_action_server_stops_at_start_up_naming_every_bad_variable() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import actions"],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "RETURN_WINDOW_DAYS": "two weeks",
             "HANDOFF_WEBHOOK_URL": "desk.example.com"},
        capture_output=True, text=True,
    )  # fmt: skip
    assert result.returncode == 1
    assert "RETURN_WINDOW_DAYS='two weeks'" in result.stderr
    assert "HANDOFF_WEBHOOK_URL='desk.example.com'" in result.stderr
    assert "Traceback" not in result.stderr


def _reads_environment(path: Path) -> list[int]:
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"):
            lines.append(node.lineno)
    return lines


def test_only_the_settings_modules_read_the_environment() -> None:
    found = {
        str(path.relative_to(REPO_ROOT)): lines
        for package in CODE
        for path in (REPO_ROOT / package).rglob("*.py")
        if (lines := _reads_environment(path))
    }
    assert found == {}


def test_every_variable_rasa_expands_is_listed_with_its_meaning() -> None:
    expanded = set()
    for name in ("endpoints.yml", "cluster/endpoints.yml", "credentials.yml"):
        data = yaml.safe_load((REPO_ROOT / name).read_text())
        expanded |= set(PLACEHOLDER.findall(yaml.safe_dump(data)))
    assert expanded == set(rasa_server.EXPANDED_BY_RASA)


def test_the_offline_environment_is_written_once() -> None:
    offline = offline_environment()
    assert offline == {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    readers = {
        "Makefile": "include settings/offline.env",
        "scripts/serve.sh": ". settings/offline.env",
        "scripts/run_shell.sh": ". settings/offline.env",
        "deploy/entrypoint.sh": ". /app/settings/offline.env",
        "cluster/services.py": "offline_environment()",
    }
    for path, reads in readers.items():
        assert reads in (REPO_ROOT / path).read_text(), path
    dockerfile = (REPO_ROOT / "deploy" / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in dockerfile
    # Nowhere else sets these variables.
    manifests = (REPO_ROOT / "deploy" / "kubernetes").glob("*.yaml")
    others = ["deploy/Dockerfile", "deploy/docker-compose.yml", *map(str, manifests)]
    for path in [*readers, *others]:
        text = (REPO_ROOT / path).read_text()
        for name in offline:
            assert not re.search(rf"\b{name}\s*[:=]", text), (path, name)


def test_nlu_inference_takes_exactly_the_component_s_precisions() -> None:
    """settings/ must not import torch, so the list is written twice: kept equal."""
    from components.encoder_model import INFERENCE_PRECISIONS

    for precision in INFERENCE_PRECISIONS:
        environ = {"NLU_INFERENCE": precision}
        assert rasa_server.NLU_INFERENCE.read(environ) == precision
    with pytest.raises(SettingError, match="NLU_INFERENCE"):
        rasa_server.NLU_INFERENCE.read({"NLU_INFERENCE": "onnx-int4"})
