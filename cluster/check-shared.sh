#!/usr/bin/env bash
# check-shared.sh - a clone with nothing beside it must pass `make test`: no code or script may
# depend on ../shared (the steering folder beside the repository) except the comparison of the PVE
# simulator's specs with the official schema (internal/pvesim's schema test, which skips without it)
# and the specs.json generator that reads the schema. Docs may cite it. Fails listing offenders.
set -euo pipefail
# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$(dirname "$0")/.."
allowed='^(internal/pvesim/helpers_test\.go|internal/pvesim/schema_test\.go|internal/pvesim/doc\.go|internal/pvesim/internal/schemagen/main\.go|cluster/check-shared\.sh):'
hits=$(git grep -nE '\.\./shared|/shared/(pve-api|recipes|design\.md|style\.md)' -- ':!*.md' ':!docs/**' || true)
bad=$(printf '%s\n' "$hits" | grep -vE "$allowed" | grep -v '^$' || true)
if [ -n "$bad" ]; then
  echo "these refer to ../shared, which a clone does not have (only the PVE schema comparison may):" >&2
  echo "$bad" >&2
  exit 1
fi
info "ok (only the PVE schema comparison refers to ../shared)"
