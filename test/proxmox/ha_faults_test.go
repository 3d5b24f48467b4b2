package proxmox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// haFaults are faultVariants' kinds for one HA route, striking one after
// the other. A GET is sent again on every pass, so a read route gets a 502
// with PVE's JSON before the handler ran, then a 502 HTML page and a 503
// with no body after it ran, a hung request and a dropped answer. A write
// is done once its answer is lost, and nothing sends it again, so only one
// fault after the handler can strike it: a write route gets the 502 before
// the handler, then the after-handler kind number k (of the four, in turn).
func haFaults(route string, k int) []pvesim.RouteFault {
	all := faultVariants(route)
	after := []pvesim.RouteFault{all[1], all[5], all[len(all)-2], all[len(all)-1]}
	if strings.HasPrefix(route, "GET ") {
		return append([]pvesim.RouteFault{all[0]}, after...)
	}
	return []pvesim.RouteFault{all[0], after[k%len(after)]}
}

// setHAFaults arms the faults of route (the k-th write route of the test
// takes the k-th after-handler kind) and returns a check that they all
// struck (a spent fault is removed).
func (s *site) setHAFaults(t *testing.T, route string, k int) func() {
	s.setFaults(haFaults(route, k)...)
	return func() {
		t.Helper()
		if left := s.sim.Faults().Get().Routes; len(left) > 0 {
			t.Errorf("%s: %d faults never struck", route, len(left))
		}
		s.sim.Faults().Clear()
	}
}

// TestHAFaults runs the HA kinds' create, update and delete with each of
// their routes failing in turn: every operation converges, no HA resource or
// rule is left behind or made twice, the guests are never touched, and a
// delete removes only its own object.
func TestHAFaults(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	s.startProxmoxWith(t, func(o *options.Options) { o.PollInterval = 500 * time.Millisecond })
	ctx := context.Background()
	vm1, vm2 := s.haVM(t, "f-vm-1"), s.haVM(t, "f-vm-2")
	sid1, sid2 := fmt.Sprintf("vm:%d", vm1), fmt.Sprintf("vm:%d", vm2)
	guestsBefore := fmt.Sprint(s.sim.GuestIDs())

	// HAResource create: the POST, then the GET of observe.
	done := s.setHAFaults(t, "POST /cluster/ha/resources", 0)
	ha1 := s.haResource("f-vm-1", v1alpha1.HAResourceParameters{SID: ptr.To(sid1), Comment: ptr.To("one")})
	mustCreate(t, s.env.Client, ha1)
	s.waitObjReadyWithin(t, ha1, 90*time.Second)
	done()
	done = s.setHAFaults(t, "GET /cluster/ha/resources/{sid}", 0)
	ha2 := s.haResource("f-vm-2", v1alpha1.HAResourceParameters{SID: ptr.To(sid2), MaxRestart: ptr.To[int64](2)})
	mustCreate(t, s.env.Client, ha2)
	s.waitObjReadyWithin(t, ha2, 90*time.Second)
	done()
	eventually(t, 10*time.Second, "both under HA", func() string {
		return s.haIs(t, sid1, map[string]string{"comment": "one"})() + s.haIs(t, sid2, map[string]string{"max_restart": "2"})()
	})

	// HAResource update.
	done = s.setHAFaults(t, "PUT /cluster/ha/resources/{sid}", 1)
	s.update(t, ha1, func() { ha1.Spec.ForProvider.Comment = ptr.To("two") })
	eventually(t, 90*time.Second, "update through faults", s.haIs(t, sid1, map[string]string{"comment": "two"}))
	done()

	// HARule create, update and delete over the second guest.
	rule := s.haRule("f-pin", v1alpha1.HARuleParameters{Type: "node-affinity", Resources: []string{sid2}, Nodes: []v1alpha1.HARuleNode{{Node: "pve1"}}})
	done = s.setHAFaults(t, "POST /cluster/ha/rules", 2)
	mustCreate(t, s.env.Client, rule)
	s.waitObjReadyWithin(t, rule, 90*time.Second)
	done()
	done = s.setHAFaults(t, "PUT /cluster/ha/rules/{rule}", 3)
	s.update(t, rule, func() {
		rule.Spec.ForProvider.Nodes = []v1alpha1.HARuleNode{{Node: "pve2", Priority: ptr.To[int64](1)}}
	})
	eventually(t, 90*time.Second, "rule update through faults", s.ruleIs(t, "f-pin", map[string]string{"nodes": "pve2:1"}))
	done()
	done = s.setHAFaults(t, "DELETE /cluster/ha/rules/{rule}", 4)
	if err := s.env.Client.Delete(ctx, rule); err != nil {
		t.Fatal(err)
	}
	s.waitGoneWithin(t, rule, 90*time.Second)
	done()
	if _, ok := s.pveRule(t, "f-pin"); ok {
		t.Errorf("rule f-pin left behind")
	}

	// HAResource delete: the DELETE, then the GET while deleting.
	for _, c := range []struct {
		ha    *v1alpha1.HAResource
		sid   string
		route string
		k     int
	}{{ha1, sid1, "DELETE /cluster/ha/resources/{sid}", 5}, {ha2, sid2, "GET /cluster/ha/resources/{sid}", 0}} {
		done = s.setHAFaults(t, c.route, c.k)
		if err := s.env.Client.Delete(ctx, c.ha); err != nil {
			t.Fatal(err)
		}
		s.waitGoneWithin(t, c.ha, 90*time.Second)
		done()
		if h, ok := s.pveHA(t, c.sid); ok {
			t.Errorf("%s still under HA after its HAResource was deleted: %v", c.sid, h)
		}
	}
	if after := fmt.Sprint(s.sim.GuestIDs()); after != guestsBefore {
		t.Errorf("guests %s before, %s after: the HA kinds touched guests", guestsBefore, after)
	}
	for _, n := range []string{"f-vm-1", "f-vm-2"} {
		s.waitReady(t, n)
	}
}

func (s *site) waitObjReadyWithin(t *testing.T, obj conditioned, timeout time.Duration) {
	t.Helper()
	s.waitObj(t, obj, timeout, obj.GetName()+" Ready", func(r, sy xpv2.Condition) string {
		if r.Status != corev1.ConditionTrue || sy.Status != corev1.ConditionTrue {
			return "not ready"
		}
		return ""
	})
}

func (s *site) waitGoneWithin(t *testing.T, obj conditioned, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, obj.GetName()+" deleted", func() string {
		if err := s.env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
			if kerrors.IsNotFound(err) {
				return ""
			}
			return err.Error()
		}
		return "still there: " + obj.GetCondition(xpv2.TypeSynced).Message
	})
}
