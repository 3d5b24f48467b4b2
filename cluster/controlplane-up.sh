#!/usr/bin/env bash
# controlplane-up.sh - start a local Kubernetes control plane for `make run`: etcd (Debian) and
# kube-apiserver (built from the k8s.io/kubernetes module by envtest-assets.sh) on 127.0.0.1, plus
# kube-controller-manager for namespace deletion and garbage collection. No kubelet: the provider
# runs as a local process. Writes DIR/kubeconfig and prints its path on stdout.
#
# Usage: controlplane-up.sh [DIR]   (default $MICROCLOUD_CP_DIR or /tmp/microcloud-cp)
# Env:   MICROCLOUD_CP_PORT (16443), MICROCLOUD_ETCD_PORT (23790; peer port is +10)
# Stop with controlplane-down.sh DIR (by PID).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=cluster/lib.sh
. "$here/lib.sh"
D=${1:-${MICROCLOUD_CP_DIR:-/tmp/microcloud-cp}}
PORT=${MICROCLOUD_CP_PORT:-16443}
EPORT=${MICROCLOUD_ETCD_PORT:-23790}
mkdir -p "$D/pki"; D=$(cd "$D" && pwd)
A=$(WITH_KCM=1 "$here/envtest-assets.sh" | tail -1)
alive() { [ -s "$D/$1.pid" ] && kill -0 "$(cat "$D/$1.pid")" 2>/dev/null; }

[ -f "$D/sa.key" ] || { openssl genrsa -out "$D/sa.key" 2048 2>/dev/null; openssl rsa -in "$D/sa.key" -pubout -out "$D/sa.pub" 2>/dev/null; }
[ -f "$D/token" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$D/token"
echo "$(cat "$D/token"),admin,admin,system:masters" > "$D/tokens.csv"
cat > "$D/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: microcloud-local, cluster: {server: "https://127.0.0.1:$PORT", certificate-authority: "$D/pki/apiserver.crt"}}]
users: [{name: admin, user: {token: $(cat "$D/token")}}]
contexts: [{name: microcloud-local, context: {cluster: microcloud-local, user: admin}}]
current-context: microcloud-local
KC

if ! alive etcd; then
  need_free_port 127.0.0.1 "$EPORT" "set MICROCLOUD_ETCD_PORT"
  setsid "$A/etcd" --data-dir "$D/etcd" --listen-client-urls "http://127.0.0.1:$EPORT" --advertise-client-urls "http://127.0.0.1:$EPORT" \
    --listen-peer-urls "http://127.0.0.1:$((EPORT + 10))" --initial-advertise-peer-urls "http://127.0.0.1:$((EPORT + 10))" \
    --initial-cluster "default=http://127.0.0.1:$((EPORT + 10))" --log-level warn > "$D/etcd.log" 2>&1 < /dev/null &
  echo $! > "$D/etcd.pid"
fi
if ! alive apiserver; then
  need_free_port 127.0.0.1 "$PORT" "set MICROCLOUD_CP_PORT"
  setsid "$A/kube-apiserver" --etcd-servers="http://127.0.0.1:$EPORT" --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --secure-port="$PORT" --cert-dir="$D/pki" --service-cluster-ip-range=10.0.0.0/24 \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$D/sa.pub" \
    --service-account-signing-key-file="$D/sa.key" --token-auth-file="$D/tokens.csv" \
    --authorization-mode=RBAC --allow-privileged=true --v=1 > "$D/apiserver.log" 2>&1 < /dev/null &
  echo $! > "$D/apiserver.pid"
fi
ok=0
for _ in $(seq 1 240); do
  if [ -f "$D/pki/apiserver.crt" ] && "$A/kubectl" --kubeconfig "$D/kubeconfig" get --raw /readyz >/dev/null 2>&1; then ok=1; break; fi
  alive apiserver || die "kube-apiserver exited; see $D/apiserver.log"
  sleep 0.25
done
[ $ok = 1 ] || die "kube-apiserver not ready after 60s; see $D/apiserver.log"
if ! alive kcm; then
  setsid "$A/kube-controller-manager" --kubeconfig="$D/kubeconfig" --leader-elect=false --bind-address=127.0.0.1 --secure-port=0 \
    --controllers=garbage-collector-controller,namespace-controller --use-service-account-credentials=false --v=1 \
    > "$D/kcm.log" 2>&1 < /dev/null &
  echo $! > "$D/kcm.pid"
fi
ln -sfn "$A/kubectl" "$D/kubectl"
info "ready: $D/kubeconfig (kubectl: $D/kubectl)"
echo "$D/kubeconfig"
