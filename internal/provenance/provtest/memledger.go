package provtest

import (
	"context"
	"errors"
	"sync"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/chaincode"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// MemLedger runs the real chaincode logic on an in-memory state, for tests that need a
// ledger but not Fabric. FailNext makes the next n submissions fail.
type MemLedger struct {
	mu       sync.Mutex
	state    map[string][]byte
	failNext int
	Calls    int
}

// NewMemLedger returns an empty ledger.
func NewMemLedger() *MemLedger { return &MemLedger{state: map[string][]byte{}} }

// FailNext makes the next n PutBatch calls fail without touching the state.
func (m *MemLedger) FailNext(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failNext = n
}

func (m *MemLedger) GetState(k string) ([]byte, error) { return m.state[k], nil }
func (m *MemLedger) PutState(k string, v []byte) error { m.state[k] = v; return nil }

// PutBatch applies the chaincode's PutBatch all-or-nothing, as a Fabric transaction would.
func (m *MemLedger) PutBatch(_ context.Context, rs []record.Record) (chaincode.PutResult, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Calls++
	if m.failNext > 0 {
		m.failNext--
		return chaincode.PutResult{}, errors.New("injected failure")
	}
	tx := &txState{base: m.state, writes: map[string][]byte{}}
	res, err := chaincode.PutBatch(tx, rs)
	if err != nil {
		return res, err
	}
	for k, v := range tx.writes {
		m.state[k] = v
	}
	return res, nil
}

// History returns a resource's records.
func (m *MemLedger) History(resourceKey string) ([]record.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return chaincode.History(m, resourceKey)
}

// Verify walks a resource's chain.
func (m *MemLedger) Verify(resourceKey string) (record.Report, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return chaincode.Verify(m, resourceKey)
}

// txState buffers writes; reads see committed state only (like Fabric).
type txState struct {
	base   map[string][]byte
	writes map[string][]byte
}

func (t *txState) GetState(k string) ([]byte, error) { return t.base[k], nil }
func (t *txState) PutState(k string, v []byte) error { t.writes[k] = v; return nil }
