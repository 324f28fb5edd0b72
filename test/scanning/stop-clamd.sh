#!/usr/bin/env bash
# Stops the tests' clamd by the PID its ensure-clamd.sh recorded, and removes its files.
set -uo pipefail
dir="${VISOR_TEST_CLAMD_DIR:-/tmp/visor-test-clamd}"
[[ -f "$dir/state.env" ]] || exit 0
# shellcheck source=/dev/null
source "$dir/state.env"
kill -TERM "$CLAMD_PID" 2>/dev/null || true
for _ in $(seq 1 50); do kill -0 "$CLAMD_PID" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$CLAMD_PID" 2>/dev/null || true
rm -rf "${dir:?}"/{db,run,clamd.conf,state.env}
