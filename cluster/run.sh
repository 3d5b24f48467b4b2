#!/usr/bin/env bash
# run.sh - `make run`, the main job: a local control plane (etcd + kube-apiserver + controller
# manager), the provider's CRDs, a local Ceph 16 cluster, and the provider itself with its embedded
# Proxmox VE simulator, reconciling examples/ until Ctrl-C. Everything it starts is stopped by PID
# on exit.
#
# Usage: cluster/run.sh [--smoke]
#   --smoke   start everything, wait until the provider is ready (/readyz) and the examples are
#             Ready, then stop cleanly and exit 0 (used by `make test`).
# Env: MICROCLOUD_RUN_DIR (default /tmp/microcloud-run), MICROCLOUD_CEPH=0 (no Ceph, no Ceph
#      examples), MICROCLOUD_HEALTH_PORT (18081), MICROCLOUD_METRICS_PORT (18080),
#      MICROCLOUD_PVESIM_ADDR (127.0.0.1:18006)
set -euo pipefail
# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export GOFLAGS="${GOFLAGS:--tags=pacific}"
SMOKE=0; [ "${1:-}" = --smoke ] && SMOKE=1
RUN=${MICROCLOUD_RUN_DIR:-/tmp/microcloud-run}
HEALTH=${MICROCLOUD_HEALTH_PORT:-18081}
METRICS=${MICROCLOUD_METRICS_PORT:-18080}
SIM=${MICROCLOUD_PVESIM_ADDR:-127.0.0.1:18006}
WITH_CEPH=${MICROCLOUD_CEPH:-1}
mkdir -p "$RUN"

provider_pid=""
cleanup() {
  rc=$?
  if [ -n "$provider_pid" ] && kill -0 "$provider_pid" 2>/dev/null; then
    info "stopping the provider (SIGTERM, pid $provider_pid)"
    kill -TERM "$provider_pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$provider_pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$provider_pid" 2>/dev/null; then warn "provider did not stop in 15s"; kill -9 "$provider_pid"; rc=1; fi
  fi
  [ "$WITH_CEPH" = 1 ] && bash cluster/ceph-down.sh "$RUN/ceph" --wipe >/dev/null 2>&1 || true
  bash cluster/controlplane-down.sh "$RUN/cp" --wipe >/dev/null 2>&1 || true
  info "stopped (exit $rc)"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bash cluster/deps.sh
info "control plane"
export KUBECONFIG
KUBECONFIG=$(bash cluster/controlplane-up.sh "$RUN/cp")
K="$RUN/cp/kubectl"

info "CRDs"
"$K" apply --server-side -f package/crds >/dev/null
"$K" wait --for=condition=Established crd --all --timeout=60s >/dev/null
"$K" create namespace crossplane-system --dry-run=client -o yaml | "$K" apply -f - >/dev/null

if [ "$WITH_CEPH" = 1 ]; then
  info "Ceph cluster"
  # examples/providerconfig names the monitor 127.0.0.1:6789, so this cluster always uses Ceph's
  # default ports (a caller's CEPH_LAB_MON_PORT is for its own cluster, e.g. make test's).
  conf=$(CEPH_LAB_MON_PORT=6789 CEPH_LAB_MON_PORT2=3300 bash cluster/ceph-up.sh "$RUN/ceph")
  keyring=$(dirname "$conf")/client.admin.keyring
  "$K" -n crossplane-system create secret generic microcloud-ceph --from-file=keyring="$keyring" \
    --dry-run=client -o yaml | "$K" apply -f - >/dev/null
fi

info "building the provider"
go build -o "$RUN/provider" ./cmd/provider

info "starting the provider (embedded PVE simulator on $SIM)"
"$RUN/provider" --poll=15s --metrics-bind-address="127.0.0.1:$METRICS" --health-probe-bind-address="127.0.0.1:$HEALTH" \
  --embedded-pvesim="$SIM" --embedded-pvesim-dir="$RUN/pvesim" > "$RUN/provider.log" 2>&1 &
provider_pid=$!
ready=0
for _ in $(seq 1 240); do
  kill -0 "$provider_pid" 2>/dev/null || { tail -20 "$RUN/provider.log" >&2; die "provider exited; above: the last lines of $RUN/provider.log"; }
  if curl -fsS "http://127.0.0.1:$HEALTH/readyz" >/dev/null 2>&1 && [ -s "$RUN/pvesim/token" ]; then ready=1; break; fi
  sleep 0.25
done
[ $ready = 1 ] || die "provider not ready after 60s; see $RUN/provider.log"
info "provider ready: http://127.0.0.1:$HEALTH/readyz, metrics http://127.0.0.1:$METRICS/metrics"

# The site's credentials: the simulator's API token and CA, and Ceph's admin keyring.
"$K" -n crossplane-system create secret generic microcloud-pve --from-file=token="$RUN/pvesim/token" \
  --from-file=ca.crt="$RUN/pvesim/pve-root-ca.pem" --dry-run=client -o yaml | "$K" apply -f - >/dev/null
MICROCLOUD_CEPH=$WITH_CEPH bash cluster/examples.sh apply "$K"

if [ $SMOKE = 1 ]; then
  info "waiting for the examples to become Ready"
  MICROCLOUD_CEPH=$WITH_CEPH bash cluster/examples.sh wait "$K"
  # Prometheus metrics: crossplane's per-kind state gauges and our backend request counters.
  m=$(curl -fsS "http://127.0.0.1:$METRICS/metrics")
  for want in 'crossplane_managed_resource_ready{.*VirtualMachine' 'microcloud_proxmox_api_requests_total{' 'microcloud_proxmox_cluster_view_refreshes_total{'; do
    grep -Eq "$want" <<<"$m" || die "metric $want missing from /metrics"
  done
  info "smoke test passed"
  exit 0
fi
info "reconciling; kubectl: KUBECONFIG=$KUBECONFIG $K get managed -A   (Ctrl-C stops everything)"
wait "$provider_pid"
