#!/usr/bin/env bash
# crossplane-up.sh - run Crossplane core v2.4.0 against a running control plane, the way a platform
# team runs it, without a kubelet: core's CRDs installed and Established, `crossplane core init`
# (root CA, client certificate, default DeploymentRuntimeConfig), `crossplane core start
# --package-runtime=External`, and cmd/package-runtime, which serves a loopback OCI registry holding
# the provider's and the function's xpkgs and runs every active package revision from its image
# (internal/pkgruntime). An ImageConfig rewrites the packages' public names
# (ghcr.io/microcloud-dev/...) to that registry, so Provider and Function objects stay as in
# examples/packages. Installs no package itself: apply examples/packages (or your own) next.
# Writes DIR/crossplane.env (XP_CORE, XP_REGISTRY, XP_RUNTIME, XP_TAG) and prints its path on stdout.
#
# Usage: KUBECONFIG=... crossplane-up.sh DIR
# Env:   XP_REGISTRY_PORT (5050), XP_METRICS_PORT (18090), XP_HEALTH_PORT (18091),
#        XP_TAG (v0.1.0: the tag the packages are pushed as),
#        MICROCLOUD_PROVIDER_XPKG / MICROCLOUD_FUNCTION_XPKG (built by cluster/package.sh when unset)
# Stop with crossplane-down.sh DIR (by PID).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=cluster/lib.sh
. "$here/lib.sh"
D=${1:?usage: crossplane-up.sh DIR}
: "${KUBECONFIG:?KUBECONFIG of the control plane}"
RPORT=${XP_REGISTRY_PORT:-5050}
MPORT=${XP_METRICS_PORT:-18090}
HPORT=${XP_HEALTH_PORT:-18091}
TAG=${XP_TAG:-v0.1.0}
NS=crossplane-system
mkdir -p "$D"; D=$(cd "$D" && pwd)
export GOFLAGS="${GOFLAGS:--tags=pacific}"
A=$(WITH_KCM=1 "$here/envtest-assets.sh" | tail -1)
K() { "$A/kubectl" "$@"; }
alive() { [ -s "$D/$1.pid" ] && kill -0 "$(cat "$D/$1.pid")" 2>/dev/null; }

XP_CORE=$(bash "$here/crossplane-core.sh" | tail -1)
XP_CRDS=$(dirname "$XP_CORE")/crds
XPKG=${MICROCLOUD_PROVIDER_XPKG:-$(bash "$here/package.sh" provider | tail -1)}
FNPKG=${MICROCLOUD_FUNCTION_XPKG:-$(bash "$here/package.sh" function | tail -1)}
go build -o "$D/package-runtime" "$REPO_ROOT/cmd/package-runtime"

step "Crossplane core CRDs"
K apply --server-side --force-conflicts -f "$XP_CRDS" >/dev/null
# Straight after apply the wait once failed with '.status.conditions accessor error'; retry it.
for i in 1 2 3 4 5; do
  K wait --for=condition=Established crd --all --timeout=60s >/dev/null 2>&1 && break
  [ "$i" = 5 ] && die "core CRDs not Established"
  sleep 1
done
K create namespace "$NS" --dry-run=client -o yaml | K apply -f - >/dev/null

step "crossplane core init"
CRDS_PATH="$XP_CRDS" TLS_CA_SECRET_NAME=crossplane-root-ca TLS_CLIENT_SECRET_NAME=crossplane-tls-client \
  "$XP_CORE" core init --enable-webhooks=false --namespace="$NS" > "$D/init.log" 2>&1 \
  || { tail -20 "$D/init.log" >&2; die "core init failed; see $D/init.log"; }
# Core's client certificate for functions (mTLS), from the Secret init wrote: what a pod would mount.
mkdir -p "$D/tls-client" "$D/xpkg-cache"
for k in tls.crt tls.key ca.crt; do
  K -n "$NS" get secret crossplane-tls-client -o "jsonpath={.data.${k//./\\.}}" | base64 -d > "$D/tls-client/$k"
  [ -s "$D/tls-client/$k" ] || die "core init wrote no $k into crossplane-tls-client"
done

step "crossplane core start (package runtime External)"
if ! alive core; then
  need_free_port 127.0.0.1 "$MPORT" "set XP_METRICS_PORT"
  need_free_port 127.0.0.1 "$HPORT" "set XP_HEALTH_PORT"
  # --xpkg-cache-dir must exist, else every pull fails with 'io: read/write on closed pipe'.
  ( close_locks; TLS_CLIENT_CERTS_DIR="$D/tls-client" exec setsid "$XP_CORE" core start --namespace="$NS" \
      --package-runtime=External --enable-webhooks=false --xpkg-cache-dir="$D/xpkg-cache" \
      --metrics-port="$MPORT" --health-probe-port="$HPORT" > "$D/core.log" 2>&1 < /dev/null ) &
  echo $! > "$D/core.pid"
fi

step "registry and package runtime"
if ! alive runtime; then
  need_free_port 127.0.0.1 "$RPORT" "set XP_REGISTRY_PORT"
  ( close_locks; exec setsid "$D/package-runtime" serve --registry="127.0.0.1:$RPORT" --kubeconfig="$KUBECONFIG" \
      --dir="$D/runtime" --push="$XPKG=microcloud-dev/provider-microcloud:$TAG" \
      --push="$FNPKG=microcloud-dev/function-microcloud:$TAG" > "$D/runtime.log" 2>&1 < /dev/null ) &
  echo $! > "$D/runtime.pid"
fi
for _ in $(seq 1 240); do
  grep -q "running package revisions" "$D/runtime.log" 2>/dev/null && break
  alive runtime || { tail -20 "$D/runtime.log" >&2; die "package runtime exited; see $D/runtime.log"; }
  sleep 0.25
done
grep -q "running package revisions" "$D/runtime.log" || die "package runtime not ready after 60s; see $D/runtime.log"
K apply -f - >/dev/null <<Y
apiVersion: pkg.crossplane.io/v1beta1
kind: ImageConfig
metadata:
  name: microcloud-local-registry
spec:
  matchImages:
  - {type: Prefix, prefix: ghcr.io/microcloud-dev/}
  rewriteImage:
    prefix: 127.0.0.1:$RPORT/microcloud-dev/
Y
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$HPORT/healthz" >/dev/null 2>&1 && break
  alive core || { tail -20 "$D/core.log" >&2; die "crossplane core exited; see $D/core.log"; }
  sleep 0.25
done
cat > "$D/crossplane.env" <<E
XP_CORE=$XP_CORE
XP_REGISTRY=127.0.0.1:$RPORT
XP_RUNTIME=$D/package-runtime
XP_TAG=$TAG
E
info "ready: registry 127.0.0.1:$RPORT, logs $D/{core,runtime}.log, package processes' logs $D/runtime/logs/"
echo "$D/crossplane.env"
