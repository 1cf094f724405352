#!/usr/bin/env bash
# The property tests of tests/hostile_props.rs (mutated fleet, theme and keymap files; mangled
# audit logs) with many more cases than the suite runs. Usage: scripts/fuzz-long.sh [CASES]
# (default 20000 per property; PROPTEST_CASES works too). Prints the figures docs/reliability.md
# records: cases per property, failures (a panic or an error without file:line and words fails).
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-${PROPTEST_CASES:-20000}}"
start=$(date +%s)
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
PROPTEST_CASES="$cases" cargo test --locked --test hostile_props -- --test-threads 2 >"$log" 2>&1 || status=$?
grep -E '^test |test result' "$log" || true
[ "$status" -eq 0 ] || { grep -A20 'minimal failing input' "$log" || tail -40 "$log"; }
echo "cases per property: $cases; properties: $(grep -c '^test .* \.\.\. ' "$log" || true); failed: $(grep -c '^test .* FAILED' "$log" || true); seconds: $(( $(date +%s) - start ))"
exit "$status"
