#!/usr/bin/env bash
# fuzz.sh - a short fuzz run of every fuzz target (`make test` runs it with FUZZTIME=10s per target;
# `FUZZTIME=10m bash cluster/fuzz.sh` for a long one). Their seeds run in every plain `go test` too; a
# failure found here is written by Go under the package's testdata/fuzz/ and fails the script: commit it
# with the fix, so it stays a seed.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS="${GOFLAGS:--tags=pacific}"
fuzztime=${FUZZTIME:-10s}
targets=(
  "./internal/clients/proxmox/ FuzzDecode"        # every PVE answer the provider reads
  "./internal/clients/proxmox/ FuzzParseProps"    # property strings (drives, NICs) read and written back
  "./internal/clients/proxmox/ FuzzNodeOfUPID"    # task ids
  "./internal/controller/proxmox/virtualmachine/ FuzzDiffConverges" # a VM's update plan empties
  "./internal/pvesim/ FuzzServeHTTP"              # the simulator's whole handler stack
  "./internal/provenance/record/ FuzzCanonicalRecord" # the record encoder against CanonicalJSON (every record's hash)
  "./internal/jsonstr/ FuzzJSONString"            # JSON strings of the hand-written encoders (simulator, records)
  # a change-log entry into a record. Its seeds are ~560-byte protobufs, and the engine minimizes
  # every new interesting input before fuzzing on, by default for up to 60s each; minimizing bytes
  # tries every subset (O(n^2) calls: ~12s per input here, GODEBUG=fuzzdebug=1 shows it), so a
  # short run spent its whole time minimizing (10 runs counted, then none). 5000 calls per
  # minimization bound that; a failing input is still written (minimized less).
  "./internal/provenance/connector/ FuzzFromEntry -fuzzminimizetime=5000x"
)
rc=0
for t in "${targets[@]}"; do
  read -r pkg name extra <<<"$t"
  start=$(date +%s)
  # shellcheck disable=SC2086 # extra: optional go test flags of this target, word-split on purpose
  run() { go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" ${extra:-} "$pkg" >/tmp/fuzz-$$.out 2>&1; }
  ok=0
  run && ok=1
  # The engine itself sometimes misses its own deadline on a loaded machine ("context deadline
  # exceeded", no failing input written): that says nothing about the target, so it runs again once.
  if [ $ok = 0 ] && grep -q 'context deadline exceeded' /tmp/fuzz-$$.out && ! grep -q 'Failing input written' /tmp/fuzz-$$.out; then
    echo "fuzz $name ($pkg): the fuzz engine missed its deadline without a failing input; running it again"
    run && ok=1
  fi
  if [ $ok = 1 ]; then
    echo "fuzz $name ($pkg): ok, $(grep -o 'execs: [0-9]*' /tmp/fuzz-$$.out | tail -1 | cut -d' ' -f2) runs in $fuzztime, $(( $(date +%s) - start ))s with the build"
  else
    rc=1
    echo "fuzz $name ($pkg): FAILED"
    tail -30 /tmp/fuzz-$$.out
  fi
done
rm -f /tmp/fuzz-$$.out
exit $rc
