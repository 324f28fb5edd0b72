#!/usr/bin/env bash
# Ensures Debian's Chromium is installed for the web catalogue's browser test, which drives it
# headless through playwright-core (which downloads no browser of its own). Installs it on first use
# (a few minutes). Idempotent and safe to call concurrently (flock). Prints the browser's path.
set -euo pipefail
exec 9>"${TMPDIR:-/tmp}/visor-ensure-chromium.lock"
flock 9
if ! command -v chromium >/dev/null; then
  echo "installing chromium from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends chromium >&2
fi
command -v chromium
