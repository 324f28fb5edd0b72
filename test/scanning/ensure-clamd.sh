#!/usr/bin/env bash
# Ensures a clamd of the tests' own runs on a unix socket, installing Debian's clamav-daemon on first
# use (about 20 s). Its only signatures are a database this script writes: the EICAR test file,
# found anywhere in a stream (an .ndb body signature at offset *), so nothing is downloaded (no
# freshclam) and clamd starts in about half a second. Idempotent and safe to call concurrently
# (flock). Prints the state file's path (shell assignments: CLAMD_SOCKET, CLAMD_PID, ...).
#   VISOR_TEST_CLAMD_DIR          where its configuration, database, socket and PID live (default /tmp/visor-test-clamd)
#   VISOR_TEST_CLAMD_MAX_STREAM   clamd's StreamMaxLength (default 8M: the tests' "too large" file is just over it)
#   VISOR_TEST_CLAMD_MAX_FILE     clamd's MaxFileSize and MaxScanSize (default 6M, below the stream limit: AlertExceedsMax
#                                 then reports a file between the two, which clamd would otherwise pass unscanned)
set -euo pipefail
dir="${VISOR_TEST_CLAMD_DIR:-/tmp/visor-test-clamd}"
max="${VISOR_TEST_CLAMD_MAX_STREAM:-8M}"
max_file="${VISOR_TEST_CLAMD_MAX_FILE:-6M}"
mkdir -p "$dir"
exec 9>"$dir.lock"
flock 9

alive() { [[ -f "$dir/state.env" ]] && source "$dir/state.env" && kill -0 "$CLAMD_PID" 2>/dev/null && [[ -S "$CLAMD_SOCKET" ]]; }
if alive; then
  echo "$dir/state.env"
  exit 0
fi
# A clamd half-started before (a killed run) is stopped by its PID and started afresh.
[[ -f "$dir/state.env" ]] && bash "$(dirname "$0")/stop-clamd.sh" >/dev/null 2>&1 || true

if ! command -v clamd >/dev/null; then
  echo "installing clamav-daemon from Debian (for clamd)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends clamav-daemon >&2
fi

rm -rf "${dir:?}"/{db,run,clamd.conf,state.env}
mkdir -p "$dir/db" "$dir/run"
# The EICAR test file's 68 bytes, as hex: written out here so no file of the tree holds the string
# (a scanner on a developer's machine would flag the repository).
eicar_hex=58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a
echo "Visor-Test.EICAR:0:*:$eicar_hex" >"$dir/db/visor-test.ndb"
cat >"$dir/clamd.conf" <<CONF
LocalSocket $dir/run/clamd.sock
LocalSocketMode 600
DatabaseDirectory $dir/db
TemporaryDirectory $dir/run
PidFile $dir/run/clamd.pid
Foreground yes
StreamMaxLength $max
MaxFileSize $max_file
MaxScanSize $max_file
AlertExceedsMax yes
MaxThreads 4
SelfCheck 0
LogFile $dir/run/clamd.log
CONF
# Its own session, and not holding the lock (fd 9) for as long as it runs.
setsid clamd -c "$dir/clamd.conf" >"$dir/run/stdout.log" 2>&1 </dev/null 9>&- &
pid=$!
cat >"$dir/state.env" <<STATE
CLAMD_DIR=$dir
CLAMD_SOCKET=$dir/run/clamd.sock
CLAMD_PID=$pid
CLAMD_MAX_STREAM=$max
CLAMD_MAX_FILE=$max_file
STATE
for _ in $(seq 1 200); do
  if [[ -S "$dir/run/clamd.sock" ]]; then
    echo "$dir/state.env"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.05
done
echo "clamd did not start within 10 s; logs in $dir/run" >&2
tail -n 20 "$dir"/run/*.log >&2 || true
exit 1
