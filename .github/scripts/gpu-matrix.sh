#!/usr/bin/env bash
# gpu-matrix.sh REV: the GPU kinds to benchmark at commit REV, as a GitHub Actions matrix.
#
# .github/gpu-kinds.json maps each GPU kind's runner label to its baseline slug (docs/runners.md). A kind is in the
# matrix only if REV has baselines/<slug>.json: the PR gate passes the PR's BASE commit, the nightly run main. So a
# new kind's first baseline file lands through update-baselines without failing its own gate (its PR's base has no
# file yet), and from then on the kind is gated. Kinds without a file are listed in the job summary.
#
# Writes to $GITHUB_OUTPUT (stdout when unset): matrix={"include":[{"gpu":LABEL,"slug":SLUG},…]} and gated=N.
# Runs on a GitHub-hosted runner: needs git and jq. .github/scripts/selftest.sh checks it.
set -euo pipefail

rev=${1:?usage: gpu-matrix.sh REV}
map=.github/gpu-kinds.json
title="vggt-perf GPU kinds"
commit=$(git rev-parse --verify --quiet "${rev}^{commit}") || {
  echo "::error title=${title}::${rev} is not a commit of this checkout (fetch-depth 0?)"
  exit 1
}
short=${commit:0:12}

if kinds=$(git show "${commit}:${map}" 2>/dev/null); then
  source="${map} at ${short}"
elif [ -f "$map" ]; then
  # Only the pull request that adds the map: its base has none yet.
  kinds=$(cat "$map")
  source="${map} of the checkout (${short} has none)"
  echo "::notice title=${title}::${short} has no ${map}; using the checkout's"
else
  echo "::error title=${title}::no ${map} at ${short} nor in the checkout"
  exit 1
fi

# label<TAB>slug lines; a label or slug outside [A-Za-z0-9._-] is refused (they reach runs-on and file names).
if ! pairs=$(jq -er 'if type == "object" and length > 0 and all(.[]; type == "string")
    then to_entries[] | "\(.key)\t\(.value)" else error("not an object of label: slug strings") end' <<<"$kinds"); then
  echo "::error title=${title}::${source} is not a JSON object of runner label: baseline slug"
  exit 1
fi

include=()
missing=()
while IFS=$'\t' read -r label slug; do
  if ! [[ $label =~ ^[A-Za-z0-9._-]+$ && $slug =~ ^[A-Za-z0-9._-]+$ ]]; then
    echo "::error title=${title}::${source}: label and slug may hold only letters, digits, '.', '_' and '-'"
    exit 1
  fi
  if git cat-file -e "${commit}:baselines/${slug}.json" 2>/dev/null; then
    include+=("$(jq -cn --arg gpu "$label" --arg slug "$slug" '{gpu: $gpu, slug: $slug}')")
  else
    missing+=("${label}|${slug}")
  fi
done <<<"$pairs"

matrix='{"include":[]}'
if [ "${#include[@]}" -gt 0 ]; then matrix=$(printf '%s\n' "${include[@]}" | jq -cs '{include: .}'); fi

{
  echo "### GPU kinds (${source})"
  echo
  echo "| runner label | baseline | |"
  echo "|---|---|---|"
  for item in "${include[@]}"; do
    jq -r '"| `\(.gpu)` | `baselines/\(.slug).json` | gated |"' <<<"$item"
  done
  for item in "${missing[@]}"; do
    echo "| \`${item%%|*}\` | — | not gated: no baselines/${item#*|}.json yet; record it with update-baselines |"
  done
} >>"${GITHUB_STEP_SUMMARY:-/dev/stderr}"
for item in "${missing[@]}"; do
  echo "::notice title=${title}::${item%%|*} not gated: no baselines/${item#*|}.json yet; record it with update-baselines"
done

{
  echo "matrix=${matrix}"
  echo "gated=${#include[@]}"
} >>"${GITHUB_OUTPUT:-/dev/stdout}"
