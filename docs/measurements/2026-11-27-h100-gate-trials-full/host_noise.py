"""Where the few-frame aggregator's run-to-run spread comes from: the same forward timed in consecutive runs of
rounds under host-side variants, interleaved (run 1 of every variant, then run 2, ...) so drift hits them alike.

    PYTHONPATH=$PWD:$PWD/.peer python host_noise.py --frames 1,8 --runs 10  (from this folder)

Variants: eager (as the suite times it); gc-off (Python's collector disabled during the rounds); pinned (the
process on one core, one intra-op thread); pinned+gc-off; cuda-graph (the forward captured once and replayed:
what the GPU alone takes, no launches). Prints one JSON object per (frames, variant): the runs' medians in order.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time

import torch

from perf.device import select_device
from perf.model import VggtModels, prepare_aggregator
from perf.results import CaseKey, Resolution
from perf.runtime import Runtime


def timed_rounds(run, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        torch.cuda.synchronize()
        samples.append(time.perf_counter() - started)
    return samples


def graphed(module, images):
    """Capture one forward (bf16 autocast, no autocast cache) in a CUDA graph; replay is the run."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream), torch.inference_mode(), torch.autocast("cuda", torch.bfloat16, cache_enabled=False):
        for _ in range(2):
            module(images)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph), torch.inference_mode(), torch.autocast("cuda", torch.bfloat16, cache_enabled=False):
        module(images)
    return graph.replay


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", default="1,8")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=15)
    arguments = parser.parse_args()
    device = select_device()
    runtime = Runtime(device, VggtModels(device, None))
    all_cores = os.sched_getaffinity(0)
    one_core = {min(all_cores)}
    threads = torch.get_num_threads()
    with open("/proc/cpuinfo") as cpuinfo:
        cpu = cpuinfo.read().split("model name")[1].splitlines()[0].strip(" :\t")
    print(json.dumps({"cores": sorted(all_cores), "threads": threads, "cpu": cpu}))
    for frames in [int(f) for f in arguments.frames.split(",")]:
        key = CaseKey("vggt-aggregator", "sdpa-default", frames, Resolution(350, 518))
        prepared = prepare_aggregator(key, runtime)
        eager = prepared.forward
        module = runtime.models.resident("aggregator")
        images = torch.rand(1, frames, 3, 350, 518, device=device)
        try:
            replay = graphed(module, images)
        except Exception as error:  # a diagnostic: report and go on
            print(json.dumps({"frames": frames, "cuda-graph": f"failed: {str(error).splitlines()[0]}"}))
            replay = None
        variants = {
            "eager": (eager, False, False),
            "gc-off": (eager, True, False),
            "pinned": (eager, False, True),
            "pinned+gc-off": (eager, True, True),
        }
        if replay is not None:
            variants["cuda-graph"] = (replay, False, False)
        for run, *_ in variants.values():
            timed_rounds(run, 5)  # warm-up
        medians = {name: [] for name in variants}
        iqr = {name: [] for name in variants}
        for _ in range(arguments.runs):
            for name, (run, gc_off, pinned) in variants.items():
                if pinned:
                    os.sched_setaffinity(0, one_core)
                    torch.set_num_threads(1)
                if gc_off:
                    gc.collect()
                    gc.disable()
                try:
                    samples = timed_rounds(run, arguments.rounds)
                finally:
                    gc.enable()
                    os.sched_setaffinity(0, all_cores)
                    torch.set_num_threads(threads)
                q1, _, q3 = statistics.quantiles(samples, n=4)
                medians[name].append(statistics.median(samples))
                iqr[name].append((q3 - q1) / statistics.median(samples))
        for name in variants:
            m = medians[name]
            print(
                json.dumps(
                    {
                        "frames": frames,
                        "variant": name,
                        "run_medians_s": [round(x, 5) for x in m],
                        "spread_max_over_min": round(max(m) / min(m), 4),
                        "cv": round(statistics.stdev(m) / statistics.mean(m), 4),
                        "within_run_iqr_over_median_median": round(statistics.median(iqr[name]), 4),
                    }
                )
            )
        del replay, variants
        torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
