"""The unit tests are no benchmarks: under --benchmark-only none of them is collected, so `pytest --benchmark-only`
runs on a plain install, without the test extras (hypothesis...) these files import."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    return True if config.getoption("--benchmark-only", False) else None
