package proxmox

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	mcv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/internal/tcpfwd"
)

// A site that stops answering costs the provider one probe per poll, not a
// retry per resource: its resources say the site does not answer (endpoint
// named) and wait; the first answer wakes them all. Nothing is created or
// destroyed again when it comes back.
func TestUnreachableSiteCostsOneProbePerPoll(t *testing.T) {
	const vms = 10
	const window = 6 * time.Second
	s := newSite(t, pvesim.Options{})
	fwd := s.behindForwarder(t, nil)
	reconciles := &atomic.Int64{}
	s.startProxmoxWith(t, func(o *options.Options) {
		o.DriftInterval = time.Minute
		// The VMs' reconciles only: the config's own (its usages counted)
		// are not the site's probes.
		o.Logger = reconcileCounter{request: s.ns + "/far-*", n: reconciles}
	})
	for i := range vms {
		mustCreate(t, s.env.Client, s.vm(fmt.Sprintf("far-%d", i), cloneOf(pvesim.DefaultTemplateID)))
	}
	for i := range vms {
		s.waitReady(t, fmt.Sprintf("far-%d", i))
	}
	guestsBefore := len(s.guests(t))

	fwd.Down()
	eventually(t, 20*time.Second, "every VM saying its site does not answer", func() string {
		for i := range vms {
			vm := s.get(t, fmt.Sprintf("far-%d", i))
			if sy := vm.GetCondition(xpv2.TypeSynced); sy.Status != corev1.ConditionFalse ||
				!strings.Contains(sy.Message, fwd.Addr()) || !strings.Contains(sy.Message, "the site does not answer") {
				return fmt.Sprintf("%s: Synced %s %q", vm.Name, sy.Status, sy.Message)
			}
		}
		return ""
	})
	before := reconciles.Load()
	time.Sleep(window)
	n := reconciles.Load() - before
	t.Logf("%d VMs of a site that does not answer: %d reconciles in %s (poll %s)", vms, n, window, pollInterval)
	// One probe per poll at most (the probe backoff is capped at the poll),
	// plus slack for a probe in flight at either end. Each VM retrying on its
	// own backoff (100ms doubling to 2s) would be over 30.
	if limit := int64(window/pollInterval) + 3; n > limit {
		t.Errorf("%d reconciles of an unreachable site's %d VMs in %s, want at most %d (one probe per poll)", n, vms, window, limit)
	}

	start := time.Now()
	if err := fwd.Up(); err != nil {
		t.Fatal(err)
	}
	for i := range vms {
		s.waitObj(t, s.get(t, fmt.Sprintf("far-%d", i)), 20*time.Second, "Ready and Synced again", func(ready, synced xpv2.Condition) string {
			if ready.Status != corev1.ConditionTrue || synced.Status != corev1.ConditionTrue {
				return fmt.Sprintf("Ready %s, Synced %s %q", ready.Status, synced.Status, synced.Message)
			}
			return ""
		})
	}
	t.Logf("site back: all %d VMs Ready and Synced after %s", vms, time.Since(start).Round(100*time.Millisecond))
	if after := len(s.guests(t)); after != guestsBefore {
		t.Errorf("the site has %d guests after the outage, %d before", after, guestsBefore)
	}
	if d := s.sim.RequestCounts()["DELETE /nodes/{node}/qemu/{vmid}"]; d != 0 {
		t.Errorf("%v guest deletes sent", d)
	}
}

// Creates queued behind the site's create slots when it stops answering
// say so too (they do not wait for the slots the creates in flight hold),
// and once it answers again every VM is created exactly once.
func TestUnreachableSiteWithCreatesQueued(t *testing.T) {
	const vms = 8
	// 2s tasks: the first clones are still running when the site goes
	// down, and each outlasts the simulator's 1s storage-lock timeout (until
	// 2026-12-02 the simulator held the lock for a whole full clone, so two
	// parallel clones failed on it for good and a VM never became Ready).
	s := newSite(t, pvesim.Options{TaskDuration: 2 * time.Second})
	fwd := s.behindForwarder(t, ptr.To(int32(2)))
	s.startProxmoxWith(t, func(o *options.Options) { o.DriftInterval = time.Minute })
	for i := range vms {
		mustCreate(t, s.env.Client, s.vm(fmt.Sprintf("queued-%d", i), cloneOf(pvesim.DefaultTemplateID)))
	}
	eventually(t, 20*time.Second, "creates queued behind the 2 slots", func() string {
		n := 0
		for i := range vms {
			if strings.Contains(s.get(t, fmt.Sprintf("queued-%d", i)).GetCondition(xpv2.TypeReady).Message, "queue") {
				n++
			}
		}
		if n < vms/2 {
			return fmt.Sprintf("%d queued", n)
		}
		return ""
	})
	fwd.Down()
	start := time.Now()
	eventually(t, 30*time.Second, "every VM, queued or not, saying its site does not answer", func() string {
		for i := range vms {
			vm := s.get(t, fmt.Sprintf("queued-%d", i))
			if sy := vm.GetCondition(xpv2.TypeSynced); !strings.Contains(sy.Message, fwd.Addr()) {
				return fmt.Sprintf("%s: Synced %s %q, Ready %q", vm.Name, sy.Status, sy.Message, vm.GetCondition(xpv2.TypeReady).Message)
			}
		}
		return ""
	})
	t.Logf("all %d VMs named the endpoint %s after the site went down", vms, time.Since(start).Round(100*time.Millisecond))
	if err := fwd.Up(); err != nil {
		t.Fatal(err)
	}
	for i := range vms {
		s.waitReadyWithin(t, fmt.Sprintf("queued-%d", i), 90*time.Second)
	}
	for i := range vms {
		if n := len(s.guestsNamed(t, fmt.Sprintf("queued-%d", i))); n != 1 {
			t.Errorf("queued-%d: %d guests", i, n)
		}
	}
}

// behindForwarder points the site's ProviderConfig at a TCP forwarder to
// its simulator (which the test can take down and bring back), with
// maxParallelCreates when set.
func (s *site) behindForwarder(t *testing.T, maxParallelCreates *int32) *tcpfwd.Forwarder {
	t.Helper()
	fwd, err := tcpfwd.New(s.sim.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fwd.Down)
	var pc mcv1alpha1.ProviderConfig
	if err := s.env.Client.Get(context.Background(), types.NamespacedName{Namespace: s.ns, Name: "default"}, &pc); err != nil {
		t.Fatal(err)
	}
	pc.Spec.Proxmox.Endpoint = "https://" + fwd.Addr()
	if maxParallelCreates != nil {
		pc.Spec.Proxmox.MaxParallelCreates = maxParallelCreates
	}
	if err := s.env.Client.Update(context.Background(), &pc); err != nil {
		t.Fatal(err)
	}
	return fwd
}
