package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/ledger"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// ownedChain is a resource's chain, one record per time, each naming the composite and
// the claim (namespace/name) as Crossplane's labels would.
func ownedChain(t *testing.T, key string, times []time.Time, composite, claimNS, claim string) []record.Record {
	t.Helper()
	out := make([]record.Record, 0, len(times))
	prev := ""
	for i, ts := range times {
		r := record.Record{ResourceKey: key, UID: "uid-" + key, Generation: int64(i + 1), APIVersion: "test.dev/v1",
			Kind: "Machine", Name: filepath.Base(key), Composite: composite, ClaimNamespace: claimNS, ClaimName: claim,
			Operation: record.OpUpdate, Outcome: record.OutcomeSuccess, SpecHash: "spec", Time: ts.UTC().Format(time.RFC3339Nano)}
		require.NoError(t, r.Seal(prev))
		prev = r.Hash
		out = append(out, r)
	}
	return out
}

// claimFixture: resources a and b of one claim and one composite, c of another
// composite; times interleave a and b (a0 c0 b0 a1 b1 a2), submitted a, c, b so that
// the ledger's order is not the timeline's.
type claimFixture struct {
	ns, claim, composite string
	a, b, c              []record.Record
}

func newClaimFixture(t *testing.T, prefix string) claimFixture {
	t.Helper()
	n := nonce(t)
	fx := claimFixture{ns: prefix + "-" + n, claim: "blog-" + n, composite: "vps-" + n}
	at := func(ms ...int) []time.Time {
		base := time.Now().UTC().Truncate(time.Second)
		var out []time.Time
		for _, m := range ms {
			out = append(out, base.Add(time.Duration(m)*time.Millisecond))
		}
		return out
	}
	fx.a = ownedChain(t, "Machine.test.dev/"+fx.ns+"/vm-a", at(0, 30, 50), fx.composite, fx.ns, fx.claim)
	fx.b = ownedChain(t, "Disk.test.dev/"+fx.ns+"/disk-b", at(20, 40), fx.composite, fx.ns, fx.claim)
	fx.c = ownedChain(t, "Machine.test.dev/"+fx.ns+"/other", at(10), "other-"+n, "", "")
	return fx
}

func (fx claimFixture) timeline() []record.Record {
	return []record.Record{fx.a[0], fx.b[0], fx.a[1], fx.b[1], fx.a[2]}
}

func (fx claimFixture) put(ctx context.Context, t *testing.T, lc *ledger.Client) {
	t.Helper()
	for _, c := range [][]record.Record{fx.a, fx.c, fx.b} {
		_, err := lc.PutBatch(ctx, c)
		require.NoError(t, err)
	}
}

// runConnector runs the provenance-connector binary and returns stdout, stderr and its
// exit code.
func runConnector(t *testing.T, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...) //nolint:gosec // test binary
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	t.Logf("provenance-connector %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	return stdout.String(), stderr.String(), code
}

