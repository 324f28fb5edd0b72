#!/usr/bin/env bash
# Runs a command (the test runner) with the tests' Swift running: installs and starts it if needed,
# and stops it afterwards if this script started it (a Swift someone else started is left running).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${VISOR_TEST_SWIFT_DIR:-/tmp/visor-test-swift}"
export VISOR_TEST_SWIFT_DIR="$dir"
started=0
if ! { [[ -f "$dir/state.env" ]] && bash "$here/probe.sh" "$dir/state.env" 2>/dev/null; }; then
  started=1
fi
t0=$(date +%s)
bash "$here/ensure.sh" >/dev/null || { echo "could not start the test Swift" >&2; exit 1; }
((started)) && echo "test Swift ready in $(($(date +%s) - t0)) s" >&2
"$@"
status=$?
((started)) && bash "$here/stop.sh"
exit $status
