"""vggt-perf: a pytest-benchmark suite for VGGT inference, gated by per-GPU baselines."""

__version__ = "0.3.0"
