#!/usr/bin/env bash
# package.sh - build the installable Crossplane package (xpkg) of provider-microcloud without Docker
# and without downloads beyond the Go module proxy:
#   1. cmd/provider (cgo: go-ceph links librados/librbd, -tags pacific),
#   2. its runtime image as an image tarball (cmd/imagebuild: the binary, the shared libraries and
#      loader the host maps for it, librados' dlopen plugins, minimal /etc; user 65532),
#   3. `crossplane xpkg build` (CLI v2.2.0, cluster/crossplane-cli.sh) with package/crossplane.yaml,
#      the generated CRDs in package/crds and that tarball embedded as the runtime image, run with
#      HTTPS/HTTP proxies pointing at a closed port, so it cannot reach a registry.
# Prints the xpkg's path on the last line of stdout; the rest goes to stderr.
#
# Usage:   XPKG=$(cluster/package.sh | tail -1)            the provider package
#          FNPKG=$(cluster/package.sh function | tail -1)  function-microcloud's package (meta kind
#          Function, package root cmd/function-microcloud/package, binary at /function)
# Env:
#   PACKAGE_OUTPUT_DIR  where the xpkg and the runtime tarball go (default <repo>/_output)
#   PACKAGE_ROOT        the provider package's root (default <repo>/package: crossplane.yaml and crds/)
#   VERSION             provider version (default: git describe --tags --always --dirty)
#   CROSSPLANE_CLI      the crossplane binary (default: built or reused by cluster/crossplane-cli.sh)
#   CEPH_PLUGIN_DIRS    dlopen plugin dirs to include (default: Ceph's compressor and crypto dirs)
#   GOFLAGS             defaults to -p=2 (2-core machines); -tags=pacific is always added
set -euo pipefail
# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
OUT=${PACKAGE_OUTPUT_DIR:-$ROOT/_output}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK="$OUT/.package-work"
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)}
REVISION=$(git rev-parse HEAD 2>/dev/null || true)
# The commit time stamps the image (creation time, file mtimes): same tree, same image digest.
EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
export GOFLAGS="${GOFLAGS:--p=2} -tags=pacific"
export CGO_ENABLED=1
CEPH_LIB=/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)/ceph
CEPH_PLUGIN_DIRS=${CEPH_PLUGIN_DIRS:-$CEPH_LIB/compressor $CEPH_LIB/crypto}


KIND=${1:-provider}
case $KIND in
  provider) NAME=provider-microcloud; PKG=./cmd/provider; ENTRY=/provider; ROOT_DIR=${PACKAGE_ROOT:-$ROOT/package}
    TITLE=provider-microcloud; DESC="Crossplane provider for Proxmox VE and Ceph with a Fabric provenance ledger" ;;
  function) NAME=function-microcloud; PKG=./cmd/function-microcloud; ENTRY=/function; ROOT_DIR=$ROOT/cmd/function-microcloud/package
    TITLE=function-microcloud; DESC="Composition function of the micro-cloud catalogue"; CEPH_PLUGIN_DIRS="" ;;
  *) die "usage: $0 [provider|function]" ;;
esac

CROSSPLANE_CLI=${CROSSPLANE_CLI:-$(bash "$ROOT/cluster/crossplane-cli.sh" | tail -1)}
[ -x "$CROSSPLANE_CLI" ] || die "no crossplane CLI at '$CROSSPLANE_CLI'"

WORK="$WORK-$KIND"
rm -rf "$WORK"
mkdir -p "$WORK"

step "building $PKG $VERSION (cgo, -tags pacific)"
# No -trimpath: it would give every package a different build cache key from `go build`/`go test`,
# and compile everything twice on a cold machine. -s -w -X only change the link step.
go build -ldflags "-s -w -X github.com/microcloud-dev/provider-microcloud/internal/version.Version=$VERSION" \
  -o "$WORK/$NAME" "$PKG"
go build -o "$WORK/imagebuild" ./cmd/imagebuild

step "runtime image tarball"
plugin_flags=()
for d in $CEPH_PLUGIN_DIRS; do
  if [ -d "$d" ]; then plugin_flags+=("--plugin-dir=$d"); else warn "no plugin dir $d, skipped"; fi
done
RUNTIME="$OUT/$NAME-runtime.tar"
"$WORK/imagebuild" --binary="$WORK/$NAME" --entrypoint="$ENTRY" --title="$TITLE" --description="$DESC" \
  --repository="xpkg.local/microcloud-dev/$NAME" --output="$RUNTIME" --version="$VERSION" \
  --revision="$REVISION" --created="$EPOCH" ${plugin_flags[@]+"${plugin_flags[@]}"}

step "crossplane xpkg build (offline)"
XPKG="$OUT/$NAME.xpkg"
rm -f "$XPKG"
# Examples are left out of the package: --examples-root names a directory that does not exist.
# The closed proxies make any registry access fail instead of downloading.
HTTPS_PROXY=http://127.0.0.1:1 HTTP_PROXY=http://127.0.0.1:1 NO_PROXY=127.0.0.1 \
https_proxy=http://127.0.0.1:1 http_proxy=http://127.0.0.1:1 no_proxy=127.0.0.1 \
  "$CROSSPLANE_CLI" xpkg build --package-root="$ROOT_DIR" \
    --examples-root="$WORK/no-examples" \
    --embed-runtime-image-tarball="$RUNTIME" \
    --package-file="$XPKG" >&2

rm -rf "$WORK"
step "done: $(du -h "$XPKG" | cut -f1) package, $(du -h "$RUNTIME" | cut -f1) runtime tarball"
echo "$XPKG"
