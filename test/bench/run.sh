#!/usr/bin/env bash
# VISOR benchmark (npm run bench). Measures, on this machine only (127.0.0.1):
#   1. reads at two catalogue sizes (generated straight into Git, not through the API): start-up to
#      ready, RSS, and wrk req/s + p50/p99 for the list, filter, sort, detail and show endpoints,
#      beside node:http answering a fixed body under the same load (what the machine gives that day);
#   2. creates per second through POST /images (32 in flight, and one sequential client);
#   3. transfers of a large random file: daemon upload vs `openssl dgst -sha256`, daemon download vs
#      nginx (sendfile), and the daemon's peak memory meanwhile.
# Prints a report with each figure, its target and PASS/MISS; writes it as JSON to
# test/bench/results/latest.json.
#
# Environment:
#   BENCH_QUICK=1           smoke test: 1,000/10,000 images, 256 MiB file, shorter runs
#   BENCH_STRICT=1          exit 1 when a target is missed or not measured
#   BENCH_WRK_DURATION=S    seconds per wrk run (default 10, quick 5)
#   BENCH_WRK_CONNECTIONS=N wrk connections (default 32; one wrk thread, the daemon needs the other core)
#   BENCH_VISOR_CONFIG=FILE TOML config for the daemon (default: an empty one; data dir, host and
#                           port always come from VISOR_DATA_DIR / VISOR_HOST / VISOR_PORT)
#   BENCH_ONLY="reads creates transfers"   run only some parts
#   BENCH_KEEP=1            keep the temporary directory (logs, catalogues) for inspection
#   VISOR_* variables (e.g. VISOR_LOG_LEVEL=warn, VISOR_FS_FSYNC=false) pass through to the daemon,
#                           except VISOR_DATA_DIR, VISOR_HOST and VISOR_PORT, which the script sets, and
#                           VISOR_CATALOG_PATH, VISOR_CONFIG and VISOR_PUBLIC_URL, which it unsets
#
# Every server listens on 127.0.0.1 on a free port; every load loop is bounded in count and time; the
# script stops only the processes it started, by PID; all temporary data lives in one mktemp -d
# directory that is removed at the end.
set -uo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/../.." && pwd)"
NODE="$ROOT/node_modules/.bin/node"
RESULTS="$BENCH_DIR/results/latest.json"

QUICK="${BENCH_QUICK:-0}"
if [ "$QUICK" = 1 ]; then
  MODE=quick
  SMALL=1000 LARGE=10000 FILE_MIB=256
  WRK_DURATION="${BENCH_WRK_DURATION:-5}" WRK_WARMUP=1
  CREATE_MAX=1000 CREATE_SECS=8 SEQ_MAX=300 SEQ_SECS=5
else
  MODE=full
  SMALL=10000 LARGE=100000 FILE_MIB=2048
  WRK_DURATION="${BENCH_WRK_DURATION:-10}" WRK_WARMUP=2
  CREATE_MAX=3000 CREATE_SECS=15 SEQ_MAX=1000 SEQ_SECS=10
fi
WRK_CONNECTIONS="${BENCH_WRK_CONNECTIONS:-32}"
WRK_ARGS=(-t1 -c"$WRK_CONNECTIONS" -d"${WRK_DURATION}s" --timeout 5s --latency)
ONLY="${BENCH_ONLY:-reads creates transfers}"
READY_TIMEOUT=120       # seconds a daemon may take to answer /health
TRANSFER_MAX_TIME=900   # seconds one curl transfer may take

WORK="$(mktemp -d -t visor-bench.XXXXXX)"
METRICS="$WORK/metrics.jsonl"
PIDS="$WORK/pids"        # "PID marker" lines of every long-running process this script started
: >"$METRICS"
: >"$PIDS"

BENCH_TAG=bench
# shellcheck source=benchLib.sh
source "$(dirname "$0")/benchLib.sh"

