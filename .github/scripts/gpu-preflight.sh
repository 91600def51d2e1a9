#!/usr/bin/env bash
# Before a benchmark job on a self-hosted GPU runner: record the state of the GPU(s) this job was given and refuse
# to benchmark when another process holds one of them (its kernels would share the SMs and every timing would be
# wrong). A busy sibling GPU of the same host is not this job's GPU and does not stop it.
#
# Which GPUs: those of CUDA_VISIBLE_DEVICES (the runner's .env sets it, docs/runners.md), each entry an index or a
# GPU-/MIG- UUID (or a unique prefix of one), mapped to nvidia-smi's index; a MIG entry checks its whole parent GPU.
# With CUDA_VISIBLE_DEVICES unset, every GPU of the host (and the log says so). A UUID is never printed or recorded:
# entries are resolved through `nvidia-smi -L` without echoing it, and the queried fields hold none.
# Numeric entries are CUDA's indices, which equal nvidia-smi's (PCI bus order) when CUDA_DEVICE_ORDER=PCI_BUS_ID;
# the script warns when they may differ (GPUs of different models on one host, no PCI_BUS_ID order).
#
# Writes $RUNNER_TEMP/gpu-state.txt (kept as an artifact) and the job summary's GPU state.
# Also usable as the runner's pre-job hook: ACTIONS_RUNNER_HOOK_JOB_STARTED=/path/to/gpu-preflight.sh (docs/runners.md).
# .github/scripts/selftest.sh runs it against a fake nvidia-smi.
set -euo pipefail

title="vggt-perf GPU preflight"
runner="${RUNNER_NAME:-?}"
fail() {
  echo "::error title=${title}::$* (runner ${runner})"
  exit 1
}

command -v nvidia-smi >/dev/null 2>&1 || fail "nvidia-smi not found: this job needs a GPU runner with the NVIDIA driver"
# Every GPU of the host as "index" lines, and `nvidia-smi -L` for resolving UUIDs. Both stay in variables: -L's
# output holds UUIDs and is never printed.
all=$(nvidia-smi --query-gpu=index --format=csv,noheader) ||
  fail "nvidia-smi cannot query the GPUs (driver not loaded?)"
listing=$(nvidia-smi -L 2>/dev/null) || fail "nvidia-smi -L failed (driver not loaded?)"
all=$(printf '%s\n' "$all" | tr -d ' ' | grep -E '^[0-9]+$' || true)
[ -n "$all" ] || fail "nvidia-smi lists no GPU"

# resolve_uuid ID: the nvidia-smi index of the GPU whose UUID (GPU-…) or whose MIG device's UUID (MIG-…) starts
# with ID; nothing when none or more than one does. Reads $listing ("GPU 0: name (UUID: GPU-…)" lines, each GPU's
# MIG devices indented below it).
resolve_uuid() {
  local id=$1 line gpu="" found="" count=0
  while IFS= read -r line; do
    if [[ $line =~ ^GPU\ ([0-9]+): ]]; then
      gpu=${BASH_REMATCH[1]}
    fi
    if [[ -n $gpu && $line =~ \(UUID:\ ([^\)]+)\) ]] && [[ ${BASH_REMATCH[1]} == "$id"* ]]; then
      found=$gpu
      count=$((count + 1))
    fi
  done <<<"$listing"
  if [ "$count" -eq 1 ]; then echo "$found"; fi
}

indices=()
if [ -z "${CUDA_VISIBLE_DEVICES+set}" ]; then
  scope="all GPUs of the host (CUDA_VISIBLE_DEVICES is not set)"
  mapfile -t indices <<<"$all"
else
  IFS=',' read -r -a entries <<<"${CUDA_VISIBLE_DEVICES// /}"
  [ "${#entries[@]}" -gt 0 ] || fail "CUDA_VISIBLE_DEVICES is set but empty: this job sees no GPU"
  numeric=0
  for n in "${!entries[@]}"; do
    entry=${entries[$n]}
    position="CUDA_VISIBLE_DEVICES entry $((n + 1))"
    if [[ $entry =~ ^[0-9]+$ ]]; then
      entry=$((10#$entry))
      printf '%s\n' "$all" | grep -qx "$entry" || fail "${position} is GPU ${entry}, which this host does not have"
      idx=$entry
      numeric=1
    elif [[ $entry =~ ^(GPU-|MIG-) ]]; then
      id=$entry
      # The old MIG form, MIG-GPU-<uuid>/<gi>/<ci>, names its parent GPU's UUID.
      if [[ $id =~ ^MIG-(GPU-[^/]+)/ ]]; then id=${BASH_REMATCH[1]}; fi
      idx=$(resolve_uuid "$id")
      [ -n "$idx" ] || fail "${position} (a UUID, not shown) matches no single GPU or MIG device of this host"
    else
      fail "${position} is neither a GPU index nor a GPU-/MIG- UUID"
    fi
    case " ${indices[*]} " in *" $idx "*) ;; *) indices+=("$idx") ;; esac
  done
  scope="GPU ${indices[*]} (nvidia-smi index), from CUDA_VISIBLE_DEVICES (${#entries[@]} entries)"
  models=$(nvidia-smi --query-gpu=name --format=csv,noheader | sort -u | grep -c . || true)
  if [ "$numeric" -eq 1 ] && [ "${CUDA_DEVICE_ORDER:-}" != "PCI_BUS_ID" ] && [ "$models" -gt 1 ]; then
    echo "::warning title=${title}::this host has GPUs of ${models} models and CUDA_DEVICE_ORDER is not PCI_BUS_ID: CUDA's index may name another GPU than nvidia-smi's; set CUDA_DEVICE_ORDER=PCI_BUS_ID in the runner's .env (runner ${runner})"
  fi
fi

# No uuid (nor serial) among them: the README promises that neither is recorded.
fields=index,name,driver_version,persistence_mode,clocks.sm,clocks.max.sm,clocks.mem,temperature.gpu
fields+=,power.draw,power.limit,memory.used
state="${RUNNER_TEMP:-/tmp}/gpu-state.txt"
{
  echo "# GPU state before the benchmark ($(date -u +%Y-%m-%dT%H:%M:%SZ), runner ${runner})"
  echo "# checked: ${scope}"
  format=csv
  for idx in "${indices[@]}"; do
    nvidia-smi -i "$idx" --query-gpu="$fields" --format="$format"
    format=csv,noheader
  done
  for idx in "${indices[@]}"; do
    echo "# compute processes on GPU ${idx}"
    nvidia-smi -i "$idx" --query-compute-apps=pid,process_name,used_memory --format=csv
  done
} | tee "$state"

busy=()
for idx in "${indices[@]}"; do
  count=$(nvidia-smi -i "$idx" --query-compute-apps=pid --format=csv,noheader | grep -cE '^[[:space:]]*[0-9]+' || true)
  if [ "$count" -gt 0 ]; then busy+=("GPU ${idx}: ${count}"); fi
done

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  { echo "### GPU state before the benchmark"; echo '```'; cat "$state"; echo '```'; } >>"$GITHUB_STEP_SUMMARY"
fi
if [ "${#busy[@]}" -gt 0 ]; then
  fail "other processes hold this job's GPU (${busy[*]}; listed in the log): timings would be shared with them;" \
    "stop them or wait, then re-run this job"
fi
echo "GPU preflight: ${scope}: no other compute process"
