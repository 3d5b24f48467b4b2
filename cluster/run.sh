#!/usr/bin/env bash
# run.sh - `make run`, the main job, the way a platform team runs the provider: a local control plane
# (etcd + kube-apiserver + controller manager), a local Ceph 16 cluster, two simulated Proxmox VE
# sites, Crossplane core v2.4.0 with a loopback registry and package runtime (cluster/crossplane-up.sh),
# then the GitOps tree examples/ applied with `kubectl apply -k`: Crossplane installs
# provider-microcloud and function-microcloud from their packages, and reconciles the sites, the
# managed resources and the catalogue (tenants, VPSes and a claim, validator sets) until Ctrl-C.
# Everything it starts is stopped by PID on exit.
#
# Usage: cluster/run.sh [--smoke]
#   --smoke   start everything, wait until the packages are healthy and every example is Ready (the
#             VPS claim and the validator sets included), check the provider's metrics, then stop
#             cleanly and exit 0 (used by `make test`).
# Env: MICROCLOUD_RUN_MODE=bare   today's bare-provider run instead: the provider binary with its
#                                 embedded simulator, CRDs applied by kubectl, no Crossplane core,
#                                 examples/{providerconfig,ceph,proxmox} only
#      MICROCLOUD_RUN_DIR (default /tmp/microcloud-run), MICROCLOUD_CEPH=0 (bare mode only: no Ceph),
#      MICROCLOUD_HEALTH_PORT (18081), MICROCLOUD_METRICS_PORT (18080), MICROCLOUD_EXAMPLES_TIMEOUT (300)
# Ports: API server 16443, etcd 23790, Ceph 6789/3300, sites 18006 (pve1-5) and 18007 (fra1-4,
#        ams1-4), registry 5050, Crossplane core metrics/probes 18090/18091, provider 18080/18081.
set -euo pipefail
# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export GOFLAGS="${GOFLAGS:--tags=pacific}"
SMOKE=0; [ "${1:-}" = --smoke ] && SMOKE=1
MODE=${MICROCLOUD_RUN_MODE:-crossplane}
RUN=${MICROCLOUD_RUN_DIR:-/tmp/microcloud-run}
HEALTH=${MICROCLOUD_HEALTH_PORT:-18081}
METRICS=${MICROCLOUD_METRICS_PORT:-18080}
WITH_CEPH=${MICROCLOUD_CEPH:-1}
TIMEOUT=${MICROCLOUD_EXAMPLES_TIMEOUT:-300}
case $MODE in
  crossplane) [ "$WITH_CEPH" = 1 ] || die "the catalogue needs Ceph: MICROCLOUD_CEPH=0 only with MICROCLOUD_RUN_MODE=bare" ;;
  bare) ;;
  *) die "MICROCLOUD_RUN_MODE is crossplane (default) or bare, not '$MODE'" ;;
esac
mkdir -p "$RUN"

