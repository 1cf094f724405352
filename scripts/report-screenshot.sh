#!/usr/bin/env bash
# Render the weekly ops review (`opsdeck report --format html`) of the built-in simulated fleet with
# headless Chromium to screenshots/report.png, the picture the README shows. Installs Debian's
# `chromium` when it is missing (needs root and apt). The test suite does not need a browser.
#
#   scripts/report-screenshot.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
    echo "report-screenshot: installing chromium" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

cargo build -q --bin opsdeck
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
OPSDECK_STATE_DIR="$work/state" ./target/debug/opsdeck report \
    --until 2026-11-29T00:00:00Z --seed 7 --format html --out "$work/report.html"
mkdir -p screenshots
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --user-data-dir="$work/profile" --window-size=1400,2300 \
    --screenshot="$PWD/screenshots/report.png" "file://$work/report.html" 2>/dev/null
echo "report-screenshot: wrote screenshots/report.png" >&2