free_port() {
  "$NODE" -e 'const s=require("node:net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}
# proc_kb PID FIELD: a /proc/PID/status field in kB (VmRSS, VmHWM), without forking.
proc_kb() {
  local k v rest
  while read -r k v rest; do
    if [ "$k" = "$2:" ]; then echo "$v"; return 0; fi
  done <"/proc/$1/status" 2>/dev/null
  return 1
}
now_ns() { date +%s%N; }

# ---- tools --------------------------------------------------------------------------------------
ensure_tools() {
  local need=()
  command -v wrk >/dev/null || need+=(wrk)
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
  command -v openssl >/dev/null || need+=(openssl)
  command -v curl >/dev/null || need+=(curl)
  command -v git >/dev/null || need+=(git)
  if [ "${#need[@]}" -gt 0 ]; then
    log "installing ${need[*]} with apt-get"
    if [ "$(id -u)" != 0 ]; then
      log "not root: install ${need[*]} yourself"; return 1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null || return 1
  fi
  NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
  [ -x "$NODE" ] || { log "no $NODE: run npm ci first"; return 1; }
}

# ---- daemon -------------------------------------------------------------------------------------
CONFIG="$WORK/visor.toml"
if [ -n "${BENCH_VISOR_CONFIG:-}" ]; then
  cp "$BENCH_VISOR_CONFIG" "$CONFIG"
else
  printf '# VISOR benchmark: defaults; data dir, host and port come from the environment\n' >"$CONFIG"
fi

daemon_available() { [ -f "$ROOT/$VISOR_JS" ]; }

# start_daemon NAME DATA_DIR: spawns the daemon on a free port and waits for GET /health → 200.
# Sets DAEMON_PID, DAEMON_URL, DAEMON_LOG, DAEMON_READY_MS.
start_daemon() {
  local name="$1" data="$2" port t0 code deadline
  port="$(free_port)" || return 1
  DAEMON_URL="http://127.0.0.1:$port"
  DAEMON_LOG="$WORK/daemon-$name.log"
  t0="$(now_ns)"
  # catalogue and config come from $data and $CONFIG only, whatever the caller's environment says
  (cd "$ROOT" && unset VISOR_CATALOG_PATH VISOR_CONFIG VISOR_PUBLIC_URL &&
    VISOR_DATA_DIR="$data" VISOR_PORT="$port" VISOR_HOST=127.0.0.1 \
      exec "$NODE" "$VISOR_JS" serve --config "$CONFIG") >"$DAEMON_LOG" 2>&1 &
  DAEMON_PID=$!
  register_pid "$DAEMON_PID" visor.js
  deadline=$((t0 + READY_TIMEOUT * 1000000000))
  while :; do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$DAEMON_URL/health" 2>/dev/null)"
    [ "$code" = 200 ] && break
    if ! alive "$DAEMON_PID"; then
      wait "$DAEMON_PID" 2>/dev/null
      problem "daemon ($name) exited before it was ready; log tail: $(tail -c 1500 "$DAEMON_LOG" | tr '\n' ' ')"
      return 1
    fi
    if [ "$(now_ns)" -gt "$deadline" ]; then
      problem "daemon ($name) not ready after ${READY_TIMEOUT}s; log tail: $(tail -c 1500 "$DAEMON_LOG" | tr '\n' ' ')"
      stop_pid "$DAEMON_PID" visor.js
      return 1
    fi
    sleep 0.01
  done
  DAEMON_READY_MS=$((($(now_ns) - t0) / 1000000))
  log "daemon ($name) ready in ${DAEMON_READY_MS} ms at $DAEMON_URL (pid $DAEMON_PID)"
}
stop_daemon() {
  local t0
  [ -n "${DAEMON_PID:-}" ] || return 0
  t0="$(now_ns)"
  stop_pid "$DAEMON_PID" visor.js
  log "daemon (pid $DAEMON_PID) stopped in $((($(now_ns) - t0) / 1000000)) ms"
  DAEMON_PID=""
}
admin_token() { tr -d ' \n\r\t' <"$1/admin-token"; }

# generate NAME N [extra args]: a catalogue of N images in $WORK/data-NAME/catalog; echoes the data dir.
generate() {
  local name="$1" n="$2" data; shift 2
  data="$WORK/data-$name"
  mkdir -p "$data"
  log "generating a catalogue of $n images"
  "$NODE" "$BENCH_DIR/generateCatalog.ts" "$data/catalog" "$n" "$@" >"$WORK/gen-$name.json" || return 1
  record "catalogs.$name" "$(cat "$WORK/gen-$name.json")"
  # flush the new files now, so their write-back does not run during the measurements
  sync
  echo "$data"
}

# ---- 1+2. reads ---------------------------------------------------------------------------------
READ_ENDPOINTS='[{"key":"list","label":"GET /images","path":"/images"},
{"key":"filter","label":"GET /images?disk=qcow2&limit=25","path":"/images?disk=qcow2&limit=25"},
{"key":"sort","label":"GET /images?sort=name&dir=asc&limit=25","path":"/images?sort=name&dir=asc&limit=25"},
{"key":"detail","label":"GET /images/detail?limit=25","path":"/images/detail?limit=25"},
{"key":"show","label":"GET /images/<id> (1,000 ids)","path":"/images/:id"}]'

