#!/usr/bin/env bash
# scale-bench.sh - the scale run of `make bench` (cluster/bench.sh runs it when MICROCLOUD_BENCH_SCALE=1;
# not part of `make test`). Starts its own control plane (controlplane-up.sh: etcd + kube-apiserver under
# $SCALE_DIR/cp on ports 26443/33790), applies package/crds, builds cmd/provider and cmd/scalebench and
# runs the scale scenarios: scalebench starts the simulated PVE sites in its own process and the provider
# binary as built (flags as cluster/run.sh bare mode: --poll=15s), once with the shared cluster view and
# once with --shared-cluster-view=false, and writes $OUT/results.{json,md}; cluster/tools/scaleplot then
# draws $OUT/scale-scenario<N>.png. Everything started is stopped by PID on exit.
#
# Usage: cluster/scale-bench.sh [scalebench flags...]   e.g. -scenarios 1 -n1 200,500
#   scalebench's defaults are the full sizes: scenario 1 with 1,000 VMs, 2 with 10,000 seeded guests,
#   3 and 4 with 100 sites × 100 VMs (4: 5 sites unreachable halfway), 200 ms simulator tasks.
# Env: SCALE_DIR (default /tmp/scale), SCALE_OUT (default _output/scale-<time>),
#      MICROCLOUD_CP_PORT (26443), MICROCLOUD_ETCD_PORT (33790).
set -euo pipefail
# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export GOFLAGS="${GOFLAGS:--tags=pacific}"
D=${SCALE_DIR:-/tmp/scale}
OUT=${SCALE_OUT:-_output/scale-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
mkdir -p "$D" "$OUT"
bench_pid=
cleanup() {
  [ -n "$bench_pid" ] && kill "$bench_pid" 2>/dev/null && wait "$bench_pid" 2>/dev/null
  bash cluster/controlplane-down.sh "$D/cp" --wipe >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "control plane ($D/cp)"
export MICROCLOUD_CP_PORT=${MICROCLOUD_CP_PORT:-26443} MICROCLOUD_ETCD_PORT=${MICROCLOUD_ETCD_PORT:-33790}
KUBECONFIG=$(bash cluster/controlplane-up.sh "$D/cp" | tail -1)
export KUBECONFIG
"$D/cp/kubectl" apply --server-side -f package/crds >/dev/null
"$D/cp/kubectl" wait --for=condition=Established crd --all --timeout=60s >/dev/null

step "build"
go build -o "$D/provider" ./cmd/provider
go build -o "$D/scalebench" ./cmd/scalebench

step "scale run: $D/scalebench -out $OUT $*"
{
  echo "# provider-microcloud scale run, $(date -u +%FT%TZ), $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB, $(go version)"
  echo "# $D/scalebench -kubeconfig $KUBECONFIG -provider $D/provider -out $OUT -cp-pids $D/cp/etcd.pid,$D/cp/apiserver.pid -apiserver-log $D/cp/apiserver.log $*"
} > "$OUT/machine.txt"
"$D/scalebench" -kubeconfig "$KUBECONFIG" -provider "$D/provider" -out "$OUT" -cp-pids "$D/cp/etcd.pid,$D/cp/apiserver.pid" -apiserver-log "$D/cp/apiserver.log" "$@" &
bench_pid=$!
rc=0; wait "$bench_pid" || rc=$?
bench_pid=

step "figures"
(cd cluster/tools/scaleplot && GOFLAGS= go run . "$OUT/results.json" "$OUT") || rc=1
cat "$OUT/results.md"
info "results: $OUT (results.md, results.json, scale-scenario*.png, provider logs)"
exit "$rc"
