#!/usr/bin/env bash
# A real S3 for tests and benchmarks: a one-node Ceph cluster (one monitor, one memstore OSD) with the
# RADOS Gateway on loopback, and two users with fixed keys.
#
#   scripts/rgw.sh install            install Ceph's Debian packages when missing (root, ~80 s)
#   scripts/rgw.sh start DIR PORT     start it under DIR (created; keep it short: Unix socket paths live
#                                     there) with S3 on http://127.0.0.1:PORT; PORT+1 is the monitor's and
#                                     PORT+2…PORT+9 the OSD's. Writes DIR/env (the endpoint and the keys).
#   scripts/rgw.sh stop DIR           stop the daemons started under DIR by their pid files, remove DIR
#
# Every wait is bounded; a failed start stops what it started and prints the daemons' logs' tails.
set -euo pipefail

# The main user's keys are those of the other test origins (test/support/origin.ts, memory-origin.ts), so
# every client helper in test/support works against each of them unchanged.
MAIN_ACCESS_KEY=S3RVER
MAIN_SECRET_KEY=S3RVER
ALT_ACCESS_KEY=KURAALTUSER
ALT_SECRET_KEY=kura-alt-user-secret

usage() {
  echo "usage: $0 install | start DIR PORT | stop DIR" >&2
  exit 2
}

install() {
  local missing=()
  for bin in ceph-mon ceph-osd radosgw radosgw-admin ceph monmaptool ceph-authtool; do
    command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    ceph-mon ceph-osd radosgw ceph-common >/dev/null
}

# Stops every daemon with a pid file under $1/run: SIGTERM, then SIGKILL after 10 s.
stop_daemons() {
  local run="$1/run" pid pids=()
  [ -d "$run" ] || return 0
  for file in "$run"/*.pid; do
    [ -f "$file" ] || continue
    pid=$(cat "$file" 2>/dev/null || true)
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
  done
  for _ in $(seq 100); do
    local alive=()
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive+=("$pid"); done
    pids=("${alive[@]}")
    [ "${#pids[@]}" -eq 0 ] && return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
}

stop() {
  local dir="$1"
  [ -f "$dir/ceph.conf" ] || { rm -rf "$dir"; return 0; }
  stop_daemons "$dir"
  rm -rf "$dir"
}

# Waits up to $1 seconds for the command that follows to succeed.
wait_for() {
  local seconds="$1"
  shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

fail_start() {
  echo "rgw: $1" >&2
  for log in "$DIR"/log/*.log; do
    [ -f "$log" ] && { echo "--- $log" >&2; tail -n 15 "$log" >&2; }
  done
  stop_daemons "$DIR"
  exit 1
}

start() {
  DIR="$1"
  local port="$2"
  [ "${#DIR}" -le 60 ] || { echo "rgw: keep DIR within 60 characters (Unix socket paths)" >&2; exit 2; }
  [[ "$port" =~ ^[0-9]+$ ]] || usage
  [ ! -e "$DIR/ceph.conf" ] || { echo "rgw: $DIR is in use; stop it first" >&2; exit 1; }
  mkdir -p "$DIR"/{mon,osd,run,log}
  local fsid conf="$DIR/ceph.conf"
  fsid=$(cat /proc/sys/kernel/random/uuid)
  # No authentication between daemons or for clients inside the cluster: S3 requests are still checked by
  # radosgw against its users' keys. radosgw insists on a secure monitor session unless crc is allowed.
  cat >"$conf" <<EOF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$((port + 1))
mon initial members = a
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc secure
ms bind msgr1 = false
ms bind ipv4 = true
ms bind port min = $((port + 2))
ms bind port max = $((port + 9))
public addr = 127.0.0.1
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd objectstore = memstore
paxos propose interval = 0.1
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
log file = $DIR/log/\$name.log
keyring = $DIR/keyring
mon data = $DIR/mon
osd data = $DIR/osd
rgw data = $DIR/rgw
rgw frontends = beast endpoint=127.0.0.1:$port
rgw enable ops log = false
EOF
  local ceph=(timeout 30 ceph -c "$conf" --connect-timeout 20)
  ceph-authtool --create-keyring "$DIR/keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$((port + 1))]" "$DIR/monmap" >/dev/null
  timeout 30 ceph-mon -c "$conf" --mkfs -i a --monmap "$DIR/monmap" --keyring "$DIR/keyring" ||
    fail_start "monitor mkfs failed"
  timeout 30 ceph-mon -c "$conf" -i a 2>>"$DIR/log/start.log" || fail_start "the monitor did not start"
  wait_for 30 "${ceph[@]}" mon stat || fail_start "the monitor did not answer within 30 s"

  local uuid id
  uuid=$(cat /proc/sys/kernel/random/uuid)
  id=$("${ceph[@]}" osd new "$uuid") || fail_start "ceph osd new failed"
  timeout 60 ceph-osd -c "$conf" -i "$id" --mkfs --osd-uuid "$uuid" 2>>"$DIR/log/mkfs.log" ||
    fail_start "OSD mkfs failed"
  timeout 30 ceph-osd -c "$conf" -i "$id" 2>>"$DIR/log/start.log" || fail_start "the OSD did not start"
  osd_up() { "${ceph[@]}" osd dump 2>/dev/null | grep -q "^osd.$id up"; }
  wait_for 60 osd_up || fail_start "the OSD was not up within 60 s"

  timeout 30 radosgw -c "$conf" -n client.rgw 2>>"$DIR/log/start.log" || fail_start "radosgw did not start"
  wait_for 60 timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" || fail_start "radosgw did not listen within 60 s"

  local admin=(timeout 30 radosgw-admin -c "$conf")
  "${admin[@]}" user create --uid=main --display-name=main \
    --access-key="$MAIN_ACCESS_KEY" --secret-key="$MAIN_SECRET_KEY" >/dev/null || fail_start "user create failed"
  "${admin[@]}" user create --uid=alt --display-name=alt \
    --access-key="$ALT_ACCESS_KEY" --secret-key="$ALT_SECRET_KEY" >/dev/null || fail_start "user create failed"

  cat >"$DIR/env" <<EOF
RGW_ENDPOINT=http://127.0.0.1:$port
RGW_ACCESS_KEY=$MAIN_ACCESS_KEY
RGW_SECRET_KEY=$MAIN_SECRET_KEY
RGW_ALT_ACCESS_KEY=$ALT_ACCESS_KEY
RGW_ALT_SECRET_KEY=$ALT_SECRET_KEY
EOF
  cat "$DIR/env"
}

case "${1:-}" in
  install) install ;;
  start) [ $# -eq 3 ] || usage; start "$2" "$3" ;;
  stop) [ $# -eq 2 ] || usage; stop "$2" ;;
  *) usage ;;
esac
