# Shared by the benchmark scripts, sourced after they set NODE, WORK, METRICS, PIDS and BENCH_TAG:
# logging, metrics for the report, and stopping (only) the processes a script started.
log() { printf '[%s %s] %s\n' "$BENCH_TAG" "$(date +%H:%M:%S)" "$*" >&2; }

# record KEY JSON-VALUE: one metric for the report (KEY "errors[]" appends).
record() { printf '{"key":"%s","value":%s}\n' "$1" "$2" >>"$METRICS"; }
json_str() { "$NODE" -e 'process.stdout.write(JSON.stringify(process.argv[1] ?? ""))' -- "$1"; }
problem() { log "PROBLEM: $*"; record 'errors[]' "$(json_str "$*")"; }

# free_port: a TCP port free on 127.0.0.1 just now.
free_port() {
  "$NODE" -e 'const s=require("node:net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# ---- processes ----------------------------------------------------------------------------------
# proc_kb PID FIELD: a /proc/PID/status field in kB (VmRSS, VmHWM), without forking.
proc_kb() {
  local k v rest
  while read -r k v rest; do
    if [ "$k" = "$2:" ]; then echo "$v"; return 0; fi
  done <"/proc/$1/status" 2>/dev/null
  return 1
}
# alive PID: the process exists and is not a zombie. Builtins only: it runs in polling loops, and
# a fork per poll costs CPU the measured process would otherwise have.
alive() {
  local stat state
  { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  state="${stat##*) }"
  state="${state%% *}"
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
# nap SECONDS: sleep without forking (read's timeout on a FIFO nobody writes to); /bin/sleep
# costs a fork and an exec per call, which matters in a 10 ms polling loop on two cores.
if mkfifo "$WORK/nap.fifo" 2>/dev/null && exec {NAP_FD}<>"$WORK/nap.fifo"; then
  nap() { read -r -t "$1" -u "$NAP_FD" _ 2>/dev/null || true; }
else
  nap() { sleep "$1"; }
fi
register_pid() { echo "$1 $2" >>"$PIDS"; }
# stop_pid PID MARKER [GRACE]: TERM (then KILL after GRACE seconds, default 10) the process, if it is
# still the one we started (its command line contains MARKER), and reap it.
stop_pid() {
  local pid="$1" marker="$2" grace="${3:-10}" i
  if alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$marker"; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do alive "$pid" || break; nap 0.1; done
    if alive "$pid"; then
      log "process $pid ($marker) did not stop on TERM in ${grace}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local pid marker
  if [ -f "$PIDS" ]; then
    while read -r pid marker; do [ -n "$pid" ] && stop_pid "$pid" "$marker"; done < <(tac "$PIDS")
  fi
  if [ "${BENCH_KEEP:-0}" = 1 ]; then log "kept $WORK"; else log "removing $WORK"; rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP

# The daemon is measured as shipped: the package's bin, compiled to dist/ (the .ts sources run by
# Node's type stripping hold ~25 MB more). build_visor compiles it first.
VISOR_JS=dist/daemon/visor.js
build_visor() { (cd "$ROOT" && "$NODE" node_modules/typescript/bin/tsc -p tsconfig.build.json); }
