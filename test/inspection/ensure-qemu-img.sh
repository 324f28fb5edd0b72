#!/usr/bin/env bash
# Ensures qemu-img is installed for the format-inspection tests, which compare the inspector's
# findings with the real `qemu-img info` on images built by `qemu-img create`/`convert`. Installs
# Debian's qemu-utils on first use (about 15 s). Idempotent and safe to call concurrently (flock).
# Prints the path of qemu-img.
set -euo pipefail
exec 9>"${TMPDIR:-/tmp}/visor-ensure-qemu-img.lock"
flock 9
if ! command -v qemu-img >/dev/null; then
  echo "installing qemu-utils from Debian (for qemu-img)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends qemu-utils >&2
fi
command -v qemu-img
