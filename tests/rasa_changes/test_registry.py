"""The list of changes to Rasa is complete, checked at start-up, and documented."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from rasa.core.actions.action import RemoteAction

import rasa_changes
from rasa_changes import CHANGES, UntestedRasa, check_rasa
from rasa_changes.__main__ import markdown_table
from tests.conftest import REPO_ROOT

# Project code Rasa loads by name; each is a change to Rasa unless listed here.
NEW_TO_RASA = {
    # A new NLU component on Rasa's public GraphComponent API: it replaces nothing.
    "components.intent_sentiment_classifier.BertIntentSentimentClassifier",
    "components.language_detector.LanguageDetector",
    # A new channel on Rasa's public InputChannel API: it replaces no Rasa channel.
    "connectors.analytics_page.AnalyticsPage",
    "connectors.metrics_endpoint.MetricsEndpoint",
}
PROJECT_PACKAGES = ("actions", "cluster", "components", "connectors", "scripts",
                    "stores", "deploy")  # fmt: skip


def test_the_installed_rasa_passes_the_start_up_check() -> None:
    check_rasa()  # every name the changes rely on is there


def test_an_untested_rasa_version_is_refused_with_what_to_do() -> None:
    with pytest.raises(UntestedRasa) as refused:
        check_rasa("3.7.0")
    message = str(refused.value)
    assert "Rasa 3.7.0 is installed" in message
    assert "3.6.21" in message and "docs/rasa-changes.md" in message


def test_a_rasa_without_a_name_a_change_relies_on_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gone = rasa_changes.Change(
        "example", "policy", "components/x.py", "x", "y", ("z",),
        ("rasa.core.policies.rule_policy.RulePolicy._no_such_method",),
    )  # fmt: skip
    monkeypatch.setattr(rasa_changes, "CHANGES", (*CHANGES, gone))
    with pytest.raises(UntestedRasa, match="RulePolicy._no_such_method"):
        check_rasa()


def test_applying_twice_changes_nothing_more() -> None:
    rasa_changes.apply()
    patched = RemoteAction._validate_action_result
    rasa_changes.apply()
    assert RemoteAction._validate_action_result is patched
    assert patched.__module__ == "rasa_changes.runtime"


def test_every_change_names_files_that_exist() -> None:
    for change in CHANGES:
        assert (REPO_ROOT / change.where).is_file(), change.where
        for tested_by in change.tested_by:
            assert (REPO_ROOT / tested_by).exists(), tested_by
        assert change.kind in ("patch", "store", "policy", "channel")
        assert (change.apply is not None) == (change.kind == "patch"), change.name


def _rasa_names(tree: ast.Module) -> set[str]:
    """Names a module binds to Rasa's modules, classes and functions."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "rasa":
                    names.add(alias.asname or "rasa")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            "rasa."
        ):
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def _root(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _patches_of_rasa(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text())
    rasa_names = _rasa_names(tree)
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "setattr"
            and node.args
        ):
            targets = [ast.Attribute(value=node.args[0], attr="?")]
        for target in targets:
            if isinstance(target, ast.Attribute) and _root(target) in rasa_names:
                yield f"{path.relative_to(REPO_ROOT)}:{node.lineno}"


def test_nothing_outside_rasa_changes_patches_rasa() -> None:
    found = [
        place
        for package in PROJECT_PACKAGES
        for path in sorted((REPO_ROOT / package).rglob("*.py"))
        for place in _patches_of_rasa(path)
    ]
    assert found == []


def test_the_scan_finds_the_patches_in_rasa_changes() -> None:
    """The scan above would see a patch: it sees the ones in this package."""
    found = [
        place
        for path in sorted((REPO_ROOT / "rasa_changes").glob("*.py"))
        for place in _patches_of_rasa(path)
    ]
    assert len(found) >= 5, found


def _classes_rasa_loads_by_name() -> set[str]:
    config = yaml.safe_load((REPO_ROOT / "config.yml").read_text())
    named = {part["name"] for part in config["pipeline"] + config["policies"]}
    for endpoints in ("endpoints.yml", "cluster/endpoints.yml"):
        for section in yaml.safe_load((REPO_ROOT / endpoints).read_text()).values():
            if isinstance(section, dict) and "type" in section:
                named.add(section["type"])
    named.update(yaml.safe_load((REPO_ROOT / "credentials.yml").read_text()))
    return {name for name in named if "." in name and name.split(".")[0] != "rasa"}


def test_every_project_class_rasa_loads_is_listed_or_new_to_rasa() -> None:
    listed_modules = {change.where for change in CHANGES}
    for dotted in _classes_rasa_loads_by_name() - NEW_TO_RASA:
        module = dotted.rsplit(".", 1)[0].replace(".", "/") + ".py"
        assert module in listed_modules, f"{dotted} is not in rasa_changes.CHANGES"


def test_the_docs_list_every_change_and_the_tested_versions() -> None:
    docs = (REPO_ROOT / "docs" / "rasa-changes.md").read_text()
    for change in CHANGES:
        assert re.search(rf"\b{re.escape(change.name)}\b", docs), change.name
        assert change.where in docs, change.where
    for version in rasa_changes.TESTED_RASA_VERSIONS:
        assert version in docs
    assert "rasa_patches" not in docs
    assert markdown_table() in docs  # python -m rasa_changes prints the same list