// TestClaimTimeline: the chaincode files each resource under the composite and the claim
// its records name; the auditor, with its own identity on its own peer, lists a claim's
// resources and `provenance-connector history|verify --claim|--composite` prints one
// timeline of exactly those resources, ordered by time, each row naming its resource.
func TestClaimTimeline(t *testing.T) {
	f := requireFabric(t)
	lc, ac := f.dial(t), f.auditor(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fx := newClaimFixture(t, "e2e-claim")
	fx.put(ctx, t, lc)
	waitForCount(ctx, t, ac, []string{fx.b[0].ResourceKey}, 2) // the last block reached the auditor's peer

	keys, err := ac.ResourcesOfClaim(ctx, fx.ns, fx.claim)
	require.NoError(t, err)
	assert.Equal(t, []string{fx.b[0].ResourceKey, fx.a[0].ResourceKey}, keys, "the claim's resources, sorted")
	keys, err = ac.ResourcesOfComposite(ctx, fx.composite)
	require.NoError(t, err)
	assert.Equal(t, []string{fx.b[0].ResourceKey, fx.a[0].ResourceKey}, keys)

	bin := connectorBinary(t)
	as := []string{"--fabric-env", f.envFile, "--as", "auditor"}
	out, _, code := runConnector(t, bin, append([]string{"history", "--claim", fx.ns + "/" + fx.claim, "--output", "json"}, as...)...)
	require.Equal(t, 0, code)
	var got []record.Record
	require.NoError(t, json.Unmarshal([]byte(out), &got))
	assert.Equal(t, fx.timeline(), got, "exactly the claim's records, ordered by time")

	out, _, code = runConnector(t, bin, append([]string{"history", "--composite", fx.composite}, as...)...)
	require.Equal(t, 0, code)
	assert.NotContains(t, out, fx.c[0].ResourceKey)
	var rows []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, fx.a[0].ResourceKey) || strings.Contains(l, fx.b[0].ResourceKey) {
			rows = append(rows, l)
		}
	}
	require.Len(t, rows, 5, "one row per record")
	for i, r := range fx.timeline() {
		assert.Contains(t, rows[i], r.ResourceKey, "row %d", i)
		assert.Contains(t, rows[i], r.ID[:12], "row %d", i)
	}

	out, stderr, code := runConnector(t, bin, append([]string{"verify", "--claim", fx.ns + "/" + fx.claim}, as...)...)
	require.Equal(t, 0, code)
	assert.Contains(t, out, "all 2 chains OK (5 records)")
	assert.Contains(t, stderr, "OK: 2 resources, 5 records")
	out, _, code = runConnector(t, bin, append([]string{"verify", "--composite", fx.composite, "--output", "json"}, as...)...)
	require.Equal(t, 0, code)
	var rep struct {
		OK        bool            `json:"ok"`
		Records   int64           `json:"records"`
		Resources []record.Report `json:"resources"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.True(t, rep.OK)
	assert.EqualValues(t, 5, rep.Records)
	require.Len(t, rep.Resources, 2)

	_, stderr, code = runConnector(t, bin, append([]string{"verify", "--claim", fx.ns + "/nobody"}, as...)...)
	assert.Equal(t, 2, code, "a claim without records is an error, not OK")
	assert.Contains(t, stderr, "no resource has records naming claim "+fx.ns+"/nobody")
}

// TestVerifyClaimNamesTheBrokenChain: the same claim written through the test-only
// unchecked chaincode with one record of b edited: `verify --claim` re-checks both
// chains, names the break in b's and no other, and exits 1.
func TestVerifyClaimNamesTheBrokenChain(t *testing.T) {
	f := requireFabric(t)
	tc, tamperCC := f.tamper(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fx := newClaimFixture(t, "e2e-claimtamper")
	fx.b[1].Message = "edited after sealing"
	fx.put(ctx, t, tc)

	bin := connectorBinary(t)
	args := []string{"verify", "--fabric-env", f.envFile, "--chaincode", tamperCC, "--claim", fx.ns + "/" + fx.claim}
	out, stderr, code := runConnector(t, bin, args...)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "BREAK: record "+fx.b[1].ID+" of "+fx.b[1].ResourceKey+": hash does not match its content")
	assert.Equal(t, 1, strings.Count(out, "BREAK"), "one break, in b's chain")
	assert.Contains(t, out, "BROKEN: 1 of 2 chains")
	assert.Contains(t, stderr, "BREAK in "+fx.b[1].ResourceKey+" at record 1 ("+fx.b[1].ID+"): record "+fx.b[1].ID+" of "+fx.b[1].ResourceKey+": hash does not match its content")

	out, _, code = runConnector(t, bin, append(args, "--output", "json")...)
	assert.Equal(t, 1, code)
	var rep struct {
		OK        bool            `json:"ok"`
		Resources []record.Report `json:"resources"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep))
	assert.False(t, rep.OK)
	require.Len(t, rep.Resources, 2)
	for _, r := range rep.Resources {
		assert.Equal(t, r.ResourceKey != fx.b[1].ResourceKey, r.OK, "%s: %+v", r.ResourceKey, r.Breaks)
	}
}
