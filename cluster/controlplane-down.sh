#!/usr/bin/env bash
# controlplane-down.sh - stop what controlplane-up.sh started, by PID (controller manager and API
# server before etcd: the API server hangs on shutdown when etcd is gone). --wipe removes DIR.
set -euo pipefail
# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
D=${1:-${MICROCLOUD_CP_DIR:-/tmp/microcloud-cp}}
WIPE=0; [ "${2:-}" = --wipe ] && WIPE=1
[ -d "$D" ] || exit 0
for p in kcm apiserver etcd; do
  f=$D/$p.pid
  [ -s "$f" ] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
done
[ $WIPE = 1 ] && rm -rf "$D"
info "stopped"
