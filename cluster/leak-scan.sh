#!/usr/bin/env bash
# leak-scan.sh - `make test`'s leak scan: none of the credentials the test run's real parts hold may
# appear in what the run produced. The credentials: the Ceph cluster's client.admin cephx key, its
# RADOS Gateway admin secret key, and the Fabric client identities' private keys (the operator's, which
# the provenance connector signs with, and the auditor's). Where they are looked for: the go test output
# given as $1 (every test's log, the provider's included), the Fabric network's logs (peers, orderer,
# chaincode servers) and its data directory (the peers' and orderer's ledgers: every provenance record
# the tests wrote is in those blocks). Only the place is printed, never the value. (`make run`'s smoke
# test scans its own run: the simulators' API tokens, its cephx key and RGW secret; cluster/run.sh.)
#
# Env: CEPH_LAB_DIR, FABRIC_ENV (as cluster/test.sh exports them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck source=cluster/lib.sh
. cluster/lib.sh

log=${1:?usage: leak-scan.sh GO_TEST_OUTPUT}
[ -f "$log" ] || die "leak scan: no go test output at $log"
# fabric.env is KEY=value lines (not all of them shell: the endorsement policy has parentheses)
env_of() { sed -n "s/^$1=//p" "${FABRIC_ENV:?}"; }
FABRIC_USER_KEY=$(env_of FABRIC_USER_KEY)
FABRIC_AUDITOR_USER_KEY=$(env_of FABRIC_AUDITOR_USER_KEY)
net=$(dirname "$FABRIC_ENV")

names=() values=() sources=()
add() { names+=("$1"); values+=("$2"); sources+=("$3"); }
keyring="$CEPH_LAB_DIR/client.admin.keyring"
add "cephx client.admin key" "$(awk '/key *=/ {print $3}' "$keyring")" "$keyring"
# shellcheck disable=SC1091
add "RGW admin secret key" "$(. "$CEPH_LAB_DIR/rgw-admin.env" && echo "$RGW_SECRET_KEY")" "$CEPH_LAB_DIR/rgw-admin.env"
# A PEM key's body joined: a leak in PEM form shows its first line, one as a single base64 string
# starts with the same characters; 64 of them are enough to be unique.
pem_head() { grep -v -- '-----' "$1" | tr -d '\n' | cut -c1-64; }
add "Fabric operator client private key" "$(pem_head "$FABRIC_USER_KEY")" "$FABRIC_USER_KEY"
add "Fabric auditor client private key" "$(pem_head "$FABRIC_AUDITOR_USER_KEY")" "$FABRIC_AUDITOR_USER_KEY"

# The control: each value must be read from where it lives, and be long enough to mean something.
for i in "${!values[@]}"; do
  v=${values[$i]}
  [ ${#v} -ge 16 ] || die "leak scan: the ${names[$i]} read from ${sources[$i]} is too short to scan for (${#v} characters)"
  grep -qF -- "$v" "${sources[$i]}" || die "leak scan: the ${names[$i]} is not in ${sources[$i]} as read: the scan's inputs are wrong"
done

files=("$log")
while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$net/logs" "$net/data" -type f -print0 2>/dev/null)
# One pass over everything for any of the values (the network still runs: files may come and go),
# then, only for the files that hold one, which.
pats=$(mktemp)
trap 'rm -f "$pats"' EXIT
printf '%s\n' "${values[@]}" > "$pats"
leaks=0
while IFS= read -r f; do
  for i in "${!values[@]}"; do
    if grep -aqF -- "${values[$i]}" "$f" 2>/dev/null; then
      warn "leak scan: the ${names[$i]} appears in $f"
      leaks=$((leaks + 1))
    fi
  done
done < <(grep -alFf "$pats" -- "${files[@]}" 2>/dev/null || true)
[ $leaks = 0 ] || die "leak scan: $leaks finding(s) above"
info "leak scan: ${#values[@]} credentials, none in the go test output and $((${#files[@]} - 1)) Fabric log and ledger files"
