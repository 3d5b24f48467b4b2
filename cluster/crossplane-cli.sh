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
# Built by go_tool_build (cluster/lib.sh): a warm run only checks the stamp file next to the binary
# (no go invocation); concurrency-safe through a flock on the scratch module. It also seeds a
# `beta validate` cache (validate-cache/) with the core CRDs of the same module, so validation never
# downloads anything: pass
#   --cache-dir=<dir>/validate-cache --crossplane-image=xpkg.crossplane.io/crossplane/crossplane:<version>
set -euo pipefail

# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
VERSION=${CROSSPLANE_VERSION:-v2.2.0}
DIR=${CROSSPLANE_CLI_DIR:-$REPO_ROOT/.cache/crossplane-cli/$VERSION}
BIN=$DIR/bin/crossplane
export GOFLAGS=${GOFLAGS:--p=2}
# Bump RECIPE when the build below changes, so cached binaries of the old recipe are rebuilt.
RECIPE=2

# Seed `beta validate`'s cache with the core CRDs so it never pulls the crossplane image
# (run in the scratch module once the binary is built, before the stamp).
seed_validate_cache() {
  local src vc
  src=$(go list -m -f '{{.Dir}}' "github.com/crossplane/crossplane/v2")
  vc=$DIR/validate-cache/xpkg.crossplane.io/crossplane/crossplane@$VERSION
  mkdir -p "$vc"
  for f in "$src"/cluster/crds/*.yaml; do cat "$f"; echo "---"; done > "$vc/package.yaml"
}

# A warm run only reads the stamp (bin/.crossplane.version), written after the binary and the
# validate cache.
GO_TOOL_STAMP="$VERSION recipe $RECIPE" GO_TOOL_MODDIR=$DIR/mod GO_TOOL_AFTER=seed_validate_cache \
GO_TOOL_LDFLAGS="-X github.com/crossplane/crossplane/v2/internal/version.version=$VERSION" \
  go_tool_build crossplane "github.com/crossplane/crossplane/v2@$VERSION" github.com/crossplane/crossplane/v2/cmd/crank "$DIR/bin"
echo "$BIN"
