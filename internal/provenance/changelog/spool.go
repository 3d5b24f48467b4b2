package changelog

import (
	"encoding/binary"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
)

const (
	errSpoolOpen   = "cannot open the provenance spool"
	errSpoolPush   = "cannot write the entry to the provenance spool"
	errSpoolRead   = "cannot read the provenance spool"
	errSpoolRemove = "cannot remove an acknowledged entry from the provenance spool"

	// spoolOpenTimeout bounds the wait for bbolt's file lock: a second provider on the
	// same file fails instead of hanging.
	spoolOpenTimeout = 2 * time.Second
	// defaultSpoolMax bounds the spool (entries carry a snapshot, a few KB each).
	defaultSpoolMax = 100000
)

var bucketSpool = []byte("entries") // big-endian sequence -> protobuf ChangeLogEntry

// Spool is an on-disk queue (bbolt) of change-log entries the connector has not
// acknowledged yet, so that they survive a provider restart. Every push is committed,
// and so fsynced, before it returns; an entry is deleted only after the connector
// acknowledged it. It is used by one Logger at a time (bbolt locks the file).
type Spool struct {
	db  *bolt.DB
	n   int
	log logging.Logger
}

// OpenSpool opens (creating if needed) the spool at path.
func OpenSpool(path string) (*Spool, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: spoolOpenTimeout})
	if err != nil {
		return nil, errors.Wrap(err, errSpoolOpen)
	}
	s := &Spool{db: db, log: logging.NewNopLogger()}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketSpool)
		if err != nil {
			return err
		}
		s.n = b.Stats().KeyN
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, errors.Wrap(err, errSpoolOpen)
	}
	return s, nil
}

func (s *Spool) push(e *v1alpha1.ChangeLogEntry) error {
	body, err := proto.Marshal(e)
	if err != nil {
		return errors.Wrap(err, errSpoolPush)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSpool)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		return b.Put(itob(seq), body)
	})
	if err != nil {
		return errors.Wrap(err, errSpoolPush)
	}
	s.n++
	return nil
}

// peek returns the oldest entry. An entry that does not decode (a torn or foreign
// file) can never be sent, so it is logged and deleted rather than blocking the rest.
func (s *Spool) peek() (uint64, *v1alpha1.ChangeLogEntry, bool, error) {
	for {
		var k, v []byte
		err := s.db.View(func(tx *bolt.Tx) error {
			k, v = tx.Bucket(bucketSpool).Cursor().First()
			if k != nil { // only valid inside the transaction
				k, v = append([]byte(nil), k...), append([]byte(nil), v...)
			}
			return nil
		})
		if err != nil {
			return 0, nil, false, errors.Wrap(err, errSpoolRead)
		}
		if k == nil {
			return 0, nil, false, nil
		}
		e := &v1alpha1.ChangeLogEntry{}
		if err := proto.Unmarshal(v, e); err != nil {
			s.log.Info("Dropping an undecodable provenance spool entry", "seq", btoi(k), "error", err)
			if err := s.remove(btoi(k)); err != nil {
				return 0, nil, false, err
			}
			continue
		}
		return btoi(k), e, true, nil
	}
}

func (s *Spool) remove(key uint64) error {
	removed := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSpool)
		removed = b.Get(itob(key)) != nil
		if !removed {
			return nil
		}
		return b.Delete(itob(key))
	})
	if err != nil {
		return errors.Wrap(err, errSpoolRemove)
	}
	if removed {
		s.n--
	}
	return nil
}

func (s *Spool) dropOldest() (*v1alpha1.ChangeLogEntry, error) {
	k, e, ok, err := s.peek()
	if err != nil || !ok {
		return nil, err
	}
	return e, s.remove(k)
}

func (s *Spool) len() int { return s.n }

// Close closes the file (a Logger given the spool closes it in its own Close).
func (s *Spool) Close() error { return s.db.Close() }

func (s *Spool) close() error { return s.Close() }

func itob(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

func btoi(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
