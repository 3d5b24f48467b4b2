package connector

import (
	"context"
	"errors"
	"hash/fnv"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/chaincode"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/ledger"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/wal"
)

// A Submitter commits a batch of records on the ledger (ledger.Client in production).
type Submitter interface {
	PutBatch(ctx context.Context, rs []record.Record) (chaincode.PutResult, error)
}

// Batcher moves records from the WAL to the ledger in batches. Resources are spread over
// Lanes by a hash of their key; within a lane batches are strictly sequential (a batch's
// records link to heads the previous batch advanced, so endorsing it before that batch
// commits would only fail), while lanes, touching disjoint resources, commit in parallel.
type Batcher struct {
	WAL       *wal.WAL
	Submitter Submitter
	Size      int
	// Lanes is the number of batches in flight at once (default 16).
	Lanes      int
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// Poll bounds how long an unsent record can wait when no Notify arrives.
	Poll    time.Duration
	Metrics *Metrics
	Log     logging.Logger

	wake []chan struct{}
}

// NewBatcher returns a batcher with the usual defaults.
func NewBatcher(w *wal.WAL, s Submitter, size int, m *Metrics, log logging.Logger) *Batcher {
	if size <= 0 {
		size = 100
	}
	const lanes = 16
	// The first retry comes soon: the usual failure under load is an endorsing peer one
	// block behind (it has not committed the lane's previous batch yet) refusing the next.
	b := &Batcher{WAL: w, Submitter: s, Size: size, Lanes: lanes, MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 5 * time.Second, Poll: time.Second, Metrics: m, Log: log}
	b.wake = make([]chan struct{}, maxLanes)
	for i := range b.wake {
		b.wake[i] = make(chan struct{}, 1)
	}
	return b
}

const maxLanes = 64

// Notify wakes the batcher after an append; it never blocks.
func (b *Batcher) Notify() {
	for _, w := range b.wake {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

func laneOf(resourceKey string, lanes int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(resourceKey))
	return int(h.Sum32() % uint32(lanes)) // lanes is small and positive
}

// Run submits until ctx is done. A failed submission is retried with backoff for as
// long as it takes; records are marked sent only after their transaction committed.
// Resubmitting after an unknown outcome is safe: the chaincode skips stored ids.
func (b *Batcher) Run(ctx context.Context) error {
	lanes := min(max(b.Lanes, 1), maxLanes)
	errs := make(chan error, lanes)
	for l := range lanes {
		go func() { errs <- b.runLane(ctx, l, lanes) }()
	}
	var first error
	for range lanes {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (b *Batcher) runLane(ctx context.Context, lane, lanes int) error {
	backoff := b.MinBackoff
	inLane := func(k string) bool { return laneOf(k, lanes) == lane }
	for {
		batch, err := b.WAL.PendingIn(b.Size, inLane)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-b.wake[lane]:
			case <-time.After(b.Poll):
			}
			continue
		}
		rs := make([]record.Record, len(batch))
		seqs := make([]uint64, len(batch))
		for i, e := range batch {
			rs[i], seqs[i] = e.Record, e.Seq
		}
		res, err := b.Submitter.PutBatch(ctx, rs)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			b.Metrics.SubmitFailures.Inc()
			if conflict(err) {
				// another transaction (another replica's, with some of the same records)
				// changed a head this batch read: endorse again at once; the chaincode
				// then skips what the other committed
				b.Log.Debug("Provenance batch conflicted with another commit, resubmitting", "lane", lane, "records", len(rs), "error", err)
				continue
			}
			b.Log.Info("Cannot commit provenance batch, will retry", "lane", lane, "records", len(rs), "backoff", backoff.String(), "error", err)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, b.MaxBackoff)
			continue
		}
		backoff = b.MinBackoff
		b.Metrics.Transactions.Inc()
		b.Metrics.Committed.Add(float64(len(rs)))
		b.Log.Debug("Committed provenance batch", "records", len(rs), "stored", res.Stored, "skipped", res.Skipped)
		if err := b.WAL.MarkSent(seqs); err != nil {
			return err
		}
	}
}

// conflict tells whether err is a transaction committed invalid because a key it read
// changed before it was validated (MVCC read conflict): nothing of it was written, and
// endorsing it again against the new state is the remedy.
func conflict(err error) bool {
	var ce *ledger.CommitError
	return errors.As(err, &ce) && (ce.Code == peer.TxValidationCode_MVCC_READ_CONFLICT || ce.Code == peer.TxValidationCode_PHANTOM_READ_CONFLICT)
}

// Drain returns once the WAL has no unsent records or ctx is done; tests and a clean
// shutdown use it.
func (b *Batcher) Drain(ctx context.Context) error {
	for b.WAL.Depth() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}
