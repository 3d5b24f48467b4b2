#!/usr/bin/env bash
# bench.sh - `make bench`: the Go benchmarks whose figures are recorded in docs/benchmarks.md, each
# a side-by-side comparison measured in one run. Output goes to stdout and to
# _output/bench-<date>.txt. Starts (and stops) a Fabric network for the ledger benchmark unless
# MICROCLOUD_BENCH_LEDGER=0.
# Env: BENCHTIME (default 5x), PROVENANCE_BENCH_RECORDS (default 10000),
#      PROVENANCE_BENCH_SEQ_RECORDS (default 300: one record per transaction is ~8/s).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export GOFLAGS="${GOFLAGS:--tags=pacific}"
mkdir -p _output
out=_output/bench-$(date +%Y%m%d-%H%M%S).txt
bt=${BENCHTIME:-5x}
{
  echo "# provider-microcloud benchmarks, $(date -u +%FT%TZ), $(nproc) cores, $(go version)"
  go test -run '^$' -bench 'BenchmarkObservePoll' -benchtime="$bt" ./internal/controller/proxmox/virtualmachine/
  go test -run '^$' -bench 'BenchmarkClusterResources' -benchtime="$bt" ./internal/pvesim/
} | tee "$out"
if [ "${MICROCLOUD_BENCH_LEDGER:-1}" = 1 ]; then
  export FABRIC_LAB_DIR=${FABRIC_LAB_DIR:-/tmp/microcloud-bench-fabric}
  trap 'bash cluster/fabric-down.sh >/dev/null 2>&1 || true' EXIT
  eval "$(bash cluster/fabric-up.sh --export)"
  export PROVENANCE_BENCH_RECORDS=${PROVENANCE_BENCH_RECORDS:-10000} PROVENANCE_BENCH_SEQ_RECORDS=${PROVENANCE_BENCH_SEQ_RECORDS:-300}
  go test -run '^$' -bench 'BenchmarkLedger' -benchtime=1x -timeout 60m ./internal/provenance/e2e/ | tee -a "$out"
fi
echo "results: $out" >&2
