#!/usr/bin/env bash
# Ensures a one-node OpenStack Swift (TempAuth + s3api) runs on loopback for the tests, installing
# Debian's packages on first use. Idempotent and safe to call concurrently (flock). Prints the state
# file's path; the state file (shell assignments) says where the proxy listens and which PIDs to stop.
#   VISOR_TEST_SWIFT_DIR   where configuration, data and PIDs live (default /tmp/visor-test-swift)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="${VISOR_TEST_SWIFT_DIR:-/tmp/visor-test-swift}"
mkdir -p "$dir"
exec 9>"$dir.lock"
flock 9

# shellcheck source=/dev/null
if [[ -f "$dir/state.env" ]] && source "$dir/state.env" && bash "$here/probe.sh" "$dir/state.env" 2>/dev/null; then
  echo "$dir/state.env"
  exit 0
fi
# Anything half-started before (a crash, a killed run) is stopped by PID and started afresh.
[[ -f "$dir/state.env" ]] && bash "$here/stop.sh" >/dev/null 2>&1 || true

need=()
for cmd in swift-proxy-server:swift-proxy swift-object-server:swift-object swift-container-server:swift-container \
  swift-account-server:swift-account swift-ring-builder:swift memcached:memcached curl:curl; do
  command -v "${cmd%%:*}" >/dev/null || need+=("${cmd#*:}")
done
if ((${#need[@]} > 0)); then
  echo "installing ${need[*]} from Debian (about 35 s)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
# Swift reads swift.conf from /etc/swift whatever swift_dir says; the package ships one, keep it.
if [[ ! -s /etc/swift/swift.conf ]]; then
  mkdir -p /etc/swift
  printf '[swift-hash]\nswift_hash_path_suffix = visor-test\n\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n' >/etc/swift/swift.conf
fi

rm -rf "${dir:?}"/{conf,srv,run}
mkdir -p "$dir/conf" "$dir/srv/d1" "$dir/run"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
proxy_port=$(free_port); account_port=$(free_port); container_port=$(free_port); object_port=$(free_port); memcached_port=$(free_port)
user=$(id -un)

cd "$dir/conf"
for kind in account:$account_port container:$container_port object:$object_port; do
  name=${kind%%:*}; port=${kind#*:}
  swift-ring-builder "$name.builder" create 6 1 0 >/dev/null
  swift-ring-builder "$name.builder" add "r1z1-127.0.0.1:$port/d1" 100 >/dev/null
  swift-ring-builder "$name.builder" rebalance >/dev/null || true
  cat >"$name-server.conf" <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $port
workers = 2
user = $user
swift_dir = $dir/conf
devices = $dir/srv
mount_check = false
log_level = WARNING

[pipeline:main]
pipeline = $name-server

[app:$name-server]
use = egg:swift#$name

[$name-replicator]
[$name-auditor]
[$name-updater]
CONF
done
sed -i 's/^\[container-updater\]$//; s/^\[account-updater\]$//' account-server.conf container-server.conf

# s3api before tempauth (it turns S3 signatures into a Swift identity tempauth then checks);
# slo after s3api (s3api's multipart uploads are SLOs); the region must equal s3api's location.
cat >proxy-server.conf <<CONF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $proxy_port
workers = 2
user = $user
swift_dir = $dir/conf
log_level = WARNING

[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true

[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = testing .admin
user_test2_tester2 = testing2 .admin
token_life = 86400

[filter:s3api]
use = egg:swift#s3api
location = us-east-1

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$memcached_port

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
CONF

# TempAuth keeps its tokens in memcached.
# Servers must not inherit the lock (fd 9), or the lock would be held as long as they run.
memcached -d -l 127.0.0.1 -p "$memcached_port" -U 0 -u "$user" -m 64 -P "$dir/run/memcached.pid" 9>&-
for server in account container object; do
  setsid "swift-$server-server" "$dir/conf/$server-server.conf" >"$dir/run/$server.log" 2>&1 </dev/null 9>&- &
  echo $! >"$dir/run/$server.pid"
done
setsid swift-proxy-server "$dir/conf/proxy-server.conf" >"$dir/run/proxy.log" 2>&1 </dev/null 9>&- &
echo $! >"$dir/run/proxy.pid"

cat >"$dir/state.env" <<STATE
SWIFT_DIR=$dir
SWIFT_URL=http://127.0.0.1:$proxy_port
SWIFT_AUTH_URL=http://127.0.0.1:$proxy_port/auth/v1.0
SWIFT_USER=test:tester
SWIFT_KEY=testing
SWIFT_STARTED_AT=$(date +%s)
STATE

# /healthcheck answers before the storage servers listen: only a real PUT/GET/DELETE says ready.
for _ in $(seq 1 150); do
  if bash "$here/probe.sh" "$dir/state.env" 2>/dev/null; then
    echo "$dir/state.env"
    exit 0
  fi
  sleep 0.2
done
echo "swift did not become ready within 30 s; logs in $dir/run" >&2
tail -n 20 "$dir"/run/*.log >&2 || true
exit 1
