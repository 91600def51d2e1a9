"""Real slowdowns for the gate trials: calibrated matrix products appended to each forward of a workload."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

import torch

from perf.core.results import CaseKey
from perf.hardware.device import synchronize
from perf.workloads.registry import Workload
from perf.workloads.runtime import Prepared, Runtime

# Matrix products calibrating the added work: large enough that launching them costs nothing beside their run.
WORK_SIDE = {"cuda": 4096, "cpu": 128}
CALIBRATION_PRODUCTS = 20


def calibrated_work(
    device: torch.device, extra_s: float, clock: Callable[[], float] = time.perf_counter
) -> tuple[Callable[[], None], float]:
    """GPU (or CPU) work taking about extra_s, and the seconds it was calibrated to: whole matrix products, timed
    on clock (a stand-in in tests) over CALIBRATION_PRODUCTS of them."""
    side = WORK_SIDE[device.type]
    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    matrix = torch.randn(side, side, device=device, dtype=dtype)
    product = torch.empty_like(matrix)

    def one() -> None:
        torch.mm(matrix, matrix, out=product)

    for _ in range(3):
        one()
    synchronize(device)
    started = clock()
    for _ in range(CALIBRATION_PRODUCTS):
        one()
    synchronize(device)
    each_s = (clock() - started) / CALIBRATION_PRODUCTS
    count = max(1, round(extra_s / each_s))

    def work() -> None:
        for _ in range(count):
            one()

    return work, count * each_s


def slowed_down(workload: Workload, work: Callable[[], None]) -> Workload:
    """The workload, its forwards running `work` after themselves (their outputs are unchanged)."""

    def prepare(key: CaseKey, runtime: Runtime) -> Prepared:
        prepared = workload.prepare(key, runtime)

        def forward() -> object:
            output = prepared.forward()
            work()
            return output

        return dataclasses.replace(prepared, forward=forward)

    return dataclasses.replace(workload, prepare=prepare)
