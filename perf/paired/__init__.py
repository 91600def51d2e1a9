"""The paired A/B gate, `python -m perf paired`: BASE and HEAD measured in one job, their rounds interleaved."""
