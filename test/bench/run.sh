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
#                           VISOR_CATALOG_PATH, VISOR_PRIVATE_CATALOG_PATH, VISOR_CONFIG and VISOR_PUBLIC_URL, which it unsets
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
  SETTLE_SECONDS="${BENCH_SETTLE_SECONDS:-5}"
else
  MODE=full
  SMALL=10000 LARGE=100000 FILE_MIB=2048
  WRK_DURATION="${BENCH_WRK_DURATION:-10}" WRK_WARMUP=2
  CREATE_MAX=3000 CREATE_SECS=15 SEQ_MAX=1000 SEQ_SECS=10
  SETTLE_SECONDS="${BENCH_SETTLE_SECONDS:-20}"
fi
WRK_CONNECTIONS="${BENCH_WRK_CONNECTIONS:-32}"
WRK_ARGS=(-t1 -c"$WRK_CONNECTIONS" -d"${WRK_DURATION}s" --timeout 5s --latency)
# A read route is measured in READ_PAIRS pairs, the baseline then the route, each run a fifth of
# WRK_DURATION (at least 2 s): the ratio is the median pair's. Five short pairs rather than three
# longer ones, the same time in all: stalls of a second or two fall on one run of a pair and not the
# other, and a full run at 21:06 on 2026-12-06 had three pairs of one route read 0.37, 0.74 and 0.30.
READ_PAIRS=5
PAIR_SECS=$(( WRK_DURATION / READ_PAIRS > 2 ? WRK_DURATION / READ_PAIRS : 2 ))
PAIR_ARGS=(-t1 -c"$WRK_CONNECTIONS" -d"${PAIR_SECS}s" --timeout 5s --latency)
ONLY="${BENCH_ONLY:-reads creates transfers}"
READY_TIMEOUT=120       # seconds a daemon may take to answer /health
DAEMON_STOP_GRACE=60    # seconds a daemon may take to stop (it writes its index snapshot) before it is killed
TRANSFER_MAX_TIME=900   # seconds one curl transfer may take

WORK="$(mktemp -d -t visor-bench.XXXXXX)"
METRICS="$WORK/metrics.jsonl"
PIDS="$WORK/pids"        # "PID marker" lines of every long-running process this script started
: >"$METRICS"
: >"$PIDS"

BENCH_TAG=bench
# shellcheck source=benchLib.sh
source "$(dirname "$0")/benchLib.sh"

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

