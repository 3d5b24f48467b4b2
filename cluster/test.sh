#!/usr/bin/env bash
# test.sh - `make test`: install what is missing, `make lint` (gofmt, go vet, golangci-lint), `make
# check-generate` (generated code up to date), start the real parts (test API server assets, a Ceph 16
# cluster, a Fabric network), run every Go test against them with MICROCLOUD_REQUIRE_INTEGRATION=1
# (nothing may skip), smoke-test `make run`, and stop what it started, by PID.
#
# Env: MICROCLOUD_TEST_PKGS (default ./...), MICROCLOUD_TEST_RUN (go test -run), GO_TEST_FLAGS,
#      MICROCLOUD_SKIP_SMOKE=1 (skip the `make run` smoke test), MICROCLOUD_SKIP_FUZZ=1 (skip the short
#      fuzz run), FUZZTIME (its time per target, 5s), MICROCLOUD_KEEP=1 (leave parts running)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export GOFLAGS="${GOFLAGS:--tags=pacific}"
# shellcheck source=cluster/lib.sh
. cluster/lib.sh

export CEPH_LAB_DIR=${CEPH_LAB_DIR:-/tmp/microcloud-test-ceph}
export FABRIC_LAB_DIR=${FABRIC_LAB_DIR:-/tmp/microcloud-test-fabric}
# The test cluster keeps Ceph's default ports free for the `make run` smoke test's own cluster.
export CEPH_LAB_MON_PORT=${CEPH_LAB_MON_PORT:-6790} CEPH_LAB_MON_PORT2=${CEPH_LAB_MON_PORT2:-3301}
cleanup() {
  rc=$?
  if [ "${MICROCLOUD_KEEP:-0}" != 1 ]; then
    step "stopping the real parts"
    bash cluster/fabric-down.sh >/dev/null 2>&1 || true
    bash cluster/ceph-down.sh "$CEPH_LAB_DIR" --wipe >/dev/null 2>&1 || true
  fi
  step "done (exit $rc)"
  exit $rc
}
trap cleanup EXIT

step "packages"
bash cluster/deps.sh

step "self-contained: only the PVE schema comparison may read the steering folder beside the clone"
bash cluster/check-shared.sh

step "make lint (gofmt, go vet, golangci-lint)"
make --no-print-directory lint

step "make check-generate (generated code is up to date)"
make --no-print-directory check-generate

step "test API server assets (kube-apiserver from source, etcd from Debian)"
eval "$(bash cluster/envtest-assets.sh --export)"
export KUBEBUILDER_ASSETS

step "Ceph cluster"
CEPH_CONF=$(bash cluster/ceph-up.sh "$CEPH_LAB_DIR")
export CEPH_CONF

step "Fabric network"
bash cluster/fabric-up.sh >&2
export FABRIC_ENV="$FABRIC_LAB_DIR/fabric.env"

step "Crossplane CLI (render, beta validate) for the catalogue tests"
CROSSPLANE_CLI=$(bash cluster/crossplane-cli.sh | tail -1)
export CROSSPLANE_CLI

step "Crossplane core and the provider and function packages (test/e2e installs them through core)"
XP_CORE=$(bash cluster/crossplane-core.sh | tail -1)
MICROCLOUD_PROVIDER_XPKG=$(bash cluster/package.sh provider | tail -1)
MICROCLOUD_FUNCTION_XPKG=$(bash cluster/package.sh function | tail -1)
export XP_CORE MICROCLOUD_PROVIDER_XPKG MICROCLOUD_FUNCTION_XPKG

export MICROCLOUD_REQUIRE_INTEGRATION=1
export MICROCLOUD_REPORT_DIR="$root/.cache/reports"
rm -rf "$MICROCLOUD_REPORT_DIR"
step "go test"
# One failure must not hide another: the smoke test runs whatever go test
# says, and the script fails if either did.
test_rc=0
# shellcheck disable=SC2086
go test -count=1 -timeout 40m ${GO_TEST_FLAGS:-} ${MICROCLOUD_TEST_RUN:+-run "$MICROCLOUD_TEST_RUN"} ${MICROCLOUD_TEST_PKGS:-./...} 2>&1 |
  tee "$root/.cache/go-test.log" || test_rc=$?
for f in "$MICROCLOUD_REPORT_DIR"/*; do
  [ -f "$f" ] && { echo "--- report: $(basename "$f")"; cat "$f"; }
done

step "leak scan (cluster/leak-scan.sh: the cephx, RGW and Fabric credentials in no test output, log or ledger)"
bash cluster/leak-scan.sh "$root/.cache/go-test.log" || test_rc=1

if [ "${MICROCLOUD_SKIP_FUZZ:-0}" != 1 ]; then
  step "short fuzz run (cluster/fuzz.sh, FUZZTIME=${FUZZTIME:-5s} per target)"
  FUZZTIME=${FUZZTIME:-5s} bash cluster/fuzz.sh || test_rc=1
fi

smoke_rc=0
if [ "${MICROCLOUD_SKIP_SMOKE:-0}" != 1 ]; then
  step "make run smoke test"
  bash cluster/run.sh --smoke || smoke_rc=$?
fi
step "go test: $([ $test_rc = 0 ] && echo passed || echo "FAILED (exit $test_rc)"); make run smoke test: $([ "${MICROCLOUD_SKIP_SMOKE:-0}" = 1 ] && echo skipped || { [ $smoke_rc = 0 ] && echo passed || echo "FAILED (exit $smoke_rc)"; })"
[ $test_rc = 0 ] && [ $smoke_rc = 0 ]
