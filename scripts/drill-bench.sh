#!/usr/bin/env bash
# Wall time of every shipped drill runbook in simulation (the issue asks for under 5 s each).
# Usage: scripts/drill-bench.sh [path/to/opsdeck]   (default: target/debug/opsdeck)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/debug/opsdeck}
state=$(mktemp -d)
trap 'rm -rf "$state"' EXIT
fail=0
for book in fleets/drills/*.toml; do
  start=$(date +%s.%N)
  verdict=$(OPSDECK_STATE_DIR="$state" "$bin" drill run "$book" --format json --non-interactive \
    --start 2026-11-22T15:00:00Z 2>/dev/null | sed -n 's/^  "verdict": "\(.*\)",$/\1/p' || true)
  end=$(date +%s.%N)
  wall=$(echo "$end - $start" | bc)
  printf '%-45s %-8s %6.2f s\n' "$book" "${verdict:-?}" "$wall"
  if (( $(echo "$wall >= 5" | bc) )); then fail=1; fi
done
exit $fail
