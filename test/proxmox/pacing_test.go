package proxmox

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/utils/ptr"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	mcv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// Creates are paced per site (spec.proxmox.maxParallelCreates): with a
// storage lock that makes a waiting clone give up after 1s, twelve clones
// asked for at once all succeed when two run at a time, and the resources
// waiting say so. The control case, the limit raised to 100, shows the
// same twelve clones fail on the lock: the test can fail.
func TestCreatesPacedPerSite(t *testing.T) {
	for _, c := range []struct {
		name     string
		limit    int32
		wantFail bool
	}{{"paced", 2, false}, {"unpaced", 100, true}} {
		t.Run(c.name, func(t *testing.T) {
			s := newSite(t, pvesim.Options{TaskDuration: 300 * time.Millisecond, StorageLockHold: 300 * time.Millisecond,
				StorageLockTimeout: time.Second})
			pc := &mcv1alpha1.ProviderConfig{}
			pc.SetNamespace(s.ns)
			pc.SetName("default")
			s.update(t, pc, func() { pc.Spec.Proxmox.MaxParallelCreates = ptr.To(c.limit) })

			// Clones in flight are guests locked "clone" in the simulator.
			var most atomic.Int32
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
					n := int32(0)
					for _, id := range s.sim.GuestIDs() {
						if g, ok := s.sim.Guest(id); ok && g.Config["lock"] == "clone" {
							n++
						}
					}
					if n > most.Load() {
						most.Store(n)
					}
				}
			}()
			t.Cleanup(func() { close(stop); wg.Wait() })

			s.startProvider(t, nil)
			const n = 12
			for i := range n {
				mustCreate(t, s.env.Client, s.vm(fmt.Sprintf("paced-%d", i), cloneOf(pvesim.DefaultTemplateID)))
			}
			if c.wantFail {
				eventually(t, 60*time.Second, "a clone failing on the storage lock", func() string {
					if failed := s.failedClones(t); len(failed) == 0 {
						return "no failed clone yet"
					}
					return ""
				})
				if most.Load() <= 2 {
					t.Errorf("at most %d clones ran at once without pacing; the test cannot tell pacing from none", most.Load())
				}
				return
			}
			sawQueue := false
			eventually(t, 90*time.Second, "every VM Ready", func() string {
				notReady := 0
				for i := range n {
					vm := s.get(t, fmt.Sprintf("paced-%d", i))
					cond := vm.GetCondition(xpv2.TypeReady)
					if cond.Reason == xpv2.ReasonCreating && strings.Contains(cond.Message, "ahead in the site's queue") {
						sawQueue = true
					}
					if cond.Status != "True" {
						notReady++
					}
				}
				if notReady > 0 {
					return fmt.Sprintf("%d not Ready", notReady)
				}
				return ""
			})
			if m := most.Load(); m > 2 {
				t.Errorf("%d clones ran at once, want at most 2 (spec.proxmox.maxParallelCreates)", m)
			}
			if failed := s.failedClones(t); len(failed) > 0 {
				t.Errorf("clone tasks failed although paced: %v", failed)
			}
			if !sawQueue {
				t.Error("no VM showed it waits in the create queue")
			}
			for i := range n {
				if gs := s.guestsNamed(t, fmt.Sprintf("paced-%d", i)); len(gs) != 1 {
					t.Errorf("%d guests named paced-%d, want 1", len(gs), i)
				}
			}
		})
	}
}

// failedClones lists the clone tasks PVE's task index shows as failed.
func (s *site) failedClones(t *testing.T) []string {
	t.Helper()
	var tasks []struct {
		UPID   string `json:"upid"`
		Type   string `json:"type"`
		Status string `json:"status"`
	}
	if err := s.pve.Get(context.Background(), "/cluster/tasks", &tasks); err != nil {
		t.Fatalf("cannot list tasks: %v", err)
	}
	var out []string
	for _, x := range tasks {
		if x.Type == "qmclone" && x.Status != "" && x.Status != "OK" {
			out = append(out, x.Status)
		}
	}
	return out
}
