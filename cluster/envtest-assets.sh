#!/usr/bin/env bash
# envtest-assets.sh - produce a KUBEBUILDER_ASSETS directory without downloading prebuilt
# binaries: etcd from Debian's etcd-server package, kube-apiserver (and optionally
# kube-controller-manager / kubectl) built from the k8s.io/kubernetes Go module via the
# Go module proxy.
#
# Usage:   eval "$(envtest-assets.sh --export)"      # sets KUBEBUILDER_ASSETS
#          envtest-assets.sh [DEST]                  # prints the assets dir on the last line
# Env:
#   K8S_VERSION        kubernetes version to build (default 1.35.3); staging modules = 0.<minor>.<patch>
#   ENVTEST_ASSETS_DIR destination (default ${XDG_CACHE_HOME:-$HOME/.cache}/envtest-assets/k8s-$K8S_VERSION)
#   WITH_KCM=1         also build kube-controller-manager (namespace deletion, ownerRef GC)
#   WITH_KUBECTL=auto  link /usr/bin/kubectl if present, else build it (1 = always build, 0 = never)
#   ETCD_BIN           etcd binary to use (default: `command -v etcd`; else apt-get install etcd-server)
#   GOFLAGS            passed through; defaults to -p=2 if unset (2-core machines)
#
# Idempotent: a binary is rebuilt only if it is missing or its stamped version differs.
# Concurrency-safe: takes a flock on $DEST/.lock.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-1.35.3}
K8S_VERSION=${K8S_VERSION#v}
STAGING_VERSION="0.${K8S_VERSION#1.}"
MINOR=$(echo "$K8S_VERSION" | cut -d. -f2)
WITH_KCM=${WITH_KCM:-0}
WITH_KUBECTL=${WITH_KUBECTL:-auto}
export GOFLAGS=${GOFLAGS:--p=2}

EXPORT=0
if [ "${1:-}" = "--export" ]; then EXPORT=1; shift; fi
# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
DEST=${1:-${ENVTEST_ASSETS_DIR:-$REPO_ROOT/.cache/envtest/k8s-$K8S_VERSION}}
mkdir -p "$DEST"
DEST=$(cd "$DEST" && pwd)

lock "$DEST/.lock"

# ---- etcd --------------------------------------------------------------------------
ETCD_BIN=${ETCD_BIN:-$(command -v etcd || true)}
if [ -z "$ETCD_BIN" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    info "installing etcd-server from Debian"
    (apt-get install -y etcd-server >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y etcd-server >/dev/null; })
    # Debian's package enables a systemd unit; we only need the binary.
    ETCD_BIN=$(command -v etcd)
  else
    die "no etcd found; install etcd-server (Debian) or set ETCD_BIN"
  fi
fi
ln -sfn "$ETCD_BIN" "$DEST/etcd"

# ---- kube-apiserver / kube-controller-manager / kubectl from source --------------------
want=(kube-apiserver)
[ "$WITH_KCM" = 1 ] && want+=(kube-controller-manager)
case "$WITH_KUBECTL" in
  1) want+=(kubectl) ;;
  auto) if [ -x /usr/bin/kubectl ]; then ln -sfn /usr/bin/kubectl "$DEST/kubectl"; else want+=(kubectl); fi ;;
  *) : ;;
esac

# The scratch module: k8s.io/kubernetes replaces its staging modules (k8s.io/api, ...) with
# ./staging/src/...; a module requiring it must pin them to 0.<minor>.<patch> itself.
k8s_module() {
  {
    echo "module envtestassets"
    echo
    grep -E '^go [0-9]' "$gomod"
    grep -E '^godebug ' "$gomod" || true
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    echo "replace ("
    sed -n '/^replace (/,/^)/p' "$gomod" | grep '=>' | awk -v v="v$STAGING_VERSION" '{print "\t"$1" => "$1" "v}'
    echo ")"
  } > go.mod.new
  if ! cmp -s go.mod.new go.mod 2>/dev/null; then
    mv go.mod.new go.mod; rm -f go.sum
  else
    rm -f go.mod.new
  fi
  {
    echo "//go:build tools"; echo; echo "package tools"; echo; echo "import ("
    for b in kube-apiserver kube-controller-manager kubectl; do echo "	_ \"k8s.io/kubernetes/cmd/$b\""; done
    echo ")"
  } > tools.go
  [ -f go.sum ] || { info "go mod tidy"; go mod tidy; }
}

todo=()
for b in "${want[@]}"; do go_tool_fresh "$b" "$K8S_VERSION" "$DEST" || todo+=("$b"); done

if [ "${#todo[@]}" -gt 0 ]; then
  command -v go >/dev/null || die "go not found"
  # outside any module (the cache dir is inside the repository's)
  gomod=$(cd / && GOFLAGS= go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  [ -f "$gomod" ] || die "cannot download k8s.io/kubernetes@v$K8S_VERSION"
  ld=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$MINOR"
    ld+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  commit=$(sed -n 's/^[[:space:]]*"Hash": "\(.*\)",\{0,1\}$/\1/p' "${gomod%.mod}.info" 2>/dev/null | head -1 || true)
  if [ -n "$commit" ]; then
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do ld+=" -X $pkg.gitCommit=$commit"; done
  fi
  # one at a time, as before: linking kube-apiserver alone takes most of a small machine's memory
  for b in "${todo[@]}"; do
    info "$b v$K8S_VERSION is not cached (cold build: ~4 min for kube-apiserver on 2 cores)"
    GO_TOOL_STAMP=$K8S_VERSION GO_TOOL_MODDIR=$DEST/.build GO_TOOL_PREPARE=k8s_module GO_TOOL_LDFLAGS="-s -w$ld" \
      go_tool_build "$b" "k8s.io/kubernetes@v$K8S_VERSION" "k8s.io/kubernetes/cmd/$b" "$DEST"
  done
else
  info "cached: ${want[*]} v$K8S_VERSION in $DEST"
fi

if [ "$EXPORT" = 1 ]; then
  echo "export KUBEBUILDER_ASSETS='$DEST'"
else
  echo "$DEST"
fi
