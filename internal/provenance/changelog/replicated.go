package changelog

import (
	"context"
	"sync"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// Replicated sends every entry to each of several connector replicas (high availability
// without a shared disk: each replica has its own WAL and submits on its own; the ledger
// stores a record id once). Each replica is a Logger with its own queue or spool: an
// entry a replica cannot take now is queued for it and sent, in order, when it is back,
// so every replica's WAL receives every resource's entries in the same order and chains
// them to the same records (same ids, same hashes: a record depends only on its entry and
// the previous one). The ledger then gets each record from whichever replica commits it
// first; the other's copy is skipped as already stored. See docs/provenance.md, "Two
// connector replicas".
type Replicated struct {
	replicas []*Logger
	mode     Mode
}

var _ managed.ChangeLogger = &Replicated{}

// NewReplicated returns a logger sending to every replica; the first one's settings
// (provider version, scheme) build the entries, and all should share a mode.
func NewReplicated(mode Mode, replicas ...*Logger) *Replicated {
	return &Replicated{replicas: replicas, mode: mode}
}

// Log implements managed.ChangeLogger: the entry goes to every replica, or to its queue.
func (r *Replicated) Log(ctx context.Context, mg resource.Managed, op v1alpha1.OperationType, changeErr error, ad managed.AdditionalDetails) error {
	if r.mode == ModeOff || IsIntentNotAccepted(changeErr) {
		return nil
	}
	e, err := r.replicas[0].entry(mg, op, changeErr, ad)
	if err != nil {
		return err
	}
	_, errs := r.each(func(l *Logger) (bool, error) { return true, l.deliver(ctx, e, false) })
	return firstIfAll(errs)
}

// RecordIntent records an intent on every replica. In required mode it succeeds once at
// least one replica acknowledged the intent (it is then on that replica's disk); the
// others get it through their queues. If none did, no replica keeps it, as with a single
// connector: the change is not made and leaves no trace.
func (r *Replicated) RecordIntent(ctx context.Context, mg resource.Managed, op v1alpha1.OperationType) error {
	if r.mode == ModeOff {
		return nil
	}
	e, err := r.replicas[0].entry(mg, op, nil, managed.AdditionalDetails{record.DetailPhase: record.PhaseIntent})
	if err != nil {
		return err
	}
	if r.mode != ModeRequired {
		_, errs := r.each(func(l *Logger) (bool, error) { return true, l.deliver(ctx, e, false) })
		if err := firstIfAll(errs); err != nil {
			l := r.replicas[0]
			l.log.Info("Cannot record provenance intent", "name", mg.GetName(), "error", err)
		}
		return nil
	}
	// a replica with nothing queued is asked at once; one that is behind is not waited for
	acked, errs := r.each(func(l *Logger) (bool, error) { return l.offer(ctx, e) })
	if !anyTrue(acked) {
		// none took it at once: flush and send, as a single connector would
		acked, errs = r.each(func(l *Logger) (bool, error) {
			err := l.deliver(ctx, e, true)
			return err == nil, err
		})
	}
	if !anyTrue(acked) {
		return &IntentNotAcceptedError{Err: errors.Join(errs...)}
	}
	for i, l := range r.replicas {
		if !acked[i] {
			if err := l.enqueue(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// each runs fn for every replica at once and returns its results in replica order.
func (r *Replicated) each(fn func(l *Logger) (bool, error)) ([]bool, []error) {
	oks, errs := make([]bool, len(r.replicas)), make([]error, len(r.replicas))
	var wg sync.WaitGroup
	for i, l := range r.replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			oks[i], errs[i] = fn(l)
		}()
	}
	wg.Wait()
	return oks, errs
}

func anyTrue(bs []bool) bool {
	for _, b := range bs {
		if b {
			return true
		}
	}
	return false
}

// firstIfAll is nil if any replica took the entry (or queued it), else the first error.
func firstIfAll(errs []error) error {
	for _, err := range errs {
		if err == nil {
			return nil
		}
	}
	return errs[0]
}

// Run runs every replica's Run until ctx is done.
func (r *Replicated) Run(ctx context.Context, interval time.Duration) error {
	_, errs := r.each(func(l *Logger) (bool, error) { return true, l.Run(ctx, interval) })
	return errors.Join(errs...)
}

// Flush flushes every replica's queue; it fails if any replica's flush fails.
func (r *Replicated) Flush(ctx context.Context) error {
	_, errs := r.each(func(l *Logger) (bool, error) { return true, l.Flush(ctx) })
	return errors.Join(errs...)
}

// Queued is the number of entries waiting, summed over the replicas.
func (r *Replicated) Queued() int {
	n := 0
	for _, l := range r.replicas {
		n += l.Queued()
	}
	return n
}

// Close closes every replica's spool.
func (r *Replicated) Close() error {
	_, errs := r.each(func(l *Logger) (bool, error) { return true, l.Close() })
	return errors.Join(errs...)
}
