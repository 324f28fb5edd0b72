#!/usr/bin/env bash
# VISOR catalogue-scale benchmark. Measures, on this machine only (127.0.0.1), each against its target:
#   1. `visor catalog validate DIR` on a 100,000-image catalogue (target < 10 s);
#   2. a pull request of 100 files (60 added, 30 modified, 10 deleted): `visor catalog validate DIR
#      --base main` cold (no facts cache) and warm, and `git push` of the branch to a bare repository
#      with the pre-receive hook installed by `visor catalog install-hooks` (target < 1 s);
#   3. a daemon following an upstream (the generated catalogue): the first sync (adoption), then 10
#      images changed upstream: POST /sync until the response, and until GET /images/<id> shows every
#      change (target < 1 s); plus the static view (/catalog/files): a full walk and the update after
#      the change, as a mirror that does not clone would do it;
#   4. history: 1,000,000 commits (100,000 adds, then modifications) written with `git fast-import`,
#      then `git clone --no-local` (full), `git clone --depth 1` and a one-commit squashed history: time
#      and .git size; `git log -- <record>` (what GET /images/:id/history runs) without and with a
#      commit-graph; then 10 new commits and `git fetch` into the full and the shallow clone.
#      When the history cannot be written within its time budget (or the disk is short),
#      it stops at the largest count reached and the full-clone figures are extrapolated, saying so.
# Prints a report and writes it as JSON to test/bench/results/catalog-scale.json.
#
#   bash test/bench/catalog-scale.sh                 # full: 100,000 images, 1,000,000 commits (~30 min)
#   BENCH_QUICK=1 bash test/bench/catalog-scale.sh   # quick: 10,000 images, 10,000 commits (~4 min)
#
# Environment:
#   BENCH_QUICK=1                 the quick mode above
#   BENCH_IMAGES=N, BENCH_COMMITS=N   override the sizes
#   BENCH_HISTORY_BUDGET=S        seconds fast-import may run (default 600)
#   BENCH_ADOPT_TIMEOUT=S         seconds the first sync (adoption) may take (default 300); past it the
#                                 daemon is stopped and restarted on a clone of the upstream instead
#   BENCH_STATIC_SECONDS=S        bound of the full static-view walk (default 60; the rest is estimated)
#   BENCH_ONLY="validate pr sync history"   run only some parts (the catalogue is always generated)
#   BENCH_RESULTS=FILE            write the JSON there instead
#   BENCH_KEEP=1                  keep the temporary directory
#   BENCH_STRICT=1                exit 1 when a target is missed or not measured
#
# Every server listens on 127.0.0.1 on a free port; every step is bounded in time; only processes this
# script started are stopped, by PID (on exit too); everything temporary lives in one mktemp -d
# directory, removed at the end. Nothing in the project's own repository is changed.
set -uo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/../.." && pwd)"
NODE="$ROOT/node_modules/.bin/node"
HELPER="$BENCH_DIR/catalogScale.ts"
RESULTS="${BENCH_RESULTS:-$BENCH_DIR/results/catalog-scale.json}"

if [ "${BENCH_QUICK:-0}" = 1 ]; then
  MODE=quick; IMAGES="${BENCH_IMAGES:-10000}"; COMMITS="${BENCH_COMMITS:-10000}"
else
  MODE=full; IMAGES="${BENCH_IMAGES:-100000}"; COMMITS="${BENCH_COMMITS:-1000000}"
fi
HISTORY_BUDGET="${BENCH_HISTORY_BUDGET:-600}"
ADOPT_TIMEOUT="${BENCH_ADOPT_TIMEOUT:-300}"
STATIC_SECONDS="${BENCH_STATIC_SECONDS:-60}"
ONLY="${BENCH_ONLY:-validate pr sync history}"
READY_TIMEOUT=180      # seconds a daemon may take to answer /health
STEP_TIMEOUT=600       # seconds any single CLI or git step may take
CLONE_TIMEOUT=3600     # seconds one clone of the big history may take

WORK="$(mktemp -d -t visor-scale.XXXXXX)"
METRICS="$WORK/metrics.jsonl"
PIDS="$WORK/pids"
: >"$METRICS"
: >"$PIDS"
DAEMON_PID=""

