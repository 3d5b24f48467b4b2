#!/usr/bin/env bash
# examples.sh - apply the examples/ GitOps tree as it is, or wait until every managed resource in
# it is Ready. Used by run.sh; the examples themselves need no rendering.
# Usage: examples.sh apply KUBECTL | examples.sh wait KUBECTL
# Env:   MICROCLOUD_CEPH=0 leaves out examples/ceph; MICROCLOUD_EXAMPLES_TIMEOUT (default 300s).
set -euo pipefail
# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root=$(cd "$(dirname "$0")/.." && pwd)
K=$2
dirs=("$root/examples/providerconfig")
[ "${MICROCLOUD_CEPH:-1}" = 1 ] && [ -d "$root/examples/ceph" ] && dirs+=("$root/examples/ceph")
[ -d "$root/examples/proxmox" ] && dirs+=("$root/examples/proxmox")
case $1 in
  apply)
    # The namespaces first: a namespaced ProviderConfig (site-a) lives in team-a.
    "$K" apply -f "$root/examples/namespaces.yaml" >&2
    for d in "${dirs[@]}"; do "$K" apply -f "$d" >&2; done ;;
  wait)
    t=${MICROCLOUD_EXAMPLES_TIMEOUT:-300}
    for d in "${dirs[@]:1}"; do
      # Every object in these folders is a managed resource with a Ready condition.
      if ! "$K" wait --for=condition=Ready --timeout="${t}s" -f "$d" >&2; then
        "$K" get -f "$d" -o wide >&2 || true
        "$K" describe -f "$d" >&2 || true
        exit 1
      fi
    done ;;
  *) info "usage: $0 apply|wait KUBECTL"; exit 2 ;;
esac
