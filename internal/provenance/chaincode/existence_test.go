package chaincode

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// TestAStoredIDIsNeverWrittenAgain: the two records a cheaper existence check (one that
// trusts a record linking to its head, or looks only at the resource's own recent ids)
// would let through, see provenance.md, "Throughput work, third pass". Both pass Check
// and link to the head they name, so only the rec/<id> read stops them; each must be a
// skip that leaves the stored record, both heads and the chain as they were.
func TestAStoredIDIsNeverWrittenAgain(t *testing.T) {
	st := &fabricState{committed: fakeState{}, pending: map[string][]byte{}}
	a := chain(t, "a", 40, "")
	for i := 0; i < len(a); i += 10 {
		_, err := PutBatch(st, a[i:i+10])
		require.NoError(t, err)
		st.commit()
	}
	head, err := GetHead(st, "a")
	require.NoError(t, err)

	// An old write re-sealed onto the current head (a replica whose chain diverged 40
	// records ago, a writer that re-seals): same id, another prevHash and hash.
	resealed := a[0]
	require.NoError(t, resealed.Seal(head.Hash))
	require.Equal(t, a[0].ID, resealed.ID)
	// A stored id sent for another resource, as the first record of its chain: the id
	// does not cover the resource key, so it passes Check.
	elsewhere := a[5]
	elsewhere.ResourceKey = "b"
	require.NoError(t, elsewhere.Seal(""))
	require.Equal(t, a[5].ID, elsewhere.ID)

	for name, r := range map[string]record.Record{"ResealedOntoTheHead": resealed, "InAnotherChain": elsewhere} {
		t.Run(name, func(t *testing.T) {
			before := string(st.committed[recordKey(r.ID)])
			res, err := PutBatch(st, []record.Record{r})
			require.NoError(t, err)
			st.commit()
			assert.Equal(t, PutResult{Skipped: 1}, res)
			assert.Equal(t, before, string(st.committed[recordKey(r.ID)]), "the stored record was written again")
			h, err := GetHead(st, "a")
			require.NoError(t, err)
			assert.Equal(t, head, h)
			hb, err := GetHead(st, "b")
			require.NoError(t, err)
			assert.EqualValues(t, 0, hb.Count)
			rep, err := Verify(st, "a")
			require.NoError(t, err)
			assert.True(t, rep.OK, "%+v", rep)
			hist, err := History(st, "a")
			require.NoError(t, err)
			assert.Equal(t, a, hist)
		})
	}
}