BENCH_TAG=scale
# shellcheck source=benchLib.sh
source "$(dirname "$0")/benchLib.sh"
now_ns() { date +%s%N; }
ms_since() { echo $((($(now_ns) - $1) / 1000000)); }
bytes_of() { du -sb "$1" 2>/dev/null | cut -f1; }

# timed VAR CMD...: runs CMD bounded by STEP_TIMEOUT; VAR gets the wall time in ms; returns CMD's status.
timed() {
  local __var="$1" t0 rc; shift
  t0="$(now_ns)"
  timeout "$STEP_TIMEOUT" "$@"; rc=$?
  printf -v "$__var" '%s' "$(ms_since "$t0")"
  return "$rc"
}
build_visor || { log "build failed"; exit 1; }
# the CLI, as a command (so that `timeout` can run it); the catalogue comes from the arguments only
VISOR=(env -u VISOR_CATALOG_PATH -u VISOR_CONFIG -u VISOR_URL -u VISOR_TOKEN "$NODE" "$ROOT/$VISOR_JS")

# start_daemon NAME DATA_DIR CONFIG: spawns the daemon on a free port, waits for GET /health → 200.
start_daemon() {
  local name="$1" data="$2" config="$3" port t0 code deadline
  port="$(free_port)" || return 1
  DAEMON_URL="http://127.0.0.1:$port"
  DAEMON_LOG="$WORK/daemon-$name.log"
  t0="$(now_ns)"
  (cd "$ROOT" && unset VISOR_CATALOG_PATH VISOR_CONFIG VISOR_PUBLIC_URL &&
    VISOR_DATA_DIR="$data" VISOR_PORT="$port" VISOR_HOST=127.0.0.1 \
      exec "$NODE" "$VISOR_JS" serve --config "$config") >"$DAEMON_LOG" 2>&1 &
  DAEMON_PID=$!
  register_pid "$DAEMON_PID" visor.js
  deadline=$((t0 + READY_TIMEOUT * 1000000000))
  while :; do
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$DAEMON_URL/health" 2>/dev/null)"
    [ "$code" = 200 ] && break
    if ! alive "$DAEMON_PID"; then
      wait "$DAEMON_PID" 2>/dev/null
      problem "daemon ($name) exited before it was ready; log tail: $(tail -c 1500 "$DAEMON_LOG" | tr '\n' ' ')"
      DAEMON_PID=""; return 1
    fi
    if [ "$(now_ns)" -gt "$deadline" ]; then
      problem "daemon ($name) not ready after ${READY_TIMEOUT}s"
      stop_daemon; return 1
    fi
    sleep 0.02
  done
  DAEMON_READY_MS="$(ms_since "$t0")"
  log "daemon ($name) ready in ${DAEMON_READY_MS} ms at $DAEMON_URL (pid $DAEMON_PID)"
}
stop_daemon() {
  [ -n "${DAEMON_PID:-}" ] || return 0
  stop_pid "$DAEMON_PID" visor.js
  DAEMON_PID=""
}

ensure_tools() {
  local need=()
  command -v git >/dev/null || need+=(git)
  command -v curl >/dev/null || need+=(curl)
  if [ "${#need[@]}" -gt 0 ]; then
    [ "$(id -u)" = 0 ] || { log "install ${need[*]} first"; return 1; }
    log "installing ${need[*]} with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null || return 1
  fi
  [ -x "$NODE" ] || { log "no $NODE: run npm ci first"; return 1; }
}

# ---- 0. the catalogue ---------------------------------------------------------------------------
CAT="$WORK/catalog"
generate_catalog() {
  log "generating a catalogue of $IMAGES images (generateCatalog.ts)"
  "$NODE" "$BENCH_DIR/generateCatalog.ts" "$CAT" "$IMAGES" --public --origin upstream.bench >"$WORK/gen.json" || return 1
  record catalog "$(cat "$WORK/gen.json")"
  record catalog.bytes "$(bytes_of "$CAT")"
  # flush the new files now, so their write-back does not run during the measurements
  sync
}

