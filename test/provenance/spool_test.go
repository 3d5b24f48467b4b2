package provenance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	changelogs "github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/changelog"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// openSpooled starts a provider-side logger (no manager yet) on the spool file at path.
func (w *world) openSpooled(path string, mode changelog.Mode) *provider {
	w.t.Helper()
	sp, err := changelog.OpenSpool(path)
	if err != nil {
		w.t.Fatalf("cannot open the spool: %v", err)
	}
	return w.newProvider(mode, changelog.WithSpool(sp))
}

// TestSpoolSurvivesRestart: best-effort, connector down: N entries are logged, the logger
// is closed (a provider restart) and reopened on the same spool; once the connector is up
// all N reach its WAL exactly once and the ledger. Replaying a copy of the spool taken
// before the drain (a crash after the connector's acks, before the spool's deletes)
// appends nothing more.
func TestSpoolSurvivesRestart(t *testing.T) {
	t.Parallel()
	w := newWorld(t, false)
	spool := filepath.Join(w.dir, "spool.db")
	const vms, gens = 6, 5
	const n = vms * gens * 2

	p := w.openSpooled(spool, changelog.ModeBestEffort)
	ctx := context.Background()
	uid := fmt.Sprintf("restart-%s", w.ns)
	for g := int64(1); g <= gens; g++ {
		for i := 0; i < vms; i++ {
			vm := w.vm(fmt.Sprintf("vm%d", i), g)
			vm.SetUID(types.UID(fmt.Sprintf("%s-%d", uid, i)))
			vm.SetGeneration(g)
			if err := p.l.RecordIntent(ctx, vm, changelogs.OperationType_OPERATION_TYPE_UPDATE); err != nil {
				t.Fatalf("best-effort intent failed: %v", err)
			}
			if err := p.l.Log(ctx, vm, changelogs.OperationType_OPERATION_TYPE_UPDATE, nil, nil); err != nil {
				t.Fatalf("best-effort log failed: %v", err)
			}
		}
	}
	if q := p.l.Queued(); q != n {
		t.Fatalf("%d entries spooled, want %d", q, n)
	}
	p.stop() // the provider restarts
	replay := filepath.Join(w.dir, "replay.db")
	copyFile(t, spool, replay)

	c := w.startConnector(filepath.Join(w.dir, "wal.db"))
	for _, path := range []string{spool, replay} {
		p := w.openSpooled(path, changelog.ModeBestEffort)
		if q := p.l.Queued(); q != n {
			t.Fatalf("%d entries in %s after the restart, want %d", q, filepath.Base(path), n)
		}
		waitSent(t, p, c, 60*time.Second)
		p.stop()
		if got := c.appended(t); got != n {
			t.Fatalf("after draining %s the connector appended %d records, want exactly %d", filepath.Base(path), got, n)
		}
	}
	for i := 0; i < vms; i++ {
		key := vmKey(w.ns, fmt.Sprintf("vm%d", i))
		hist := w.ledgerChain(c, key)
		if len(hist) != gens*2 {
			t.Fatalf("%s has %d records on the ledger, want %d", key, len(hist), gens*2)
		}
		for j, r := range hist {
			op := record.OpIntentUpdate
			if j%2 == 1 {
				op = record.OpUpdate
			}
			if r.Operation != op || r.Generation != int64(j/2+1) {
				t.Fatalf("%s record %d is %s@%d, want %s@%d (spooled order kept)", key, j, r.Operation, r.Generation, op, j/2+1)
			}
		}
	}
}

// TestProviderRestartWithConnectorDown: best-effort with a spool; while the connector is
// down a VM is created and updated, the provider stops and a new one starts on the same
// spool; when the connector comes up the records of the changes the first provider made
// reach the ledger, and the VM's chain is complete once it is deleted.
func TestProviderRestartWithConnectorDown(t *testing.T) {
	t.Parallel()
	w := newWorld(t, false)
	spool := filepath.Join(w.dir, "spool.db")

	p1 := w.openSpooled(spool, changelog.ModeBestEffort)
	p1.startManager()
	vm := w.vm("restarted", 1)
	w.create(vm)
	w.waitReady(vm, 60*time.Second)
	uid := string(vm.GetUID())
	w.update(vm, func() { vm.Spec.ForProvider.Cores = 2 })
	eventually(t, 60*time.Second, "VM updated to 2 cores while the connector is down", func() string {
		if c := w.guestCores(vm.Status.AtProvider.VMID); c != "2" {
			return "cores " + c
		}
		return ""
	})
	w.waitReady(vm, 30*time.Second)
	p1.stop()
	spooled := p1.l.Queued()
	if spooled < 4 {
		t.Fatalf("%d entries spooled; want at least intent-create, create, intent-update, update", spooled)
	}

	p2 := w.openSpooled(spool, changelog.ModeBestEffort)
	if q := p2.l.Queued(); q != spooled {
		t.Fatalf("the restarted provider found %d spooled entries, the stopped one left %d", q, spooled)
	}
	p2.startManager()
	c := w.startConnector(filepath.Join(w.dir, "wal.db"))
	waitSent(t, p2, c, 60*time.Second)
	before := w.ledgerChain(c, vmKey(w.ns, "restarted"))
	requireLifecycle(t, before, uid, record.OpCreate, record.OpUpdate)
	if find(before, record.OpUpdate, 2).ID == "" {
		t.Fatalf("the update to 2 cores made before the restart is not on the ledger: %s", opsOf(before))
	}

	w.deleteAndWait(vm, 60*time.Second)
	waitSent(t, p2, c, 60*time.Second)
	after := w.ledgerChain(c, vmKey(w.ns, "restarted"))
	requireLifecycle(t, after, uid, record.OpCreate, record.OpUpdate, record.OpDelete)
	if after[len(before)-1].Hash != before[len(before)-1].Hash {
		t.Fatalf("the chain was rewritten: %s then %s", opsOf(before), opsOf(after))
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
