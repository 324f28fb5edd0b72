#!/usr/bin/env bash
# The whole suite (`npm test`, after the type check and build). Every temporary directory the tests
# make (catalogues, data directories, stores) goes under one scratch directory, removed at the end
# whatever the outcome: a run used to leave ~80 MB of them in /tmp. The store tests' Swift is
# started when needed by with-swift.sh, and keeps its own directory; so is the scanning tests' clamd
# (with-clamd.sh, a local EICAR-only signature database: nothing is downloaded).
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
scratch="$(mktemp -d -t visor-tests.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
# The inspection tests compare with the real qemu-img: installed (Debian's qemu-utils) when missing.
bash "$here/inspection/ensure-qemu-img.sh" >/dev/null || { echo "could not install qemu-img" >&2; exit 1; }
# The Glance v2 edge's tests drive the stock OpenStack clients: installed (Debian's python3-glanceclient, python3-openstackclient) when missing.
bash "$here/glance/ensure-glance-clients.sh" >/dev/null || { echo "could not install the OpenStack image clients" >&2; exit 1; }
# The web catalogue's browser test drives Debian's Chromium headless: installed when missing (minutes, so not inside a test's time limit).
bash "$here/web/ensure-chromium.sh" >/dev/null || { echo "could not install chromium" >&2; exit 1; }
TMPDIR="$scratch" bash "$here/scanning/with-clamd.sh" bash "$here/stores/swift/with-swift.sh" "$@"