# ---- 1. validate --------------------------------------------------------------------------------
bench_validate() {
  local i ms rc
  timed ms "${VISOR[@]}" catalog --help >/dev/null && record validate.cli_startup_ms "$ms"
  for i in 0 1; do
    timed ms "${VISOR[@]}" catalog validate "$CAT" >"$WORK/validate-$i.txt" 2>&1; rc=$?
    record "validate.full_ms.$i" "$ms"
    record "validate.exit.$i" "$rc"
    log "visor catalog validate ($IMAGES images), run $((i + 1)): $ms ms, exit $rc"
    [ "$rc" = 0 ] || problem "validate run $((i + 1)) exited $rc: $(head -c 400 "$WORK/validate-$i.txt")"
  done
  record validate.problems "$(grep -c '\[' "$WORK/validate-0.txt" || true)"
}

# ---- 2. pull request ----------------------------------------------------------------------------
bench_pr() {
  local ms rc gitdir server facts
  log "pull request: 60 added, 30 modified, 10 deleted on branch pr"
  "$NODE" "$HELPER" make-pr "$CAT" --added 60 --modified 30 --deleted 10 >"$WORK/pr.json" || { problem "make-pr failed"; return 1; }
  record pr.made "$(cat "$WORK/pr.json")"
  gitdir="$(git -C "$CAT" rev-parse --absolute-git-dir)"
  facts="$gitdir/visor/facts.json"
  rm -f "$facts"
  timed ms "${VISOR[@]}" catalog validate "$CAT" --base main >"$WORK/pr-cold.txt" 2>&1; rc=$?
  record pr.validate_cold_ms "$ms"; record pr.validate_cold_exit "$rc"
  log "validate --base main, cold: $ms ms, exit $rc"
  [ "$rc" = 0 ] || problem "validate --base (cold) exited $rc: $(head -c 400 "$WORK/pr-cold.txt")"
  record pr.facts_bytes "$(bytes_of "$facts" || echo null)"
  timed ms "${VISOR[@]}" catalog validate "$CAT" --base main >"$WORK/pr-warm.txt" 2>&1; rc=$?
  record pr.validate_warm_ms "$ms"; record pr.validate_warm_exit "$rc"
  log "validate --base main, warm: $ms ms, exit $rc"

  # the same check through a server's pre-receive hook
  server="$WORK/server.git"
  log "bare clone of main, install-hooks"
  timed ms git clone -q --bare --no-local --single-branch -b main "$CAT" "$server" || { problem "bare clone failed"; return 1; }
  record pr.bare_clone_ms "$ms"
  "${VISOR[@]}" catalog install-hooks "$server" >"$WORK/install-hooks.txt" 2>&1 || { problem "install-hooks failed: $(cat "$WORK/install-hooks.txt")"; return 1; }
  rm -f "$server/visor/facts.json"
  timed ms git -C "$CAT" push -q "$server" pr:refs/heads/pr >"$WORK/push-cold.txt" 2>&1; rc=$?
  record pr.push_cold_ms "$ms"; record pr.push_cold_exit "$rc"
  log "git push (pre-receive hook, cold): $ms ms, exit $rc"
  [ "$rc" = 0 ] || problem "push (cold) exited $rc: $(head -c 400 "$WORK/push-cold.txt")"
  timed ms git -C "$CAT" push -q "$server" pr:refs/heads/pr-warm >"$WORK/push-warm.txt" 2>&1; rc=$?
  record pr.push_warm_ms "$ms"; record pr.push_warm_exit "$rc"
  log "git push (pre-receive hook, warm): $ms ms, exit $rc"
  mv "$server/hooks/pre-receive" "$server/hooks/pre-receive.off"
  timed ms git -C "$CAT" push -q "$server" pr:refs/heads/pr-nohook >"$WORK/push-nohook.txt" 2>&1; rc=$?
  record pr.push_nohook_ms "$ms"
  log "git push (no hook): $ms ms, exit $rc"
  mv "$server/hooks/pre-receive.off" "$server/hooks/pre-receive"
  # a pull request that breaks a rule is refused (the hook really checks): a changed checksum
  record pr.push_refused_exit "$(push_bad_change "$server")"
  rm -rf "$server"
}

