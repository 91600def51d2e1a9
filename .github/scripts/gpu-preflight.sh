#!/usr/bin/env bash
# Before a benchmark job on a self-hosted GPU runner: record the GPU's state and refuse to benchmark when another
# process holds the GPU (its kernels would share the SMs and every timing would be wrong).
# Also usable as the runner's pre-job hook: ACTIONS_RUNNER_HOOK_JOB_STARTED=/path/to/gpu-preflight.sh (docs/runners.md).
set -euo pipefail

if ! command -v nvidia-smi >/dev/null 2>&1; then
  echo "::error title=vggt-perf GPU preflight::nvidia-smi not found on runner ${RUNNER_NAME:-?}: this job needs a GPU runner with the NVIDIA driver"
  exit 1
fi

state="${RUNNER_TEMP:-/tmp}/gpu-state.txt"
{
  echo "# GPU state before the benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ), runner ${RUNNER_NAME:-?})"
  nvidia-smi --query-gpu=index,name,uuid,driver_version,persistence_mode,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu,power.draw,power.limit,memory.used --format=csv
  echo "# compute processes"
  nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv
} | tee "$state"

busy=$(nvidia-smi --query-compute-apps=pid --format=csv,noheader | grep -c . || true)
if [ "$busy" -gt 0 ]; then
  echo "::error title=vggt-perf GPU preflight::${busy} other process(es) hold the GPU on runner ${RUNNER_NAME:-?} (listed in the log): timings would be shared with them; stop them or wait, then re-run this job"
  exit 1
fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  { echo "### GPU state before the benchmark"; echo '```'; cat "$state"; echo '```'; } >> "$GITHUB_STEP_SUMMARY"
fi
