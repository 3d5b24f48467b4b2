package provenance

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/changelog"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// TestRequiredWithConnectorDown: with --provenance=required and no connector listening,
// a new VM is not created and its Synced condition says why; once the connector is
// started on the socket, the VM is created exactly once and its records reach the ledger.
func TestRequiredWithConnectorDown(t *testing.T) {
	t.Parallel()
	w := newWorld(t, false)
	p := w.newProvider(changelog.ModeRequired)
	p.startManager()

	vm := w.vm("gated", 1)
	w.create(vm)
	eventually(t, 60*time.Second, "refusal in the Synced condition", func() string {
		if gs := w.guestsNamed("gated"); len(gs) != 0 {
			t.Fatalf("a guest was created although its intent was not accepted: %+v", gs)
		}
		if err := w.get(vm); err != nil {
			return err.Error()
		}
		c := vm.GetCondition(xpv2.TypeSynced)
		if c.Status != corev1.ConditionFalse ||
			!strings.Contains(c.Message, "the intent record of this create was not accepted, so the external change was not made") ||
			!strings.Contains(c.Message, "provenance intent was not durably accepted by the connector") {
			return fmt.Sprintf("Synced=%s %q", c.Status, c.Message)
		}
		t.Logf("Synced=False: %s", c.Message)
		return ""
	})
	if gs := w.guestsNamed("gated"); len(gs) != 0 {
		t.Fatalf("a guest was created although its intent was not accepted: %+v", gs)
	}
	if n := p.l.Queued(); n != 0 {
		t.Fatalf("%d records queued for a change that was never made", n)
	}

	c := w.startConnector(filepath.Join(w.dir, "wal.db"))
	w.waitReady(vm, 90*time.Second)
	if gs := w.guestsNamed("gated"); len(gs) != 1 {
		t.Fatalf("%d guests named gated, want exactly 1: %+v", len(gs), gs)
	}
	waitSent(t, p, c, 60*time.Second)
	hist := w.ledgerChain(c, vmKey(w.ns, "gated"))
	if len(hist) < 2 || hist[0].Operation != record.OpIntentCreate || hist[1].Operation != record.OpCreate || hist[1].Outcome != record.OutcomeSuccess {
		t.Fatalf("chain starts %s; want intent-create then a successful create, nothing of the refused attempts", opsOf(hist))
	}
	for _, r := range hist {
		if r.Operation == record.OpCreate && r.Outcome != record.OutcomeSuccess {
			t.Errorf("a refused (never made) create was recorded: %+v", r)
		}
	}
	requireLifecycle(t, hist, string(vm.GetUID()), record.OpCreate)
	// no delete here: a VM created less than 30s ago waits out crossplane-runtime's
	// creation grace period before its finalizer goes; TestReconcilesAreLedgered covers it
}
