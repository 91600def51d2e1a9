"""The attention-backend registry: one literal table of every backend the suite can measure, by name."""

from __future__ import annotations

from collections.abc import Mapping

from perf.backends.libraries import ROUTED_BACKENDS
from perf.backends.protocol import Backend
from perf.backends.sdpa import SDPA_BACKENDS

_ALL: tuple[Backend, ...] = (*SDPA_BACKENDS, *ROUTED_BACKENDS)
BACKENDS: Mapping[str, Backend] = {backend.name: backend for backend in _ALL}