# ---- clocks and counters, without forking (they run while a start is measured) -------------------
# stamp_us VAR: wall clock in microseconds.
stamp_us() { printf -v "$1" '%s' "${EPOCHREALTIME//[.,]/}"; }
# machine_ticks VAR_BUSY VAR_IOWAIT: all CPUs' busy and iowait time so far, in clock ticks (1/100 s).
machine_ticks() {
  local _cpu user nice system idle iowait irq softirq steal _rest
  read -r _cpu user nice system idle iowait irq softirq steal _rest </proc/stat
  printf -v "$1" '%s' "$((user + nice + system + irq + softirq + steal))"
  printf -v "$2" '%s' "$iowait"
}
# proc_ticks PID VAR_USER VAR_SYSTEM VAR_CHILDREN: CPU ticks of a process (all its threads), in user
# space and in the kernel, and of its reaped children.
proc_ticks() {
  local stat f
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || { printf -v "$2" 0; printf -v "$3" 0; printf -v "$4" 0; return 1; }
  read -r -a f <<<"${stat##*) }"   # f[0] is field 3 (state): utime is field 14
  printf -v "$2" '%s' "${f[11]}"
  printf -v "$3" '%s' "${f[12]}"
  printf -v "$4" '%s' "$((f[13] + f[14]))"
}
# thread_ticks PID MAIN V8 UV: CPU ticks of the process's main thread, of V8's platform threads (GC
# helpers, the optimizing compiler) and of libuv's pool, read from each live thread's stat with
# builtins only. What the whole process used beyond them went to its other threads: at a first
# start's ready, mostly the catalogue scan's workers, which have ended by then.
thread_ticks() {
  local t stat comm f main=0 v8=0 uv=0
  for t in /proc/"$1"/task/*; do
    { read -r stat <"$t/stat"; } 2>/dev/null || continue
    comm="${stat#*(}"; comm="${comm%%)*}"
    read -r -a f <<<"${stat##*) }"
    case "$comm" in
      MainThread | node) main=$((main + f[11] + f[12])) ;;
      V8Worker) v8=$((v8 + f[11] + f[12])) ;;
      libuv-worker) uv=$((uv + f[11] + f[12])) ;;
    esac
  done
  printf -v "$2" '%s' "$main"
  printf -v "$3" '%s' "$v8"
  printf -v "$4" '%s' "$uv"
}
# shell_cpu_ms VAR: CPU this script and its reaped children have used so far (bash's `times`).
shell_cpu_ms() {
  local line total=0 t m sec
  times >"$WORK/times.txt"
  while read -r -a line; do
    for t in "${line[@]}"; do # 0m0.031s
      m="${t%%m*}"; sec="${t#*m}"; sec="${sec%s}"
      total=$((total + m * 60000 + 10#${sec%.*} * 1000 + 10#${sec#*.}))
    done
  done <"$WORK/times.txt"
  printf -v "$1" '%s' "$total"
}
# proc_cpu_snapshot FILE: "pid ppid ticks comm" of every process (its own CPU: a reaped child's whole
# life would show as a burst, pid 1 reaping orphans most of all), taken just before and just after a
# start: the difference says which other processes ran meanwhile (those that ended in between are
# only in the machine's total).
proc_cpu_snapshot() {
  local f stat comm rest
  for f in /proc/[0-9]*/stat; do
    { read -r stat <"$f"; } 2>/dev/null || continue
    comm="${stat#*(}"; comm="${comm%)*}"
    read -r -a rest <<<"${stat##*) }"
    printf '%s %s %s %s\n' "${stat%% *}" "${rest[1]}" "$((rest[11] + rest[12]))" "${comm// /_}"
  done >"$1"
}
# settle: what the next start is measured after. The previous daemon has exited (stop_daemon waits
# for it), written data is flushed (sync), then the machine is given up to SETTLE_SECONDS to go
# quiet (busy CPU under a quarter of one core over a second). Nothing is dropped: an operator's first
# start finds the catalogue it just cloned in the page cache, and so does this one. What the machine
# was doing is recorded beside the start.
settle() {
  local deadline b0 b1 w0 w1 end
  sync
  deadline=$((SECONDS + SETTLE_SECONDS))
  while :; do
    machine_ticks b0 w0
    nap 1
    machine_ticks b1 w1
    SETTLE_BUSY_CORES="$(awk -v t="$((b1 - b0))" 'BEGIN { printf "%.2f", t / 100 }')"
    [ $((b1 - b0)) -lt 25 ] && break
    [ "$SECONDS" -ge "$deadline" ] && break
  done
  read -r SETTLE_LOAD1 _ </proc/loadavg
  SETTLE_DIRTY_KB="$(awk '/^(Dirty|Writeback):/ { s += $2 } END { print s + 0 }' /proc/meminfo)"
  # Anything this script started that still runs (none should: the previous daemon has exited).
  proc_cpu_snapshot "$WORK/settle.procs"
  SETTLE_OURS="$(awk -v root="$$" '{ parent[$1] = $2; name[$1] = $4 }
    END { for (p in parent) { q = parent[p]; while (q in parent && q != root) q = parent[q];
      if (q == root && name[p] != "awk") printf "%s%s(%s)", n++ ? " " : "", name[p], p } }' "$WORK/settle.procs")"
}

