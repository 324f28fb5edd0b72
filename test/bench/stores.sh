#!/usr/bin/env bash
# Store benchmark: a 2 GiB image uploaded to and downloaded from each real store (S3 through Swift's
# s3api, Swift's native API) through the VISOR daemon, beside the store's own client (awscli, the
# swift CLI) on the same store in the same run, and the daemon's peak memory.
#   BENCH_SIZE_MIB   image size (default 2048)
# Runs alone: bash test/bench/stores.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
size_mib=${BENCH_SIZE_MIB:-2048}
node="$root/node_modules/.bin/node"

need=()
command -v aws >/dev/null || need+=(awscli)
command -v swift >/dev/null || need+=(python3-swiftclient)
command -v curl >/dev/null || need+=(curl)
command -v bc >/dev/null || need+=(bc)
if ((${#need[@]} > 0)); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

swift_started=0
[[ -f /tmp/visor-test-swift/state.env ]] && bash test/stores/swift/probe.sh /tmp/visor-test-swift/state.env 2>/dev/null || swift_started=1
state=$(bash test/stores/swift/ensure.sh)
# shellcheck source=/dev/null
source "$state"

# the daemon as shipped: compiled to dist/
"$node" node_modules/typescript/bin/tsc -p tsconfig.build.json
work=$(mktemp -d /tmp/visor-bench-stores.XXXXXX)
daemon_pid=""
cleanup() {
  [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  rm -rf "$work"
  ((swift_started)) && bash test/stores/swift/stop.sh
  return 0
}
trap cleanup EXIT

export AWS_ACCESS_KEY_ID="$SWIFT_USER" AWS_SECRET_ACCESS_KEY="$SWIFT_KEY" AWS_DEFAULT_REGION=us-east-1
bucket="bench-$(date +%s)"
aws --endpoint-url "$SWIFT_URL" s3 mb "s3://$bucket" >/dev/null
swift_opts=(-A "$SWIFT_AUTH_URL" -U "$SWIFT_USER" -K "$SWIFT_KEY")

echo "generating ${size_mib} MiB of random data" >&2
head -c "$((size_mib * 1048576))" /dev/urandom >"$work/image"
bytes=$(stat -c %s "$work/image")

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$work/visor.toml" <<TOML
data_dir = "$work/data"
[server]
port = $port
[log]
level = "warn"
[stores.s3]
type = "s3"
endpoint = "$SWIFT_URL"
bucket = "$bucket"
max_parts = 1000
[stores.swift]
type = "swift"
auth_url = "$SWIFT_AUTH_URL"
user = "$SWIFT_USER"
container = "bench-swift-$(date +%s)"
TOML
VISOR_STORE_S3_ACCESS_KEY_ID="$SWIFT_USER" VISOR_STORE_S3_SECRET_ACCESS_KEY="$SWIFT_KEY" VISOR_STORE_SWIFT_KEY="$SWIFT_KEY" \
  "$node" dist/daemon/visor.js serve --config "$work/visor.toml" >"$work/daemon.log" 2>&1 &
daemon_pid=$!
url="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -sf "$url/health" >/dev/null 2>&1 && break; sleep 0.2; done
token=$(cat "$work/data/admin-token")

# Seconds a command takes, with millisecond precision.
timed() {
  local t0 t1
  t0=$(date +%s.%N)
  "$@" >/dev/null
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc -l
}
rate() { printf '%.0f' "$(echo "$bytes / 1048576 / $1" | bc -l)"; }
results=()
row() { results+=("$(printf '%-34s %8s MiB/s %8.1f s' "$1" "$(rate "$2")" "$2")"); }

for store in s3 swift; do
  id=$(curl -sf -X POST "$url/images" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"name\":\"bench-$store\",\"store\":\"$store\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  row "daemon upload → $store" "$(timed curl -sf -X PUT -T "$work/image" -H "Authorization: Bearer $token" -H 'Content-Type: application/octet-stream' "$url/images/$id/file")"
  row "daemon download ← $store" "$(timed curl -sf -o /dev/null -H "Authorization: Bearer $token" "$url/images/$id/file")"
done

row "awscli upload → s3" "$(timed aws --endpoint-url "$SWIFT_URL" s3 cp --only-show-errors "$work/image" "s3://$bucket/awscli-copy")"
row "awscli download ← s3" "$(timed aws --endpoint-url "$SWIFT_URL" s3 cp --only-show-errors "s3://$bucket/awscli-copy" /dev/null)"
row "swift CLI upload → swift" "$(timed swift "${swift_opts[@]}" upload --object-name cli-copy bench-cli "$work/image")"
row "swift CLI download ← swift" "$(timed swift "${swift_opts[@]}" download -o /dev/null bench-cli cli-copy)"
row "curl upload → swift (native API)" "$(timed bash -c "tok=\$(curl -sf -D - -o /dev/null -H 'X-Auth-User: $SWIFT_USER' -H 'X-Auth-Key: $SWIFT_KEY' $SWIFT_AUTH_URL | tr -d '\r' | sed -n 's/^[Xx]-[Aa]uth-[Tt]oken: //p'); curl -sf -X PUT -T '$work/image' -H \"X-Auth-Token: \$tok\" $SWIFT_URL/v1/AUTH_test/bench-cli/curl-copy")"

peak_kib=$(awk '/VmHWM/ {print $2}' "/proc/$daemon_pid/status")
echo
echo "stores benchmark: $((bytes / 1048576)) MiB image, $(nproc) cores, Swift $(dpkg-query -W -f '${Version}' swift 2>/dev/null || echo '?') on loopback"
printf '%s\n' "${results[@]}"
echo "daemon peak memory (VmHWM): $((peak_kib / 1024)) MiB"