# bench_http_baseline: node:http answering a fixed body under the same wrk load; read figures are
# read beside it (this machine's capacity for the same work varies a lot from day to day).
bench_http_baseline() {
  local port pid out i
  port="$(free_port)" || return 1
  "$NODE" "$BENCH_DIR/bareHttp.ts" "$port" >"$WORK/bare-http.log" 2>&1 &
  pid=$!
  register_pid "$pid" bareHttp.ts
  for ((i = 0; i < 100; i++)); do grep -q listening "$WORK/bare-http.log" 2>/dev/null && break; sleep 0.05; done
  out="$WORK/wrk-baseline.txt"
  timeout $((WRK_WARMUP + 30)) wrk -t1 -c"$WRK_CONNECTIONS" -d"${WRK_WARMUP}s" --timeout 5s "http://127.0.0.1:$port/" >/dev/null 2>&1
  log "wrk ${WRK_ARGS[*]} node:http baseline (fixed 100-byte body)"
  if timeout $((WRK_DURATION + 60)) wrk "${WRK_ARGS[@]}" "http://127.0.0.1:$port/" >"$out" 2>&1 &&
    "$NODE" "$BENCH_DIR/parseWrk.ts" "$out" >"$out.json"; then
    record reads.baseline.wrk "$(cat "$out.json")"
    sed -n '/Requests\/sec/p' "$out" >&2
  else
    problem "node:http baseline: wrk failed: $(tail -c 300 "$out")"
  fi
  stop_pid "$pid" bareHttp.ts
}

# bench_reads small|large N
bench_reads() {
  local size="$1" n="$2" data ids key path out code sample
  data="$(generate "reads-$size" "$n" --ids "$WORK/ids-$size.txt" --ids-count 1000)" || {
    problem "catalogue generation ($n images) failed"; return 1; }
  start_daemon "reads-$size" "$data" || return 1
  record "reads.$size.ready_ms" "$DAEMON_READY_MS"
  record "reads.$size.rss_ready_kb" "$(proc_kb "$DAEMON_PID" VmRSS || echo null)"
  record "reads.$size.hwm_ready_kb" "$(proc_kb "$DAEMON_PID" VmHWM || echo null)"
  sample="$(head -n1 "$WORK/ids-$size.txt")"

  for key in list filter sort detail show; do
    case "$key" in
      list) path='/images' ;;
      filter) path='/images?disk=qcow2&limit=25' ;;
      sort) path='/images?sort=name&dir=asc&limit=25' ;;
      detail) path='/images/detail?limit=25' ;;
      show) path="/images/$sample" ;;
    esac
    code="$(curl -s -o "$WORK/sample-$size-$key.json" -w '%{http_code}' --max-time 30 "$DAEMON_URL$path")"
    if [ "$code" != 200 ]; then
      problem "reads@$n: GET $path answered $code: $(head -c 300 "$WORK/sample-$size-$key.json")"
    fi
    out="$WORK/wrk-$size-$key.txt"
    local script=()
    [ "$key" = show ] && script=(-s "$BENCH_DIR/showIds.lua")
    export BENCH_IDS_FILE="$WORK/ids-$size.txt"
    # warm-up (JIT, caches), not measured
    timeout $((WRK_WARMUP + 30)) wrk -t1 -c"$WRK_CONNECTIONS" -d"${WRK_WARMUP}s" --timeout 5s "${script[@]}" \
      "$DAEMON_URL$path" >/dev/null 2>&1
    log "wrk ${WRK_ARGS[*]} ${script[*]} $path  ($n images)"
    if timeout $((WRK_DURATION + 60)) wrk "${WRK_ARGS[@]}" "${script[@]}" "$DAEMON_URL$path" >"$out" 2>&1 &&
      "$NODE" "$BENCH_DIR/parseWrk.ts" "$out" >"$out.json"; then
      record "reads.$size.wrk.$key" "$(cat "$out.json")"
      sed -n -e '/Latency Distribution/,/requests in/p' -e '/Requests\/sec/p' -e '/Non-2xx/p' -e '/Socket errors/p' "$out" >&2
    else
      problem "reads@$n: wrk $path failed: $(tail -c 300 "$out")"
    fi
    alive "$DAEMON_PID" || { problem "daemon (reads@$n) died during wrk $path"; return 1; }
  done
  record "reads.$size.rss_after_kb" "$(proc_kb "$DAEMON_PID" VmRSS || echo null)"
  record "reads.$size.hwm_after_kb" "$(proc_kb "$DAEMON_PID" VmHWM || echo null)"
  stop_daemon
  # $data stays until the end: removing 100,000 files takes half a minute here, and the file
  # system's work after it would disturb the next measurements.
}

