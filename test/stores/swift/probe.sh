#!/usr/bin/env bash
# Succeeds when the Swift described by the state file stores and returns an object (TempAuth, PUT, GET, DELETE).
set -euo pipefail
# shellcheck source=/dev/null
source "$1"
for f in "$SWIFT_DIR"/run/*.pid; do kill -0 "$(cat "$f")" 2>/dev/null || exit 1; done
headers=$(curl -sf -m 5 -D - -o /dev/null -H "X-Auth-User: $SWIFT_USER" -H "X-Auth-Key: $SWIFT_KEY" "$SWIFT_AUTH_URL" | tr -d '\r')
token=$(sed -n 's/^[Xx]-[Aa]uth-[Tt]oken: //p' <<<"$headers")
storage=$(sed -n 's/^[Xx]-[Ss]torage-[Uu]rl: //p' <<<"$headers")
[[ -n $token && -n $storage ]]
curl -sf -m 5 -X PUT -H "X-Auth-Token: $token" "$storage/visor-probe" -o /dev/null
curl -sf -m 5 -X PUT -H "X-Auth-Token: $token" --data-binary ready "$storage/visor-probe/probe" -o /dev/null
[[ $(curl -sf -m 5 -H "X-Auth-Token: $token" "$storage/visor-probe/probe") == ready ]]
curl -sf -m 5 -X DELETE -H "X-Auth-Token: $token" "$storage/visor-probe/probe" -o /dev/null
