#!/usr/bin/env bash
# Peak RSS of `opsdeck snapshot` against a health URL that announces a 1 GiB body and streams it
# (issue 9: it peaked at 2.1 GB before probes were bounded). Prints the peak in MB and fails when it
# is 100 MB or more. Usage: scripts/probe-rss.sh [path/to/opsdeck]  (default: target/release, else
# target/debug). Needs python3 and /usr/bin/time; talks to no AWS (the endpoint refuses).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-}"
if [ -z "$bin" ]; then
  if [ -x target/release/opsdeck ]; then bin=target/release/opsdeck; else bin=target/debug/opsdeck; fi
fi
[ -x "$bin" ] || { echo "no opsdeck binary at $bin: cargo build first" >&2; exit 2; }
limit_mb="${PROBE_RSS_LIMIT_MB:-100}"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

# A server that says Content-Length: 1 GiB and streams zeros as fast as the client reads.
cat > "$work/server.py" <<'PY'
import socket, sys, threading
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
def serve(c):
    try:
        c.recv(65536)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1073741824\r\n\r\n")
        block = b"0" * 65536
        for _ in range(16384):
            c.sendall(block)
    except OSError:
        pass
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
python3 "$work/server.py" > "$work/port" &
server=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
port="$(head -1 "$work/port")"

sed -e "s#https://[a-z0-9-]*\.atlas-crm\.com/health/regional#http://127.0.0.1:${port}/health/regional#" \
  fleets/atlas-crm.toml > "$work/fleet.toml"

export AWS_ACCESS_KEY_ID=probe-rss AWS_SECRET_ACCESS_KEY=probe-rss AWS_EC2_METADATA_DISABLED=true
export OPSDECK_STATE_DIR="$work/state"
/usr/bin/time -f "%M" -o "$work/rss" "$bin" snapshot --fleet "$work/fleet.toml" \
  --endpoint-url http://127.0.0.1:9 --wait-s 15 --format json > "$work/snapshot.json" 2> "$work/stderr" || true
peak_kb="$(tail -1 "$work/rss")"
peak_mb=$(( peak_kb / 1024 ))
failures="$(grep -o '"health probe failed: [^"]*"' "$work/snapshot.json" | sort | uniq -c || true)"
echo "opsdeck snapshot, 3 regions probing a 1 GiB body: peak RSS ${peak_mb} MB (limit ${limit_mb} MB)"
echo "${failures:-no probe failure reported}"
if [ "$peak_mb" -ge "$limit_mb" ]; then
  echo "FAIL: peak RSS ${peak_mb} MB >= ${limit_mb} MB" >&2
  exit 1
fi
