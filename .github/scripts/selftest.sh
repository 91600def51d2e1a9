#!/usr/bin/env bash
# Checks the CI scripts without a GPU (the tests workflow runs it; so can anyone: bash .github/scripts/selftest.sh):
#   gpu-preflight.sh against a fake nvidia-smi: two GPUs, a process on GPU 1; only the job's GPUs count, and no UUID
#     reaches the log or the state file;
#   gpu-matrix.sh in a scratch repository: only kinds with a baseline file at the given commit are in the matrix;
#   .github/gpu-kinds.json, update-baselines.yml's gpu choice and actionlint.yaml's labels name the same kinds.
# Needs bash, git and jq. Prints one line per check; exits 1 if any failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
check() { # check NAME STATUS: STATUS 0 is a pass
  if [ "$2" -eq 0 ]; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}
holds() { if "$@"; then echo 0; else echo 1; fi; }  # holds COMMAND…: 0 if it succeeds, else 1 (for check)
lacks() { if "$@"; then echo 1; else echo 0; fi; }  # lacks COMMAND…: 0 if it fails

# --- a fake nvidia-smi: GPU 0 idle, GPU 1 busy (FAKE_BUSY overrides), each with a MIG device ---------------------
mkdir -p "$work/bin"
cat >"$work/bin/nvidia-smi" <<'STUB'
#!/usr/bin/env bash
uuids=(GPU-0a0a0a0a-1111-2222-3333-444444444444 GPU-1b1b1b1b-5555-6666-7777-888888888888)
migs=(MIG-9c9c9c9c-0000-1111-2222-333333333333 MIG-8d8d8d8d-0000-1111-2222-333333333333)
busy=${FAKE_BUSY-1}
ids=(0 1) query="" kind="" header=1
for arg in "$@"; do
  case $arg in
    -L)
      for i in 0 1; do
        echo "GPU $i: NVIDIA H200 (UUID: ${uuids[$i]})"
        echo "  MIG 1g.18gb     Device  0: (UUID: ${migs[$i]})"
      done
      exit 0 ;;
    -i) next=id ;;
    --query-gpu=*) kind=gpu query=${arg#*=} ;;
    --query-compute-apps=*) kind=apps query=${arg#*=} ;;
    --format=*) [[ $arg == *noheader* ]] && header=0 ;;
    *)
      if [ "${next:-}" = id ]; then
        [[ $arg =~ ^[0-9]+$ && $arg -lt 2 ]] || { echo "No devices were found" >&2; exit 6; }
        ids=("$arg") next=""
      else
        echo "fake nvidia-smi: unexpected argument $arg" >&2; exit 2
      fi ;;
  esac
done
IFS=',' read -r -a fields <<<"$query"
[ "$header" -eq 1 ] && (IFS=','; echo "${fields[*]}")
for i in "${ids[@]}"; do
  if [ "$kind" = apps ]; then
    [[ ",$busy," == *",$i,"* ]] || continue
  fi
  values=()
  for f in "${fields[@]}"; do
    case $f in
      index) values+=("$i") ;; name) values+=("NVIDIA H200") ;; uuid) values+=("${uuids[$i]}") ;;
      pid) values+=("4242") ;; process_name) values+=("python3") ;; used_memory) values+=("1024 MiB") ;;
      *) values+=("1") ;;
    esac
  done
  (IFS=','; echo "${values[*]}")
done
STUB
chmod +x "$work/bin/nvidia-smi"

# preflight NAME WANT-EXIT [VAR=VALUE…]: runs gpu-preflight.sh with the fake on PATH and the given environment
# (CUDA_VISIBLE_DEVICES unset unless given); checks its exit and that no UUID is printed or recorded.
preflight() {
  local name=$1 want=$2 status=0
  shift 2
  rm -rf "$work/tmp" && mkdir -p "$work/tmp"
  env -u CUDA_VISIBLE_DEVICES -u CUDA_DEVICE_ORDER PATH="$work/bin:$PATH" RUNNER_TEMP="$work/tmp" \
    GITHUB_STEP_SUMMARY="$work/tmp/summary.md" "$@" bash "$here/gpu-preflight.sh" >"$work/tmp/out.txt" 2>&1 ||
    status=$?
  check "preflight: $name: exit $want (got $status)" "$(holds [ "$status" -eq "$want" ])"
  check "preflight: $name: no UUID in the log, the state or the summary" \
    "$(lacks grep -qE '(GPU|MIG)-[0-9a-f]{8}' -r "$work/tmp")"
  if [ "$status" -ne "$want" ]; then sed 's/^/     | /' "$work/tmp/out.txt"; fi
}
gpu0=GPU-0a0a0a0a-1111-2222-3333-444444444444
preflight "GPU 0 given, its sibling GPU 1 busy" 0 CUDA_VISIBLE_DEVICES=0
check "preflight: the state file records GPU 0's processes" \
  "$(holds grep -q '^# compute processes on GPU 0$' "$work/tmp/gpu-state.txt")"
