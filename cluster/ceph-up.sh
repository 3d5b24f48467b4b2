#!/usr/bin/env bash
# ceph-up.sh - start a throwaway single-host Ceph cluster (Debian 12 packages, Ceph 16.2 Pacific)
# bound to 127.0.0.1 only, for provider-microcloud's Ceph integration tests (test/ceph, make test).
# One mon, one mgr, N memstore OSDs (one CRUSH host bucket each), cephx on; an MDS serving the CephFS
# volume `labfs` and a radosgw (Beast on 127.0.0.1, admin API, admin user lab-admin whose keys are in
# DIR/rgw-admin.env). No systemd, no /etc/ceph, no /var/lib/ceph. Tests find the cluster through CEPH_CONF=$(cluster/ceph-up.sh).
#
# Usage: ceph-up.sh [DIR]                       (default DIR: $CEPH_LAB_DIR or /tmp/microcloud-ceph)
# Prints exactly one line on stdout: the absolute path of DIR/ceph.conf. Progress goes to stderr.
# Leaves daemons running; their PIDs are in DIR/run/*.pid. Stop with ceph-down.sh DIR [--wipe].
#
# Idempotent: if the cluster in DIR is already up it just prints the conf path; if it was stopped
# (ceph-down.sh without --wipe) it restarts the daemons on the existing data; if DIR holds a
# half-built cluster (no DIR/.initialized) it wipes it (only if it carries our DIR/.ceph-lab marker).
#
# Environment:
#   CEPH_LAB_OSDS=3            number of OSDs (1..9); each OSD gets its own CRUSH host bucket lab-hostN
#   CEPH_LAB_STORE=memstore    memstore (RAM, fastest) | bluestore (sparse file DIR/data/osd.N/block)
#   CEPH_LAB_MON_PORT=6789     msgr v1 port; msgr v2 port is CEPH_LAB_MON_PORT2 (default 3300)
#   CEPH_LAB_MGR=1             start a mgr (needed for `df`, pool stats, pg_num changes, rbd trash etc.)
#   CEPH_LAB_FILE=1            start an MDS (mds.a) and create the CephFS volume labfs (needs the mgr)
#   CEPH_LAB_MDS=2             MDS daemons with CEPH_LAB_FILE=1 (1..4): mds.a serves labfs, the others
#                              (mds.b, ...) stand by for filesystems made later (a new volume needs one)
#   CEPH_LAB_OBJECT=1          start a radosgw (client.rgw.lab) and create its admin user lab-admin
#   CEPH_LAB_RGW_PORT          radosgw's HTTP port on 127.0.0.1 (default 7480 + CEPH_LAB_MON_PORT - 6789,
#                              so clusters on other mon ports get other gateway ports)
#   CEPH_LAB_FAST_PAXOS=1      paxos propose interval 0.05 s instead of 1 s (pool create/delete ~10x faster)
#   CEPH_LAB_INSTALL=1         apt-get install the packages if ceph-mon is missing
#   CEPH_LAB_TIMEOUT=120       seconds to wait for OSDs up / health
set -euo pipefail

DIR=${1:-${CEPH_LAB_DIR:-/tmp/microcloud-ceph}}
OSDS=${CEPH_LAB_OSDS:-3}
STORE=${CEPH_LAB_STORE:-memstore}
PORT1=${CEPH_LAB_MON_PORT:-6789}
PORT2=${CEPH_LAB_MON_PORT2:-3300}
WANT_MGR=${CEPH_LAB_MGR:-1}
FAST_PAXOS=${CEPH_LAB_FAST_PAXOS:-1}
TIMEOUT=${CEPH_LAB_TIMEOUT:-120}
WANT_FILE=${CEPH_LAB_FILE:-1}
WANT_OBJECT=${CEPH_LAB_OBJECT:-1}
MDS=${CEPH_LAB_MDS:-2}
RGW_PORT=${CEPH_LAB_RGW_PORT:-$(( 7480 + PORT1 - 6789 ))}
FSNAME=labfs
# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

