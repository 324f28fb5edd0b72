#!/bin/bash
# What signing the daemon's commits costs (issue 15): creates with catalog.sign_commits on and off,
# alternated A-B-B-A in fresh data directories, so both sides share the machine's state of the moment.
#   bash test/bench/commitSigningCost.sh [rounds=2]     (needs npm run build first)
# Prints one line a run: creates/s with 32 in flight (at most 1,500 or 8 s) and one at a time (at
# most 500 or 6 s, with its p50 in ms), and the load average.
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
NODE="$ROOT/node_modules/.bin/node"
[ -f "$ROOT/dist/daemon/visor.js" ] || { echo "run npm run build first" >&2; exit 1; }
figure() { grep -o "\"$1\":[0-9.]*" | head -1 | cut -d: -f2; }
run() {
  local data port pid c s
  data="$(mktemp -d "${TMPDIR:-/tmp}/visor-signcost-XXXX")"
  port=$((20000 + RANDOM % 20000))
  (cd "$ROOT" && VISOR_DATA_DIR="$data" VISOR_PORT=$port VISOR_HOST=127.0.0.1 VISOR_SIGN_COMMITS="$1" exec "$NODE" dist/daemon/visor.js serve) >"$data.log" 2>&1 &
  pid=$!
  for _ in $(seq 150); do curl -s -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.2; done
  tr -d ' \n' <"$data/admin-token" >"$data.token"
  c="$("$NODE" "$ROOT/test/bench/createLoad.ts" --url "http://127.0.0.1:$port" --token-file "$data.token" --concurrency 32 --max-requests 1500 --max-seconds 8)"
  s="$("$NODE" "$ROOT/test/bench/createLoad.ts" --url "http://127.0.0.1:$port" --token-file "$data.token" --concurrency 1 --max-requests 500 --max-seconds 6 --warmup 5)"
  echo "sign_commits=$1 concurrent $(figure creates_per_sec <<<"$c")/s sequential $(figure creates_per_sec <<<"$s")/s p50 $(figure p50 <<<"$s") ms load $(cut -d' ' -f1 /proc/loadavg)"
  kill "$pid"; wait "$pid" 2>/dev/null
  rm -rf "$data" "$data.log" "$data.token"
}
for _ in $(seq "${1:-2}"); do run true; run false; run false; run true; done
