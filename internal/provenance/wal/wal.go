package wal

import (
	"encoding/binary"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	bolt "go.etcd.io/bbolt"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

const (
	errOpen    = "cannot open write-ahead log"
	errAppend  = "cannot append record to write-ahead log"
	errPending = "cannot read unsent records"
	errMark    = "cannot mark records sent"
	errGet     = "cannot read record"
	errSeal    = "cannot seal record"
	errCorrupt = "write-ahead log entry is corrupt"
	errPrune   = "cannot prune write-ahead log"
	errClosed  = "write-ahead log is closed"
)

var (
	bucketRecords = []byte("records") // seq -> record JSON, in append order
	bucketIDs     = []byte("ids")     // record id -> seq
	bucketHeads   = []byte("heads")   // resource key -> hash of its newest record
	bucketUnsent  = []byte("unsent")  // seq -> resource key: records not yet committed on the ledger
)

// An Entry is a record with its position in the log.
type Entry struct {
	Seq    uint64
	Record record.Record
}

// WAL is the write-ahead log. It is safe for concurrent use.
//
// Appends and MarkSent calls are group-committed: one goroutine takes the first waiting
// call, then every call already waiting, applies them all in one bbolt transaction and
// answers each only after that transaction's commit (and its fsyncs) returned. While it
// commits, new calls queue for the next group, so the group grows with the load and no
// call waits for a timer (bbolt's own Batch cuts a group every MaxBatchDelay, 10 ms, which
// at 50 concurrent senders halved throughput; see docs/provenance.md).
type WAL struct {
	db *bolt.DB

	mu     sync.Mutex
	unsent int // cached count of the unsent bucket (counting it is O(n))

	commits atomic.Uint64 // group commits, for benchmarks and tests
	ops     chan *op
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
}

// maxGroup bounds the calls in one commit (a record is ~1 KB).
const maxGroup = 2000

// op is one Append (rec set) or MarkSent (seqs set) waiting for a group commit.
type op struct {
	rec  *record.Record
	seqs []uint64

	stored  record.Record
	dup     bool
	removed int
	err     error
	res     chan struct{}
}

// Open opens (creating if needed) the log at path.
func Open(path string) (*WAL, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		return nil, errors.Wrap(err, errOpen)
	}
	w := &WAL{db: db}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRecords, bucketIDs, bucketHeads, bucketUnsent} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		w.unsent = tx.Bucket(bucketUnsent).Stats().KeyN
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, errors.Wrap(err, errOpen)
	}
	w.ops, w.quit, w.done = make(chan *op), make(chan struct{}), make(chan struct{})
	go w.commitLoop()
	return w, nil
}

// Close stops the group committer (calls waiting for it fail; a group being committed
// completes first) and closes the file.
func (w *WAL) Close() error {
	w.once.Do(func() { close(w.quit) })
	<-w.done
	return w.db.Close()
}

// do hands o to the committer and waits for its commit.
func (w *WAL) do(o *op) {
	o.res = make(chan struct{})
	select {
	case w.ops <- o:
		<-o.res
	case <-w.quit:
		o.err = errors.New(errClosed)
	}
}

func (w *WAL) commitLoop() {
	defer close(w.done)
	last, took := 0, time.Duration(0) // the previous group's size and commit time
	for {
		var group []*op
		select {
		case o := <-w.ops:
			group = append(group, o)
		case <-w.quit:
			return
		}
		// Everything already waiting joins this commit. The callers the previous commit
		// answered usually send again at once: give them a moment (at most a quarter of
		// that commit's time, ≤ 1 ms) to join, so the group does not alternate between one
		// early caller and everyone else.
		wait := time.NewTimer(min(took/4, time.Millisecond))
	more:
		for len(group) < maxGroup {
			select {
			case o := <-w.ops:
				group = append(group, o)
				continue
			default:
			}
			if len(group) >= last {
				break
			}
			select {
			case o := <-w.ops:
				group = append(group, o)
			case <-wait.C:
				break more
			}
		}
		wait.Stop()
		start := time.Now()
		w.commit(group)
		last, took = len(group), time.Since(start)
	}
}