# push_bad_change SERVER: pushes a commit changing an immutable field; echoes push's exit status.
push_bad_change() {
  local server="$1" path rc
  path="$(git -C "$CAT" ls-files images | sed -n 5p)"
  git -C "$CAT" checkout -q -b bad pr
  sed -i -E 's/("checksum": "sha[0-9]+:)[0-9a-f]{8}/\1deadbeef/' "$CAT/$path"
  git -C "$CAT" -c user.name=bench -c user.email=bench@visor.invalid commit -q --no-verify -am 'bench: change a checksum'
  timeout "$STEP_TIMEOUT" git -C "$CAT" push -q "$server" bad:refs/heads/bad >"$WORK/push-bad.txt" 2>&1; rc=$?
  [ "$rc" != 0 ] || problem "a push changing a checksum was accepted"
  git -C "$CAT" checkout -q pr
  echo "$rc"
}

# ---- 3. upstream sync ---------------------------------------------------------------------------
bench_sync() {
  local data config token out mode
  git -C "$CAT" checkout -q main || { problem "cannot check out main"; return 1; }
  config="$WORK/visor-sync.toml"
  printf '[upstreams.bench]\nurl = "%s"\ninterval_seconds = 0\n' "$CAT" >"$config"
  data="$WORK/daemon"
  mkdir -p "$data"
  start_daemon sync "$data" "$config" || return 1
  record sync.ready_ms "$DAEMON_READY_MS"
  token="$WORK/token"; tr -d ' \n\r\t' <"$data/admin-token" >"$token"

  log "first sync: the daemon adopts the $IMAGES-image upstream (bound ${ADOPT_TIMEOUT}s)"
  record sync.adopt_timeout_ms $((ADOPT_TIMEOUT * 1000))
  out="$WORK/sync-adopt.json"
  timeout $((ADOPT_TIMEOUT + 30)) "$NODE" "$HELPER" sync-timing --url "$DAEMON_URL" --token-file "$token" --timeout "$ADOPT_TIMEOUT" >"$out"
  cat "$out" >&2
  mode="$(sed -n 's/.*"mode":"\([a-z-]*\)".*/\1/p' "$out")"
  if [ "$mode" = adopted ]; then
    record sync.adopt "$(cat "$out")"
    record sync.seeded false
  else
    [ -s "$out" ] && record sync.adopt "$(sed 's/"response_ms":null,//' "$out")"
    problem "first sync did not adopt the upstream within ${ADOPT_TIMEOUT}s (mode ${mode:-none}); restarting the daemon on a clone of the upstream"
    record sync.seeded true
    stop_daemon
    data="$WORK/daemon-seeded"
    mkdir -p "$data"
    git clone -q "$CAT" "$data/catalog" || { problem "clone for the seeded daemon failed"; return 1; }
    start_daemon seeded "$data" "$config" || return 1
    record sync.seeded_ready_ms "$DAEMON_READY_MS"
    tr -d ' \n\r\t' <"$data/admin-token" >"$token"
  fi
  record sync.images "$(curl -s --max-time 10 "$DAEMON_URL/health" | sed -n 's/.*"images":\([0-9]*\).*/\1/p' | head -n1 | grep . || echo null)"
  record sync.rss_kb "$(proc_kb "$DAEMON_PID" VmRSS || echo null)"

  # nothing new upstream: the price of a webhook that changes nothing
  "$NODE" "$HELPER" sync-timing --url "$DAEMON_URL" --token-file "$token" --timeout 120 >"$WORK/sync-noop.json" &&
    record sync.noop "$(cat "$WORK/sync-noop.json")"

  # the static view, as a mirror that does not clone reads it: everything once, then what changed
  log "static view: full walk (bound ${STATIC_SECONDS}s)"
  timeout $((STATIC_SECONDS + 120)) "$NODE" "$HELPER" static-walk --url "$DAEMON_URL" --state "$WORK/static-state.json" \
    --max-seconds "$STATIC_SECONDS" >"$WORK/static-full.json" && record sync.static_full "$(cat "$WORK/static-full.json")"
  cat "$WORK/static-full.json" >&2

  # Two rounds: the first sync with changes after the daemon started (its facts cache is cold when
  # the daemon was seeded rather than adopting), then the steady state.
  local round
  for round in 1 2; do
    log "round $round: 10 images change upstream; POST /sync until they show"
    "$NODE" "$HELPER" upstream-change "$CAT" 10 --seed "$((10 + round))" --out "$WORK/changes-$round.jsonl" >"$WORK/upstream-change-$round.json" ||
      { problem "upstream-change failed"; stop_daemon; return 1; }
    out="$WORK/sync-change-$round.json"
    timeout 200 "$NODE" "$HELPER" sync-timing --url "$DAEMON_URL" --token-file "$token" --changes "$WORK/changes-$round.jsonl" --timeout 120 >"$out"
    cat "$out" >&2
    [ -s "$out" ] && record "sync.change$round" "$(cat "$out")"
    grep -q '"mode":"fast-forward"' "$out" || problem "sync round $round was not a fast-forward: $(head -c 300 "$out")"
  done

  log "static view: update after the change"
  timeout 300 "$NODE" "$HELPER" static-walk --url "$DAEMON_URL" --state "$WORK/static-state.json" --max-seconds 120 \
    >"$WORK/static-update.json" && record sync.static_update "$(cat "$WORK/static-update.json")"
  cat "$WORK/static-update.json" >&2
  record sync.rss_after_kb "$(proc_kb "$DAEMON_PID" VmRSS || echo null)"
  daemon_writes "$data" "$token"
  stop_daemon
  rm -rf "$WORK/daemon" "$WORK/daemon-seeded"
}