# ---- 3. creates ---------------------------------------------------------------------------------
bench_creates() {
  local data out
  data="$(generate creates 100)" || { problem "catalogue generation for creates failed"; return 1; }
  start_daemon creates "$data" || return 1
  [ -s "$data/admin-token" ] || { problem "no admin token at $data/admin-token"; stop_daemon; return 1; }
  admin_token "$data" >"$WORK/token"
  log "creates: 32 in flight, at most $CREATE_MAX or ${CREATE_SECS}s"
  out="$WORK/creates-concurrent.json"
  if timeout $((CREATE_SECS + 120)) "$NODE" "$BENCH_DIR/createLoad.ts" --url "$DAEMON_URL" --token-file "$WORK/token" \
    --concurrency 32 --max-requests "$CREATE_MAX" --max-seconds "$CREATE_SECS" >"$out"; then
    record creates.concurrent "$(cat "$out")"; cat "$out" >&2
  else
    problem "concurrent create load failed"
  fi
  log "creates: sequential, at most $SEQ_MAX or ${SEQ_SECS}s"
  out="$WORK/creates-sequential.json"
  if timeout $((SEQ_SECS + 120)) "$NODE" "$BENCH_DIR/createLoad.ts" --url "$DAEMON_URL" --token-file "$WORK/token" \
    --concurrency 1 --max-requests "$SEQ_MAX" --max-seconds "$SEQ_SECS" --warmup 5 >"$out"; then
    record creates.sequential "$(cat "$out")"; cat "$out" >&2
  else
    problem "sequential create load failed"
  fi
  record creates.rss_after_kb "$(proc_kb "$DAEMON_PID" VmRSS || echo null)"
  record creates.hwm_after_kb "$(proc_kb "$DAEMON_PID" VmHWM || echo null)"
  stop_daemon
}

# ---- 4. transfers -------------------------------------------------------------------------------
# best_of FILE: the largest number in FILE (one a line).
best_of() { sort -g "$1" | tail -n1; }
# mib_s BYTES_PER_SECOND → MiB/s
mib_s() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

