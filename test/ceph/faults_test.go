package ceph

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
)

// faultRule injects fault into the next left calls of a class about target (exact name, or
// every call with target "*"), restricted to writes or reads when only says so, and to one op
// when op says so. It is a fake on
// top of the real call path: the Ceph client still talks to the real cluster, and the hook only
// drops the call, loses its answer, or gives up waiting for it.
type faultRule struct {
	class  cephclient.CallClass
	target string
	only   string // "write", "read" or "" (any)
	op     string // only calls of this op when set, e.g. "rbd status"
	fault  cephclient.Fault
	left   int
	hits   []string // ops hit, in order
}

func (r *faultRule) matches(c cephclient.Call) bool {
	if r.left <= 0 || c.Class != r.class || (r.op != "" && c.Op != r.op) {
		return false
	}
	if r.target != "*" && c.Target != r.target && !strings.HasPrefix(c.Target, r.target+"/") {
		return false
	}
	return r.only == "" || (r.only == "write") == c.Write
}

// injector is the test's fault hook on the controllers' shared Ceph client.
type injector struct {
	mu    sync.Mutex
	rules []*faultRule
}

func (in *injector) hook(c cephclient.Call) cephclient.Fault {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, r := range in.rules {
		if r.matches(c) {
			r.left--
			r.hits = append(r.hits, c.Op)
			return r.fault
		}
	}
	return cephclient.NoFault
}

func (in *injector) add(r *faultRule) *faultRule {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rules = append(in.rules, r)
	return r
}

func (in *injector) remove(r *faultRule) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, x := range in.rules {
		if x == r {
			in.rules = append(in.rules[:i], in.rules[i+1:]...)
			return
		}
	}
}

// spent tells whether every fault of r was injected, and which ops it hit.
func (in *injector) spent(r *faultRule) (bool, string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	return r.left <= 0, strings.Join(r.hits, ", ")
}

// faults installs an injector on the Ceph client the controllers share (the harness's registry,
// same site key as the ProviderConfig's), removed when the test ends.
func (h *harness) faults() (*injector, *cephclient.Client) {
	h.t.Helper()
	cfg := cephclient.Config{Monitors: h.cfg.Monitors, ClientName: "admin", Key: strings.TrimSpace(h.cfg.Key)}
	c, err := h.clients.Get(context.Background(), cfg)
	if err != nil {
		h.t.Fatalf("cannot get the controllers' Ceph client: %v", err)
	}
	in := &injector{}
	c.SetFaultHook(in.hook)
	h.t.Cleanup(func() { c.SetFaultHook(nil) })
	return in, c
}

// The classes of the gateway's requests, as the fault rules name them.
const (
	classRGWAdmin = cephclient.CallClass("rgw-admin")
	classS3       = cephclient.CallClass("s3")
)

// rgwFaults puts the injector on the RADOS Gateway client the controllers share too (the
// harness's registry, same gateway and admin key as the ProviderConfig's), removed when the test
// ends: the gateway's requests reach the rules as calls of class rgw-admin or s3.
func (h *harness) rgwFaults(in *injector) {
	h.t.Helper()
	env := rgwAdminEnv(h.conf)
	h.rgwAdmin() // fails or skips without a gateway
	c, err := h.rgwClients.Get(rgw.Config{Endpoint: env["RGW_ENDPOINT"], AccessKey: env["RGW_ACCESS_KEY"], SecretKey: env["RGW_SECRET_KEY"]})
	if err != nil {
		h.t.Fatalf("cannot get the controllers' RGW client: %v", err)
	}
	c.SetFaultHook(func(r rgw.Call) cephclient.Fault {
		class := classS3
		if r.API == rgw.APIAdmin {
			class = classRGWAdmin
		}
		return in.hook(cephclient.Call{Class: class, Op: r.Op, Target: r.Target, Write: r.Write})
	})
	h.t.Cleanup(func() { c.SetFaultHook(nil) })
}

// waitInSync waits until o is Ready and Synced at its current generation: drift made by hand
// after that is reported as drift (before it, it is taken for the spec change still applying).
func (h *harness) waitInSync(o conditioned) {
	h.t.Helper()
	h.eventually(60*time.Second, o.GetName()+" in sync at its generation", func() bool {
		if err := h.get(o); err != nil {
			return false
		}
		s, r := o.GetCondition(xpv2.TypeSynced), o.GetCondition(xpv2.TypeReady)
		return s.Status == corev1.ConditionTrue && r.Status == corev1.ConditionTrue && s.ObservedGeneration == o.GetGeneration()
	}, func() string { return conditions(o) })
}

// waitEvent waits for an event on o with reason whose message contains every part of msg.
func (h *harness) waitEvent(o client.Object, reason string, msg ...string) string {
	h.t.Helper()
	var found string
	h.eventually(60*time.Second, fmt.Sprintf("event %s on %s", reason, o.GetName()), func() bool {
		var list corev1.EventList
		if err := h.kube.List(context.Background(), &list, client.InNamespace(o.GetNamespace())); err != nil {
			return false
		}
		for _, e := range list.Items {
			if e.InvolvedObject.Name != o.GetName() || e.Reason != reason {
				continue
			}
			all := true
			for _, m := range msg {
				all = all && strings.Contains(e.Message, m)
			}
			if all {
				found = e.Type + " " + e.Reason + ": " + e.Message
				return true
			}
		}
		return false
	}, func() string {
		var list corev1.EventList
		_ = h.kube.List(context.Background(), &list, client.InNamespace(o.GetNamespace()))
		var seen []string
		for _, e := range list.Items {
			if e.InvolvedObject.Name == o.GetName() {
				seen = append(seen, e.Reason+": "+e.Message)
			}
		}
		return "events seen: " + strings.Join(seen, " | ")
	})
	return found
}
