#!/usr/bin/env bash
# crossplane-core.sh - build Crossplane core (`crossplane core init|start`) v2.4.0 from the Go module
# github.com/crossplane/crossplane/v2 (cmd/crossplane) in a scratch module, with its version stamped
# (unstamped, core refuses every package with a `spec.crossplane.version` constraint), cache it under
# the repo's git-ignored .cache/crossplane-core/<version>/, copy the core CRDs of the same module next
# to it, and print the binary's path on the last line of stdout.
#
# Usage:   XP_CORE=$(cluster/crossplane-core.sh | tail -1); XP_CRDS=$(dirname "$XP_CORE")/crds
# Env:
#   CROSSPLANE_CORE_VERSION  core version (default v2.4.0)
#   CROSSPLANE_CORE_DIR      cache dir (default <repo>/.cache/crossplane-core/<version>)
#   GOFLAGS                  defaults to -p=2 (2-core machines)
# Built by go_tool_build (cluster/lib.sh): a warm run only checks the stamp file next to the binary.
set -euo pipefail

# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
VERSION=${CROSSPLANE_CORE_VERSION:-v2.4.0}
DIR=${CROSSPLANE_CORE_DIR:-$REPO_ROOT/.cache/crossplane-core/$VERSION}
export GOFLAGS=${GOFLAGS:--p=2}
# Bump RECIPE when the build below changes, so cached binaries of the old recipe are rebuilt.
RECIPE=1

# Core's go.mod has a local replace, so `go install pkg@version` is refused; a plain `go get` of core
# selects apis/v2 v2.3.4, so pin apis/v2 to the same version.
prepare() {
  [ -f go.mod ] || go mod init microcloud.local/crossplane-core-tools >/dev/null 2>&1
  printf '//go:build tools\n\n// Package tools pins Crossplane core for this scratch module (cluster/crossplane-core.sh).\npackage tools\n\nimport _ "github.com/crossplane/crossplane/v2/cmd/crossplane"\n' > tools.go
  info "resolving github.com/crossplane/crossplane/v2@$VERSION"
  go get "github.com/crossplane/crossplane/v2@$VERSION" "github.com/crossplane/crossplane/apis/v2@$VERSION"
  go mod tidy
}

# The core CRDs Crossplane installs (cluster/crds of the same module), applied before `core init`.
copy_crds() {
  local src
  src=$(go list -m -f '{{.Dir}}' "github.com/crossplane/crossplane/v2")
  rm -rf "$DIR/bin/crds" && mkdir -p "$DIR/bin/crds"
  cp "$src"/cluster/crds/*.yaml "$DIR/bin/crds/"
  chmod -R u+w "$DIR/bin/crds"
}

GO_TOOL_STAMP="$VERSION recipe $RECIPE" GO_TOOL_MODDIR=$DIR/mod GO_TOOL_PREPARE=prepare GO_TOOL_AFTER=copy_crds \
GO_TOOL_LDFLAGS="-X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=$VERSION" \
  go_tool_build crossplane "github.com/crossplane/crossplane/v2@$VERSION" github.com/crossplane/crossplane/v2/cmd/crossplane "$DIR/bin"
echo "$DIR/bin/crossplane"