bench_transfers() {
  local files="$WORK/files" file bytes i t0 t1 digest port conf nginx_pid code speed data token id resp
  mkdir -p "$files" && chmod 755 "$WORK" "$files"
  file="$files/image.bin"
  bytes=$((FILE_MIB * 1048576))
  log "creating a ${FILE_MIB} MiB random file"
  head -c "$bytes" /dev/urandom >"$file" || { problem "could not create the test file"; return 1; }
  sync

  # openssl baseline, warm cache
  cat "$file" >/dev/null
  : >"$WORK/openssl.rates"
  for i in 1 2; do
    t0="$(now_ns)"
    digest="$(openssl dgst -sha256 -r "$file" | cut -d' ' -f1)"
    t1="$(now_ns)"
    awk -v b="$bytes" -v ns="$((t1 - t0))" 'BEGIN { printf "%.1f\n", b / 1048576 / (ns / 1e9) }' >>"$WORK/openssl.rates"
  done
  record transfers.openssl_mib_s "$(best_of "$WORK/openssl.rates")"
  record transfers.file_sha256 "\"$digest\""
  log "openssl dgst -sha256: $(tr '\n' ' ' <"$WORK/openssl.rates")MiB/s"

  # nginx baseline (sendfile)
  port="$(free_port)"
  mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
  conf="$WORK/nginx/nginx.conf"
  {
    [ "$(id -u)" = 0 ] && echo 'user root;'
    cat <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $WORK/nginx/tmp/body;
  proxy_temp_path $WORK/nginx/tmp/proxy;
  fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
  uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
  scgi_temp_path $WORK/nginx/tmp/scgi;
  types { }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$port;
    root $files;
  }
}
EOF
  } >"$conf"
  "$NGINX" -p "$WORK/nginx" -c "$conf" >"$WORK/nginx/logs/stdout.log" 2>&1 &
  nginx_pid=$!
  register_pid "$nginx_pid" nginx
  for ((i = 0; i < 200; i++)); do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -r 0-0 "http://127.0.0.1:$port/image.bin" 2>/dev/null)"
    [ "$code" = 206 ] || [ "$code" = 200 ] && break
    alive "$nginx_pid" || break
    sleep 0.05
  done
  if [ "$code" = 206 ] || [ "$code" = 200 ]; then
    : >"$WORK/nginx.rates"
    for i in 1 2; do
      speed="$(curl -s -o /dev/null --max-time "$TRANSFER_MAX_TIME" -w '%{speed_download}' "http://127.0.0.1:$port/image.bin")"
      mib_s "$speed" >>"$WORK/nginx.rates"; echo >>"$WORK/nginx.rates"
    done
    record transfers.nginx_mib_s "$(best_of "$WORK/nginx.rates")"
    log "nginx download: $(tr '\n' ' ' <"$WORK/nginx.rates")MiB/s"
  else
    problem "nginx did not serve the file: $(tail -c 500 "$WORK/nginx/logs/error.log" "$WORK/nginx/logs/stdout.log" 2>/dev/null | tr '\n' ' ')"
  fi
  stop_pid "$nginx_pid" nginx

  # daemon upload and download
  if ! daemon_available; then
    problem "daemon not available (no $VISOR_JS): transfers through VISOR not measured"
    rm -f "$file"; return 1
  fi
  data="$(generate transfers 10)" || { problem "catalogue generation for transfers failed"; rm -f "$file"; return 1; }
  start_daemon transfers "$data" || { rm -f "$file"; return 1; }
  token="$(admin_token "$data")"
  record transfers.daemon_rss_ready_kb "$(proc_kb "$DAEMON_PID" VmRSS || echo null)"
  # sample VmRSS every 50 ms while the daemon lives (bounded by the stop file and the daemon's life)
  (
    max=0
    while alive "$DAEMON_PID" && [ ! -e "$WORK/rss.stop" ]; do
      r="$(proc_kb "$DAEMON_PID" VmRSS || echo 0)"
      [ "$r" -gt "$max" ] && max="$r" && echo "$max" >"$WORK/rss.max"
      sleep 0.05
    done
  ) &
  local sampler=$!
  register_pid "$sampler" bash

  : >"$WORK/upload.rates"
  : >"$WORK/download.rates"
  local uploaded=""
  for i in 1 2; do
    resp="$WORK/register-$i.json"
    code="$(curl -s -o "$resp" -w '%{http_code}' --max-time 30 -X POST "$DAEMON_URL/images" \
      -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
      --data "{\"name\":\"bench-transfer-$i\",\"disk\":\"raw\",\"container_format\":\"bare\",\"access\":\"public\"}")"
    id="$(grep -o '"id" *: *"[0-9a-f-]\{36\}"' "$resp" | head -n1 | grep -o '[0-9a-f-]\{36\}')"
    if [ "$code" != 201 ] || [ -z "$id" ]; then
      problem "POST /images for the transfer answered $code: $(head -c 300 "$resp")"; continue
    fi
    log "upload $i: PUT /images/$id/file (${FILE_MIB} MiB)"
    resp="$WORK/upload-$i.json"
    read -r code speed < <(curl -s -o "$resp" --max-time "$TRANSFER_MAX_TIME" -w '%{http_code} %{speed_upload}\n' \
      -X PUT -T "$file" -H "Authorization: Bearer $token" -H 'Content-Type: application/octet-stream' \
      "$DAEMON_URL/images/$id/file")
    if [ "$code" = 200 ]; then
      mib_s "$speed" >>"$WORK/upload.rates"; echo >>"$WORK/upload.rates"
      uploaded="$id"
      if grep -q "sha256:$digest" "$resp"; then record transfers.upload_checksum_ok true
      else record transfers.upload_checksum_ok false; problem "upload $i: answer lacks checksum sha256:$digest: $(head -c 300 "$resp")"; fi
    else
      problem "upload $i answered $code: $(head -c 300 "$resp")"
    fi
  done
  [ -s "$WORK/upload.rates" ] && record transfers.upload_mib_s "$(best_of "$WORK/upload.rates")"
  log "daemon upload: $(tr '\n' ' ' <"$WORK/upload.rates")MiB/s"

  if [ -n "$uploaded" ]; then
    for i in 1 2; do
      log "download $i: GET /images/$uploaded/file"
      read -r code speed size < <(curl -s -o /dev/null --max-time "$TRANSFER_MAX_TIME" \
        -w '%{http_code} %{speed_download} %{size_download}\n' "$DAEMON_URL/images/$uploaded/file")
      if [ "$code" = 200 ] && [ "$size" = "$bytes" ]; then
        mib_s "$speed" >>"$WORK/download.rates"; echo >>"$WORK/download.rates"
      else
        problem "download $i answered $code with $size of $bytes bytes"
      fi
    done
    [ -s "$WORK/download.rates" ] && record transfers.download_mib_s "$(best_of "$WORK/download.rates")"
    log "daemon download: $(tr '\n' ' ' <"$WORK/download.rates")MiB/s"
  fi

  touch "$WORK/rss.stop"
  stop_pid "$sampler" bash
  record transfers.daemon_hwm_kb "$(proc_kb "$DAEMON_PID" VmHWM || echo null)"
  record transfers.daemon_rss_max_kb "$(cat "$WORK/rss.max" 2>/dev/null || echo null)"
  stop_daemon
  rm -f "$file"
}

