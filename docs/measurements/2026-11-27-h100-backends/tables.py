"""The tables of this folder's README, from its benchmark JSON files: python tables.py"""

import json
import pathlib

HERE = pathlib.Path(__file__).parent
RUN = ("attention.json", "agg-1-50.json", "agg-100.json", "agg-200a.json", "agg-200b.json")
BACKENDS = ("sdpa-default", "sdpa-cudnn", "sdpa-flash", "sdpa-efficient", "sdpa-math", "fa2", "fa3", "fa4", "flex")
FRAMES = (1, 2, 4, 8, 10, 20, 50, 100, 200)
# VGGT's README (H100, FlashAttention 3, aggregator alone): seconds and GB per frame count.
PUBLISHED_S = {1: 0.04, 2: 0.05, 4: 0.07, 8: 0.11, 10: 0.14, 20: 0.31, 50: 1.04, 100: 3.12, 200: 8.75}
GIB = 1024**3


def cases(files):
    """(workload, backend, frames) -> the benchmark's stats and extra_info, from this run's files."""
    found = {}
    for name in files:
        for bench in json.loads((HERE / name).read_text())["benchmarks"]:
            info = bench["extra_info"]
            found[(info["workload"], info["backend"], info["frames"])] = (bench["stats"], info)
    return found


def ok(case):
    return case is not None and case[1]["outcome"] == "ok"


def time_table(found, workload, unit, scale):
    head = "| frames | " + " | ".join(BACKENDS) + " |"
    lines = [f"{workload}, median {unit}", "", head, "|---:|" + "---:|" * len(BACKENDS)]
    for frames in FRAMES:
        cells = []
        for backend in BACKENDS:
            case = found.get((workload, backend, frames))
            cells.append(f"{case[0]['median'] * scale:.4g}" if ok(case) else (case[1]["outcome"] if case else "-"))
        lines.append(f"| {frames} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def fastest_table(found):
    lines = [
        "| frames | published FA3 s | fastest correct backend | its s | / published | runner-up | its s | default s |",
        "|---:|---:|---|---:|---:|---|---:|---:|",
    ]
    for frames in FRAMES:
        timed = sorted(
            (case[0]["median"], backend)
            for backend in BACKENDS
            if ok(case := found.get(("vggt-aggregator", backend, frames)))
        )
        (best_s, best), (second_s, second) = timed[0], timed[1]
        default_s = found[("vggt-aggregator", "sdpa-default", frames)][0]["median"]
        lines.append(
            f"| {frames} | {PUBLISHED_S[frames]} | {best} | {best_s:.4g} | x{best_s / PUBLISHED_S[frames]:.2f} "
            f"| {second} | {second_s:.4g} | {default_s:.4g} |"
        )
    return "\n".join(lines)


def accuracy_table(found):
    lines = [
        "| backend | aggregator relative error, min–max over frames | attention relative error | kernel |",
        "|---|---|---|---|",
    ]
    for backend in BACKENDS:
        errors = {}
        for workload in ("vggt-aggregator", "attention"):
            values = [c[1]["relative_error"] for f in FRAMES if ok(c := found.get((workload, backend, f)))]
            values = [v for v in values if v is not None]
            errors[workload] = f"{min(values):.4f}–{max(values):.4f}" if values else "reference"
        kernels = {c[1]["attention_kernel"][:70] for f in FRAMES if ok(c := found.get(("vggt-aggregator", backend, f)))}
        kernel = "; ".join(sorted(kernels)) or "(none fused: gemm + softmax)"
        lines.append(f"| {backend} | {errors['vggt-aggregator']} | {errors['attention']} | `{kernel}` |")
    return "\n".join(lines)


def teardown_table(found, rerun):
    lines = [
        "| frames | backend | this run s | IQR/median | rerun with CUPTI teardown s | IQR/median | rerun / run |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for frames in (1, 8, 20):
        for backend in ("sdpa-default", "fa3", "fa4"):
            first, again = (
                found[("vggt-aggregator", backend, frames)][0],
                rerun[("vggt-aggregator", backend, frames)][0],
            )
            lines.append(
                f"| {frames} | {backend} | {first['median']:.4f} | {first['iqr'] / first['median']:.1%} "
                f"| {again['median']:.4f} | {again['iqr'] / again['median']:.1%} | x{again['median'] / first['median']:.3f} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    found = cases(RUN)
    print(time_table(found, "vggt-aggregator", "s", 1), end="\n\n")
    print(fastest_table(found), end="\n\n")
    print(time_table(found, "attention", "ms", 1000), end="\n\n")
    print(accuracy_table(found), end="\n\n")
    print(teardown_table(found, cases(("teardown-1-20.json",))))
