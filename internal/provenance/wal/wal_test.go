package wal

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

func rec(key string, gen int64) record.Record {
	return record.Record{ResourceKey: key, UID: "uid-" + key, Generation: gen, APIVersion: "x.dev/v1", Kind: "K",
		Name: key, Operation: record.OpUpdate, Outcome: record.OutcomeSuccess,
		SpecHash: fmt.Sprintf("spec-%d", gen), Time: "2026-01-01T00:00:00Z"}
}

func TestAppendChainsAndSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wal.db")
	w, err := Open(path)
	require.NoError(t, err)

	a1, dup, err := w.Append(rec("a", 1))
	require.NoError(t, err)
	assert.False(t, dup)
	assert.Empty(t, a1.PrevHash)
	require.NoError(t, a1.Check())
	a2, _, err := w.Append(rec("a", 2))
	require.NoError(t, err)
	assert.Equal(t, a1.Hash, a2.PrevHash)
	b1, _, err := w.Append(rec("b", 1))
	require.NoError(t, err)
	assert.Empty(t, b1.PrevHash, "chains are per resource")

	again, dup, err := w.Append(rec("a", 1))
	require.NoError(t, err)
	assert.True(t, dup)
	assert.Equal(t, a1, again, "a duplicate returns the stored record")
	assert.Equal(t, 3, w.Depth())

	p, err := w.Pending(2)
	require.NoError(t, err)
	require.Len(t, p, 2)
	assert.Equal(t, a1.ID, p[0].Record.ID)
	assert.Equal(t, a2.ID, p[1].Record.ID)
	require.NoError(t, w.MarkSent([]uint64{p[0].Seq, p[0].Seq}))
	assert.Equal(t, 2, w.Depth())
	require.NoError(t, w.Close())

	w, err = Open(path)
	require.NoError(t, err)
	defer w.Close() //nolint:errcheck // test
	assert.Equal(t, 2, w.Depth(), "the unsent count is rebuilt on open")
	a3, _, err := w.Append(rec("a", 3))
	require.NoError(t, err)
	assert.Equal(t, a2.Hash, a3.PrevHash, "the chain continues after a reopen")
	_, unsent, err := w.Get(a1.ID)
	require.NoError(t, err)
	assert.False(t, unsent)
	oldest, err := w.OldestUnsent()
	require.NoError(t, err)
	assert.Equal(t, 2026, oldest.Year())
}

func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	w, err := Open(filepath.Join(t.TempDir(), "wal.db"))
	require.NoError(t, err)
	defer w.Close() //nolint:errcheck // test
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				_, _, err := w.Append(rec("shared", int64(g*100+i)))
				assert.NoError(t, err)
			}
		}(g)
	}
	wg.Wait()
	p, err := w.Pending(1000)
	require.NoError(t, err)
	require.Len(t, p, 200)
	rs := make([]record.Record, 0, len(p))
	for _, e := range p {
		rs = append(rs, e.Record)
	}
	head, err := w.Head("shared")
	require.NoError(t, err)
	rep := record.VerifyChain("shared", rs, record.Head{Hash: head, Count: 200})
	assert.True(t, rep.OK, "%+v", rep.Breaks)
}

func TestPruneKeepsIDsAndChain(t *testing.T) {
	w, err := Open(filepath.Join(t.TempDir(), "wal.db"))
	require.NoError(t, err)
	defer w.Close() //nolint:errcheck // test
	a1, _, err := w.Append(rec("a", 1))
	require.NoError(t, err)
	a2, _, err := w.Append(rec("a", 2))
	require.NoError(t, err)
	p, err := w.Pending(10)
	require.NoError(t, err)
	require.NoError(t, w.MarkSent([]uint64{p[0].Seq})) // a2 stays unsent

	n, err := w.Prune(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, 1, n, "only the sent record is pruned")
	_, _, err = w.Get(a1.ID)
	assert.Error(t, err)
	_, unsent, err := w.Get(a2.ID)
	require.NoError(t, err)
	assert.True(t, unsent)

	again, dup, err := w.Append(rec("a", 1))
	require.NoError(t, err)
	assert.True(t, dup, "a pruned record's id still dedupes")
	assert.Equal(t, a1.ID, again.ID)
	a3, _, err := w.Append(rec("a", 3))
	require.NoError(t, err)
	assert.Equal(t, a2.Hash, a3.PrevHash)
}
