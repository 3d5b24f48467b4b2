#!/usr/bin/env bash
# crossplane-cli.sh - build the Crossplane CLI (`crossplane render`, `crossplane beta validate`) from
# the Go module github.com/crossplane/crossplane/v2 v2.2.0 (cmd/crank; later versions moved the CLI to
# a repository the module proxy does not serve) in a scratch module, cache it under the repo's
# git-ignored .cache/crossplane-cli/, and print the binary's path on the last line of stdout.
#
# Usage:   CROSSPLANE_CLI=$(cluster/crossplane-cli.sh)
# Env:
#   CROSSPLANE_VERSION     CLI version (default v2.2.0)
#   CROSSPLANE_CLI_DIR     cache dir (default <repo>/.cache/crossplane-cli/<version>)
#   GOFLAGS                defaults to -p=2 (2-core machines)
#
# A warm run only checks the stamp file next to the binary (no go invocation). Concurrency-safe
# through a flock on the cache dir. It also seeds a `beta validate` cache (validate-cache/) with the
# core CRDs of the same module, so validation never downloads anything: pass
#   --cache-dir=<dir>/validate-cache --crossplane-image=xpkg.crossplane.io/crossplane/crossplane:<version>
set -euo pipefail

VERSION=${CROSSPLANE_VERSION:-v2.2.0}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${CROSSPLANE_CLI_DIR:-$ROOT/.cache/crossplane-cli/$VERSION}
BIN=$DIR/bin/crossplane
STAMP=$DIR/bin/.version
export GOFLAGS=${GOFLAGS:--p=2}
# Bump RECIPE when the build below changes, so cached binaries of the old recipe are rebuilt.
RECIPE=2
WANT="$VERSION recipe $RECIPE"

log() { echo "crossplane-cli: $*" >&2; }

# Fast path without the lock: the stamp is written last, after the binary and the validate cache.
if [ -x "$BIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ]; then
  echo "$BIN"; exit 0
fi

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi
if [ -x "$BIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$WANT" ]; then
  echo "$BIN"; exit 0
fi

start=$(date +%s)
MOD=$DIR/mod
mkdir -p "$MOD" "$DIR/bin"
cd "$MOD"
if [ ! -f go.mod ]; then
  go mod init microcloud.local/crossplane-cli >/dev/null 2>&1
fi
# The CLI module's own go.mod decides the dependency versions; tidy fills go.sum for cmd/crank.
cat > tools.go <<'EOF'
//go:build tools

// Package tools pins the Crossplane CLI for this scratch module.
package tools

import _ "github.com/crossplane/crossplane/v2/cmd/crank"
EOF
log "resolving github.com/crossplane/crossplane/v2@$VERSION"
go get "github.com/crossplane/crossplane/v2@$VERSION" >&2
go mod tidy >&2
log "building cmd/crank"
go build -ldflags "-X github.com/crossplane/crossplane/v2/internal/version.version=$VERSION" \
  -o "$BIN.tmp" github.com/crossplane/crossplane/v2/cmd/crank >&2
mv "$BIN.tmp" "$BIN"

# Seed `beta validate`'s cache with the core CRDs so it never pulls the crossplane image.
SRC=$(go list -m -f '{{.Dir}}' "github.com/crossplane/crossplane/v2")
VC=$DIR/validate-cache/xpkg.crossplane.io/crossplane/crossplane@$VERSION
mkdir -p "$VC"
for f in "$SRC"/cluster/crds/*.yaml; do cat "$f"; echo "---"; done > "$VC/package.yaml"

echo "$WANT" > "$STAMP"
log "built in $(( $(date +%s) - start )) s"
echo "$BIN"
