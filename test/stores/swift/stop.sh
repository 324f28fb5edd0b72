#!/usr/bin/env bash
# Stops the test Swift by the PIDs its ensure.sh recorded, and removes its data.
set -uo pipefail
dir="${VISOR_TEST_SWIFT_DIR:-/tmp/visor-test-swift}"
[[ -d "$dir/run" ]] || exit 0
for f in "$dir"/run/*.pid; do
  [[ -f $f ]] || continue
  pid=$(cat "$f")
  # Swift servers were started in their own session (setsid): end the group, workers included.
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
done
for _ in $(seq 1 50); do
  alive=0
  for f in "$dir"/run/*.pid; do [[ -f $f ]] && kill -0 "$(cat "$f")" 2>/dev/null && alive=1; done
  ((alive)) || break
  sleep 0.1
done
for f in "$dir"/run/*.pid; do [[ -f $f ]] && kill -KILL -- "-$(cat "$f")" 2>/dev/null; done
rm -rf "${dir:?}"/{conf,srv,run,state.env}
