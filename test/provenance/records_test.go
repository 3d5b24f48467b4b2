package provenance

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/changelog"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// TestReconcilesAreLedgered: in required mode, a VM created, updated and deleted on the
// simulator and a pool created and deleted on Ceph leave, on the Fabric ledger, an intent
// and an outcome record for each change, in order, linked, verified, each stored once.
func TestReconcilesAreLedgered(t *testing.T) {
	t.Parallel()
	w := newWorld(t, true)
	c := w.startConnector(filepath.Join(w.dir, "wal.db"))
	p := w.newProvider(changelog.ModeRequired)
	p.startManager()

	// VM: create, update, delete
	vm := w.vm("ledgered", 1)
	w.create(vm)
	w.waitReady(vm, 60*time.Second)
	vmid := vm.Status.AtProvider.VMID
	uid := string(vm.GetUID())
	w.update(vm, func() { vm.Spec.ForProvider.Cores = 2 })
	eventually(t, 60*time.Second, "VM updated to 2 cores", func() string {
		if c := w.guestCores(vmid); c != "2" {
			return "cores " + c
		}
		return ""
	})
	w.waitReady(vm, 30*time.Second)
	w.deleteAndWait(vm, 60*time.Second)
	if gs := w.guestsNamed("ledgered"); len(gs) != 0 {
		t.Fatalf("guest still there after delete: %+v", gs)
	}

	// Pool: create, delete
	name := "ledgered-" + w.ns[len(w.ns)-5:]
	pl := &cephv1alpha1.Pool{}
	pl.SetNamespace(w.ns)
	pl.SetName(name)
	pl.Spec.ProviderConfigReference = vm.Spec.ProviderConfigReference
	size, pgs := int32(2), int32(8)
	pl.Spec.ForProvider = cephv1alpha1.PoolParameters{Size: &size, PGNum: &pgs}
	w.create(pl)
	w.waitReady(pl, 60*time.Second)
	poolUID := string(pl.GetUID())
	w.deleteAndWait(pl, 60*time.Second)
	w.ceph.Invalidate()
	if s, err := w.ceph.Snapshot(t.Context()); err != nil || s.Pools[name] != nil {
		t.Fatalf("pool %s still in Ceph after delete (err %v)", name, err)
	}

	waitSent(t, p, c, 60*time.Second)

	vmHist := w.ledgerChain(c, vmKey(w.ns, "ledgered"))
	requireLifecycle(t, vmHist, uid, record.OpCreate, record.OpUpdate, record.OpDelete)
	// the clone is configured by an update of generation 1; the spec change is generation 2
	create, update := find(vmHist, record.OpCreate, 1), find(vmHist, record.OpUpdate, 2)
	if create.Generation != 1 || update.Generation != 2 || create.SpecHash == update.SpecHash {
		t.Errorf("create at generation %d, update at %d (spec hashes %s, %s): want 1 and 2, different specs",
			create.Generation, update.Generation, create.SpecHash, update.SpecHash)
	}
	if update.ExternalName != fmt.Sprint(vmid) || update.Namespace != w.ns || update.ProviderConfig != "ProviderConfig/default" {
		t.Errorf("update record identity = external name %q, namespace %q, config %q; want %d, %s, ProviderConfig/default",
			update.ExternalName, update.Namespace, update.ProviderConfig, vmid, w.ns)
	}

	poolHist := w.ledgerChain(c, poolKey(w.ns, name))
	requireLifecycle(t, poolHist, poolUID, record.OpCreate, record.OpDelete)
	if en := find(poolHist, record.OpDelete, 0).ExternalName; en != name {
		t.Errorf("pool delete record external name %q, want %q", en, name)
	}
}

// requireLifecycle checks a resource's chain against the changes it went through (ops,
// in order; extra updates allowed after the first): each change has its successful
// outcome record; each outcome record (successful or not) comes right after the intent
// of the same operation and generation, or after failed attempts that do; each intent
// is followed by its outcome; every record is of uid.
func requireLifecycle(t *testing.T, hist []record.Record, uid string, ops ...string) {
	t.Helper()
	var done []string
	for i, r := range hist {
		if r.UID != uid {
			t.Errorf("record %d (%s) is of uid %s, want %s", i, r.Operation, r.UID, uid)
		}
		if r.Outcome == record.OutcomeIntent {
			if i+1 == len(hist) || hist[i+1].Outcome == record.OutcomeIntent {
				t.Errorf("record %d: intent %s is not followed by its outcome: %s", i, r.Operation, opsOf(hist))
			}
			continue
		}
		if !afterItsIntent(hist, i) {
			t.Errorf("record %d (%s/%s@%d) is not preceded by its intent: %s", i, r.Operation, r.Outcome, r.Generation, opsOf(hist))
		}
		if r.Outcome == record.OutcomeSuccess {
			done = append(done, r.Operation)
		}
	}
	// the successful changes, in order, are ops, plus any number of updates (the clone is
	// configured by an update; drift is corrected by updates) and repeats of the change just
	// made (every external call is a record: the reconciler may call Delete again while the
	// resource is going away, and that call is recorded with its own intent)
	j := 0
	for _, op := range done {
		switch {
		case j < len(ops) && op == ops[j]:
			j++
		case op == record.OpUpdate && j > 0:
		case j > 0 && op == ops[j-1]:
		default:
			t.Fatalf("successful changes %v, want %v (plus updates): %s", done, ops, opsOf(hist))
		}
	}
	if j != len(ops) {
		t.Fatalf("successful changes %v, want %v (plus updates): %s", done, ops, opsOf(hist))
	}
}

// afterItsIntent tells whether record i comes right after the intent of its operation
// and generation, or after failed attempts of the same that do (each attempt has its own
// intent now; a retry whose intent was lost still follows the first one's).
func afterItsIntent(hist []record.Record, i int) bool {
	r := hist[i]
	for j := i - 1; j >= 0; j-- {
		p := hist[j]
		if p.Generation != r.Generation {
			return false
		}
		switch {
		case p.Operation == "intent-"+r.Operation:
			return true
		case p.Operation == r.Operation && p.Outcome == record.OutcomeFailure:
		default:
			return false
		}
	}
	return false
}

// find returns the first successful record of op (of generation gen, unless 0).
func find(hist []record.Record, op string, gen int64) record.Record {
	for _, r := range hist {
		if r.Operation == op && r.Outcome == record.OutcomeSuccess && (gen == 0 || r.Generation == gen) {
			return r
		}
	}
	return record.Record{}
}
