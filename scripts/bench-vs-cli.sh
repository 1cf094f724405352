#!/usr/bin/env bash
# Time `opsdeck snapshot` against the aws CLI commands an engineer would type to see the same
# facts, both against one moto server seeded with a four-region deployment. Prints both times
# and the ratio.
#
#   scripts/bench-vs-cli.sh [PATH_TO_OPSDECK]     (default: target/release/opsdeck, then target/debug/opsdeck)
#
# Installs moto and the aws CLI into .venv when they are missing (scripts/install-moto.sh).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
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

tool() { # the tool from .venv, else from PATH
    if [[ -x "$root/.venv/bin/$1" ]]; then echo "$root/.venv/bin/$1"; else command -v "$1" || true; fi
}
if [[ -z "$(tool moto_server)" || -z "$(tool aws)" ]]; then
    bash "$root/scripts/install-moto.sh" --awscli
fi
moto_server="$(tool moto_server)"
aws_dir="$(dirname "$(tool aws)")"
python="$(dirname "$moto_server")/python"
[[ -x "$python" ]] || python=python3

work="$(mktemp -d)"
port="$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$moto_server" -H 127.0.0.1 -p "$port" > "$work/moto.log" 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null; rm -rf "$work"' EXIT
url="http://127.0.0.1:$port"
"$python" - "$url" <<'EOF'
import sys, time, urllib.request
for _ in range(150):
    try:
        urllib.request.urlopen(sys.argv[1] + "/moto-api/", timeout=1).read()
        break
    except Exception:
        time.sleep(0.2)
EOF

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true AWS_ENDPOINT_URL="$url" AWS_MAX_ATTEMPTS=1 AWS_PAGER=""
ncmds="$("$python" "$root/scripts/seed-moto.py" "$url" "$work")"

now() { date +%s.%N; }
runs=3
t0="$(now)"
for _ in $(seq 1 $runs); do
    "$opsdeck" snapshot --fleet "$work/fleet.toml" --endpoint-url "$url" --format json > "$work/snapshot.json"
done
t1="$(now)"
PATH="$aws_dir:$PATH" bash "$work/cli-commands.sh"
t2="$(now)"

"$python" - "$t0" "$t1" "$t2" "$runs" "$ncmds" <<'EOF'
import sys
t0, t1, t2, runs, ncmds = map(float, sys.argv[1:])
ours, cli = (t1 - t0) / runs, t2 - t1
print(f"opsdeck snapshot (4 regions, mean of {int(runs)} runs): {ours:.2f} s")
print(f"aws CLI, {int(ncmds)} commands in sequence:        {cli:.2f} s")
print(f"ratio: opsdeck is {cli / ours:.1f}x faster")
EOF