case $OSDS in [1-9]) ;; *) die "CEPH_LAB_OSDS must be 1..9";; esac
case $MDS in [1-4]) ;; *) die "CEPH_LAB_MDS must be 1..4";; esac
case $STORE in memstore|bluestore) ;; *) die "CEPH_LAB_STORE must be memstore or bluestore";; esac

# ---- 0. packages ----------------------------------------------------------------------------
# the daemons, plus the headers go-ceph's cgo build needs (librados-dev, librbd-dev)
if ! command -v ceph-mon >/dev/null || ! command -v ceph-osd >/dev/null || ! command -v ceph-mgr >/dev/null \
   || [ ! -e /usr/include/rados/librados.h ] || [ ! -e /usr/include/rbd/librbd.h ]; then
  [ "${CEPH_LAB_INSTALL:-1}" = 1 ] || die "Ceph packages not installed (ceph-mon ceph-osd ceph-mgr librados-dev librbd-dev)"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  info "installing Debian packages"
  $SUDO apt-get update -qq >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    ceph-mon ceph-osd ceph-mgr ceph-mds radosgw ceph-common librados-dev librbd-dev libcephfs-dev uuid-runtime bc >&2
fi
# clusters made before the MDS and the gateway existed get them after an install (cephfs/admin's cgo
# build needs libcephfs-dev)
if { [ "$WANT_FILE" = 1 ] && ! command -v ceph-mds >/dev/null; } || { [ "$WANT_OBJECT" = 1 ] && ! command -v radosgw >/dev/null; } \
   || [ ! -e /usr/include/cephfs/libcephfs.h ]; then
  [ "${CEPH_LAB_INSTALL:-1}" = 1 ] || die "Ceph packages not installed (ceph-mds radosgw libcephfs-dev), or set CEPH_LAB_FILE=0 CEPH_LAB_OBJECT=0"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  info "installing Debian packages (MDS, radosgw, libcephfs)"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ceph-mds radosgw libcephfs-dev >&2 \
    || { $SUDO apt-get update -qq >&2 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ceph-mds radosgw libcephfs-dev >&2; }
fi
for b in ceph ceph-mon ceph-osd ceph-authtool monmaptool uuidgen; do
  command -v "$b" >/dev/null || die "missing $b"
