"""Does one torch.profiler session slow the forwards timed after it? (VGGT aggregator, bf16, 350x518, default SDPA)

Run: PYTHONPATH=<vggt source> python cupti_after_profile.py   (once as is, once with TEARDOWN_CUPTI=1)
Prints the median of 30 synchronized forwards per frame count before and after one profiled forward.
"""

import os
import statistics
import time

import torch
from torch.profiler import ProfilerActivity, profile
from vggt.models.vggt import VGGT


def median_forward_s(forward, rounds=30):
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        forward()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


aggregator = VGGT().aggregator.to("cuda", torch.bfloat16).eval()
inputs = {s: torch.rand(1, s, 3, 350, 518, device="cuda") for s in (1, 8, 20)}


def forward_of(frames):
    def forward():
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
            aggregator(inputs[frames])

    return forward


for frames in inputs:
    median_forward_s(forward_of(frames), rounds=5)  # warm-up
before = {s: median_forward_s(forward_of(s)) for s in inputs}
with profile(activities=[ProfilerActivity.CUDA]):
    forward_of(1)()
    torch.cuda.synchronize()
after = {s: median_forward_s(forward_of(s)) for s in inputs}
print(f"TEARDOWN_CUPTI={os.environ.get('TEARDOWN_CUPTI', '(unset)')} torch {torch.__version__}")
for s in inputs:
    print(f"  {s:>3} frames: before {before[s]:.4f} s, after one profile {after[s]:.4f} s, x{after[s] / before[s]:.3f}")