check "preflight: ... and not GPU 1's" "$(lacks grep -q 'GPU 1' "$work/tmp/gpu-state.txt")"
preflight "GPU 1 given, busy" 1 CUDA_VISIBLE_DEVICES=1
check "preflight: the refusal names GPU 1 and its process count" \
  "$(holds grep -q '::error.*GPU 1: 1' "$work/tmp/out.txt")"
preflight "GPU 0 by UUID" 0 CUDA_VISIBLE_DEVICES="$gpu0"
preflight "GPU 0 by UUID prefix" 0 CUDA_VISIBLE_DEVICES=GPU-0a0a
preflight "GPU 1 by UUID, busy" 1 CUDA_VISIBLE_DEVICES=GPU-1b1b1b1b-5555-6666-7777-888888888888
preflight "a MIG device of GPU 0" 0 CUDA_VISIBLE_DEVICES=MIG-9c9c9c9c-0000-1111-2222-333333333333
preflight "the old MIG form on GPU 1" 1 CUDA_VISIBLE_DEVICES=MIG-GPU-1b1b1b1b-5555-6666-7777-888888888888/1/0
preflight "GPUs 0 and 1 given, 1 busy" 1 CUDA_VISIBLE_DEVICES=0,1
preflight "nothing set: all GPUs, 1 busy" 1
check "preflight: with nothing set it says it checks all GPUs" \
  "$(holds grep -q 'all GPUs of the host' "$work/tmp/out.txt")"
preflight "nothing set, nothing busy" 0 FAKE_BUSY=
preflight "CUDA_VISIBLE_DEVICES empty" 1 CUDA_VISIBLE_DEVICES=
preflight "a GPU the host does not have" 1 CUDA_VISIBLE_DEVICES=7
preflight "a UUID the host does not have" 1 CUDA_VISIBLE_DEVICES=GPU-ffffffff
preflight "an ambiguous UUID prefix" 1 CUDA_VISIBLE_DEVICES=GPU-
preflight "no nvidia-smi" 1 PATH=/usr/bin:/bin

# --- gpu-matrix.sh in a scratch repository --------------------------------------------------------------------------
repo="$work/repo"
git init -q "$repo"
mkdir -p "$repo/.github" "$repo/baselines"
echo '{"gpu-a": "vendor-a", "gpu-b": "vendor-b"}' >"$repo/.github/gpu-kinds.json"
echo '{}' >"$repo/baselines/vendor-a.json"
git -C "$repo" add -A && git -C "$repo" -c user.name=t -c user.email=t@t commit -qm base
echo '{}' >"$repo/baselines/vendor-b.json"
git -C "$repo" add -A && git -C "$repo" -c user.name=t -c user.email=t@t commit -qm head
matrix_of() { # matrix_of REV: the outputs of gpu-matrix.sh REV in $work/out, its summary in $work/summary
  rm -f "$work/out" "$work/summary"
  (cd "$repo" && GITHUB_OUTPUT="$work/out" GITHUB_STEP_SUMMARY="$work/summary" bash "$here/gpu-matrix.sh" "$1") \
    >/dev/null 2>&1
}
matrix_of HEAD~1
check "matrix: at the base commit only the kind with a baseline file" \
  "$(holds grep -qx 'matrix={"include":\[{"gpu":"gpu-a","slug":"vendor-a"}\]}' "$work/out")"
check "matrix: the summary names the kind without a file" \
  "$(holds grep -q 'gpu-b.*not gated: no baselines/vendor-b.json yet; record it with update-baselines' "$work/summary")"
matrix_of HEAD
check "matrix: once its file landed, the kind is gated" "$(holds grep -qx 'gated=2' "$work/out")"
echo '{"gpu-a": "vendor-a; rm -rf /"}' >"$repo/.github/gpu-kinds.json"
git -C "$repo" add -A && git -C "$repo" -c user.name=t -c user.email=t@t commit -qm bad
status=0 && matrix_of HEAD || status=$?
check "matrix: a slug with other characters is refused" "$(holds [ "$status" -ne 0 ])"

# --- one list of GPU kinds ------------------------------------------------------------------------------------------
kinds=$(jq -r 'keys[]' "$root/.github/gpu-kinds.json" | sort)
choice=$(sed -n '/^      gpu:/,/^      [a-z]*:$/p' "$root/.github/workflows/update-baselines.yml" |
  sed -n 's/^ *options: *\[\(.*\)\]/\1/p' | tr ',' '\n' | tr -d ' "' | sort)
labels=$(sed -n 's/^ *- *\([A-Za-z0-9._-]*\) *$/\1/p' "$root/.github/actionlint.yaml" | sort)
check "kinds: update-baselines.yml's gpu options are the labels of .github/gpu-kinds.json" \
  "$(holds test "$kinds" = "$choice")"
check "kinds: .github/actionlint.yaml declares every label of .github/gpu-kinds.json" \
  "$(holds [ -z "$(comm -23 <(echo "$kinds") <(echo "$labels"))" ])"

if [ "$failures" -gt 0 ]; then
  echo "selftest: ${failures} check(s) failed"
  exit 1
fi
echo "selftest: every check passed"
