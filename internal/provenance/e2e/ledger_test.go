package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/chaincode"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// TestChaincodeRejectsTamperedAndOutOfOrder: the chaincode on the real network refuses a
// record that skips ahead of its resource's head or whose content was edited after it
// was sealed, with an error naming resource, expected and got; a resubmission is a no-op.
func TestChaincodeRejectsTamperedAndOutOfOrder(t *testing.T) {
	f := requireFabric(t)
	lc := f.dial(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	key := "Machine.test.dev/e2e-reject-" + nonce(t) + "/vm"
	c := sealedChain(t, key, 3)

	_, err := lc.PutBatch(ctx, []record.Record{c[1]})
	require.Error(t, err, "a record whose prevHash is not the head must be rejected")
	assert.Contains(t, err.Error(), "resource "+key+" is out of order")
	assert.Contains(t, err.Error(), `prevHash must be the head hash "", got "`+c[0].Hash+`"`)

	res, err := lc.PutBatch(ctx, c[:1])
	require.NoError(t, err)
	assert.Equal(t, chaincode.PutResult{Stored: 1}, res)

	tampered := c[1]
	tampered.SpecHash = "forged"
	_, err = lc.PutBatch(ctx, []record.Record{tampered})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "id does not match its content")
	tampered = c[1]
	tampered.Message = "edited after sealing"
	_, err = lc.PutBatch(ctx, []record.Record{tampered})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "hash does not match its content")

	// the whole batch fails if one record is bad: c[1] is not stored with the bad c[2]
	bad := c[2]
	bad.PrevHash = "not-the-head"
	_, err = lc.PutBatch(ctx, []record.Record{c[1], bad})
	require.Error(t, err)
	h, err := lc.Head(ctx, key)
	require.NoError(t, err)
	assert.EqualValues(t, 1, h.Count)

	// resubmitting everything stores only what is missing
	res, err = lc.PutBatch(ctx, c)
	require.NoError(t, err)
	assert.Equal(t, chaincode.PutResult{Stored: 2, Skipped: 1}, res)
	hist := requireChain(ctx, t, lc, key, 3)
	assert.Equal(t, c, hist)
	got, err := lc.Get(ctx, c[2].ID)
	require.NoError(t, err)
	assert.Equal(t, c[2], got)
}
