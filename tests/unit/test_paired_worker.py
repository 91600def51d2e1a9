"""`python -m perf.paired.worker` as a real process on the CPU: a bad case id is a failure line, an unavailable
case a skip, and a CPU-sized attention case prepares, warms up and times rounds; stdout holds protocol lines only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from perf.paired.protocol import (
    Bye,
    Failed,
    Prepare,
    Quit,
    Ready,
    Round,
    Skipped,
    Timed,
    Warm,
    Warmed,
    decode_reply,
    encode,
)

ROOT = Path(__file__).resolve().parents[2]
CPU_CASE = "attention-sdpa-math-1f-126x182"
GPU_ONLY_CASE = "attention-sdpa-cudnn-1f-126x182"


def test_the_worker_answers_failures_skips_and_rounds_one_line_each() -> None:
    commands = [
        Prepare("nonsense-1f-126x182"),
        Prepare(GPU_ONLY_CASE),
        Prepare(CPU_CASE),
        Warm(CPU_CASE, 0.0, 0.0),
        Round(CPU_CASE),
        Round(GPU_ONLY_CASE),
        Quit(),
    ]
    done = subprocess.run(
        [sys.executable, "-m", "perf.paired.worker"],
        input="".join(encode(c) + "\n" for c in commands),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    bad, skipped, ready, warmed, timed, unprepared, bye = [decode_reply(line) for line in done.stdout.splitlines()]
    assert isinstance(bad, Failed) and bad.command == "prepare" and "no workload" in bad.error
    assert isinstance(skipped, Skipped) and skipped.case_id == GPU_ONLY_CASE and "cuda" in skipped.reason
    assert isinstance(ready, Ready) and ready.dtype == "fp32"
    assert ready.environment["torch"] and "vggt" in ready.environment
    assert isinstance(warmed, Warmed) and warmed.added_s == 0.0
    assert isinstance(timed, Timed) and timed.case_id == CPU_CASE and timed.seconds > 0
    assert isinstance(unprepared, Failed) and "not prepared" in unprepared.error and CPU_CASE in unprepared.error
    assert bye == Bye()