// commit applies a group in one transaction. If that fails, each call is retried in a
// transaction of its own, so one bad call fails alone (as with bbolt's Batch).
func (w *WAL) commit(group []*op) {
	w.commits.Add(1)
	err := w.db.Update(func(tx *bolt.Tx) error {
		for _, o := range group {
			if err := o.apply(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(group) > 1 {
		for _, o := range group {
			w.commit([]*op{o})
		}
		return
	}
	delta := 0
	for _, o := range group {
		if err != nil {
			o.err = err
		} else if o.rec != nil && !o.dup {
			delta++
		}
		delta -= o.removed
	}
	if err == nil {
		w.mu.Lock()
		w.unsent += delta
		w.mu.Unlock()
	}
	for _, o := range group {
		close(o.res)
	}
}

func (o *op) apply(tx *bolt.Tx) error {
	// a group retried call by call applies each op again: results from scratch
	o.stored, o.dup, o.removed, o.err = record.Record{}, false, 0, nil
	if o.rec != nil {
		return o.appendTo(tx)
	}
	b := tx.Bucket(bucketUnsent)
	for _, s := range o.seqs {
		k := itob(s)
		if v := b.Get(k); v == nil {
			continue
		}
		if err := b.Delete(k); err != nil {
			return err
		}
		o.removed++
	}
	return nil
}

// Append seals r (id, previous hash, hash) against its resource's head in the log and
// stores it durably. If a record with the same id was appended before, nothing is
// written and the stored record is returned with dup set. Concurrent calls share one
// commit (and its fsyncs).
func (w *WAL) Append(r record.Record) (stored record.Record, dup bool, err error) {
	o := &op{rec: &r}
	w.do(o)
	if o.err != nil {
		return record.Record{}, false, errors.Wrap(o.err, errAppend)
	}
	return o.stored, o.dup, nil
}

func (o *op) appendTo(tx *bolt.Tx) error {
	r := *o.rec
	id := record.IDOf(r)
	if seq := tx.Bucket(bucketIDs).Get([]byte(id)); seq != nil {
		o.dup = true
		body := tx.Bucket(bucketRecords).Get(seq)
		if body == nil { // pruned: the id alone is what dedupes
			o.stored = record.Record{ID: id, ResourceKey: r.ResourceKey}
			return nil
		}
		return decode(body, &o.stored)
	}
	stored := r
	if err := stored.Seal(string(tx.Bucket(bucketHeads).Get([]byte(r.ResourceKey)))); err != nil {
		return errors.Wrap(err, errSeal)
	}
	b, err := json.Marshal(stored)
	if err != nil {
		return err
	}
	recs := tx.Bucket(bucketRecords)
	n, err := recs.NextSequence()
	if err != nil {
		return err
	}
	seq := itob(n)
	if err := recs.Put(seq, b); err != nil {
		return err
	}
	if err := tx.Bucket(bucketIDs).Put([]byte(stored.ID), seq); err != nil {
		return err
	}
	if err := tx.Bucket(bucketHeads).Put([]byte(r.ResourceKey), []byte(stored.Hash)); err != nil {
		return err
	}
	o.stored = stored
	return tx.Bucket(bucketUnsent).Put(seq, []byte(r.ResourceKey))
}

// Pending returns up to limit unsent records, oldest first. Records of one resource are
// in chain order, so submitting them in this order always extends the ledger's chain.
func (w *WAL) Pending(limit int) ([]Entry, error) {
	return w.PendingIn(limit, func(string) bool { return true })
}

// PendingIn is Pending restricted to the resources for which in returns true (a batcher
// lane: all of a resource's records go through the same lane, so they stay in order).
func (w *WAL) PendingIn(limit int, in func(resourceKey string) bool) ([]Entry, error) {
	var out []Entry
	err := w.db.View(func(tx *bolt.Tx) error {
		recs := tx.Bucket(bucketRecords)
		c := tx.Bucket(bucketUnsent).Cursor()
		for k, v := c.First(); k != nil && len(out) < limit; k, v = c.Next() {
			if !in(string(v)) {
				continue
			}
			var r record.Record
			if err := decode(recs.Get(k), &r); err != nil {
				return err
			}
			out = append(out, Entry{Seq: btoi(k), Record: r})
		}
		return nil
	})
	return out, errors.Wrap(err, errPending)
}

// MarkSent records that the given entries are committed on the ledger. It shares a
// group commit with concurrent appends.
func (w *WAL) MarkSent(seqs []uint64) error {
	o := &op{seqs: seqs}
	w.do(o)
	return errors.Wrap(o.err, errMark)
}

// Prune deletes the bodies of sent records older than before and returns how many it
// deleted. Ids and heads are kept: a re-sent entry must still be recognised (appending
// it again would fork the local chain from the ledger's), and new records still chain.
func (w *WAL) Prune(before time.Time) (int, error) {
	n := 0
	err := w.db.Update(func(tx *bolt.Tx) error {
		unsent, recs := tx.Bucket(bucketUnsent), tx.Bucket(bucketRecords)
		var old [][]byte // deleted after the walk: deleting under a cursor can skip keys
		c := recs.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if unsent.Get(k) != nil {
				continue
			}
			var r record.Record
			if err := decode(v, &r); err != nil {
				return err
			}
			t, err := time.Parse(time.RFC3339Nano, r.Time)
			if err != nil || !t.Before(before) {
				continue
			}
			old = append(old, k)
		}
		for _, k := range old {
			if err := recs.Delete(k); err != nil {
				return err
			}
		}
		n = len(old)
		return nil
	})
	return n, errors.Wrap(err, errPrune)
}

// Depth is the number of unsent records.
func (w *WAL) Depth() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.unsent
}

// OldestUnsent returns the time of the oldest unsent record (zero if there is none).
func (w *WAL) OldestUnsent() (time.Time, error) {
	var t time.Time
	err := w.db.View(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(bucketUnsent).Cursor().First()
		if k == nil {
			return nil
		}
		var r record.Record
		if err := decode(tx.Bucket(bucketRecords).Get(k), &r); err != nil {
			return err
		}
		var err error
		t, err = time.Parse(time.RFC3339Nano, r.Time)
		return err
	})
	return t, errors.Wrap(err, errPending)
}

// Get returns the record with the given id and whether it is still unsent.
func (w *WAL) Get(id string) (r record.Record, unsent bool, err error) {
	err = w.db.View(func(tx *bolt.Tx) error {
		seq := tx.Bucket(bucketIDs).Get([]byte(id))
		if seq == nil {
			return errors.Errorf("no record %s", id)
		}
		unsent = tx.Bucket(bucketUnsent).Get(seq) != nil
		return decode(tx.Bucket(bucketRecords).Get(seq), &r)
	})
	return r, unsent, errors.Wrap(err, errGet)
}

// Head returns the hash of a resource's newest record in the log ("" if none).
func (w *WAL) Head(resourceKey string) (string, error) {
	var h string
	err := w.db.View(func(tx *bolt.Tx) error {
		h = string(tx.Bucket(bucketHeads).Get([]byte(resourceKey)))
		return nil
	})
	return h, errors.Wrap(err, errGet)
}

func decode(b []byte, r *record.Record) error {
	if b == nil {
		return errors.New(errCorrupt + ": missing record")
	}
	return errors.Wrap(json.Unmarshal(b, r), errCorrupt)
}

func itob(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

func btoi(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
