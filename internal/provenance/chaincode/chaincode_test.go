package chaincode

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// fakeState is a map; like Fabric it does not matter here that writes are visible at
// once, because PutBatch must not rely on that (it reads through its own overlay).
type fakeState map[string][]byte

func (f fakeState) GetState(k string) ([]byte, error) { return f[k], nil }
func (f fakeState) PutState(k string, v []byte) error { f[k] = v; return nil }

// fabricState hides a transaction's own writes from its reads, as Fabric does.
type fabricState struct {
	committed fakeState
	pending   map[string][]byte
}

func (f *fabricState) GetState(k string) ([]byte, error) { return f.committed[k], nil }
func (f *fabricState) PutState(k string, v []byte) error { f.pending[k] = v; return nil }
func (f *fabricState) commit() {
	for k, v := range f.pending {
		f.committed[k] = v
	}
	f.pending = map[string][]byte{}
}

// chain builds n sealed records for one resource, linked from prev.
func chain(t *testing.T, key string, n int, prev string) []record.Record {
	t.Helper()
	out := make([]record.Record, 0, n)
	for i := 0; i < n; i++ {
		r := record.Record{ResourceKey: key, UID: "uid-" + key, Generation: int64(i + 1), APIVersion: "x.dev/v1",
			Kind: "K", Name: key, Operation: record.OpUpdate, Outcome: record.OutcomeSuccess,
			SpecHash: fmt.Sprintf("spec-%d", i), Time: "2026-01-01T00:00:00Z"}
		require.NoError(t, r.Seal(prev))
		prev = r.Hash
		out = append(out, r)
	}
	return out
}

func TestPutBatchChainsWithinOneTransaction(t *testing.T) {
	st := &fabricState{committed: fakeState{}, pending: map[string][]byte{}}
	a, b := chain(t, "a", 3, ""), chain(t, "b", 2, "")
	res, err := PutBatch(st, []record.Record{a[0], b[0], a[1], b[1], a[2]})
	require.NoError(t, err)
	assert.Equal(t, PutResult{Stored: 5}, res)
	st.commit()

	h, err := GetHead(st, "a")
	require.NoError(t, err)
	assert.Equal(t, record.Head{ResourceKey: "a", Hash: a[2].Hash, ID: a[2].ID, Count: 3}, h)
	hist, err := History(st, "a")
	require.NoError(t, err)
	assert.Equal(t, a, hist)
	rep, err := Verify(st, "b")
	require.NoError(t, err)
	assert.True(t, rep.OK, "%+v", rep)
	assert.EqualValues(t, 2, rep.Records)
}

func TestPutBatchIsIdempotent(t *testing.T) {
	st := fakeState{}
	a := chain(t, "a", 4, "")
	_, err := PutBatch(st, a[:2])
	require.NoError(t, err)
	// a resubmission overlapping what is stored: old ids skipped, new ones chained
	res, err := PutBatch(st, a)
	require.NoError(t, err)
	assert.Equal(t, PutResult{Stored: 2, Skipped: 2}, res)
	// the same record twice in one batch is stored once
	b := chain(t, "b", 1, "")
	res, err = PutBatch(st, []record.Record{b[0], b[0]})
	require.NoError(t, err)
	assert.Equal(t, PutResult{Stored: 1, Skipped: 1}, res)
	h, _ := GetHead(st, "a")
	assert.EqualValues(t, 4, h.Count)
}

func TestPutBatchRejects(t *testing.T) {
	a := chain(t, "a", 3, "")
	tampered := a[0]
	tampered.Message = "edited after sealing"
	other := chain(t, "a", 1, "not-the-head")[0]

	cases := map[string]struct {
		batch []record.Record
		want  string
	}{
		"OutOfOrder": {[]record.Record{a[1]}, fmt.Sprintf("resource a is out of order: prevHash must be the head hash \"\", got %q", a[0].Hash)},
		"SkipsAhead": {[]record.Record{a[0], a[2]}, fmt.Sprintf("must be the head hash %q, got %q", a[0].Hash, a[1].Hash)},
		"WrongPrev":  {[]record.Record{other}, `got "not-the-head"`},
		"Tampered":   {[]record.Record{tampered}, "hash does not match its content"},
		"Incomplete": {[]record.Record{{ID: "x"}}, "required"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			st := fakeState{}
			_, err := Dispatch(st, "PutBatch", []string{mustJSON(t, tc.batch)})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestVerifyFindsBreaks(t *testing.T) {
	st := fakeState{}
	a := chain(t, "a", 3, "")
	_, err := PutBatch(st, a)
	require.NoError(t, err)

	// edit a stored record behind the chaincode's back (as a compromised peer could)
	edited := a[1]
	edited.SpecHash = "forged"
	st[recordKey(a[1].ID)] = []byte(mustJSON(t, edited))
	rep, err := Verify(st, "a")
	require.NoError(t, err)
	assert.False(t, rep.OK)
	require.NotEmpty(t, rep.Breaks)
	assert.EqualValues(t, 1, rep.Breaks[0].Index)
	assert.Contains(t, rep.Breaks[0].Reason, "id does not match")

	// drop a history entry
	st2 := fakeState{}
	_, err = PutBatch(st2, a)
	require.NoError(t, err)
	delete(st2, histKey("a", 0))
	rep, err = Verify(st2, "a")
	require.NoError(t, err)
	assert.False(t, rep.OK)
	assert.Contains(t, rep.Breaks[0].Reason, "missing")
}

func TestDispatchQueries(t *testing.T) {
	st := fakeState{}
	a := chain(t, "a", 1, "")
	_, err := Dispatch(st, "PutBatch", []string{mustJSON(t, a)})
	require.NoError(t, err)
	out, err := Dispatch(st, "Get", []string{a[0].ID})
	require.NoError(t, err)
	var got record.Record
	require.NoError(t, json.Unmarshal(out, &got))
	assert.Equal(t, a[0], got)
	_, err = Dispatch(st, "Get", []string{"nope"})
	assert.ErrorContains(t, err, "record not found: nope")
	out, err = Dispatch(st, "Head", []string{"none"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"resourceKey":"none","hash":"","id":"","count":0}`, string(out))
	_, err = Dispatch(st, "Nope", []string{"x"})
	assert.ErrorContains(t, err, "unknown function")
	_, err = Dispatch(st, "Get", nil)
	assert.ErrorContains(t, err, "exactly one argument")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// countingState counts the writes per key (each is a round trip to the peer).
type countingState struct {
	fabricState
	puts map[string]int
}

func (c *countingState) PutState(k string, v []byte) error {
	c.puts[k]++
	return c.fabricState.PutState(k, v)
}

func TestPutBatchWritesEachHeadOnce(t *testing.T) {
	st := &countingState{fabricState: fabricState{committed: fakeState{}, pending: map[string][]byte{}}, puts: map[string]int{}}
	a, b := chain(t, "a", 3, ""), chain(t, "b", 2, "")
	res, err := PutBatch(st, []record.Record{a[0], b[0], a[1], b[1], a[2]})
	require.NoError(t, err)
	assert.Equal(t, PutResult{Stored: 5}, res)
	assert.Equal(t, 1, st.puts[headKey("a")], "head of a")
	assert.Equal(t, 1, st.puts[headKey("b")], "head of b")
	assert.Len(t, st.puts, 2+5+5, "two heads, one record and one history entry per record")
	st.commit()
	h, err := GetHead(st, "a")
	require.NoError(t, err)
	assert.Equal(t, record.Head{ResourceKey: "a", Hash: a[2].Hash, ID: a[2].ID, Count: 3}, h)
}