# daemon_writes DATA TOKEN: what the daemon's own commits leave in its catalogue. It commits with
# plumbing and sets gc.auto=0, so every write stays as loose objects until something repacks.
daemon_writes() {
  local data="$1" token="$2" cat="$1/catalog" before after c0 c1
  loose() { git -C "$cat" count-objects -v | awk '/^count:/ {c=$2} /^size:/ {s=$2} END {print c, s * 1024}'; }
  shared_commits() { curl -s --max-time 10 -H "Authorization: Bearer $(cat "$token")" "$DAEMON_URL/health" | grep -o '"commits":[0-9]*' | head -n1 | cut -d: -f2; }
  read -r before[0] before[1] < <(loose)
  c0="$(shared_commits)"
  log "daemon writes: 200 sequential POST /images (one commit each)"
  timeout 180 "$NODE" "$BENCH_DIR/createLoad.ts" --url "$DAEMON_URL" --token-file "$token" --concurrency 1 \
    --max-requests 200 --max-seconds 120 --warmup 0 >"$WORK/writes.json" || { problem "daemon writes failed"; return 1; }
  record sync.writes.load "$(cat "$WORK/writes.json")"
  read -r after[0] after[1] < <(loose)
  c1="$(shared_commits)"
  record sync.writes.shared_commits "$((${c1:-0} - ${c0:-0}))"
  record sync.writes.loose_objects "$((after[0] - before[0]))"
  record sync.writes.loose_bytes "$((after[1] - before[1]))"
  log "daemon writes: $((${c1:-0} - ${c0:-0})) shared commits added $((after[0] - before[0])) loose objects, $((after[1] - before[1])) bytes"
}

