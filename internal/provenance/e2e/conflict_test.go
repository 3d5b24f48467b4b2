package e2e

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"github.com/stretchr/testify/require"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/chaincode"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/changelog"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/connector"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/ledger"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/provtest"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/wal"
)

// TestReplicasConflictOnTheSameBatch forces the replicated path's MVCC read conflict on the
// real network: two connector replicas hold the same unsent records (the provider's
// replicated logger gave both every entry while neither could submit), and both submit
// their first batch against the same state: each replica's first PutBatch is endorsed, then
// waits until the other's is endorsed too, so both simulated against the same heads before
// either was ordered. Exactly one commits; the other is committed invalid with
// MVCC_READ_CONFLICT. The losing replica must endorse again at once (well before its retry
// backoff of 3 s), be told by the chaincode that what the winner stored is already there
// (skipped), store the rest, mark its records sent and stop; the ledger must hold every
// record exactly once, in the WALs' order, verified.
//
// "same batch": both submit the identical batch at the same moment; either may win.
// "loser holds more": replica 1 also holds two records replica 0 never received (as after a
// record dropped from replica 0's queue) and submits once replica 0's transaction is
// committed, so it is the one that loses: its resubmission must store those two, or they
// are lost.
func TestReplicasConflictOnTheSameBatch(t *testing.T) {
	f := requireFabric(t)
	lc := f.dial(t)
	cases := map[string]struct {
		extra   int // update entries sent to replica 1 only, after the common ones
		ordered bool
	}{
		"same batch":       {},
		"loser holds more": {extra: 2, ordered: true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			dir := t.TempDir()
			socks := make([]string, 2)
			wals := make([]string, 2)
			for i := range socks {
				socks[i] = "unix://" + filepath.Join(dir, fmt.Sprintf("c%d.sock", i))
				wals[i] = filepath.Join(dir, fmt.Sprintf("wal%d.db", i))
			}

			// 1. the provider sends every entry to both replicas, which append but cannot submit
			const resources, gens = 3, 4
			const common = resources * gens * 2
			keys := fillReplicas(ctx, t, socks, wals, "e2e-mvcc-"+nonce(t), resources, gens, tc.extra)
			held := [][]record.Record{pendingRecords(t, wals[0]), pendingRecords(t, wals[1])}
			require.Len(t, held[0], common)
			require.Len(t, held[1], common+tc.extra)
			require.Equal(t, held[0], held[1][:common], "the replicas chained the same entries differently")
			all := held[1]

			// 2. both restart on their WALs and race their first (whole) batch
			var endorsed sync.WaitGroup
			endorsed.Add(2)
			racers := []*racer{{lc: f.dial(t), endorsed: &endorsed, done: make(chan struct{})}, {lc: f.dial(t), endorsed: &endorsed}}
			if tc.ordered {
				racers[1].after = racers[0].done
			}
			reps := make([]*connector.Connector, 2)
			for i := range reps {
				c, err := connector.Start(connector.Options{Listen: socks[i], WALPath: wals[i], BatchSize: 100, Lanes: 1,
					MinBackoff: 3 * time.Second, Submitter: racers[i]})
				require.NoError(t, err)
				reps[i] = c
				t.Cleanup(func() { _ = c.Stop() })
			}
			for _, c := range reps {
				require.NoError(t, c.Batcher.Drain(ctx))
			}

			win, lose := 0, 1
			if racers[lose].callsCopy()[0].err == nil {
				win, lose = lose, win
			}
			w, l := racers[win].callsCopy(), racers[lose].callsCopy()
			require.Equal(t, ids(held[win]), w[0].ids, "replica %d's first batch is not all it held", win)
			require.Equal(t, ids(held[lose]), l[0].ids, "replica %d's first batch is not all it held", lose)
			require.Len(t, w, 1, "the winner submitted more than once: %v", w)
			require.NoError(t, w[0].err)
			require.Equal(t, chaincode.PutResult{Stored: len(held[win])}, w[0].res)

			var ce *ledger.CommitError
			require.ErrorAs(t, l[0].err, &ce, "the loser's first submission did not fail to commit: %v", l)
			require.Equal(t, peer.TxValidationCode_MVCC_READ_CONFLICT, ce.Code, "loser's first submission")
			t.Logf("replica %d won; replica %d's first submission: %v", win, lose, l[0].err)
			require.Len(t, l, 2, "the loser should have resubmitted exactly once: %v", l)
			require.Less(t, l[1].start.Sub(l[0].end), time.Second, "the conflict was retried after a backoff, not at once")
			require.NoError(t, l[1].err)
			require.Equal(t, chaincode.PutResult{Stored: len(held[lose]) - len(held[win]), Skipped: len(held[win])}, l[1].res,
				"the resubmission should skip what the winner stored and store the rest")

			// 3. the ledger holds each record once, in order, as the replica holding all chained it
			var stored []string
			for _, k := range keys {
				n := 2 * gens
				if k == keys[0] {
					n += tc.extra
				}
				for _, r := range requireChain(ctx, t, lc, k, n) {
					stored = append(stored, r.ID)
				}
				head, err := lc.Head(ctx, k)
				require.NoError(t, err)
				h, err := reps[1].WAL.Head(k)
				require.NoError(t, err)
				require.Equal(t, head.Hash, h, "replica 1's chain of %s differs from the ledger's", k)
			}
			require.ElementsMatch(t, ids(all), stored)
			for i, c := range reps {
				for _, r := range held[i] {
					_, unsent, err := c.WAL.Get(r.ID)
					require.NoError(t, err)
					require.False(t, unsent, "replica %d did not mark %s sent", i, r.ID)
				}
			}
		})
	}
}

