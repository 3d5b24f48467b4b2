package e2e

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/chaincode"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/ledger"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// auditor connects with the auditor's identity (its own CA) to the auditor's own peer.
func (f fabric) auditor(t testing.TB) *ledger.Client {
	t.Helper()
	cfg := ledger.ConfigFor(f.vars, ledger.PartyAuditor)
	require.NoError(t, cfg.Validate(), "fabric.env has no auditor (FABRIC_AUDITOR_*): cluster/fabric-up.sh too old?")
	require.NotEqual(t, f.cfg.PeerEndpoint, cfg.PeerEndpoint, "the auditor must read from its own peer")
	require.NotEqual(t, f.cfg.MSPID, cfg.MSPID, "the auditor must be another organisation")
	c, err := ledger.Dial(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// tamper connects as the operator to the test-only unchecked chaincode (stores records
// without checks, its own Verify always says OK) and returns its name.
func (f fabric) tamper(t testing.TB) (*ledger.Client, string) {
	t.Helper()
	cfg := f.cfg
	cfg.Chaincode = f.vars["FABRIC_TAMPER_CHAINCODE"]
	require.NotEmpty(t, cfg.Chaincode, "fabric.env has no FABRIC_TAMPER_CHAINCODE: cluster/fabric-up.sh too old?")
	c, err := ledger.Dial(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c, cfg.Chaincode
}

// TestOneOrganisationAloneCannotCommit: the chaincode's endorsement policy needs both the
// operator's and the auditor's peer; a PutBatch endorsed by either organisation alone is
// ordered but committed invalid (ENDORSEMENT_POLICY_FAILURE) and leaves nothing on the
// ledger, while the same batch endorsed as the policy says is stored.
func TestOneOrganisationAloneCannotCommit(t *testing.T) {
	f := requireFabric(t)
	lc := f.dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := "Machine.test.dev/e2e-oneorg-" + nonce(t) + "/vm"
	c := sealedChain(t, key, 2)

	for _, org := range []string{f.cfg.MSPID, ledger.ConfigFor(f.vars, ledger.PartyAuditor).MSPID} {
		_, err := lc.PutBatchEndorsedBy(ctx, c, org)
		require.Error(t, err, "a batch endorsed by %s alone must not commit", org)
		var ce *ledger.CommitError
		require.True(t, errors.As(err, &ce), "want a commit error, got %v", err)
		assert.Equal(t, peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE, ce.Code, "endorsed by %s alone: %v", org, err)
		t.Logf("endorsed by %s alone: %v", org, err)
		h, err := lc.Head(ctx, key)
		require.NoError(t, err)
		assert.EqualValues(t, 0, h.Count, "nothing stored after a batch endorsed by %s alone", org)
	}

	res, err := lc.PutBatchEndorsedBy(ctx, c, f.cfg.MSPID, ledger.ConfigFor(f.vars, ledger.PartyAuditor).MSPID)
	require.NoError(t, err)
	assert.Equal(t, chaincode.PutResult{Stored: 2}, res)
	requireChain(ctx, t, lc, key, 2)
}

// TestAuditorCannotWrite: the auditor's identity reads but does not write: its PutBatch
// is refused by the chaincode on both peers (only Org1MSP may write), nothing is stored.
func TestAuditorCannotWrite(t *testing.T) {
	f := requireFabric(t)
	ac := f.auditor(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := "Machine.test.dev/e2e-audwrite-" + nonce(t) + "/vm"
	_, err := ac.PutBatch(ctx, sealedChain(t, key, 1))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "AuditorMSP may not write")
	h, err := ac.Head(ctx, key)
	require.NoError(t, err)
	assert.EqualValues(t, 0, h.Count)
}

// TestAuditorVerifiesIndependently: what the operator writes, the auditor reads from its
// own peer with its own identity and re-checks record by record; `provenance-connector
// verify --as auditor` says OK and prints the timeline, `--output json` the report.
func TestAuditorVerifiesIndependently(t *testing.T) {
	f := requireFabric(t)
	lc, ac := f.dial(t), f.auditor(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := "Machine.test.dev/e2e-audit-" + nonce(t) + "/vm"
	c := sealedChain(t, key, 3)
	_, err := lc.PutBatch(ctx, c)
	require.NoError(t, err)

	waitForCount(ctx, t, ac, []string{key}, 3) // the block reaches the auditor's peer
	rep, err := ac.Verify(ctx, key)
	require.NoError(t, err)
	assert.True(t, rep.OK, "%+v", rep.Breaks)
	assert.EqualValues(t, 3, rep.Records)
	hist, err := ac.History(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, c, hist)

	bin := connectorBinary(t)
	out, err := exec.Command(bin, "verify", "--fabric-env", f.envFile, "--as", "auditor", "--resource", key).CombinedOutput() //nolint:gosec // test binary
	require.NoError(t, err, "verify --as auditor: %s", out)
	t.Logf("verify --as auditor:\n%s", out)
	assert.Contains(t, string(out), "chain OK: 3 records")
	assert.Contains(t, string(out), "OK: 3 records, head "+c[2].Hash)
	for _, r := range c {
		assert.Contains(t, string(out), r.ID[:12], "the timeline lists every record")
	}
	out, err = exec.Command(bin, "verify", "--fabric-env", f.envFile, "--as", "auditor", "--resource", key, "--output", "json").Output() //nolint:gosec // test binary
	require.NoError(t, err)
	assert.Contains(t, string(out), `"ok": true`)
	out, err = exec.Command(bin, "history", "--fabric-env", f.envFile, "--as", "auditor", "--resource", key, "--output", "json").Output() //nolint:gosec // test binary
	require.NoError(t, err)
	assert.Contains(t, string(out), c[0].Hash)
}

// TestVerifyCatchesUncheckedChaincode: records written through a chaincode that skipped
// its checks (the test network's provenance-tamper chaincode, built with -tags
// provenancetamper, whose own Verify also says OK) are caught by the client-side verify,
// which names each break, and `provenance-connector verify` exits 1.
func TestVerifyCatchesUncheckedChaincode(t *testing.T) {
	f := requireFabric(t)
	tc, tamperCC := f.tamper(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	key := "Machine.test.dev/e2e-tamper-" + nonce(t) + "/vm"
	c := sealedChain(t, key, 4)
	edited := c[1]
	edited.Message = "edited after sealing" // content no longer matches the hash
	relinked := c[3]
	relinked.PrevHash = strings.Repeat("0", 64) // a record spliced in from elsewhere
	require.NoError(t, relinked.Seal(relinked.PrevHash))
	chain := []record.Record{c[0], edited, c[2], relinked}

	// the real chaincode refuses the edited record
	_, err := f.dial(t).PutBatch(ctx, chain)
	require.ErrorContains(t, err, "hash does not match its content")
	// the unchecked one stores all of it, and its own Verify says OK
	res, err := tc.PutBatch(ctx, chain)
	require.NoError(t, err)
	assert.Equal(t, chaincode.PutResult{Stored: 4}, res)
	onPeer, err := tc.VerifyOnPeer(ctx, key)
	require.NoError(t, err)
	assert.True(t, onPeer.OK, "the tamper chaincode's Verify lies, as a compromised peer would")

	rep, err := tc.Verify(ctx, key)
	require.NoError(t, err)
	assert.False(t, rep.OK)
	var at []int64
	for _, b := range rep.Breaks {
		at = append(at, b.Index)
	}
	assert.Equal(t, []int64{1, 3}, at, "breaks %+v", rep.Breaks)
	require.Len(t, rep.Breaks, 2)
	assert.Contains(t, rep.Breaks[0].Reason, "hash does not match its content")
	assert.Contains(t, rep.Breaks[1].Reason, "link broken")

	cmd := exec.Command(connectorBinary(t), "verify", "--fabric-env", f.envFile, "--chaincode", tamperCC, "--resource", key) //nolint:gosec // test binary
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	t.Logf("verify of the tampered chain:\n%s%s", stdout.String(), stderr.String())
	var ee *exec.ExitError
	require.True(t, errors.As(err, &ee), "verify must exit non-zero: %v", err)
	assert.Equal(t, 1, ee.ExitCode())
	assert.Contains(t, stdout.String(), "BREAK: record "+edited.ID+" of "+key+": hash does not match its content")
	assert.Contains(t, stdout.String(), "BREAK: link broken")
	assert.Contains(t, stdout.String(), "chain BROKEN: 2 break(s) in 4 records")
	assert.Contains(t, stderr.String(), "BREAK at record 1 ("+edited.ID+")")
	assert.Contains(t, stderr.String(), "BREAK at record 3 ("+relinked.ID+")")
}
