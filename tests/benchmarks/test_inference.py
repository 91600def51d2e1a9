"""The benchmark matrix of this repository's `pytest`: the packaged test (perf.benchmarks), one definition."""

from perf.benchmarks.test_inference import test_inference

__all__ = ["test_inference"]
