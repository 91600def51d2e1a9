#!/usr/bin/env bash
# One device call of the paired and gate trials (docs/paired.md, docs/gate-trials.md), run in the repository root
# with vggt 44b3afb's source in .peer/ (not committed: ../../../shared/docs/device.md says how it travels):
#   bash docs/measurements/2026-12-02-h200-paired-workers/run.sh 1   # or 2
# Each step starts only while the call has time left for it (STOP seconds after the start, default 560); every
# paired run is a new `python -m perf paired` invocation (its own 2N worker processes), every gate run a new pytest
# process against the committed baselines/nvidia-h200.json, confirmed in a fresh process as perf-gate does.
set -u; START=$(date +%s); STOP=${STOP:-560}
export PYTHONPATH=$PWD/.peer:$PWD PYTHONUNBUFFERED=1
L=$OUT/log.txt; R=/tmp/trials; mkdir -p $R
{ date -u; nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm,temperature.gpu --format=csv; nproc
  python3 -c 'import torch; print(torch.__version__)'; } >> "$L" 2>&1
C=vggt-aggregator-sdpa-default; REV=44b3afbd1869d8bde4894dd8ea1e293112dd5eba
keep() { tar -cf "$OUT/trials.tar" -C /tmp trials; }
room() { [ $(( $(date +%s) - START + $2 )) -lt "$STOP" ] || { echo "stopped: $1 not started" | tee -a "$L"; return 1; }; }
paired() { local name=$1 need=$2; shift 2; room "$name" "$need" || return 0; local s; s=$(date +%s)
  python -m perf paired --base-path .peer --head-path .peer --json "$R/$name.json" "$@" > "$R/$name.log" 2>&1
  echo "$(date -u +%H:%M:%S) paired $name: exit $? in $(( $(date +%s) - s )) s: $(grep -E '^(PASS|REGRESSION|IMPROVED|paired: the)' "$R/$name.log" | head -1)" | tee -a "$L"; keep; }
gate() { local name=$1; room "$name" 120 || return 0; local s; s=$(date +%s) first=0 confirm=-
  python -m pytest tests/benchmarks --benchmark-only --profile quick --vggt-revision $REV --require-baseline \
    --benchmark-json "$R/$name.json" > "$R/$name.log" 2>&1 || first=$?
  if [ "$first" -eq 1 ] && room "$name-confirm" 60; then confirm=0
    python -m pytest tests/benchmarks --benchmark-only --profile quick --vggt-revision $REV --require-baseline \
      --confirm-from "$R/$name.json" --benchmark-json "$R/$name-confirm.json" > "$R/$name-confirm.log" 2>&1 || confirm=$?
  fi
  echo "$(date -u +%H:%M:%S) gate $name: exit $first, confirmation exit $confirm, $(( $(date +%s) - s )) s" | tee -a "$L"; keep; }
AA="--case $C-20f-350x518 --workers 3"
case "${1:?call 1 or 2}" in
  1) gate gate-1
     for i in 3 4 5 6; do paired aa-20f-$i 90 $AA; [ $i = 4 ] && paired slow3-20f-2 90 $AA --head-slowdown 0.03; done
     paired slow3-20f-3 90 $AA --head-slowdown 0.03 ;;
  2) paired slow3-100f-2 150 --case $C-100f-350x518 --workers 2 --min-rounds 4 --head-slowdown 0.03
     for i in 7 8 9 10 11 12; do paired aa-20f-$i 90 $AA; done
     paired aa-100f-1 150 --case $C-100f-350x518 --workers 2 --min-rounds 4
     gate gate-2 ;;
esac
echo "call $1 done in $(( $(date +%s) - START )) s" | tee -a "$L"