# ---- 4. history and clones ----------------------------------------------------------------------
bench_history() {
  local hist="$WORK/history.git" avail need commits ms rc url path squash got bpc
  git -C "$CAT" checkout -q main 2>/dev/null
  commits="$COMMITS"
  # Room for the source, a full clone and slack: budget 4 KB a commit three times over.
  avail=$(($(df -Pk "$WORK" | awk 'NR==2 {print $4}') * 1024))
  need=$((commits * 4096 * 3))
  record meta.disk_avail_bytes "$avail"
  if [ "$need" -gt "$avail" ]; then
    commits=$((avail / (4096 * 3)))
    problem "disk: $avail bytes free, too little for $COMMITS commits; writing at most $commits"
  fi
  log "history: up to $commits commits with git fast-import (budget ${HISTORY_BUDGET}s)"
  timeout $((HISTORY_BUDGET + 900)) "$NODE" "$HELPER" history "$CAT" "$hist" --commits "$commits" \
    --budget-seconds "$HISTORY_BUDGET" >"$WORK/history.json" || { problem "history generation failed"; return 1; }
  cat "$WORK/history.json" >&2
  record history "$(cat "$WORK/history.json")"
  got="$(sed -n 's/.*"commits":\([0-9]*\).*/\1/p' "$WORK/history.json")"
  record clone.source_pack_bytes "$(git -C "$hist" count-objects -v | awk '/^size-pack:/ {print $2 * 1024}')"
  record clone.source_objects "$(git -C "$hist" count-objects -v | awk '/^in-pack:/ {print $2}')"
  url="file://$hist"
  sync

  # Each clone without checkout (-n): what the three options transfer and index. The working tree is
  # the same for all three, so its checkout is timed once, apart: on this machine's file system creating
  # files dominates (it is the same cost whichever history a clone carries).
  log "git clone -n --no-local (full history, $got commits)"
  t0="$(now_ns)"; timeout "$CLONE_TIMEOUT" git clone -q -n --no-local "$url" "$WORK/clone-full"; rc=$?
  ms="$(ms_since "$t0")"
  if [ "$rc" = 0 ]; then
    record clone.full_ms "$ms"
    record clone.full_git_bytes "$(bytes_of "$WORK/clone-full/.git")"
    log "full clone: $ms ms, .git $(bytes_of "$WORK/clone-full/.git") bytes"
    timed ms git -C "$WORK/clone-full" checkout -q main && record clone.checkout_ms "$ms"
    record clone.worktree_bytes "$(($(bytes_of "$WORK/clone-full") - $(bytes_of "$WORK/clone-full/.git")))"
    log "checkout of the working tree: $ms ms"
    # what GET /images/:id/history runs: the log of one record, through the whole history
    path="$(git -C "$WORK/clone-full" ls-files images | sed -n 7p)"
    timed ms git -C "$WORK/clone-full" log --format=%H -- "$path" >"$WORK/log-one.txt" &&
      record clone.log_one_ms "$ms" && record clone.log_one_commits "$(wc -l <"$WORK/log-one.txt")"
    log "git log -- <one record>: $ms ms ($(wc -l <"$WORK/log-one.txt") commits)"
    local wrote
    timed wrote git -C "$WORK/clone-full" commit-graph write --reachable --changed-paths 2>/dev/null &&
      record clone.commit_graph_write_ms "$wrote"
    timed ms git -C "$WORK/clone-full" log --format=%H -- "$path" >/dev/null &&
      record clone.log_one_graph_ms "$ms"
    log "commit-graph with changed paths written in $wrote ms; then git log -- <one record>: $ms ms"
  else
    problem "full clone failed or timed out (exit $rc after $ms ms)"
  fi
  sync

  log "git clone -n --depth 1"
  t0="$(now_ns)"; timeout "$CLONE_TIMEOUT" git clone -q -n --depth 1 "$url" "$WORK/clone-shallow"; rc=$?
  ms="$(ms_since "$t0")"
  if [ "$rc" = 0 ]; then
    record clone.shallow_ms "$ms"; record clone.shallow_git_bytes "$(bytes_of "$WORK/clone-shallow/.git")"
    log "shallow clone: $ms ms, .git $(bytes_of "$WORK/clone-shallow/.git") bytes"
  else
    problem "shallow clone failed (exit $rc)"
  fi

  log "squashed history: one commit with the same tree"
  squash="$(git -C "$hist" -c user.name=bench -c user.email=bench@visor.invalid commit-tree 'main^{tree}' -m 'Catalogue as of main (history squashed)')" &&
    git -C "$hist" update-ref refs/heads/squashed "$squash"
  t0="$(now_ns)"; timeout "$CLONE_TIMEOUT" git clone -q -n --no-local --single-branch -b squashed "$url" "$WORK/clone-squashed"; rc=$?
  ms="$(ms_since "$t0")"
  if [ "$rc" = 0 ]; then
    record clone.squashed_ms "$ms"; record clone.squashed_git_bytes "$(bytes_of "$WORK/clone-squashed/.git")"
    log "squashed clone: $ms ms, .git $(bytes_of "$WORK/clone-squashed/.git") bytes"
  else
    problem "squashed clone failed (exit $rc)"
  fi
  rm -rf "$WORK/clone-squashed"

  # Keeping up: 10 new commits upstream, then a fetch into the full clone and one into the shallow
  # clone (which keeps its depth). A shallow fetch makes the server walk the whole tree of the
  # client's shallow commit to know what the client has: its cost is the catalogue, not the change.
  if [ -d "$WORK/clone-full" ] && [ -d "$WORK/clone-shallow" ]; then
    log "10 more commits upstream; git fetch into the full and the shallow clone"
    if add_commits "$hist" 10; then
      timed ms git -C "$WORK/clone-full" fetch -q origin && record clone.fetch_full_ms "$ms"
      log "git fetch (full clone): $ms ms"
      timed ms git -C "$WORK/clone-shallow" fetch -q --depth 1 origin main && record clone.fetch_shallow_ms "$ms"
      log "git fetch --depth 1 (shallow clone): $ms ms"
      record clone.shallow_after_fetch_git_bytes "$(bytes_of "$WORK/clone-shallow/.git")"
    else
      problem "could not add commits to the history"
    fi
  fi
  rm -rf "$WORK/clone-full" "$WORK/clone-shallow"

  if [ -n "$got" ] && [ "$got" -lt "$COMMITS" ]; then
    log "history stopped at $got of $COMMITS commits: extrapolating the full clone linearly"
    "$NODE" -e '
      const [got, want, bytes, ms] = process.argv.slice(1).map(Number);
      const f = want / got;
      console.log(JSON.stringify({ commits: want, from_commits: got, full_git_bytes: Math.round(bytes * f), full_ms: Math.round(ms * f), method: "linear in commits" }));
    ' -- "$got" "$COMMITS" \
      "$(sed -n 's/.*"clone.full_git_bytes","value":\([0-9]*\).*/\1/p' "$METRICS")" \
      "$(sed -n 's/.*"clone.full_ms","value":\([0-9]*\).*/\1/p' "$METRICS")" >"$WORK/extrapolated.json" &&
      record clone.extrapolated "$(cat "$WORK/extrapolated.json")"
  fi
  rm -rf "$hist"
}

