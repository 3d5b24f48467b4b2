//go:build provenancetamper

package chaincode

// TEST ONLY. This file is compiled only with -tags provenancetamper, which
// cluster/fabric-up.sh uses for the "provenance-tamper" chaincode of the test network:
// a chaincode that skipped its checks, so the tests can put a broken chain on a real
// ledger and show that `provenance-connector verify` (client side) catches it. Never
// build the production chaincode with this tag.
func init() { unchecked = true }