// fillReplicas starts a connector on each socket and WAL whose submitter never submits,
// sends gens intent and update entries of each of resources resources through the
// provider's replicated logger (required mode: each entry reaches both), stops the
// connectors and returns the resources' keys. Then extra further update entries of the
// first resource go to the last replica only.
func fillReplicas(ctx context.Context, t *testing.T, socks, wals []string, ns string, resources, gens, extra int) []string {
	t.Helper()
	loggers := make([]*changelog.Logger, len(socks))
	reps := make([]*connector.Connector, len(socks))
	for i := range socks {
		c, err := connector.Start(connector.Options{Listen: socks[i], WALPath: wals[i], Submitter: parked{}})
		require.NoError(t, err)
		reps[i] = c
		conn, err := changelog.Dial(socks[i])
		require.NoError(t, err)
		defer func() { _ = conn.Close() }()
		loggers[i] = changelog.New(v1alpha1.NewChangeLogServiceClient(conn), changelog.ModeRequired)
	}
	prov := changelog.NewReplicated(changelog.ModeRequired, loggers...)
	keys := make([]string, resources)
	for i := range resources {
		name := fmt.Sprintf("vm%d", i)
		keys[i] = record.ResourceKey(testAPIVersion, "Machine", ns, name)
		for gen := int64(1); gen <= int64(gens); gen++ {
			vm := provtest.NewResource(ns, name, ns+"-"+name, gen, map[string]any{"gen": gen})
			require.NoError(t, prov.RecordIntent(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE))
			require.NoError(t, prov.Log(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE, nil, nil))
		}
	}
	require.Zero(t, prov.Queued(), "a replica did not acknowledge every entry")
	for gen := int64(gens + 1); gen <= int64(gens+extra); gen++ {
		vm := provtest.NewResource(ns, "vm0", ns+"-vm0", gen, map[string]any{"gen": gen})
		require.NoError(t, loggers[len(loggers)-1].Log(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE, nil, nil))
	}
	require.Zero(t, loggers[len(loggers)-1].Queued())
	for _, c := range reps {
		require.NoError(t, c.Stop())
	}
	return keys
}

// pendingRecords are a closed WAL's unsent records, in append order.
func pendingRecords(t *testing.T, path string) []record.Record {
	t.Helper()
	w, err := wal.Open(path)
	require.NoError(t, err)
	defer func() { _ = w.Close() }()
	es, err := w.Pending(1000)
	require.NoError(t, err)
	rs := make([]record.Record, len(es))
	for i, e := range es {
		rs[i] = e.Record
	}
	return rs
}

func ids(rs []record.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// parked never submits: it holds the batcher's first batch until the connector stops.
type parked struct{}

func (parked) PutBatch(ctx context.Context, _ []record.Record) (chaincode.PutResult, error) {
	<-ctx.Done()
	return chaincode.PutResult{}, ctx.Err()
}

// racer submits through the real ledger client. Its first batch is endorsed and then held
// until every racer's first batch is endorsed, so they are all simulated against the same
// state before any is ordered, and, if after is set, until after is closed; done (if set)
// is closed once that first submission returned. Later batches are plain PutBatch calls.
// Every call is kept.
type racer struct {
	lc       *ledger.Client
	endorsed *sync.WaitGroup
	after    <-chan struct{}
	done     chan struct{}

	mu    sync.Mutex
	calls []submission
}

type submission struct {
	ids        []string
	start, end time.Time
	res        chaincode.PutResult
	err        error
}

func (r *racer) PutBatch(ctx context.Context, rs []record.Record) (chaincode.PutResult, error) {
	s := submission{ids: ids(rs), start: time.Now()}
	r.mu.Lock()
	first := len(r.calls) == 0
	r.calls = append(r.calls, s)
	n := len(r.calls) - 1
	r.mu.Unlock()
	if first {
		e, err := r.lc.EndorsePutBatch(ctx, rs)
		r.endorsed.Done()
		r.endorsed.Wait()
		if err == nil && r.after != nil {
			<-r.after
		}
		if err == nil {
			s.res, s.err = e.Submit(ctx)
		} else {
			s.err = errors.Join(errors.New("endorsement failed"), err)
		}
		if r.done != nil {
			close(r.done)
		}
	} else {
		s.res, s.err = r.lc.PutBatch(ctx, rs)
	}
	s.end = time.Now()
	r.mu.Lock()
	r.calls[n] = s
	r.mu.Unlock()
	return s.res, s.err
}

func (s submission) String() string {
	return fmt.Sprintf("{%d records, %s, %+v, %v}", len(s.ids), s.end.Sub(s.start).Round(time.Millisecond), s.res, s.err)
}

func (r *racer) callsCopy() []submission {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]submission(nil), r.calls...)
}
