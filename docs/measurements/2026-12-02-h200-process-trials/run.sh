#!/usr/bin/env bash
# One device call of the cross-process gate trials: FIRST..LAST separate processes, one after another, each the
# same cases in the same order (what a gate run measures), the 20- and 100-frame ones also slowed down by 3 % and
# by SECOND (0.02 in odd processes, 0.05 in even ones) of real GPU work. Each process writes $OUT/p<i>.json.
#   bash docs/measurements/2026-12-02-h200-process-trials/run.sh FIRST LAST
set -uo pipefail
export PYTHONPATH=$PWD/.peer:$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1
R=44b3afbd1869d8bde4894dd8ea1e293112dd5eba
C=vggt-aggregator-sdpa-default
nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm,temperature.gpu --format=csv > "$OUT/gpu-$1.txt"
for i in $(seq "$1" "$2"); do
  second=$([ $((i % 2)) -eq 1 ] && echo 0.02 || echo 0.05)
  start=$(date +%s)
  python -m perf.tools.gate_trials --settle 0 --aa 0 --repeats 1 --slowdowns "0.03,$second" --vggt-revision $R \
    --case $C-8f-350x518 --case $C-20f-350x518 --case $C-100f-350x518 --case vggt-model-sdpa-default-20f-350x518 \
    --slowed $C-20f-350x518 --slowed $C-100f-350x518 --out "$OUT/p$i.json" >> "$OUT/log-$1.txt" 2>&1
  echo "process $i: exit $? in $(( $(date +%s) - start )) s, $(nvidia-smi --query-gpu=temperature.gpu --format=csv,noheader) C" | tee -a "$OUT/log-$1.txt"
done
