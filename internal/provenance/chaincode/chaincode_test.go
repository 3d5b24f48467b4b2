package chaincode

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
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
func (f fakeState) Prefixed(prefix string) ([]KV, error) {
	var out []KV
	for k, v := range f {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			out = append(out, KV{Key: rest, Value: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out, nil
}

// fabricState hides a transaction's own writes from its reads, as Fabric does.
type fabricState struct {
	committed fakeState
	pending   map[string][]byte
}

func (f *fabricState) GetState(k string) ([]byte, error) { return f.committed[k], nil }
func (f *fabricState) PutState(k string, v []byte) error { f.pending[k] = v; return nil }
func (f *fabricState) Prefixed(p string) ([]KV, error)   { return f.committed.Prefixed(p) }
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
	st[recordKey(a[1].ID)] = []byte(mustJSON(t, stored{Record: edited, PrevID: a[0].ID}))
	rep, err := Verify(st, "a")
	require.NoError(t, err)
	assert.False(t, rep.OK)
	require.NotEmpty(t, rep.Breaks)
	assert.EqualValues(t, 1, rep.Breaks[0].Index)
	assert.Contains(t, rep.Breaks[0].Reason, "id does not match")

	// drop a record: the ones before it cannot be reached either
	st2 := fakeState{}
	_, err = PutBatch(st2, a)
	require.NoError(t, err)
	delete(st2, recordKey(a[1].ID))
	rep, err = Verify(st2, "a")
	require.NoError(t, err)
	assert.False(t, rep.OK)
	require.GreaterOrEqual(t, len(rep.Breaks), 2)
	assert.Equal(t, record.Break{Index: 0, Reason: "cannot be reached: a later record of the chain is missing"}, rep.Breaks[0])
	assert.Equal(t, record.Break{Index: 1, ID: a[1].ID, Reason: "record missing from the ledger"}, rep.Breaks[1])
	_, err = History(st2, "a")
	assert.ErrorContains(t, err, "history of a: entry 0: cannot be reached")
}

// TestChainAcrossTheFormatChange: records stored before records named their
// predecessor (a history entry per record) and records stored after form one chain:
// History and Verify walk the links back to the first new record, then the entries.
func TestChainAcrossTheFormatChange(t *testing.T) {
	st := fakeState{}
	a := chain(t, "a", 5, "")
	for i, r := range a[:3] { // as the chaincode stored them before
		st[recordKey(r.ID)] = []byte(mustJSON(t, r))
		st[histKey("a", int64(i))] = []byte(r.ID)
	}
	st[headKey("a")] = []byte(mustJSON(t, record.Head{ResourceKey: "a", Hash: a[2].Hash, ID: a[2].ID, Count: 3}))
	res, err := PutBatch(st, a[2:])
	require.NoError(t, err)
	assert.Equal(t, PutResult{Stored: 2, Skipped: 1}, res)
	hist, err := History(st, "a")
	require.NoError(t, err)
	assert.Equal(t, a, hist)
	rep, err := Verify(st, "a")
	require.NoError(t, err)
	assert.True(t, rep.OK, "%+v", rep.Breaks)

	delete(st, histKey("a", 1)) // an old entry lost: that record alone is missing
	rep, err = Verify(st, "a")
	require.NoError(t, err)
	assert.False(t, rep.OK)
	assert.Equal(t, record.Break{Index: 1, Reason: "record missing from the ledger"}, rep.Breaks[0])
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
	assert.Len(t, st.puts, 2+5, "two heads and one key per record (no history entry: each record names its predecessor)")
	st.commit()
	h, err := GetHead(st, "a")
	require.NoError(t, err)
	assert.Equal(t, record.Head{ResourceKey: "a", Hash: a[2].Hash, ID: a[2].ID, Count: 3}, h)
}

// owned is chain with every record naming composite and claim (namespace/name).
func owned(t *testing.T, key string, n int, prev, composite, claimNS, claim string) []record.Record {
	t.Helper()
	out := chain(t, key, n, prev)
	for i := range out {
		out[i].Composite, out[i].ClaimNamespace, out[i].ClaimName = composite, claimNS, claim
		require.NoError(t, out[i].Seal(prev))
		prev = out[i].Hash
	}
	return out
}

// TestOwnerIndex: PutBatch files each resource under the composite and the claim its
// records name, with one write per owner the head did not name yet (not one per record,
// and none at all while a resource keeps its owner), and the query functions list them.
func TestOwnerIndex(t *testing.T) {
	st := &countingState{fabricState: fabricState{committed: fakeState{}, pending: map[string][]byte{}}, puts: map[string]int{}}
	a := owned(t, "M.x.dev/team-a/a", 4, "", "vps-1", "team-a", "blog")
	b := owned(t, "M.x.dev/team-a/b", 3, "", "vps-1", "team-a", "blog")
	c := owned(t, "M.x.dev/team-b/c", 2, "", "vps-2", "", "")
	d := chain(t, "M.x.dev/team-a/d", 2, "")
	_, err := PutBatch(st, []record.Record{a[0], b[0], c[0], a[1], d[0], b[1], c[1], d[1]})
	require.NoError(t, err)
	st.commit()
	idx := 0
	for k, n := range st.puts {
		if strings.HasPrefix(k, "own/") {
			assert.Equal(t, 1, n, "index key %s", k)
			idx++
		}
	}
	assert.Equal(t, 5, idx, "a and b under vps-1 and team-a/blog, c under vps-2")

	list := func(fn, arg string) []string {
		t.Helper()
		out, err := Dispatch(st, fn, []string{arg})
		require.NoError(t, err)
		var keys []string
		require.NoError(t, json.Unmarshal(out, &keys))
		return keys
	}
	assert.Equal(t, []string{a[0].ResourceKey, b[0].ResourceKey}, list("ResourcesOfComposite", "vps-1"))
	assert.Equal(t, []string{a[0].ResourceKey, b[0].ResourceKey}, list("ResourcesOfClaim", "team-a/blog"))
	assert.Equal(t, []string{c[0].ResourceKey}, list("ResourcesOfComposite", "vps-2"))
	assert.Equal(t, []string{}, list("ResourcesOfComposite", "vps-3"))
	assert.Equal(t, []string{}, list("ResourcesOfClaim", "team-b/blog"))
	h, err := GetHead(st, a[0].ResourceKey)
	require.NoError(t, err)
	assert.Equal(t, record.Head{ResourceKey: a[0].ResourceKey, Hash: a[1].Hash, ID: a[1].ID, Count: 2,
		Composite: "vps-1", ClaimNamespace: "team-a", ClaimName: "blog"}, h)

	// the same owners again: no index write
	st.puts = map[string]int{}
	_, err = PutBatch(st, []record.Record{a[2], b[2], a[3]})
	require.NoError(t, err)
	st.commit()
	assert.Len(t, st.puts, 2+3, "two heads and one key per record, no index key")

	// a resource that moves to another composite is listed under both (it had records in each)
	moved := c[1]
	moved.Generation, moved.Composite = 3, "vps-1"
	require.NoError(t, moved.Seal(c[1].Hash))
	res, err := PutBatch(st, []record.Record{moved})
	require.NoError(t, err)
	require.Equal(t, PutResult{Stored: 1}, res)
	st.commit()
	assert.Equal(t, []string{a[0].ResourceKey, b[0].ResourceKey, c[0].ResourceKey}, list("ResourcesOfComposite", "vps-1"))
	assert.Equal(t, []string{c[0].ResourceKey}, list("ResourcesOfComposite", "vps-2"))

	_, err = Dispatch(st, "ResourcesOfClaim", []string{"blog"})
	assert.ErrorContains(t, err, "<claim namespace>/<claim name>")
	_, err = Dispatch(st, "ResourcesOfComposite", []string{""})
	assert.ErrorContains(t, err, "not a composite name")
}

// TestOwnerIndexAfterAnOldHead: a head written before heads named an owner reads as it
// did, and the next record that names an owner files its resource.
func TestOwnerIndexAfterAnOldHead(t *testing.T) {
	st := fakeState{}
	a := owned(t, "M.x.dev/team-a/a", 2, "", "vps-1", "team-a", "blog")
	st[recordKey(a[0].ID)] = []byte(mustJSON(t, a[0]))
	st[histKey(a[0].ResourceKey, 0)] = []byte(a[0].ID)
	st[headKey(a[0].ResourceKey)] = []byte(fmt.Sprintf(`{"resourceKey":%q,"hash":%q,"id":%q,"count":1}`, a[0].ResourceKey, a[0].Hash, a[0].ID))
	keys, err := ResourcesOfComposite(st, "vps-1")
	require.NoError(t, err)
	assert.Empty(t, keys, "records from before the index are not filed")
	rep, err := Verify(st, a[0].ResourceKey)
	require.NoError(t, err)
	assert.True(t, rep.OK, "%+v", rep)

	_, err = PutBatch(st, a[1:])
	require.NoError(t, err)
	keys, err = ResourcesOfComposite(st, "vps-1")
	require.NoError(t, err)
	assert.Equal(t, []string{a[0].ResourceKey}, keys)
	keys, err = ResourcesOfClaim(st, "team-a", "blog")
	require.NoError(t, err)
	assert.Equal(t, []string{a[0].ResourceKey}, keys)
}

// TestOwnerIndexIgnoresSlashes: an owner holding "/" (no Kubernetes object can) is filed
// under a prefix that starts like another owner's; listing that owner does not show it.
func TestOwnerIndexIgnoresSlashes(t *testing.T) {
	st := fakeState{}
	a := owned(t, "M.x.dev/team-a/a", 1, "", "vps-1/evil", "", "")
	_, err := PutBatch(st, a)
	require.NoError(t, err)
	keys, err := ResourcesOfComposite(st, "vps-1")
	require.NoError(t, err)
	assert.Empty(t, keys)
}