# add_commits BARE N: N commits on main, each changing one record (plumbing, with a temporary index).
add_commits() {
  local repo="$1" n="$2" i path blob tree commit index="$WORK/add.index"
  GIT_INDEX_FILE="$index" git -C "$repo" read-tree main || return 1
  for ((i = 1; i <= n; i++)); do
    path="$(git -C "$repo" ls-tree -r --name-only main images | sed -n "$((i * 997))p")"
    blob="$(git -C "$repo" cat-file blob "main:$path" | sed "s/\"updated_at\": \"[^\"]*\"/\"updated_at\": \"$(date -u +%Y-%m-%dT%H:%M:%S).${i}00Z\"/" |
      git -C "$repo" hash-object -w --stdin)" || return 1
    GIT_INDEX_FILE="$index" git -C "$repo" update-index --cacheinfo "100644,$blob,$path" || return 1
    tree="$(GIT_INDEX_FILE="$index" git -C "$repo" write-tree)" || return 1
    commit="$(git -C "$repo" -c user.name=bench -c user.email=bench@visor.invalid commit-tree "$tree" -p main -m "bench: update $path")" || return 1
    git -C "$repo" update-ref refs/heads/main "$commit" || return 1
  done
  rm -f "$index"
}

# ---- main ---------------------------------------------------------------------------------------
ensure_tools || exit 1
record meta.mode "\"$MODE\""
record meta.date "\"$(date -u +%Y-%m-%dT%H:%M:%SZ)\""
record meta.images "$IMAGES"
record meta.commits_requested "$COMMITS"
record meta.node "\"$("$NODE" --version)\""
record meta.git "$(json_str "$(git --version)")"
record meta.cpus "$(nproc)"
record meta.mem_total_kb "$(awk '/MemTotal/ {print $2}' /proc/meminfo)"
record meta.git_head "$(json_str "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)")"
record meta.history_budget_s "$HISTORY_BUDGET"
log "mode $MODE ($IMAGES images, $COMMITS commits); work dir $WORK"

# the machine may be shared: the load average before each part says how quiet it was
load() { record "meta.loadavg.$1" "$(json_str "$(cut -d' ' -f1-3 /proc/loadavg)")"; }
if generate_catalog; then
  [[ " $ONLY " == *" validate "* ]] && { load validate; bench_validate; }
  [[ " $ONLY " == *" pr "* ]] && { load pr; bench_pr; }
  [[ " $ONLY " == *" sync "* ]] && { load sync; bench_sync; stop_daemon; }
  [[ " $ONLY " == *" history "* ]] && { load history; bench_history; }
  load end
else
  problem "catalogue generation failed"
fi
stop_daemon
"$NODE" "$HELPER" report "$METRICS" "$RESULTS"
