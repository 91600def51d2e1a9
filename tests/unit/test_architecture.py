"""The house: imports point down the layers, nothing imports in a circle, and the pure layers need neither torch nor
pytest, so the gate's decisions and the baseline commands run on any machine."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from perf.backends.registry import BACKENDS
from perf.core import catalog
from perf.workloads.registry import WORKLOADS

PERF = Path(__file__).resolve().parents[2] / "perf"

# What each subpackage may import besides itself, lowest first (README, "Architecture").
MAY_IMPORT = {
    "core": set(),
    "storage": {"core"},
    "report": {"core"},
    "hardware": {"core"},
    "backends": {"core", "hardware"},
    "workloads": {"core", "hardware", "backends"},
    "measure": {"core", "hardware", "backends", "workloads"},
    "cli": {"core", "storage", "report", "hardware", "backends", "paired"},
    "pytest_plugin": {"core", "storage", "report", "hardware", "backends", "workloads", "measure"},
    "tools": {"core", "storage", "report", "hardware", "backends", "workloads", "measure"},
    "benchmarks": {"core"},
    # the paired A/B gate: drives two worker processes; only `python -m perf paired` (cli) imports it
    "paired": {"core", "storage", "report", "hardware", "backends", "workloads", "measure", "tools"},
}
# Modules that must import neither torch nor pytest: the pure layers and the baseline commands.
TORCH_FREE = [
    "perf.core",
    "perf.storage",
    "perf.report",
    "perf.cli.main",
    "perf.cli.baseline_commands",
    "perf.cli.paired_command",
    "perf.paired.protocol",
    "perf.paired.request",
    "perf.paired.judgement",
    "perf.paired.worker",
]


def module_name(path: Path) -> str:
    parts = path.relative_to(PERF.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """The perf modules a file imports, wherever in the file (imports inside functions count too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("perf"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("perf"))
    return names


MODULES = {module_name(path): imports_of(path) for path in PERF.rglob("*.py")}


def subpackage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in MAY_IMPORT) else ""


def test_every_subpackage_has_its_place_in_the_layers() -> None:
    found = {subpackage(module) for module in MODULES} - {""}
    assert found - set(MAY_IMPORT) == set(), "a new subpackage needs its place in MAY_IMPORT (and the README)"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if subpackage(m)))
def test_imports_point_down_the_layers(module: str) -> None:
    own = subpackage(module)
    upward = {imported for imported in MODULES[module] if subpackage(imported) not in {own, "", *MAY_IMPORT[own]}}
    assert upward == set(), f"{module} imports {sorted(upward)}: {own} may import only {sorted(MAY_IMPORT[own])}"


def test_no_modules_import_each_other_in_a_circle() -> None:
    graph = {module: {i for i in imports if i in MODULES} for module, imports in MODULES.items()}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(module: str) -> None:
        if module in visiting:
            circle = [*visiting[visiting.index(module) :], module]
            pytest.fail(f"import circle: {' -> '.join(circle)}")
        if module in done:
            return
        visiting.append(module)
        for imported in sorted(graph[module]):
            visit(imported)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_the_pure_layers_and_the_baseline_commands_import_neither_torch_nor_pytest() -> None:
    modules = sorted(m for m in MODULES if any(m == p or m.startswith(f"{p}.") for p in TORCH_FREE))
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + ("heavy = sorted({'torch', 'pytest', 'scipy'} & set(sys.modules))\nprint(' '.join(heavy))\n")
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "", f"{', '.join(modules)} imported {done.stdout.strip()}"


def test_the_registries_hold_exactly_the_catalogued_names() -> None:
    assert list(BACKENDS) == list(catalog.BACKEND_NAMES)
    assert list(WORKLOADS) == list(catalog.WORKLOADS)
    assert all(WORKLOADS[name].info is info for name, info in catalog.WORKLOADS.items())
