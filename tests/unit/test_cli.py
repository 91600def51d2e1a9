"""`python -m perf backends` on a CPU machine: every backend listed, the unavailable ones with their reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from perf.backends.registry import BACKENDS
from perf.cli.main import main


def test_backends_lists_every_backend_with_status_and_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backends"]) == 0
    header, columns, *rows = capsys.readouterr().out.splitlines()
    assert header.startswith("attention backends on ") and header.endswith("(cpu, fp32)")
    assert columns.split() == ["backend", "library", "version", "status", "reason"]
    by_name = {row.split()[0]: row for row in rows}
    assert list(by_name) == list(BACKENDS)
    for name in ("sdpa-default", "sdpa-math"):
        assert by_name[name].split()[3] == "available"
    for name in ("sdpa-cudnn", "fa2", "fa3", "fa4", "flex"):
        row = by_name[name]
        assert row.split()[3] == "unavailable"
        assert BACKENDS[name].unavailable_reason(torch.device("cpu"), "fp32") in row


def test_python_dash_m_perf_backends_runs_without_errors() -> None:
    done = subprocess.run([sys.executable, "-m", "perf", "backends"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "fa4" in done.stdout and "Traceback" not in done.stderr


def test_an_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["nonsense"])
    assert exit_.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_baseline_schema_prints_the_committed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    committed = Path(__file__).resolve().parents[2] / "docs" / "baseline.schema.json"
    assert main(["baseline", "schema"]) == 0
    assert capsys.readouterr().out == committed.read_text()  # the regeneration command the schema test names
