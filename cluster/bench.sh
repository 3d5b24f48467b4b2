#!/usr/bin/env bash
# bench.sh - `make bench`: the Go benchmarks whose figures are recorded in docs/benchmarks.md, each
# a side-by-side comparison measured in one run. Output goes to stdout and to
# _output/bench-<date>.txt. Starts (and stops) a Ceph cluster for the pool observation benchmark
# unless MICROCLOUD_BENCH_CEPH=0, and a Fabric network for the ledger benchmark unless
# MICROCLOUD_BENCH_LEDGER=0. MICROCLOUD_BENCH_SCALE=1 adds the scale run (cluster/scale-bench.sh: the
# provider binary against simulated sites at 1,000-10,000 guests, shared cluster view vs per-guest
# polling; off by default: at full size it runs far longer than the rest), with MICROCLOUD_BENCH_SCALE_ARGS passed to
# cmd/scalebench (e.g. "-scenarios 1,3 -n1 500 -sites 20 -vms 50").
# Env: BENCHTIME (default 5x), PROVENANCE_BENCH_RECORDS (default 10000),
#      PROVENANCE_BENCH_SEQ_RECORDS (default 300: one record per transaction is ~8/s).
set -euo pipefail
# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
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
  go test -run '^$' -bench 'BenchmarkAppend' -benchtime=3000x ./internal/provenance/wal/
  go test -run '^$' -bench 'BenchmarkResolveReferences' -benchtime="${BENCHTIME_REFS:-20000x}" ./internal/controller/generic/
} | tee "$out"
if [ "${MICROCLOUD_BENCH_CEPH:-1}" = 1 ]; then
  cdir=${MICROCLOUD_BENCH_CEPH_DIR:-/tmp/microcloud-bench-ceph}
  CEPH_CONF=$(CEPH_LAB_MON_PORT=${CEPH_LAB_MON_PORT:-6798} CEPH_LAB_MON_PORT2=${CEPH_LAB_MON_PORT2:-3308} bash cluster/ceph-up.sh "$cdir")
  CEPH_CONF=$CEPH_CONF go test -run '^$' -bench 'BenchmarkObservePools' -benchtime="$bt" ./internal/clients/ceph/ | tee -a "$out"
  bash cluster/ceph-down.sh "$cdir" --wipe >/dev/null 2>&1 || true
fi
if [ "${MICROCLOUD_BENCH_LEDGER:-1}" = 1 ]; then
  export FABRIC_LAB_DIR=${FABRIC_LAB_DIR:-/tmp/microcloud-bench-fabric}
  trap 'bash cluster/fabric-down.sh >/dev/null 2>&1 || true' EXIT
  eval "$(bash cluster/fabric-up.sh --export)"
  export PROVENANCE_BENCH_RECORDS=${PROVENANCE_BENCH_RECORDS:-10000} PROVENANCE_BENCH_SEQ_RECORDS=${PROVENANCE_BENCH_SEQ_RECORDS:-300}
  go test -run '^$' -bench 'BenchmarkLedger' -benchtime=1x -timeout 60m ./internal/provenance/e2e/ | tee -a "$out"
fi
if [ "${MICROCLOUD_BENCH_SCALE:-0}" = 1 ]; then
  # shellcheck disable=SC2086 # the arguments are meant to split
  bash cluster/scale-bench.sh ${MICROCLOUD_BENCH_SCALE_ARGS:-} | tee -a "$out"
fi
info "results: $out"
