"""The suite's benchmark test, shipped in the package so any repository can run it against its own vggt.

With vggt-perf installed next to a vggt (a fork, a checkout installed with `pip install -e`), from that
repository::

    pytest --pyargs perf.benchmarks --benchmark-only [--profile quick] [--update-baselines]

The plugin comes with the install (pytest11 entry point). Baselines default to <rootdir>/baselines/<gpu-slug>.json,
rootdir being that repository's (where its pytest configuration is, else the directory pytest runs in), so each
repository keeps its own; --baseline-file names another, such as a copy of this suite's committed file.
"""
