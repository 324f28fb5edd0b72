#!/usr/bin/env bash
# Ensures the stock Debian OpenStack image clients (`glance` from python3-glanceclient and
# `openstack` from python3-openstackclient) are installed for the Glance v2 edge tests, which drive
# them unmodified against a test daemon. Installs them on first use (a few minutes). Idempotent and
# safe to call concurrently (flock). Prints the paths of glance and openstack.
set -euo pipefail
exec 9>"${TMPDIR:-/tmp}/visor-ensure-glance-clients.lock"
flock 9
if ! command -v glance >/dev/null || ! command -v openstack >/dev/null; then
  echo "installing python3-glanceclient and python3-openstackclient from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends python3-glanceclient python3-openstackclient >&2
fi
command -v glance
command -v openstack
