package proxmox

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"

	proxmoxclient "github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	proxmoxsite "github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/site"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// reconcileCounter is a logger that counts the managed reconciler's
// "Reconciling" lines for one request (namespace/name): the reconciles of
// that one resource, whatever else runs in the test binary; a request
// ending in "*" (namespace/prefix*) counts every resource whose name starts
// with the prefix.
type reconcileCounter struct {
	request string
	kv      []any
	n       *atomic.Int64
}

func (l reconcileCounter) Info(string, ...any) {}

func (l reconcileCounter) Debug(msg string, _ ...any) {
	if msg != "Reconciling" {
		return
	}
	for i := 0; i+1 < len(l.kv); i += 2 {
		if r := fmt.Sprint(l.kv[i+1]); l.kv[i] == "request" && (r == l.request || strings.HasSuffix(l.request, "*") && strings.HasPrefix(r, strings.TrimSuffix(l.request, "*"))) {
			l.n.Add(1)
		}
	}
}

func (l reconcileCounter) WithValues(kv ...any) logging.Logger {
	return reconcileCounter{request: l.request, kv: append(slices.Clone(l.kv), kv...), n: l.n}
}

// A settled VM (Ready, up to date, nothing pending) is not reconciled every
// poll: its site's guest watch reads the cluster view once per poll and
// wakes it only when its line there changes, here a stop by hand, which is
// then set right. With the watch off (the stock poller's way, kept for the
// scale benchmark) the same VM is reconciled every poll: the control that
// shows the count can tell the two apart.
func TestSettledGuestReconciledOnlyOnViewChange(t *testing.T) {
	const idle = 6 * time.Second // six polls
	for _, watch := range []bool{true, false} {
		t.Run(fmt.Sprintf("watch=%v", watch), func(t *testing.T) {
			s := newSite(t, pvesim.Options{})
			reconciles := &atomic.Int64{}
			s.startProxmoxWith(t, func(o *options.Options) {
				o.PollEveryGuest = !watch
				o.DriftInterval = time.Minute
				o.Logger = reconcileCounter{request: s.ns + "/settled-1", n: reconciles}
			})
			mustCreate(t, s.env.Client, s.vm("settled-1", cloneOf(pvesim.DefaultTemplateID)))
			vm := s.waitReady(t, "settled-1")
			time.Sleep(2 * time.Second) // the reconciles that follow a create
			before := reconciles.Load()
			time.Sleep(idle)
			n := reconciles.Load() - before
			t.Logf("watch=%v: %d reconciles of a settled VM in %s with a %s poll", watch, n, idle, pollInterval)
			if watch && n > 1 {
				t.Fatalf("a settled VM under the guest watch was reconciled %d times in %s with nothing changed", n, idle)
			}
			if !watch {
				if n < 4 {
					t.Fatalf("with the watch off the VM was reconciled only %d times in %s of %s polls: the count cannot tell", n, idle, pollInterval)
				}
				return
			}

			// A change the view shows (the VM stopped by hand) wakes it
			// within a poll or two, and it is started again.
			id := int(vm.Status.AtProvider.VMID)
			if err := s.pve.Post(context.Background(), fmt.Sprintf("/nodes/pve1/qemu/%d/status/stop", id), nil, nil); err != nil {
				t.Fatal(err)
			}
			s.sim.Wait()
			start := time.Now()
			eventually(t, 15*time.Second, "the VM stopped by hand running again", func() string {
				for _, g := range s.guests(t) {
					if g.VMID == id && g.Status != "running" {
						return "guest is " + g.Status
					}
				}
				return ""
			})
			t.Logf("stopped by hand, running again after %s", time.Since(start).Round(100*time.Millisecond))
		})
	}
}

// An observe-only import has nothing to do after it reports what it sees:
// it is under the guest watch too, whatever it differs in from its spec.
func TestObserveOnlyGuestReconciledOnlyOnViewChange(t *testing.T) {
	const idle = 6 * time.Second
	s := newSite(t, pvesim.Options{})
	reconciles := &atomic.Int64{}
	s.startProxmoxWith(t, func(o *options.Options) {
		o.DriftInterval = time.Minute
		o.Logger = reconcileCounter{request: s.ns + "/imported-1", n: reconciles}
	})
	s.importTemplate(t, "imported-1")
	time.Sleep(2 * time.Second)
	before := reconciles.Load()
	time.Sleep(idle)
	if n := reconciles.Load() - before; n > 1 {
		t.Fatalf("an observe-only import was reconciled %d times in %s with nothing changed", n, idle)
	}
}

// An observe-only import that differs from its spec (it may never be set
// to it) does not have its status rewritten at each config read: with
// per-guest observation, a read every poll, its object stays unchanged.
func TestObserveOnlyImportUnchangedByItsReads(t *testing.T) {
	const idle = 5 * time.Second
	s := newSite(t, pvesim.Options{})
	s.startProxmoxWith(t, func(o *options.Options) {
		ro := proxmoxsite.RegistryOptions(*o)
		ro.PerGuest = true
		o.Proxmox = proxmoxclient.NewRegistry(ro)
	})
	s.importTemplate(t, "imported-2")
	time.Sleep(2 * time.Second)
	reads := s.sim.RequestCounts()["GET /nodes/{node}/qemu/{vmid}/config"]
	versions := map[string]bool{}
	for end := time.Now().Add(idle); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		versions[s.get(t, "imported-2").ResourceVersion] = true
	}
	reads = s.sim.RequestCounts()["GET /nodes/{node}/qemu/{vmid}/config"] - reads
	if reads < 3 {
		t.Fatalf("only %v config reads in %s of per-guest observation: the test cannot tell", reads, idle)
	}
	if n := len(versions) - 1; n > 0 {
		t.Errorf("the import's object changed %d times in %s (%v config reads) with nothing changed in PVE", n, idle, reads)
	}
}

// importTemplate imports the simulator's template guest observe-only as a
// VM named name, whose spec (node only) differs from it, and waits until it
// is observed.
func (s *site) importTemplate(t *testing.T, name string) {
	t.Helper()
	vm := s.vm(name, v1alpha1.VirtualMachineParameters{Node: "pve1"})
	vm.Spec.ManagementPolicies = xpv2.ManagementPolicies{xpv2.ManagementActionObserve}
	meta.SetExternalName(vm, strconv.Itoa(pvesim.DefaultTemplateID))
	mustCreate(t, s.env.Client, vm)
	eventually(t, 30*time.Second, "the import observed", func() string {
		if got := s.get(t, name).Status.AtProvider.VMID; got != pvesim.DefaultTemplateID {
			return fmt.Sprintf("status vmid %d, conditions %+v", got, s.get(t, name).Status.Conditions)
		}
		return ""
	})
}
