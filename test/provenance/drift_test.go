package provenance

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	pvev1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/changelog"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// TestDriftRepairsAreEachLedgered: a VM's cores changed by hand three times within one
// generation, each time set back by the provider, leaves three more successful update
// records of that generation on the ledger (same spec, three writes), each after its own
// intent, linked into the VM's chain: every external write is a record, and none twice.
func TestDriftRepairsAreEachLedgered(t *testing.T) {
	t.Parallel()
	w := newWorld(t, false)
	c := w.startConnector(filepath.Join(w.dir, "wal.db"))
	p := w.newProvider(changelog.ModeRequired)
	p.startManager()

	vm := w.vm("drifting", 2)
	// stopped: PVE applies a config change at once (a running guest's cores change would
	// wait as a pending change, hiding the next hand-made drift behind it)
	vm.Spec.ForProvider.PowerState = pvev1alpha1.PowerStateStopped
	w.create(vm)
	w.waitReady(vm, 60*time.Second)
	vmid, gen, key := vm.Status.AtProvider.VMID, vm.GetGeneration(), vmKey(w.ns, "drifting")
	waitSent(t, p, c, 60*time.Second)
	before := w.ledgerChain(c, key)

	for i := 1; i <= 3; i++ {
		// let the previous write's PVE task finish first: its config change landing after
		// the hand-made one would undo the drift before the provider saw it
		time.Sleep(2 * time.Second)
		if err := w.sim.SetConfig(int(vmid), map[string]string{"cores": "5"}); err != nil {
			t.Fatalf("cannot make drift %d: %v", i, err)
		}
		if c := w.guestCores(vmid); c != "5" {
			t.Fatalf("drift %d not made: cores %s", i, c)
		}
		eventually(t, 60*time.Second, fmt.Sprintf("drift %d repaired", i), func() string {
			if c := w.guestCores(vmid); c != "2" {
				return "cores " + c
			}
			return ""
		})
		// the repair's record is in the WAL before the next drift is made
		eventually(t, 30*time.Second, fmt.Sprintf("repair %d recorded", i), func() string {
			if n := c.appended(t); n < len(before)+2*i {
				return fmt.Sprintf("%d records appended, want %d", n, len(before)+2*i)
			}
			return ""
		})
	}
	waitSent(t, p, c, 60*time.Second)
	if err := w.get(vm); err != nil {
		t.Fatal(err)
	}
	if vm.GetGeneration() != gen {
		t.Fatalf("generation moved from %d to %d: the repairs must happen within one generation", gen, vm.GetGeneration())
	}

	hist := w.ledgerChain(c, key) // verified, linked, no id twice
	if len(hist) < len(before) {
		t.Fatalf("the chain shrank from %d to %d records", len(before), len(hist))
	}
	for i, r := range before {
		if hist[i].ID != r.ID {
			t.Fatalf("record %d changed: %s, was %s", i, hist[i].ID, r.ID)
		}
	}
	var repairs []record.Record
	for i, r := range hist[len(before):] {
		j := len(before) + i
		switch {
		case r.Operation == record.OpIntentUpdate:
		case r.Operation == record.OpUpdate && r.Outcome == record.OutcomeSuccess:
			if hist[j-1].Operation != record.OpIntentUpdate || hist[j-1].Generation != r.Generation {
				t.Errorf("repair record %d is not right after its own intent: %s", j, opsOf(hist))
			}
			repairs = append(repairs, r)
		default:
			t.Errorf("record %d after the drifts is %s/%s, want only intents and successful updates: %s", j, r.Operation, r.Outcome, opsOf(hist))
		}
	}
	if len(repairs) != 3 {
		t.Fatalf("%d successful update records after three drifts, want 3: %s", len(repairs), opsOf(hist[len(before):]))
	}
	for i, r := range repairs {
		if r.Generation != gen || r.SpecHash != repairs[0].SpecHash || r.UID != string(vm.GetUID()) {
			t.Errorf("repair %d: generation %d spec %s uid %s; want generation %d, one spec, uid %s", i, r.Generation, r.SpecHash, r.UID, gen, vm.GetUID())
		}
		if r.Write == "" {
			t.Errorf("repair %d has no write stamp", i)
		}
		if i > 0 && r.ID == repairs[i-1].ID {
			t.Errorf("repairs %d and %d share id %s", i-1, i, r.ID)
		}
	}
	t.Logf("three repairs of generation %d: %s", gen, opsOf(hist[len(before):]))
}
