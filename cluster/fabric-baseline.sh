#!/usr/bin/env bash
# fabric-baseline.sh — a second test network that runs an older commit's chaincode with that commit's
# own cluster/fabric-up.sh (its peer settings too), beside the current one, so BenchmarkLedger can put
# "before" and "now" side by side in one run:
#
#   env=$(cluster/fabric-baseline.sh 583a94b)          # prints the baseline's fabric.env
#   PROVENANCE_BENCH_COMPARE="before=$env" go test -tags pacific -run '^$' -bench BenchmarkLedger ...
#   cluster/fabric-baseline.sh --down                   # stop it (fabric-down.sh of that tree) and remove it
#
# The commit's tree is taken with `git archive` (no worktree, nothing of this checkout changes) into
# $FABRIC_BASELINE_DIR/src, its lab is $FABRIC_BASELINE_DIR/lab; Fabric's binaries come from this
# checkout's cache ($FABRIC_CACHE), the chaincode is built from the old tree (cached by its sources).
#
# Environment (all optional):
#   FABRIC_BASELINE_DIR        tree and lab                        (default /tmp/mc-fabric-baseline)
#   FABRIC_BASELINE_PORT_BASE  its FABRIC_PORT_BASE                (default 7070: 7070-7085)
#   FABRIC_CACHE               Fabric build shared with this checkout (default <repo>/.cache/fabric)
set -euo pipefail
# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DIR=${FABRIC_BASELINE_DIR:-/tmp/mc-fabric-baseline}

case "${1:-}" in
  "" | -h | --help) echo "usage: $0 REV | --down" >&2; exit 2 ;;
  --down)
    if [ -x "$DIR/src/cluster/fabric-down.sh" ]; then FABRIC_LAB_DIR=$DIR/lab bash "$DIR/src/cluster/fabric-down.sh" >&2; fi
    rm -rf "$DIR"
    exit 0 ;;
esac
rev=$(git -C "$REPO_ROOT" rev-parse --verify "$1^{commit}") || die "not a commit: $1"
if [ "$(cat "$DIR/.rev" 2>/dev/null)" != "$rev" ]; then
  [ ! -d "$DIR/lab" ] || die "$DIR runs another commit ($(cat "$DIR/.rev" 2>/dev/null)); $0 --down first"
  rm -rf "$DIR/src" && mkdir -p "$DIR/src"
  git -C "$REPO_ROOT" archive "$rev" | tar -x -C "$DIR/src"
  echo "$rev" > "$DIR/.rev"
fi
info "baseline network of ${rev:0:12} in $DIR"
FABRIC_CACHE=${FABRIC_CACHE:-$REPO_ROOT/.cache/fabric} FABRIC_LAB_DIR=$DIR/lab \
  FABRIC_PORT_BASE=${FABRIC_BASELINE_PORT_BASE:-7070} bash "$DIR/src/cluster/fabric-up.sh" >&2
echo "$DIR/lab/fabric.env"
