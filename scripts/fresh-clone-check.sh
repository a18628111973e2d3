#!/usr/bin/env bash
# Clones the committed HEAD into a temp folder and runs the README's two commands there exactly
# as written: catches files that exist only in a working tree and missing install steps.
set -euo pipefail
repo=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
git clone -q "$repo" "$dir/readiness-gate"
cd "$dir/readiness-gate"
mapfile -t cmds < <(node scripts/readme-commands.mjs)
for c in "${cmds[@]}"; do
  echo "+ $c"
  bash -euo pipefail -c "$c"
done
echo "fresh clone: both README commands passed"
