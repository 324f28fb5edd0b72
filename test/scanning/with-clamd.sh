#!/usr/bin/env bash
# Runs a command (the test runner) with the tests' clamd running: starts it if needed, and stops it
# afterwards if this script started it (one someone else started is left running).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${VISOR_TEST_CLAMD_DIR:-/tmp/visor-test-clamd}"
export VISOR_TEST_CLAMD_DIR="$dir"
started=1
# shellcheck source=/dev/null
[[ -f "$dir/state.env" ]] && (source "$dir/state.env" && kill -0 "$CLAMD_PID") 2>/dev/null && started=0
bash "$here/ensure-clamd.sh" >/dev/null || { echo "could not start the test clamd" >&2; exit 1; }
"$@"
status=$?
((started)) && bash "$here/stop-clamd.sh"
exit $status