done
[ "$WANT_MGR" = 1 ] && { command -v ceph-mgr >/dev/null || die "missing ceph-mgr (or set CEPH_LAB_MGR=0)"; }
# the volumes module that serves `ceph fs subvolume` runs in the mgr
[ "$WANT_MGR" = 1 ] || WANT_FILE=0

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
CONF=$DIR/ceph.conf
# unix socket paths must stay < 108 bytes
[ ${#DIR} -le 60 ] || die "DIR path too long for admin sockets (max 60 chars): $DIR"
export CEPH_CONF=$CONF
CEPH=(ceph --conf "$CONF" --connect-timeout 15)

# a cluster that already exists keeps the shape it was created with
if [ -f "$DIR/.initialized" ] && [ -f "$DIR/lab.env" ]; then
  # a cluster made before the MDS and the gateway existed has no keys for them
  grep -q '^WANT_FILE=' "$DIR/lab.env" || WANT_FILE=0
  grep -q '^WANT_OBJECT=' "$DIR/lab.env" || WANT_OBJECT=0
  # ... and one made before the standby MDS has a key for mds.a only
  grep -q '^MDS=' "$DIR/lab.env" || MDS=1
  # shellcheck disable=SC1091
  . "$DIR/lab.env"
fi

mds_names() { local n; for n in a b c d; do [ "$n" \> "$(echo abcd | cut -c"$MDS")" ] || echo "mds.$n"; done; }

pid_alive() { local f=$DIR/run/$1.pid; [ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null; }

daemons() {
  echo mon.a
  [ "$WANT_MGR" = 1 ] && echo mgr.x
  local i; for ((i = 0; i < OSDS; i++)); do echo "osd.$i"; done
  [ "$WANT_FILE" = 1 ] && mds_names
  [ "$WANT_OBJECT" = 1 ] && echo client.rgw.lab
  return 0
}

# ---- 1. already running? ------------------------------------------------------------------
if [ -f "$DIR/.initialized" ]; then
  all=1; for d in $(daemons); do pid_alive "$d" || all=0; done
  if [ $all = 1 ] && timeout 20 "${CEPH[@]}" health >/dev/null 2>&1; then
    info "cluster in $DIR already running"
    echo "$CONF"; exit 0
  fi
elif [ -e "$DIR/.ceph-lab" ]; then
  info "half-built cluster in $DIR: stopping its daemons and wiping it"
  for f in "$DIR"/run/*.pid; do
    [ -s "$f" ] || continue; p=$(cat "$f")
    # only kill a process that really is a ceph daemon using this conf
    if tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q -- "$CONF"; then kill "$p" 2>/dev/null || true; fi
  done
  sleep 2
  find "$DIR" -mindepth 1 -delete
elif [ -n "$(ls -A "$DIR")" ]; then
  die "$DIR is not empty and is not a ceph-lab directory; refusing to touch it"
fi

# ---- 2. fresh cluster: config + keys + mon store -------------------------------------------
if [ ! -f "$DIR/.initialized" ]; then
  need_free_port 127.0.0.1 "$PORT1" "set CEPH_LAB_MON_PORT"
  need_free_port 127.0.0.1 "$PORT2" "set CEPH_LAB_MON_PORT2"
  [ "$WANT_OBJECT" = 1 ] && need_free_port 127.0.0.1 "$RGW_PORT" "set CEPH_LAB_RGW_PORT"
  touch "$DIR/.ceph-lab"
  mkdir -p "$DIR"/{data,run,log,crash}
  printf 'OSDS=%s\nSTORE=%s\nWANT_MGR=%s\nPORT1=%s\nPORT2=%s\nWANT_FILE=%s\nWANT_OBJECT=%s\nRGW_PORT=%s\nMDS=%s\n' \
    "$OSDS" "$STORE" "$WANT_MGR" "$PORT1" "$PORT2" "$WANT_FILE" "$WANT_OBJECT" "$RGW_PORT" "$MDS" > "$DIR/lab.env"
  FSID=$(uuidgen)
  if [ "$STORE" = bluestore ]; then
    STORE_CONF="osd objectstore = bluestore
bluestore block create = true
bluestore block size = 10737418240
bluestore block db create = false
bluestore block wal create = false
bluestore fsck on mount = false
osd memory target = 1073741824
bluestore cache autotune = false
bluestore cache size = 134217728"
  else
    STORE_CONF="osd objectstore = memstore
memstore device bytes = 2147483648"
  fi
  PAXOS_CONF=""
  if [ "$FAST_PAXOS" = 1 ]; then
    PAXOS_CONF="paxos propose interval = 0.05
paxos min wait = 0.01"
  fi
  cat > "$CONF" <<EOF
# generated by ceph-up.sh - throwaway test cluster, loopback only
[global]
fsid = $FSID
mon host = [v2:127.0.0.1:$PORT2,v1:127.0.0.1:$PORT1]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
public network = 127.0.0.0/8
ms bind ipv6 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
auth allow insecure global id reclaim = false
run dir = $DIR/run
crash dir = $DIR/crash
log file = $DIR/log/\$name.log
mon cluster log file = $DIR/log/cluster.log
osd pool default size = 1
osd pool default min size = 1
osd crush chooseleaf type = 0
mon allow pool delete = true
mon allow pool size one = true
# the mon refuses allow_ec_overwrites (RBD/CephFS data on EC pools) on memstore OSDs unless this is
# set; it must be in [global]: the mon reads it, and [osd] is not the mon's section
mon debug no require bluestore for ec overwrites = true
mon warn on pool no redundancy = false
mon data avail warn = 2
mon data avail crit = 1
osd crush update on start = false
# SIGTERM otherwise skips umount ("fast shutdown"), and memstore only saves its data on umount:
# a restarted memstore OSD would come back empty with its PGs stuck 'unknown'
osd fast shutdown = false
osd op num shards = 2
osd op num threads per shard = 1
$PAXOS_CONF

[client]
keyring = $DIR/client.admin.keyring

[mon]
mon data = $DIR/data/\$name
keyring = $DIR/daemons.keyring
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok

[mgr]
mgr data = $DIR/data/\$name
keyring = $DIR/daemons.keyring
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
mgr initial modules = iostat

[osd]
osd data = $DIR/data/\$name
keyring = $DIR/daemons.keyring
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
$STORE_CONF

[mds]
mds data = $DIR/data/\$name
keyring = $DIR/daemons.keyring
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok

[client.rgw.lab]
keyring = $DIR/daemons.keyring
pid file = $DIR/run/\$name.pid
admin socket = $DIR/run/\$name.asok
rgw data = $DIR/data/\$name
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw enable apis = s3, admin
# one zone, no realm: skip the periodic sync/lifecycle/gc threads' start-up delays
rgw enable usage log = false
EOF
  info "conf written ($STORE, $OSDS OSDs, mon v2:$PORT2 v1:$PORT1)"
  # One keyring for all daemons (each finds its own entity), a separate one for client.admin.
  # Everything in the mkfs keyring is imported into the mon's auth database.
  KR=$DIR/daemons.keyring
  ceph-authtool --create-keyring "$KR" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool --create-keyring "$DIR/client.admin.keyring" --gen-key -n client.admin \
    --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
  ceph-authtool "$KR" --import-keyring "$DIR/client.admin.keyring" >/dev/null
  ceph-authtool "$KR" --gen-key -n mgr.x --cap mon 'allow profile mgr' --cap osd 'allow *' --cap mds 'allow *' >/dev/null
  for ((i = 0; i < OSDS; i++)); do
    ceph-authtool "$KR" --gen-key -n "osd.$i" --cap mon 'allow profile osd' --cap mgr 'allow profile osd' --cap osd 'allow *' >/dev/null
  done
  if [ "$WANT_FILE" = 1 ]; then
    for m in $(mds_names); do
      ceph-authtool "$KR" --gen-key -n "$m" --cap mon 'allow profile mds' --cap osd 'allow rwx' \
        --cap mds 'allow *' --cap mgr 'allow profile mds' >/dev/null
    done
  fi
  [ "$WANT_OBJECT" = 1 ] && ceph-authtool "$KR" --gen-key -n client.rgw.lab --cap mon 'allow rw' --cap osd 'allow rwx' \
    --cap mgr 'allow rw' >/dev/null
  chmod 600 "$KR" "$DIR/client.admin.keyring"
  monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$PORT2,v1:127.0.0.1:$PORT1]" "$DIR/monmap" >/dev/null
  ceph-mon --conf "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$KR" 2>>"$DIR/log/mkfs.log"
  info "mon store created"
fi

# ---- 3. start daemons ------------------------------------------------------------------------
start() { # name cmd...  (daemons fork into the background themselves and write DIR/run/NAME.pid)
  local name=$1; shift
  if pid_alive "$name"; then return 0; fi
  rm -f "$DIR/run/$name.pid"
  "$@" >>"$DIR/log/$name.stderr" 2>&1
  local t; for t in $(seq 1 100); do [ -s "$DIR/run/$name.pid" ] && return 0; sleep 0.1; done
  die "$name did not write its pid file (see $DIR/log/$name.log)"
}

start mon.a ceph-mon --conf "$CONF" -i a
mon_ok=0
for t in $(seq 1 "$TIMEOUT"); do timeout 10 "${CEPH[@]}" mon stat >/dev/null 2>&1 && { mon_ok=1; break; }; sleep 0.5; done
[ $mon_ok = 1 ] || die "mon.a does not answer (see $DIR/log/mon.a.log)"
info "mon.a up (pid $(cat "$DIR/run/mon.a.pid"))"

if [ ! -f "$DIR/.initialized" ]; then
  # allocate OSD ids + CRUSH placement in one `ceph` process (interactive mode reads commands from stdin)
  {
    for ((i = 0; i < OSDS; i++)); do
      uuidgen > "$DIR/osd.$i.uuid"
      echo "osd new $(cat "$DIR/osd.$i.uuid") $i"
      echo "osd crush add-bucket lab-host$i host"
      echo "osd crush move lab-host$i root=default"
      echo "osd crush add osd.$i 1.0 host=lab-host$i root=default"
    done
    # The CephFS volume, as `ceph fs volume create labfs` makes it (pools cephfs.labfs.meta and
    # cephfs.labfs.data, then `fs new`), and radosgw's four start-up pools, all made here with 8 PGs
    # and no autoscaler: created by the mgr and radosgw they get 32 PGs each, and peering ~200 PGs on
    # memstore OSDs costs seconds of every start. Pool creation needs only the mon.
    if [ "$WANT_FILE" = 1 ]; then
      echo "osd pool create cephfs.$FSNAME.meta 8 8 replicated --autoscale-mode=off"
      echo "osd pool create cephfs.$FSNAME.data 8 8 replicated --autoscale-mode=off"
      echo "fs new $FSNAME cephfs.$FSNAME.meta cephfs.$FSNAME.data"
      # one MDS and no standby: without this the cluster warns MDS_INSUFFICIENT_STANDBY
      echo "fs set $FSNAME standby_count_wanted 0"
    fi
    if [ "$WANT_OBJECT" = 1 ]; then
      for p in .rgw.root default.rgw.log default.rgw.control default.rgw.meta; do
        echo "osd pool create $p 8 8 replicated --autoscale-mode=off"
        echo "osd pool application enable $p rgw"
      done
    fi
  } | "${CEPH[@]}" >"$DIR/log/osd-alloc.out" 2>&1 || die "osd allocation failed: $(cat "$DIR/log/osd-alloc.out")"
  info "osd ids allocated"
  for ((i = 0; i < OSDS; i++)); do
    mkdir -p "$DIR/data/osd.$i"
    ceph-osd --conf "$CONF" -i "$i" --mkfs --osd-uuid "$(cat "$DIR/osd.$i.uuid")" >>"$DIR/log/mkfs.log" 2>&1 \
      || die "ceph-osd --mkfs osd.$i failed (see $DIR/log/mkfs.log)"
  done
  info "osd mkfs done"
fi

[ "$WANT_MGR" = 1 ] && { mkdir -p "$DIR/data/mgr.x"; start mgr.x ceph-mgr --conf "$CONF" -i x; }
for ((i = 0; i < OSDS; i++)); do start "osd.$i" ceph-osd --conf "$CONF" -i "$i"; done
if [ "$WANT_FILE" = 1 ]; then
  # mds.a first, so it (not a standby) takes labfs on a fresh cluster
  for m in $(mds_names); do mkdir -p "$DIR/data/$m"; start "$m" ceph-mds --conf "$CONF" -i "${m#mds.}"; done
fi
# radosgw waits for the OSDs itself before it opens its port
if [ "$WANT_OBJECT" = 1 ]; then mkdir -p "$DIR/data/client.rgw.lab"; start client.rgw.lab radosgw --conf "$CONF" -n client.rgw.lab; fi
touch "$DIR/.initialized"
info "daemons started"

# ---- 4. wait: all OSDs up+in, mgr available, health settled -----------------------------------
deadline=$(( $(date +%s) + TIMEOUT ))
while :; do
  st=$(timeout 10 "${CEPH[@]}" status --format json 2>/dev/null || true)
  read -r up mgr health pgs_ok mds <<<"$(/usr/bin/python3 -c '
import json,sys
try: s=json.loads(sys.stdin.read())
except Exception: print("0 0 none 0 0"); sys.exit()
o=s.get("osdmap",{}); o=o.get("osdmap",o)
pm=s.get("pgmap",{}); n=pm.get("num_pgs",0)
act=sum(x["count"] for x in pm.get("pgs_by_state",[]) if x["state_name"].startswith("active"))
mds=sum(1 for r in s.get("fsmap",{}).get("by_rank",[]) if r.get("status")=="up:active")
print(o.get("num_up_osds",0), int(s.get("mgrmap",{}).get("available",False)),
      s.get("health",{}).get("status","none"), int(act==n), mds)
' <<<"$st")"
  # ready = all OSDs up, mgr available, every PG active (no PG stuck unknown/peering), the MDS active
  if [ "$up" = "$OSDS" ] && [ "$pgs_ok" = 1 ] && { [ "$WANT_MGR" != 1 ] || [ "$mgr" = 1 ]; } \
     && { [ "$WANT_FILE" != 1 ] || [ "$mds" -ge 1 ]; }; then
    [ "$health" = HEALTH_OK ] && break
    # give transient warnings (e.g. "OSD count < pool size", "mgr not yet active") a few seconds
    [ -z "${warn_since:-}" ] && warn_since=$(date +%s)
    [ $(( $(date +%s) - warn_since )) -ge 10 ] && { info "health: $health ($("${CEPH[@]}" health 2>&1 | head -c 300))"; break; }
  fi
  [ "$(date +%s)" -ge $deadline ] && die "timeout: osds up=$up/$OSDS mgr=$mgr pgs_active=$pgs_ok mds_active=$mds health=$health; logs in $DIR/log"
  sleep 0.5
done

# ---- 5. the gateway's port and its admin user ---------------------------------------------------
if [ "$WANT_OBJECT" = 1 ]; then
  wait_port 127.0.0.1 "$RGW_PORT" "$TIMEOUT" || die "radosgw does not listen on 127.0.0.1:$RGW_PORT (see $DIR/log/client.rgw.lab.log)"
  if [ ! -s "$DIR/rgw-admin.env" ]; then
    # keys chosen here, so a rerun after a failure creates the same user
    [ -s "$DIR/rgw-admin.keys" ] || printf '%s %s\n' "$(openssl rand -hex 10 | tr a-f A-F)" "$(openssl rand -hex 20)" > "$DIR/rgw-admin.keys"
    read -r ak sk < "$DIR/rgw-admin.keys"
    radosgw-admin --conf "$CONF" user create --uid=lab-admin --display-name="ceph-lab admin API user" \
      --access-key="$ak" --secret="$sk" --caps="users=*;buckets=*;metadata=*;usage=*;zone=*" >/dev/null 2>>"$DIR/log/radosgw-admin.stderr" \
      || radosgw-admin --conf "$CONF" user info --uid=lab-admin >/dev/null 2>&1 \
      || die "cannot create the radosgw admin user (see $DIR/log/radosgw-admin.stderr)"
    umask 077
    printf 'RGW_ENDPOINT=http://127.0.0.1:%s\nRGW_ADMIN_USER=lab-admin\nRGW_ACCESS_KEY=%s\nRGW_SECRET_KEY=%s\n' "$RGW_PORT" "$ak" "$sk" > "$DIR/rgw-admin.env"
  fi
fi
info "cluster ready: $up/$OSDS OSDs up, mgr=$mgr, mds active=$mds, rgw=$([ "$WANT_OBJECT" = 1 ] && echo "127.0.0.1:$RGW_PORT" || echo off), $health"
echo "$CONF"
