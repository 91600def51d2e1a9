"""The GitHub Actions workflows call the suite with options it really defines: a renamed option must fail here,
not silently break the gate on a GPU runner."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

WORKFLOWS = sorted((Path(__file__).parents[2] / ".github" / "workflows").glob("*.yml"))


def pytest_invocations(text: str) -> list[str]:
    """Every `python -m pytest ...` command of a workflow's run scripts, backslash continuations joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [match.group(0) for match in re.finditer(r"-m pytest\b[^\n|]*", joined)]


def options_of(command: str) -> set[str]:
    return {token.split("=", 1)[0] for token in command.split() if token.startswith("--")}


@cache
def defined_options() -> set[str]:
    """What `pytest --help` lists with this suite's plugin and pytest-benchmark loaded."""
    helped = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=WORKFLOWS[0].parents[2],
    ).stdout
    return set(re.findall(r"(?<![\w-])--[a-z][\w-]*", helped))


def test_there_are_workflows_that_run_the_gate() -> None:
    names = {path.name for path in WORKFLOWS}
    assert {"tests.yml", "perf-gate.yml", "perf-nightly.yml", "update-baselines.yml"} <= names
    assert any(pytest_invocations(path.read_text()) for path in WORKFLOWS)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_every_pytest_option_in_a_workflow_is_defined(workflow: Path) -> None:
    for command in pytest_invocations(workflow.read_text()):
        unknown = options_of(command) - defined_options()
        assert not unknown, f"{workflow.name}: {command!r} uses undefined options {sorted(unknown)}"


def test_the_check_catches_an_option_that_does_not_exist() -> None:
    command = pytest_invocations("run: python -m pytest tests --benchmark-only \\\n  --gihub-summary x\n")[0]
    assert options_of(command) - defined_options() == {"--gihub-summary"}


def test_the_gate_judges_against_the_base_branch_and_never_uses_pull_request_target() -> None:
    gate = (WORKFLOWS[0].parent / "perf-gate.yml").read_text()
    assert "pull_request_target" not in gate.replace("never pull_request_target", "")
    assert 'git archive "$BASE_SHA" baselines' in gate and "github.event.pull_request.base.sha" in gate


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_checkouts_keep_no_credentials_and_actions_are_pinned_to_commits(workflow: Path) -> None:
    text = workflow.read_text()
    uses = re.findall(r"uses:\s*(\S+)", text)
    assert all(re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action) for action in uses), uses
    assert text.count("actions/checkout@") == text.count("persist-credentials: false")