pids=()
cleanup() {
  rc=$?
  [ -f "$RUN/xp/runtime.pid" ] && { info "stopping the package runtime (provider, function) and Crossplane core"; bash cluster/crossplane-down.sh "$RUN/xp" || rc=1; }
  for p in ${pids[@]+"${pids[@]}"}; do
    kill -0 "$p" 2>/dev/null || continue
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$p" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$p" 2>/dev/null; then warn "pid $p did not stop in 15s"; kill -9 "$p"; rc=1; fi
  done
  [ "$WITH_CEPH" = 1 ] && bash cluster/ceph-down.sh "$RUN/ceph" --wipe >/dev/null 2>&1 || true
  bash cluster/controlplane-down.sh "$RUN/cp" --wipe >/dev/null 2>&1 || true
  rm -rf "$RUN/xp" "$RUN/sites"
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
"$K" create namespace crossplane-system --dry-run=client -o yaml | "$K" apply -f - >/dev/null

if [ "$WITH_CEPH" = 1 ]; then
  info "Ceph cluster"
  # examples/providerconfig names the monitor 127.0.0.1:6789, so this cluster always uses Ceph's
  # default ports (a caller's CEPH_LAB_MON_PORT is for its own cluster, e.g. make test's).
  conf=$(CEPH_LAB_MON_PORT=6789 CEPH_LAB_MON_PORT2=3300 CEPH_LAB_RGW_PORT=7480 bash cluster/ceph-up.sh "$RUN/ceph")
  keyring=$(dirname "$conf")/client.admin.keyring
  "$K" -n crossplane-system create secret generic microcloud-ceph --from-file=keyring="$keyring" \
    --dry-run=client -o yaml | "$K" apply -f - >/dev/null
  # the RADOS Gateway's admin keys, for the ObjectStoreUser and Bucket examples
  # shellcheck disable=SC1091
  (. "$(dirname "$conf")/rgw-admin.env" && "$K" -n crossplane-system create secret generic microcloud-rgw \
    --from-literal=accessKey="$RGW_ACCESS_KEY" --from-literal=secretKey="$RGW_SECRET_KEY" --dry-run=client -o yaml) |
    "$K" apply -f - >/dev/null
fi

# wait_ready TIMEOUT ARGS...: kubectl wait --for=condition=Ready, with the objects shown on failure.
wait_ready() {
  local t=$1; shift
  if ! "$K" wait --for=condition=Ready --timeout="${t}s" "$@" >&2; then
    "$K" get "$@" -o wide >&2 || true
    "$K" describe "$@" >&2 || true
    return 1
  fi
}

# check_metrics: crossplane's per-kind state gauges and our backend request counters.
check_metrics() {
  local m want
  m=$(curl -fsS "http://127.0.0.1:$METRICS/metrics")
  for want in 'crossplane_managed_resource_ready{.*VirtualMachine' 'microcloud_proxmox_api_requests_total{' 'microcloud_proxmox_cluster_view_refreshes_total{'; do
    grep -Eq "$want" <<<"$m" || die "metric $want missing from the provider's /metrics"
  done
}

# scan_secrets: none of the credentials this run handed the provider (the simulators' API token
# secrets, the cephx admin key, the RADOS Gateway admin secret key) may appear in anything the run
# produced: logs (Crossplane core, package runtime, provider, function, simulators), events, the
# status and spec of every object of our API groups, Secrets other than the ones we created with
# them, and the provider's and core's metrics. Only the place is printed, never the value.
scan_secrets() {
  local out=$RUN/leak-scan values=() v f r leaks=0
  mkdir -p "$out"
  for f in "$RUN"/sites/*/token; do values+=("$(cut -d= -f2- "$f")"); done
  values+=("$(awk '/key *=/ {print $3}' "$keyring")")
  # shellcheck disable=SC1091
  values+=("$(. "$(dirname "$conf")/rgw-admin.env" && echo "$RGW_SECRET_KEY")")
  "$K" get events -A -o json > "$out/events.json"
  for r in $("$K" api-resources -o name | grep -E '\.microcloud\.dev$'); do
    "$K" get "$r" -A -o json > "$out/objects-$r.json" 2>/dev/null || true
  done
  # Secrets we did not create with these credentials (connection secrets, TLS, package secrets).
  "$K" get secrets -A -o jsonpath='{range .items[*]}{.metadata.namespace}{" "}{.metadata.name}{"\n"}{end}' |
  while read -r ns name; do
    case $name in microcloud-pve|microcloud-pve-site-a|microcloud-ceph|microcloud-rgw) continue ;; esac
    echo "--- $ns/$name"
    "$K" -n "$ns" get secret "$name" -o go-template='{{range $k, $v := .data}}{{$k}}: {{$v | base64decode}}{{"\n"}}{{end}}'
  done > "$out/other-secrets.decoded"
  curl -fsS "http://127.0.0.1:$METRICS/metrics" > "$out/provider-metrics.txt" || true
  curl -fsS "http://127.0.0.1:18090/metrics" > "$out/core-metrics.txt" || true
  # The control: each value read must be found where we put it, or the scan would prove nothing.
  local ours
  ours=$(for ns in crossplane-system team-a; do "$K" -n "$ns" get secret microcloud-pve microcloud-pve-site-a microcloud-ceph microcloud-rgw \
    --ignore-not-found -o go-template='{{range .items}}{{range $k, $v := .data}}{{$v | base64decode}}{{"\n"}}{{end}}{{end}}'; done)
  for v in "${values[@]}"; do
    grep -qF -- "$v" <<<"$ours" || die "leak scan: a credential read from this run (${v:0:4}…) is not in the Secrets made with it: the scan's inputs are wrong"
  done
  local files=("$out"/* "$RUN/xp/core.log" "$RUN"/xp/runtime/logs/* "$RUN"/sites/*/log)
  for v in "${values[@]}"; do
    [ ${#v} -ge 16 ] || die "leak scan: a credential read from this run is too short to scan for (${#v} characters)"
    for f in "${files[@]}"; do
      [ -f "$f" ] || continue
      if grep -qF -- "$v" "$f"; then warn "leak scan: a credential (${v:0:4}…) appears in $f"; leaks=$((leaks + 1)); fi
    done
  done
  [ $leaks = 0 ] || die "leak scan: $leaks finding(s) above"
  info "leak scan: ${#values[@]} credentials, none in $(ls "${files[@]}" 2>/dev/null | wc -l) logs, event, object, Secret and metrics dumps"
}

if [ "$MODE" = bare ]; then
  info "CRDs"
  "$K" apply --server-side -f package/crds >/dev/null
  "$K" wait --for=condition=Established crd --all --timeout=60s >/dev/null
  info "building the provider"
  go build -o "$RUN/provider" ./cmd/provider
  SIM=127.0.0.1:18006
  info "starting the provider (embedded PVE simulator on $SIM)"
  "$RUN/provider" --poll=15s --metrics-bind-address="127.0.0.1:$METRICS" --health-probe-bind-address="127.0.0.1:$HEALTH" \
    --embedded-pvesim="$SIM" --embedded-pvesim-dir="$RUN/pvesim" > "$RUN/provider.log" 2>&1 &
  provider_pid=$!
  pids+=("$provider_pid")
  ready=0
  for _ in $(seq 1 240); do
    kill -0 "$provider_pid" 2>/dev/null || { tail -20 "$RUN/provider.log" >&2; die "provider exited; above: the last lines of $RUN/provider.log"; }
    if curl -fsS "http://127.0.0.1:$HEALTH/readyz" >/dev/null 2>&1 && [ -s "$RUN/pvesim/token" ]; then ready=1; break; fi
    sleep 0.25
  done
  [ $ready = 1 ] || die "provider not ready after 60s; see $RUN/provider.log"
  info "provider ready: http://127.0.0.1:$HEALTH/readyz, metrics http://127.0.0.1:$METRICS/metrics"
  "$K" -n crossplane-system create secret generic microcloud-pve --from-file=token="$RUN/pvesim/token" \
    --from-file=ca.crt="$RUN/pvesim/pve-root-ca.pem" --dry-run=client -o yaml | "$K" apply -f - >/dev/null
  MICROCLOUD_CEPH=$WITH_CEPH bash cluster/examples.sh apply "$K"
  if [ $SMOKE = 1 ]; then
    info "waiting for the examples to become Ready"
    MICROCLOUD_CEPH=$WITH_CEPH bash cluster/examples.sh wait "$K"
    check_metrics
    info "smoke test passed (bare provider)"
    exit 0
  fi
  info "reconciling; kubectl: KUBECONFIG=$KUBECONFIG $K get managed -A   (Ctrl-C stops everything)"
  wait "$provider_pid"
  exit 0
fi

# ---- crossplane mode (default) -----------------------------------------------------------------
info "Proxmox VE sites (simulated): pve1-5 on 127.0.0.1:18006, site-a (fra1-4, ams1-4) on 127.0.0.1:18007"
go build -o "$RUN/bin/pvesim" ./cmd/pvesim
"$K" apply -f examples/namespaces.yaml >/dev/null
# site NAME ADDR NODES NAMESPACE SECRET: a simulator with its state kept in $RUN/sites/NAME, and the
# Secret (token, ca.crt) its ProviderConfig names.
site() {
  local d=$RUN/sites/$1
  mkdir -p "$d"
  need_free_port 127.0.0.1 "${2##*:}" "a previous make run still running?"
  "$RUN/bin/pvesim" --listen "$2" --nodes "$3" --ca-dir "$d" --state "$d/state.json" --token-file "$d/token" \
    --task-duration 500ms > "$d/log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 80); do [ -s "$d/token" ] && break; sleep 0.25; done
  [ -s "$d/token" ] || die "simulator $1 did not start; see $d/log"
  "$K" -n "$4" create secret generic "$5" --from-file=token="$d/token" --from-file=ca.crt="$d/pve-root-ca.pem" \
    --dry-run=client -o yaml | "$K" apply -f - >/dev/null
}
site default 127.0.0.1:18006 pve1,pve2,pve3,pve4,pve5 crossplane-system microcloud-pve
site site-a 127.0.0.1:18007 fra1,fra2,fra3,fra4,ams1,ams2,ams3,ams4 team-a microcloud-pve-site-a
"$K" -n team-a create secret generic microcloud-ceph --from-file=keyring="$keyring" \
  --dry-run=client -o yaml | "$K" apply -f - >/dev/null

info "Crossplane core, registry and package runtime"
XP_METRICS_PORT=18090 XP_HEALTH_PORT=18091 XP_REGISTRY_PORT=5050 bash cluster/crossplane-up.sh "$RUN/xp" >/dev/null

info "kubectl apply -k examples/ (again until Crossplane has installed every kind it names)"
t0=$EPOCHSECONDS
until out=$("$K" apply -k examples/ 2>&1); do
  [ $((EPOCHSECONDS - t0)) -lt "$TIMEOUT" ] || { echo "$out" >&2; die "examples/ still not applied after ${TIMEOUT}s"; }
  sleep 3
done
info "examples/ applied in $((EPOCHSECONDS - t0))s"
"$K" wait --for=condition=Healthy --timeout="${TIMEOUT}s" providers.pkg.crossplane.io/provider-microcloud functions.pkg.crossplane.io/function-microcloud >&2

if [ $SMOKE = 1 ]; then
  info "waiting for every example to become Ready"
  t0=$EPOCHSECONDS
  wait_ready "$TIMEOUT" -n team-b vpsclaim/blog
  info "VPS claim team-b/blog Ready $((EPOCHSECONDS - t0))s after the examples were applied"
  # Every object of the tree with a Ready condition: our managed resources, XRs and the claim.
  "$K" get -k examples/ -o jsonpath='{range .items[*]}{.metadata.namespace}{" "}{.kind}.{.apiVersion}{" "}{.metadata.name}{"\n"}{end}' |
  while read -r ns kind name; do
    case $kind in
      ProviderConfig.*|ClusterProviderConfig.*) continue ;;
      *.microcloud.dev/*) wait_ready "$TIMEOUT" -n "${ns:-default}" "${kind%%/*}/$name" ;;
    esac
  done
  check_metrics
  scan_secrets
  "$K" get vpsclaim,tenant,vps,validatorset -A >&2
  info "smoke test passed: every example Ready $((EPOCHSECONDS - t0))s after they were applied"
  exit 0
fi
cat >&2 <<HINT

provider-microcloud is installed by Crossplane and reconciling examples/. Try:
  export KUBECONFIG=$KUBECONFIG
  $K get providers.pkg.crossplane.io,functions.pkg.crossplane.io
  $K get vpsclaim -A                      # team-b/blog: a VM, its security group and data volume
  $K get validatorset,tenant,vps -A
  $K get managed -A
  $K -n team-a describe validatorset chain-a
Logs: $RUN/xp/core.log, $RUN/xp/runtime/logs/, $RUN/sites/*/log. Ctrl-C stops everything.
HINT
runtime_pid=$(cat "$RUN/xp/runtime.pid")
while kill -0 "$runtime_pid" 2>/dev/null; do sleep 1; done
warn "the package runtime exited; see $RUN/xp/runtime.log"
