#!/usr/bin/env bash
# One device call: the H200 baseline (quick profile in 3 separate processes, pooled by `baseline update`), then
# paired A/B runs (identical base and head; head slowed by 3 % of real GPU work), then one gate run against the new
# file (and its confirmation if a case's time regressed). Output in $OUT; paired JSONs in paired.tar.
set -uo pipefail
START=$(date +%s); BUDGET=${BUDGET:-480}  # seconds after which no further step starts (the device call's limit)
left() { [ $(( $(date +%s) - START + ${2:-0} )) -lt "$BUDGET" ] || { echo "stopped: $1 not started (budget ${BUDGET} s)" | tee -a "$L"; return 1; }; }
export PYTHONPATH=$PWD/.peer:$PWD:${PYTHONPATH:-} PYTHONUNBUFFERED=1
R=44b3afbd1869d8bde4894dd8ea1e293112dd5eba
C=vggt-aggregator-sdpa-default
L=$OUT/log.txt
nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm,temperature.gpu --format=csv > "$L"
Q="tests/benchmarks --benchmark-only --profile quick --vggt-revision $R"
for i in 1 2 3; do
  s=$(date +%s); python -m pytest $Q --baseline-file /tmp/none.json --benchmark-json "$OUT/q$i.json" >> "$L" 2>&1
  echo "quick process $i: exit $? in $(( $(date +%s) - s )) s" | tee -a "$L"
done
python -m perf baseline update --from-json "$OUT/q1.json" --from-json "$OUT/q2.json" --from-json "$OUT/q3.json" "$OUT/" 2>&1 | tee -a "$L"
mkdir -p /tmp/paired
paired() {  # name, then the paired options
  local name=$1; shift; local s; s=$(date +%s); left "paired $name" || return 0
  python -m perf paired --base-path .peer --head-path .peer --json "/tmp/paired/$name.json" "$@" >> "$L" 2>&1
  echo "paired $name: exit $? in $(( $(date +%s) - s )) s" | tee -a "$L"
  tar -cf "$OUT/paired.tar" -C /tmp paired
}
paired aa-1 --case $C-8f-350x518 --case $C-20f-350x518
paired slow3-1 --case $C-20f-350x518 --head-slowdown 0.03
for i in 2 3 4 5; do paired "aa-$i" --case $C-8f-350x518 --case $C-20f-350x518; done
paired slow3-2 --case $C-20f-350x518 --head-slowdown 0.03
left gate 90 || exit 0
s=$(date +%s)
python -m pytest $Q --baseline-file "$OUT/nvidia-h200.json" --require-baseline --benchmark-json "$OUT/g1.json" >> "$L" 2>&1
rc=$?; echo "gate: exit $rc in $(( $(date +%s) - s )) s" | tee -a "$L"
if [ $rc -eq 1 ]; then
  s=$(date +%s)
  python -m pytest $Q --baseline-file "$OUT/nvidia-h200.json" --require-baseline --confirm-from "$OUT/g1.json" --benchmark-json "$OUT/c1.json" >> "$L" 2>&1
  echo "confirmation: exit $? in $(( $(date +%s) - s )) s" | tee -a "$L"
fi
