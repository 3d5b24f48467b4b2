#!/usr/bin/env bash
# ceph-down.sh - stop the daemons started by ceph-up.sh, by the PIDs in DIR/run/*.pid.
# Usage: ceph-down.sh [DIR] [--wipe]      (default DIR: $CEPH_LAB_DIR or /tmp/microcloud-ceph)
# SIGTERM first (memstore OSDs save their data on a clean stop), SIGKILL after 20 s (radosgw and the
# MDS: 3 s).
# Only kills a PID whose command line mentions DIR/ceph.conf, so a stale pid file cannot hit a
# stranger. --wipe then deletes DIR (only if it carries the DIR/.ceph-lab marker). Idempotent.
set -uo pipefail
# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DIR=${CEPH_LAB_DIR:-/tmp/microcloud-ceph}; WIPE=0
for a in "$@"; do case $a in --wipe) WIPE=1;; *) DIR=$a;; esac; done
[ -d "$DIR" ] || { info "$DIR does not exist"; exit 0; }
DIR=$(cd "$DIR" && pwd); CONF=$DIR/ceph.conf

ours() { [ -r "/proc/$1/cmdline" ] && tr '\0' ' ' < "/proc/$1/cmdline" | grep -q -- "$CONF"; }

# stop NSEC PIDFILES...: TERM each of our daemons, wait up to NSEC, KILL what is left
stop() {
  local n=$1; shift
  local pids=() alive=() f p t
  for f in "$@"; do
    [ -s "$f" ] || continue
    p=$(cat "$f")
    if ours "$p"; then
      kill -TERM "$p" 2>/dev/null && pids+=("$p") && info "TERM $(basename "$f" .pid) pid $p"
    fi
  done
  for ((t = 0; t < n * 2; t++)); do
    alive=(); for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
    [ ${#alive[@]} -eq 0 ] && return 0
    sleep 0.5
  done
  for p in "${alive[@]}"; do
    ours "$p" && { info "KILL $p"; kill -KILL "$p" 2>/dev/null; }
  done
  return 0
}
# The gateway and the MDS first, while the OSDs they write to are still up; they keep nothing that
# a KILL loses (the gateway's data and the MDS journal are in RADOS), and radosgw can take 20 s and
# more to end on TERM, so they get 3 s.
stop 3 "$DIR"/run/client.rgw.*.pid "$DIR"/run/mds.*.pid
# then OSDs, mgr and mon together (the mon must outlive the OSDs so they can report going down; a
# TERM'd OSD tells it at once)
stop 20 "$DIR"/run/osd.*.pid "$DIR"/run/mgr.*.pid "$DIR"/run/mon.*.pid
rm -f "$DIR"/run/*.pid "$DIR"/run/*.asok
if [ $WIPE = 1 ]; then
  if [ -e "$DIR/.ceph-lab" ]; then rm -rf "$DIR" && info "wiped $DIR"
  else die "$DIR has no .ceph-lab marker; not wiping"; fi
fi
exit 0