# ---- main ---------------------------------------------------------------------------------------
ensure_tools || { log "missing tools"; exit 1; }
build_visor || { log "build failed"; exit 1; }

record meta.mode "\"$MODE\""
record meta.date "\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\""
record meta.node "\"$("$NODE" --version)\""
record meta.cpus "$(nproc)"
record meta.cpu_model "$(json_str "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)")"
record meta.mem_total_kb "$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
record meta.git_head "$(json_str "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)")"
record meta.sizes "{\"small\":$SMALL,\"large\":$LARGE}"
record meta.file_mib "$FILE_MIB"
record meta.visor_log_level "$(json_str "${VISOR_LOG_LEVEL:-default}")"
record meta.wrk_args "$(json_str "${WRK_ARGS[*]}")"
record meta.read_endpoints "$(tr -d '\n' <<<"$READ_ENDPOINTS")"
record meta.create_bounds "{\"concurrent\":{\"max\":$CREATE_MAX,\"seconds\":$CREATE_SECS},\"sequential\":{\"max\":$SEQ_MAX,\"seconds\":$SEQ_SECS}}"

log "mode $MODE; work dir $WORK"
daemon_available || problem "daemon not available yet (no $VISOR_JS): only the baselines run"

if [[ " $ONLY " == *" reads "* ]] && daemon_available; then
  bench_http_baseline
  bench_reads small "$SMALL"; stop_daemon
  bench_reads large "$LARGE"; stop_daemon
fi
if [[ " $ONLY " == *" creates "* ]] && daemon_available; then
  bench_creates; stop_daemon
fi
if [[ " $ONLY " == *" transfers "* ]]; then
  bench_transfers; stop_daemon
fi

stop_daemon
if [ "${BENCH_KEEP:-0}" != 1 ]; then
  log "removing the generated catalogues and stores"
  rm -rf "$WORK"/data-*
fi
"$NODE" "$BENCH_DIR/report.ts" "$METRICS" "$RESULTS"
