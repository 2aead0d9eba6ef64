"""Two pinned sets: runtime (what running needs, the image's) and dev (plus tools)."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "requirements"
DEV_TOOLS = {"pytest", "pytest-asyncio", "pexpect", "playwright", "ruff"}


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith(("#", "-")):
            name, _, version = line.partition("==")
            found[canonicalize_name(name)] = version
    return found


def top_level(path: Path) -> set[str]:
    return {
        canonicalize_name(Requirement(line).name)
        for line in path.read_text().splitlines()
        if line and not line.startswith(("#", "-"))
    }


def test_the_dev_set_pins_the_runtime_set_exactly_plus_the_tools() -> None:
    runtime = pins(REQUIREMENTS / "runtime.lock")
    dev = pins(REQUIREMENTS / "dev.lock")
    assert {name: dev.get(name) for name in runtime} == runtime
    assert set(dev) >= DEV_TOOLS
    assert not DEV_TOOLS & set(runtime), "test or lint tools in the runtime set"


def test_the_runtime_set_holds_everything_its_packages_need() -> None:
    """What `pip check` would say of a venv with runtime.lock alone, read from the
    installed packages' metadata."""
    runtime = pins(REQUIREMENTS / "runtime.lock")
    missing = set()
    for name in runtime:
        try:
            requirements = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for line in requirements:
            requirement = Requirement(line)
            if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
                continue
            needed = canonicalize_name(requirement.name)
            if needed not in runtime and needed not in {"setuptools", "wheel", "pip"}:
                missing.add(f"{name} needs {needed}")
    assert not missing
    assert top_level(REQUIREMENTS / "runtime.in") <= set(runtime)


def _prerequisites() -> dict[str, list[str]]:
    rule = re.compile(r"^([a-z][a-z-]*):(?!=)\s*([^#]*)", re.M)
    text = (REPO_ROOT / "Makefile").read_text()
    return {target: deps.split() for target, deps in rule.findall(text)}


def _needs(target: str, rules: dict[str, list[str]]) -> set[str]:
    seen, todo = set(), [target]
    while todo:
        for dep in rules.get(todo.pop(), []):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


def test_only_the_targets_that_use_them_install_system_packages() -> None:
    rules = _prerequisites()
    without = ("run", "train", "serve", "serve-actions", "seed", "lint")
    benches = ("bench-nlu", "bench-kb", "bench-languages", "bench-alerts",
               "bench-retrain")  # fmt: skip
    for target in without + benches:
        assert "system-packages" not in _needs(target, rules), target
        assert "setup-dev" not in _needs(target, rules) or target == "lint", target
    # bench-analytics times the page's queries on a real PostgreSQL server.
    for target in ("test", "cluster", "loadtest", "bench-analytics"):
        assert "system-packages" in _needs(target, rules), target
    assert "system-packages" not in _needs("test-fast", rules)
