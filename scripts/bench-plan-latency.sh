#!/usr/bin/env bash
# Plan latency against AWS, measured through a proxy that adds a delay to every AWS call: a moto
# server seeded with a four-region deployment (scripts/seed-moto.py), the fault proxy in front of
# it (examples/fault_proxy.rs, the one the tests use), and three commands that only read:
#   opsdeck act drain --region us-east-1      (the plan only)
#   opsdeck simulate --fail eu-west-1
#   opsdeck snapshot
# For each: wall time, AWS calls made, most calls in flight at once, and the round-trip depth
# (the longest chain of calls each sent after another's answer, from the proxy's timestamps;
# time / delay gives about the same).
#
#   scripts/bench-plan-latency.sh [PATH_TO_OPSDECK]
#       (default: target/release/opsdeck, then target/debug/opsdeck)
#   DELAY_MS=100 (per call)  RUNS=3 (per command; the mean is printed)
#
# Installs moto into .venv when it is missing (scripts/install-moto.sh); builds the proxy with
# `cargo build --example fault_proxy` when it is not built yet.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
delay_ms="${DELAY_MS:-100}"
runs="${RUNS:-3}"
opsdeck="${1:-}"
if [[ -z "$opsdeck" ]]; then
    for p in "$root/target/release/opsdeck" "$root/target/debug/opsdeck"; do
        [[ -x "$p" ]] && { opsdeck="$p"; break; }
    done
fi
if [[ -z "$opsdeck" || ! -x "$opsdeck" ]]; then
    echo "bench: no opsdeck binary (build it: cargo build --release), or pass its path" >&2
    exit 2
fi
proxy_bin=""
for p in "$root/target/release/examples/fault_proxy" "$root/target/debug/examples/fault_proxy"; do
    [[ -x "$p" ]] && { proxy_bin="$p"; break; }
done
if [[ -z "$proxy_bin" ]]; then
    (cd "$root" && cargo build --quiet --example fault_proxy)
    proxy_bin="$root/target/debug/examples/fault_proxy"
fi

tool() { # the tool from .venv, else from PATH
    if [[ -x "$root/.venv/bin/$1" ]]; then echo "$root/.venv/bin/$1"; else command -v "$1" || true; fi
}
[[ -n "$(tool moto_server)" ]] || bash "$root/scripts/install-moto.sh"
moto_server="$(tool moto_server)"
python="$(dirname "$moto_server")/python"
[[ -x "$python" ]] || python=python3

work="$(mktemp -d)"
moto_pid="" proxy_pid=""
cleanup() {
    [[ -n "$proxy_pid" ]] && kill "$proxy_pid" 2>/dev/null
    [[ -n "$moto_pid" ]] && kill "$moto_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$moto_server" -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
moto_pid=$!
moto="http://127.0.0.1:$port"
"$python" - "$moto" <<'PY'
import sys, time, urllib.request
for _ in range(300):
    try:
        urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1).read()
        break
    except Exception:
        time.sleep(0.2)
else:
    sys.exit("bench: moto did not start")
PY
"$python" "$root/scripts/seed-moto.py" "$moto" "$work" > /dev/null

"$proxy_bin" --upstream "$moto" --delay-ms "$delay_ms" > "$work/proxy.out" 2> "$work/proxy.log" &
proxy_pid=$!
for _ in $(seq 1 100); do
    [[ -s "$work/proxy.out" ]] && break
    sleep 0.1
done
proxy="$(head -n1 "$work/proxy.out")"
[[ -n "$proxy" ]] || { echo "bench: the proxy did not start" >&2; exit 1; }

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_ENDPOINT_URL AWS_SESSION_TOKEN
export OPSDECK_STATE_DIR="$work/state" OPSDECK_CONFIG="$work/config"
common=(--fleet "$work/fleet.toml" --endpoint-url "$proxy" --audit-log "$work/audit.jsonl")

echo "opsdeck: $opsdeck"
echo "4-region fleet in moto, ${delay_ms} ms added to every AWS call, mean of $runs runs"
printf '%-34s %8s %6s %10s %7s %9s\n' command "wall s" calls "in flight" depth "time/delay"
measure() { # label, then the opsdeck arguments
    local label="$1"; shift
    local total=0 stats="" t0 t1
    for _ in $(seq 1 "$runs"); do
        "$python" -c 'import sys,urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/__proxy/reset", data=b"", method="POST")).read()' "$proxy"
        t0="$(date +%s.%N)"
        "$opsdeck" "${common[@]}" "$@" > "$work/out" 2> "$work/err" || {
            echo "bench: opsdeck $* failed:" >&2; cat "$work/err" >&2; exit 1; }
        t1="$(date +%s.%N)"
        total="$("$python" -c 'import sys; print(float(sys.argv[1]) + float(sys.argv[3]) - float(sys.argv[2]))' "$total" "$t0" "$t1")"
        stats="$("$python" -c 'import sys,urllib.request; print(urllib.request.urlopen(sys.argv[1] + "/__proxy/stats").read().decode())' "$proxy")"
    done
    "$python" - "$label" "$total" "$runs" "$delay_ms" "$stats" <<'PY'
import json, sys
label, total, runs, delay_ms, stats = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), json.loads(sys.argv[5])
wall = total / runs
ratio = f"{wall * 1000 / delay_ms:9.1f}" if delay_ms > 0 else "        -"
print(f"{label:<34} {wall:8.2f} {stats['requests']:6d} {stats['max_in_flight']:10d} {stats['depth']:7d} {ratio}")
PY
}
measure "act drain --region us-east-1" act drain --region us-east-1
measure "simulate --fail eu-west-1" simulate --fail eu-west-1
measure "snapshot" snapshot --format json