# cache_residency CATALOG_DIR: the share (0..1) of a sample of the catalogue's record files (every
# 100th) and of its git pack that is in the page cache. This VM pages out page cache left unread for
# about a minute (a DAMON "pageout" scheme, see README), whatever memory is free: a catalogue
# generated more than a minute before the start is partly read from disk again.
cache_residency() {
  local files
  files="$(find "$1/images" -name '*.json' 2>/dev/null | awk 'NR % 100 == 0')"
  # shellcheck disable=SC2086
  { [ -n "$files" ] && fincore -b -n -r -o PAGES,SIZE $files 2>/dev/null; } |
    awk '{ res += $1; all += int(($2 + 4095) / 4096) } END { printf "%.3f", all ? res / all : 0 }'
  printf ' '
  fincore -b -n -r -o PAGES,SIZE "$1"/.git/objects/pack/*.pack 2>/dev/null |
    awk '{ res += $1; all += int(($2 + 4095) / 4096) } END { printf "%.3f\n", all ? res / all : 0 }'
}
# evict_cache DIR: drops DIR's files (only those) from the page cache (posix_fadvise DONTNEED), for
# a first start as after a reboot. Needs python3; returns 1 without it.
evict_cache() {
  command -v python3 >/dev/null || return 1
  sync
  python3 - "$1" <<'PY'
import os, sys
for root, dirs, files in os.walk(sys.argv[1]):
    for name in files:
        try:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
PY
}

# start_daemon NAME DATA_DIR: spawns the daemon on a free port and waits for GET /health → 200.
# Sets DAEMON_PID, DAEMON_URL, DAEMON_LOG, DAEMON_READY_MS and DAEMON_START (a JSON object: where
# the start's time went — the daemon's CPU, its git commands', this script's polling, the rest of
# the machine's, iowait, disk reads, and the daemon's own log lines on a timeline).
# Readiness is polled with bash's /dev/tcp and builtins (the daemon listens only once it is ready;
# /health then confirms): a curl and a sleep per 10 ms poll cost ~20 ms of CPU each, two thirds of
# a core taken from the start being measured on this 2-core machine.
start_daemon() {
  local name="$1" data="$2" port t0 t1 now deadline code fd b0 w0 b1 w1 s0 s1 user sys kids main_t v8_t uv_t rb=0 k v
  port="$(free_port)" || return 1
  DAEMON_URL="http://127.0.0.1:$port"
  DAEMON_LOG="$WORK/daemon-$name.log"
  read -r CACHED_RECORDS CACHED_PACK < <(cache_residency "$data/catalog")
  proc_cpu_snapshot "$WORK/start-$name.procs0"
  machine_ticks b0 w0
  shell_cpu_ms s0
  stamp_us t0
  # catalogue and config come from $data and $CONFIG only, whatever the caller's environment says
  (cd "$ROOT" && unset VISOR_CATALOG_PATH VISOR_PRIVATE_CATALOG_PATH VISOR_CONFIG VISOR_PUBLIC_URL &&
    VISOR_DATA_DIR="$data" VISOR_PORT="$port" VISOR_HOST=127.0.0.1 \
      exec "$NODE" "$VISOR_JS" serve --config "$CONFIG") >"$DAEMON_LOG" 2>&1 &
  DAEMON_PID=$!
  register_pid "$DAEMON_PID" visor.js
  deadline=$((t0 + READY_TIMEOUT * 1000000))
  while :; do
    if exec {fd}<>"/dev/tcp/127.0.0.1/$port"; then
      stamp_us t1
      exec {fd}>&-
      machine_ticks b1 w1
      proc_ticks "$DAEMON_PID" user sys kids
      thread_ticks "$DAEMON_PID" main_t v8_t uv_t
      [ -r "/proc/$DAEMON_PID/io" ] && while read -r k v; do [ "$k" = read_bytes: ] && rb="$v"; done <"/proc/$DAEMON_PID/io"
      code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$DAEMON_URL/health" 2>/dev/null)"
      [ "$code" = 200 ] && break
    fi 2>/dev/null
    if ! alive "$DAEMON_PID"; then
      wait "$DAEMON_PID" 2>/dev/null
      problem "daemon ($name) exited before it was ready; log tail: $(tail -c 1500 "$DAEMON_LOG" | tr '\n' ' ')"
      return 1
    fi
    stamp_us now
    if [ "$now" -gt "$deadline" ]; then
      problem "daemon ($name) not ready after ${READY_TIMEOUT}s; log tail: $(tail -c 1500 "$DAEMON_LOG" | tr '\n' ' ')"
      stop_pid "$DAEMON_PID" visor.js "$DAEMON_STOP_GRACE"
      return 1
    fi
    nap 0.01
  done
  shell_cpu_ms s1
  proc_cpu_snapshot "$WORK/start-$name.procs1"
  DAEMON_READY_MS=$(((t1 - t0) / 1000))
  DAEMON_START="$("$NODE" "$BENCH_DIR/startTimeline.ts" "$DAEMON_LOG" "$((t0 / 1000))" \
    --procs "$WORK/start-$name.procs0" "$WORK/start-$name.procs1" --exclude "$DAEMON_PID,$$" \
    ready_ms="$DAEMON_READY_MS" daemon_cpu_ms="$(((user + sys) * 10))" daemon_sys_ms="$((sys * 10))" git_cpu_ms="$((kids * 10))" \
    main_thread_cpu_ms="$((main_t * 10))" v8_platform_cpu_ms="$((v8_t * 10))" libuv_pool_cpu_ms="$((uv_t * 10))" \
    other_threads_cpu_ms="$(((user + sys - main_t - v8_t - uv_t) * 10))" \
    harness_cpu_ms="$((s1 - s0))" machine_busy_ms="$(((b1 - b0) * 10))" iowait_ms="$(((w1 - w0) * 10))" \
    disk_read_bytes="$rb" cached_records="${CACHED_RECORDS:-}" cached_pack="${CACHED_PACK:-}")" || DAEMON_START=null
  log "daemon ($name) ready in ${DAEMON_READY_MS} ms at $DAEMON_URL (pid $DAEMON_PID)"
}
stop_daemon() {
  local t0 t1
  [ -n "${DAEMON_PID:-}" ] || return 0
  stamp_us t0
  stop_pid "$DAEMON_PID" visor.js "$DAEMON_STOP_GRACE"
  stamp_us t1
  DAEMON_STOP_MS=$(((t1 - t0) / 1000))
  log "daemon (pid $DAEMON_PID) stopped in ${DAEMON_STOP_MS} ms"
  DAEMON_PID=""
}
# record_start KEY: the last start's figures, with what the machine was doing before it (settle).
record_start() {
  record "$1" "$DAEMON_START"
  record "$1.before" "{\"load1\":${SETTLE_LOAD1:-null},\"busy_cores\":${SETTLE_BUSY_CORES:-null},\"dirty_writeback_kb\":${SETTLE_DIRTY_KB:-null},\"bench_processes\":$(json_str "${SETTLE_OURS:-}")}"
}
admin_token() { tr -d ' \n\r\t' <"$1/admin-token"; }

# generate NAME N [extra args]: a catalogue of N images in $WORK/data-NAME: the public ones in
# catalog/, the private ones (~10 %) in private-catalog/, where the daemon keeps them (its default
# catalog.private_path); echoes the data dir.
generate() {
  local name="$1" n="$2" data; shift 2
  data="$WORK/data-$name"
  mkdir -p "$data"
  log "generating a catalogue of $n images"
  "$NODE" "$BENCH_DIR/generateCatalog.ts" "$data/catalog" "$n" --private-dir "$data/private-catalog" "$@" >"$WORK/gen-$name.json" || return 1
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
# read beside it (this machine's capacity for the same work varies a lot from day to day). The
# server stays up for the reads (stop_http_baseline): each route is read in pairs with it
# (read_pairs), as the machine drifts, and stalls for seconds, within a run too.
BARE_HTTP_PID=""
BARE_HTTP_URL=""
bench_http_baseline() {
  local port out i
  port="$(free_port)" || return 1
  "$NODE" "$BENCH_DIR/bareHttp.ts" "$port" >"$WORK/bare-http.log" 2>&1 &
  BARE_HTTP_PID=$!
  BARE_HTTP_URL="http://127.0.0.1:$port/"
  register_pid "$BARE_HTTP_PID" bareHttp.ts
  for ((i = 0; i < 100; i++)); do grep -q listening "$WORK/bare-http.log" 2>/dev/null && break; sleep 0.05; done
  out="$WORK/wrk-baseline.txt"
  timeout $((WRK_WARMUP + 30)) wrk -t1 -c"$WRK_CONNECTIONS" -d"${WRK_WARMUP}s" --timeout 5s "$BARE_HTTP_URL" >/dev/null 2>&1
  log "wrk ${WRK_ARGS[*]} node:http baseline (fixed 100-byte body)"
  if timeout $((WRK_DURATION + 60)) wrk "${WRK_ARGS[@]}" "$BARE_HTTP_URL" >"$out" 2>&1 &&
    "$NODE" "$BENCH_DIR/parseWrk.ts" "$out" >"$out.json"; then
    record reads.baseline.wrk "$(cat "$out.json")"
    sed -n '/Requests\/sec/p' "$out" >&2
  else
    problem "node:http baseline: wrk failed: $(tail -c 300 "$out")"
  fi
}

stop_http_baseline() {
  [ -n "$BARE_HTTP_PID" ] && stop_pid "$BARE_HTTP_PID" bareHttp.ts
  BARE_HTTP_PID=""
}

# read_pairs PREFIX URL [wrk script args]: READ_PAIRS pairs, a baseline run then a run of URL;
# prints the number (1-READ_PAIRS) of the pair whose ratio is the median, after writing PREFIX-N.json
# (the route's run), PREFIX-bare-N.json, and PREFIX-pairs.json ({"ratios":[…],"median":N,"baseline_rps":…}).
read_pairs() {
  local prefix="$1" url="$2" i route bare ratios=() order=""
  shift 2
  for ((i = 1; i <= READ_PAIRS; i++)); do
    timeout $((PAIR_SECS + 60)) wrk "${PAIR_ARGS[@]}" "$BARE_HTTP_URL" >"$prefix-bare-$i.txt" 2>&1 &&
      "$NODE" "$BENCH_DIR/parseWrk.ts" "$prefix-bare-$i.txt" >"$prefix-bare-$i.json" || return 1
    timeout $((PAIR_SECS + 60)) wrk "${PAIR_ARGS[@]}" "$@" "$url" >"$prefix-$i.txt" 2>&1 &&
      "$NODE" "$BENCH_DIR/parseWrk.ts" "$prefix-$i.txt" >"$prefix-$i.json" || return 1
    bare="$(grep -o '"requests_per_sec":[0-9.]*' "$prefix-bare-$i.json" | cut -d: -f2)"
    route="$(grep -o '"requests_per_sec":[0-9.]*' "$prefix-$i.json" | cut -d: -f2)"
    ratios+=("$(awk -v r="$route" -v b="$bare" 'BEGIN { printf "%.4f", (b > 0 ? r / b : 0) }')")
    order+="${ratios[i - 1]} $i"$'\n'
  done
  # the median: the middle pair when sorted by ratio
  i="$(printf '%s' "$order" | sort -g | sed -n "$(((READ_PAIRS + 1) / 2))p" | cut -d' ' -f2)"
  bare="$(grep -o '"requests_per_sec":[0-9.]*' "$prefix-bare-$i.json" | cut -d: -f2)"
  printf '{"ratios":[%s],"median":%s,"baseline_rps":%s}\n' "$(IFS=,; echo "${ratios[*]}")" "$i" "$bare" >"$prefix-pairs.json"
  echo "$i"
}

# bench_reads small|large N
bench_reads() {
  local size="$1" n="$2" data ids key path out code sample
  data="$(generate "reads-$size" "$n" --ids "$WORK/ids-$size.txt" --ids-count 1000)" || {
    problem "catalogue generation ($n images) failed"; return 1; }
  # The first start: a catalogue just written (as after a clone) and no index snapshot yet.
  settle
  start_daemon "reads-$size" "$data" || return 1
  record "reads.$size.ready_ms" "$DAEMON_READY_MS"
  record_start "reads.$size.first_start"
  record "reads.$size.rss_ready_kb" "$(proc_kb "$DAEMON_PID" VmRSS || echo null)"
  record "reads.$size.rss_anon_ready_kb" "$(proc_kb "$DAEMON_PID" RssAnon || echo null)"
  record "reads.$size.rss_file_ready_kb" "$(proc_kb "$DAEMON_PID" RssFile || echo null)"
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
    log "wrk ${PAIR_ARGS[*]} ${script[*]} $path  ($n images): $READ_PAIRS pairs, node:http then the route"
    local median
    if median="$(read_pairs "${out%.txt}" "$DAEMON_URL$path" "${script[@]}")"; then
      record "reads.$size.wrk.$key" "$(cat "${out%.txt}-$median.json")"
      record "reads.$size.pairs.$key" "$(cat "${out%.txt}-pairs.json")"
      log "ratios $(cat "${out%.txt}-pairs.json")"
      sed -n -e '/Latency Distribution/,/requests in/p' -e '/Requests\/sec/p' -e '/Non-2xx/p' -e '/Socket errors/p' "${out%.txt}-$median.txt" >&2
    else
      problem "reads@$n: wrk $path failed: $(tail -c 300 "${out%.txt}"-*.txt | tail -c 300)"
    fi
    alive "$DAEMON_PID" || { problem "daemon (reads@$n) died during wrk $path"; return 1; }
  done
  record "reads.$size.rss_after_kb" "$(proc_kb "$DAEMON_PID" VmRSS || echo null)"
  record "reads.$size.hwm_after_kb" "$(proc_kb "$DAEMON_PID" VmHWM || echo null)"
  stop_daemon
  # the stop writes the index snapshot: at 100,000 images it takes seconds
  record "reads.$size.stop_ms" "$DAEMON_STOP_MS"
  # The first start's floor in this run: a fresh node reading and parsing every record file on two
  # threads, and nothing else (bareScan.ts), on the same catalogue, the machine settled the same way.
  settle
  if out="$("$NODE" "$BENCH_DIR/bareScan.ts" "$data/catalog" 2>"$WORK/bare-scan-$size.err")"; then
    record "reads.$size.bare_scan" "$out"
    log "bare scan of $n records on two threads: $out"
  else
    problem "bare scan ($n images) failed: $(tail -c 300 "$WORK/bare-scan-$size.err")"
  fi
  # And with every record of both catalogues kept as an object in one heap, as the daemon holds them
  # at ready: the floor of any start that reads its records from their files into objects.
  settle
  if out="$("$NODE" "$BENCH_DIR/bareScan.ts" --keep "$data/catalog" "$data/private-catalog" 2>"$WORK/bare-keep-$size.err")"; then
    record "reads.$size.bare_keep" "$out"
    log "bare scan of both catalogues, every record kept: $out"
  else
    problem "bare scan with records kept ($n images) failed: $(tail -c 300 "$WORK/bare-keep-$size.err")"
  fi
  if [ "$size" = large ]; then
    # A later start (from the index snapshot), then the first start once more on the same catalogue
    # with everything the daemon wrote removed: the second is how a first start measured alone
    # (catalogue warm, nothing else just run) comes out, beside the first, measured in the run.
    settle
    start_daemon "reads-$size-later" "$data" && record_start "reads.$size.later_start"
    stop_daemon
    find "$data" -mindepth 1 -maxdepth 1 ! -name catalog ! -name private-catalog -exec rm -rf {} +
    settle
    if start_daemon "reads-$size-first-again" "$data"; then
      record_start "reads.$size.first_start_again"
      record "reads.$size.first_start_again.rss_ready_kb" "$(proc_kb "$DAEMON_PID" VmRSS || echo null)"
    fi
    stop_daemon
    # And once with the catalogue out of the page cache (as after a reboot, or on this VM after a
    # few idle minutes): what a first start costs when it must read its 100,000 files from disk.
    find "$data" -mindepth 1 -maxdepth 1 ! -name catalog ! -name private-catalog -exec rm -rf {} +
    if evict_cache "$data/catalog" && evict_cache "$data/private-catalog"; then
      settle
      start_daemon "reads-$size-first-cold" "$data" && record_start "reads.$size.first_start_cold"
      stop_daemon
    else
      log "no python3: the first start with a cold page cache is not measured"
    fi
  fi
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
# Each figure beside its ceiling measured in the same run, with the same file and the same curl
# command: the daemon's upload beside a bare node:http receiver doing the same durable work
# (bareReceiver.ts), its download beside a bare node:http stream (bareStream.ts). dd, openssl and
# nginx (sendfile) are context: the disk alone, the hash alone, a server that copies nothing.

# best_of FILE: the largest number in FILE (one a line).
best_of() { sort -g "$1" | tail -n1; }
# mib_s BYTES_PER_SECOND → MiB/s
mib_s() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
# rate_of BYTES MICROSECONDS → MiB/s
rate_of() { awk -v b="$1" -v us="$2" 'BEGIN { printf "%.1f", b / 1048576 / (us / 1e6) }'; }

# upload URL OUT [curl args]: the one upload command (daemon and bare receiver); echoes "CODE SPEED".
upload() {
  local url="$1" out="$2"; shift 2
  curl -s -o "$out" --max-time "$TRANSFER_MAX_TIME" -w '%{http_code} %{speed_upload}\n' \
    -X PUT -T "$TRANSFER_FILE" -H 'Content-Type: application/octet-stream' "$@" "$url"
}
# download URL: the one download command (daemon, bare stream, nginx); echoes "CODE SPEED SIZE".
download() {
  curl -s -o /dev/null --max-time "$TRANSFER_MAX_TIME" -w '%{http_code} %{speed_download} %{size_download}\n' "$1"
}
# downloads NAME URL: two downloads of the file; rates to $WORK/NAME.rates, the best recorded.
downloads() {
  local name="$1" url="$2" i code speed size
  : >"$WORK/$name.rates"
  for i in 1 2; do
    read -r code speed size < <(download "$url")
    if [ "$code" = 200 ] && [ "$size" = "$TRANSFER_BYTES" ]; then
      mib_s "$speed" >>"$WORK/$name.rates"; echo >>"$WORK/$name.rates"
    else
      problem "$name $i answered $code with $size of $TRANSFER_BYTES bytes"
    fi
  done
  [ -s "$WORK/$name.rates" ] && record "transfers.${name}_mib_s" "$(best_of "$WORK/$name.rates")"
  log "$name: $(tr '\n' ' ' <"$WORK/$name.rates")MiB/s"
}
# wait_listening PID PORT NAME: a helper server answers on PORT.
wait_listening() {
  local pid="$1" port="$2" i fd
  for ((i = 0; i < 1000; i++)); do
    if exec {fd}<>"/dev/tcp/127.0.0.1/$port"; then exec {fd}>&-; return 0; fi 2>/dev/null
    alive "$pid" || break
    nap 0.01
  done
  problem "$3 did not listen on $port"
  return 1
}

# the disk alone: dd of zeros, fdatasync'd, into the fs store's folder
bench_dd() {
  local i t0 t1 out="$STORE_DIR/dd.bin" count=$((FILE_MIB / 8))
  : >"$WORK/dd.rates"
  for i in 1 2; do
    stamp_us t0
    if dd if=/dev/zero of="$out" bs=8M count="$count" conv=fdatasync status=none; then
      stamp_us t1
      rate_of "$((count * 8 * 1048576))" "$((t1 - t0))" >>"$WORK/dd.rates"; echo >>"$WORK/dd.rates"
    else
      problem "dd into $STORE_DIR failed"
    fi
    rm -f "$out"; sync
  done
  [ -s "$WORK/dd.rates" ] && record transfers.dd_mib_s "$(best_of "$WORK/dd.rates")"
  log "dd bs=8M conv=fdatasync: $(tr '\n' ' ' <"$WORK/dd.rates")MiB/s"
}

# the hash alone, warm cache
bench_openssl() {
  local i t0 t1
  cat "$TRANSFER_FILE" >/dev/null
  : >"$WORK/openssl.rates"
  for i in 1 2; do
    stamp_us t0
    TRANSFER_SHA256="$(openssl dgst -sha256 -r "$TRANSFER_FILE" | cut -d' ' -f1)"
    stamp_us t1
    rate_of "$TRANSFER_BYTES" "$((t1 - t0))" >>"$WORK/openssl.rates"; echo >>"$WORK/openssl.rates"
  done
  record transfers.openssl_mib_s "$(best_of "$WORK/openssl.rates")"
  record transfers.file_sha256 "\"$TRANSFER_SHA256\""
  log "openssl dgst -sha256: $(tr '\n' ' ' <"$WORK/openssl.rates")MiB/s"
}

# the upload ceiling: bare node:http, stream → sha256 → file in the store's folder → fdatasync → 201
bench_bare_receiver() {
  local port pid i code speed resp
  port="$(free_port)" || return 1
  "$NODE" "$BENCH_DIR/bareReceiver.ts" "$port" "$STORE_DIR" >"$WORK/bare-receiver.log" 2>&1 &
  pid=$!
  register_pid "$pid" bareReceiver.ts
  wait_listening "$pid" "$port" "bare receiver" || { stop_pid "$pid" bareReceiver.ts; return 1; }
  record transfers.bare_receiver_rss_ready_kb "$(proc_kb "$pid" VmRSS || echo null)"
  : >"$WORK/bare_upload.rates"
  for i in 1 2; do
    resp="$WORK/bare-upload-$i.json"
    read -r code speed < <(upload "http://127.0.0.1:$port/images/bare/file" "$resp" -H "Authorization: Bearer bench")
    if [ "$code" = 201 ] && grep -q "\"$TRANSFER_SHA256\"" "$resp"; then
      mib_s "$speed" >>"$WORK/bare_upload.rates"; echo >>"$WORK/bare_upload.rates"
    else
      problem "bare receiver upload $i answered $code: $(head -c 300 "$resp")"
    fi
  done
  [ -s "$WORK/bare_upload.rates" ] && record transfers.bare_upload_mib_s "$(best_of "$WORK/bare_upload.rates")"
  record transfers.bare_receiver_hwm_kb "$(proc_kb "$pid" VmHWM || echo null)"
  log "bare node:http receiver upload: $(tr '\n' ' ' <"$WORK/bare_upload.rates")MiB/s"
  stop_pid "$pid" bareReceiver.ts
}

# the download ceiling for node: createReadStream piped to the response, with its default 64 KiB
# reads and with the 1 MiB reads of the daemon's fs store (the better of the two is the ceiling)
bench_bare_stream() {
  local name="$1" port pid
  shift
  port="$(free_port)" || return 1
  "$NODE" "$BENCH_DIR/bareStream.ts" "$port" "$TRANSFER_FILE" "$@" >"$WORK/$name.log" 2>&1 &
  pid=$!
  register_pid "$pid" bareStream.ts
  wait_listening "$pid" "$port" "bare stream" && downloads "$name" "http://127.0.0.1:$port/image.bin"
  stop_pid "$pid" bareStream.ts
}

# context: nginx with sendfile
bench_nginx() {
  local port conf pid i code
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
    root $(dirname "$TRANSFER_FILE");
  }
}
EOF
  } >"$conf"
  "$NGINX" -p "$WORK/nginx" -c "$conf" >"$WORK/nginx/logs/stdout.log" 2>&1 &
  pid=$!
  register_pid "$pid" nginx
  for ((i = 0; i < 200; i++)); do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -r 0-0 "http://127.0.0.1:$port/image.bin" 2>/dev/null)"
    [ "$code" = 206 ] || [ "$code" = 200 ] && break
    alive "$pid" || break
    nap 0.05
  done
  if [ "$code" = 206 ] || [ "$code" = 200 ]; then
    downloads nginx "http://127.0.0.1:$port/image.bin"
  else
    problem "nginx did not serve the file: $(tail -c 500 "$WORK/nginx/logs/error.log" "$WORK/nginx/logs/stdout.log" 2>/dev/null | tr '\n' ' ')"
  fi
  stop_pid "$pid" nginx
}

# the daemon: two uploads (PUT …/file), two downloads, its memory before and during them
bench_daemon_transfers() {
  local data="$1" token id resp code speed i uploaded="" sampler
  start_daemon transfers "$data" || return 1
  token="$(admin_token "$data")"
  # The key is checked once before the peak is reset: its first check is scrypt (32 MiB for ~0.1 s,
  # once per key and daemon), which the peak of the first upload used to count as the transfers'.
  curl -s -o /dev/null --max-time 30 -H "Authorization: Bearer $token" "$DAEMON_URL/images?limit=1" ||
    problem "the key check before the transfers failed"
  record transfers.daemon_rss_ready_kb "$(proc_kb "$DAEMON_PID" VmRSS || echo null)"
  # The peak from here on: VmHWM reset to the current RSS (clear_refs 5), read after the
  # transfers; a 50 ms VmRSS sampler besides, in case the kernel refuses the reset.
  if echo 5 >"/proc/$DAEMON_PID/clear_refs" 2>/dev/null; then record transfers.daemon_hwm_reset true
  else record transfers.daemon_hwm_reset false; fi
  (
    max=0
    while alive "$DAEMON_PID" && [ ! -e "$WORK/rss.stop" ]; do
      r="$(proc_kb "$DAEMON_PID" VmRSS || echo 0)"
      [ "$r" -gt "$max" ] && max="$r" && echo "$max" >"$WORK/rss.max"
      nap 0.05
    done
  ) &
  sampler=$!
  register_pid "$sampler" bash

  : >"$WORK/upload.rates"
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
    read -r code speed < <(upload "$DAEMON_URL/images/$id/file" "$resp" -H "Authorization: Bearer $token")
    if [ "$code" = 200 ]; then
      mib_s "$speed" >>"$WORK/upload.rates"; echo >>"$WORK/upload.rates"
      uploaded="$id"
      if grep -q "sha256:$TRANSFER_SHA256" "$resp"; then record transfers.upload_checksum_ok true
      else record transfers.upload_checksum_ok false; problem "upload $i: answer lacks checksum sha256:$TRANSFER_SHA256: $(head -c 300 "$resp")"; fi
    else
      problem "upload $i answered $code: $(head -c 300 "$resp")"
    fi
  done
  [ -s "$WORK/upload.rates" ] && record transfers.upload_mib_s "$(best_of "$WORK/upload.rates")"
  log "daemon upload: $(tr '\n' ' ' <"$WORK/upload.rates")MiB/s"

  [ -n "$uploaded" ] && downloads download "$DAEMON_URL/images/$uploaded/file"

  touch "$WORK/rss.stop"
  stop_pid "$sampler" bash
  record transfers.daemon_hwm_kb "$(proc_kb "$DAEMON_PID" VmHWM || echo null)"
  record transfers.daemon_rss_max_kb "$(cat "$WORK/rss.max" 2>/dev/null || echo null)"
  stop_daemon
}

bench_transfers() {
  local files="$WORK/files" data
  mkdir -p "$files" && chmod 755 "$WORK" "$files"
  TRANSFER_FILE="$files/image.bin"
  TRANSFER_BYTES=$((FILE_MIB * 1048576))
  log "creating a ${FILE_MIB} MiB random file"
  head -c "$TRANSFER_BYTES" /dev/urandom >"$TRANSFER_FILE" || { problem "could not create the test file"; return 1; }
  sync
  # The daemon's data dir first: the ceilings write where its fs store writes (DATA/images/.incoming).
  data="$(generate transfers 10)" || { problem "catalogue generation for transfers failed"; rm -f "$TRANSFER_FILE"; return 1; }
  STORE_DIR="$data/images/.incoming"
  mkdir -p "$STORE_DIR"

  bench_dd
  bench_openssl
  bench_bare_receiver
  bench_bare_stream bare_download_64k
  bench_bare_stream bare_download_1m 1048576
  bench_nginx
  if daemon_available; then
    bench_daemon_transfers "$data"
  else
    problem "daemon not available (no $VISOR_JS): transfers through VISOR not measured"
  fi
  rm -f "$TRANSFER_FILE"
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

# load_before PART: the machine's load average before a part (figures mean little on a busy machine)
load_before() { local l1 l5 l15 _r; read -r l1 l5 l15 _r </proc/loadavg; record "meta.loadavg.$1" "\"$l1 $l5 $l15\""; }

if [[ " $ONLY " == *" reads "* ]] && daemon_available; then
  load_before reads
  bench_http_baseline
  bench_reads small "$SMALL"; stop_daemon
  bench_reads large "$LARGE"; stop_daemon
  stop_http_baseline
fi
if [[ " $ONLY " == *" creates "* ]] && daemon_available; then
  load_before creates
  bench_creates; stop_daemon
fi
if [[ " $ONLY " == *" transfers "* ]]; then
  load_before transfers
  bench_transfers; stop_daemon
fi

stop_daemon
if [ "${BENCH_KEEP:-0}" != 1 ]; then
  log "removing the generated catalogues and stores"
  rm -rf "$WORK"/data-*
fi
"$NODE" "$BENCH_DIR/report.ts" "$METRICS" "$RESULTS"
