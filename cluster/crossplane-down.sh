#!/usr/bin/env bash
# crossplane-down.sh - stop what crossplane-up.sh DIR started, by PID: the package runtime first
# (it stops the provider and function processes it runs, SIGTERM then SIGKILL after 30 s), then core.
# Usage: crossplane-down.sh DIR [--wipe]
set -euo pipefail
D=${1:?usage: crossplane-down.sh DIR [--wipe]}
stop() {
  local f=$D/$1.pid p
  [ -s "$f" ] || return 0
  p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null; then
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 160); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null || true
  fi
  rm -f "$f"
}
stop runtime
stop core
[ "${2:-}" = --wipe ] && rm -rf "$D"
exit 0
