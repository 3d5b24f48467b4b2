package changelog

import (
	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
)

// queue holds the entries the connector has not acknowledged yet, oldest first. An entry
// leaves it only through remove, which the flush calls after the connector's ack.
type queue interface {
	push(e *v1alpha1.ChangeLogEntry) error
	// peek returns the oldest entry and its key (ok false when empty).
	peek() (key uint64, e *v1alpha1.ChangeLogEntry, ok bool, err error)
	remove(key uint64) error
	// dropOldest removes the oldest entry (the queue is full) and returns it.
	dropOldest() (*v1alpha1.ChangeLogEntry, error)
	len() int
	close() error
}

type memItem struct {
	key uint64
	e   *v1alpha1.ChangeLogEntry
}

// memQueue is the in-memory queue: lost when the provider restarts.
type memQueue struct {
	next  uint64
	items []memItem
}

func (q *memQueue) push(e *v1alpha1.ChangeLogEntry) error {
	q.next++
	q.items = append(q.items, memItem{key: q.next, e: e})
	return nil
}

func (q *memQueue) peek() (uint64, *v1alpha1.ChangeLogEntry, bool, error) {
	if len(q.items) == 0 {
		return 0, nil, false, nil
	}
	return q.items[0].key, q.items[0].e, true, nil
}

func (q *memQueue) remove(key uint64) error {
	for i, it := range q.items {
		if it.key == key {
			q.items = append(q.items[:i], q.items[i+1:]...)
			return nil
		}
	}
	return nil // dropped meanwhile (queue full)
}

func (q *memQueue) dropOldest() (*v1alpha1.ChangeLogEntry, error) {
	if len(q.items) == 0 {
		return nil, nil
	}
	e := q.items[0].e
	q.items = q.items[1:]
	return e, nil
}

func (q *memQueue) len() int     { return len(q.items) }
func (q *memQueue) close() error { return nil }
