package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

var (
	gvrVM  = schema.GroupVersionResource{Group: "proxmox.microcloud.dev", Version: "v1alpha1", Resource: "virtualmachines"}
	gvrCT  = schema.GroupVersionResource{Group: "proxmox.microcloud.dev", Version: "v1alpha1", Resource: "containers"}
	gvrCPC = schema.GroupVersionResource{Group: "microcloud.dev", Version: "v1alpha1", Resource: "clusterproviderconfigs"}
)

type kube struct {
	dyn dynamic.Interface
	cs  kubernetes.Interface
}

// siteConfig writes site s's token and CA into a Secret of ns and a
// ClusterProviderConfig named pc pointing at the site's endpoint.
func (k *kube) siteConfig(ctx context.Context, ns, pc string, s *site) error {
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: pc, Namespace: ns},
		StringData: map[string]string{"token": s.srv.TokenID + "=" + s.srv.Secret, "ca.crt": string(s.srv.CACertPEM)}}
	if _, err := k.cs.CoreV1().Secrets(ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		return err
	}
	ref := func(key string) map[string]any { return map[string]any{"namespace": ns, "name": pc, "key": key} }
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "microcloud.dev/v1alpha1", "kind": "ClusterProviderConfig",
		"metadata": map[string]any{"name": pc},
		"spec": map[string]any{"proxmox": map[string]any{
			"endpoint": s.endpoint(), "tokenSecretRef": ref("token"),
			"caBundle": map[string]any{"secretKeyRef": ref("ca.crt")},
		}},
	}}
	_, err := k.dyn.Resource(gvrCPC).Create(ctx, u, metav1.CreateOptions{})
	return err
}

// clear removes what a run left once its provider has stopped: the
// finalizers that provider set on the run's objects and configs (nobody is
// left to take them off), the objects, the namespace and the configs, and
// waits until the namespace is gone. Without it every run's 10,000 objects
// and 100 configs stay in etcd and in the next providers' config caches,
// and later runs of a batch start from a bigger API server than earlier ones.
func (k *kube) clear(ctx context.Context, ns string, pcs []string) error {
	unfinalize := []byte(`{"metadata":{"finalizers":null}}`)
	drop := func(ri dynamic.ResourceInterface, names []string) error {
		return parallel(ctx, names, func(n string) error {
			if _, err := ri.Patch(ctx, n, types.MergePatchType, unfinalize, metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("take the finalizers off %s: %w", n, err)
			}
			return nil
		})
	}
	for _, gvr := range []schema.GroupVersionResource{gvrVM, gvrCT} {
		ri := k.dyn.Resource(gvr).Namespace(ns)
		l, err := ri.List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		var held []string
		for _, u := range l.Items {
			if len(u.GetFinalizers()) > 0 {
				held = append(held, u.GetName())
			}
		}
		if err := drop(ri, held); err != nil {
			return err
		}
	}
	if err := drop(k.dyn.Resource(gvrCPC), pcs); err != nil {
		return err
	}
	for _, pc := range pcs {
		if err := k.dyn.Resource(gvrCPC).Delete(ctx, pc, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	if err := k.cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		_, err := k.cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s still there 5 minutes after its delete (err: %v)", ns, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// newVM is a VM cloned from template 9000 onto Ceph RBD, kept running.
func newVM(name, pc, node string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "proxmox.microcloud.dev/v1alpha1", "kind": "VirtualMachine",
		"metadata": map[string]any{"name": name},
		"spec": map[string]any{
			"providerConfigRef": map[string]any{"kind": "ClusterProviderConfig", "name": pc},
			"forProvider": map[string]any{"node": node, "cores": int64(1), "memoryMiB": int64(512),
				"clone": map[string]any{"sourceVMID": int64(9000), "full": true, "storage": "ceph-rbd"}},
		},
	}}
}

// importGuest is an observe-only resource for an existing guest.
func importGuest(typ string, vmid int, node, pc string) (schema.GroupVersionResource, *unstructured.Unstructured) {
	fp := map[string]any{"node": node, "vmid": int64(vmid)}
	kind, gvr, name := "VirtualMachine", gvrVM, fmt.Sprintf("vm-%d", vmid)
	if typ == "lxc" {
		kind, gvr, name = "Container", gvrCT, fmt.Sprintf("ct-%d", vmid)
		fp["rootfs"] = map[string]any{"storage": "ceph-rbd", "sizeGiB": int64(8)}
		fp["osTemplate"] = "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst" // required; unused observe-only
	}
	return gvr, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "proxmox.microcloud.dev/v1alpha1", "kind": kind,
		"metadata": map[string]any{"name": name, "annotations": map[string]any{"crossplane.io/external-name": strconv.Itoa(vmid)}},
		"spec": map[string]any{
			"managementPolicies": []any{"Observe"},
			"providerConfigRef":  map[string]any{"kind": "ClusterProviderConfig", "name": pc},
			"forProvider":        fp,
		},
	}}
}

// readiness records, per object, when it was applied and when a watch
// first saw it Ready, plus the latest Ready condition message.
type readiness struct {
	mu      sync.Mutex
	applied map[string]time.Time
	ready   map[string]time.Time
	// stamped is, per object, its Ready condition's own
	// lastTransitionTime when a watch first saw it Ready: when the
	// provider wrote Ready (to the second), whatever the watch's lag.
	stamped map[string]time.Time
	isReady map[string]bool
	message map[string]string
	changes int // updates with a new resourceVersion: real writes, not no-op PUTs
	// changesOf counts them per object (scenario 4 tells the dead sites'
	// apart from the kept sites').
	changesOf map[string]int
	// firstChange and created are when a watch first saw the object
	// written by the provider and its external resource's creation
	// recorded (crossplane.io/external-create-succeeded): the per-object
	// timeline (objects-<namespace>.tsv) tells a late first reconcile from
	// a slow create from a slow road to Ready.
	firstChange, created map[string]time.Time
	// steps are, per object, the states its changes showed, each with
	// when a watch first saw it (steps-<namespace>.tsv, states-<namespace>.tsv):
	// they tell which step of the road to Ready the time goes to.
	steps map[string][]step
	// observeOnly counts a resource as done once observed (scenario 2).
	observeOnly bool
}

// A step is a state an object showed, from when a watch first saw it.
type step struct {
	at    time.Time
	state string
}

func newReadiness() *readiness {
	return &readiness{applied: map[string]time.Time{}, ready: map[string]time.Time{}, stamped: map[string]time.Time{}, isReady: map[string]bool{}, message: map[string]string{}, changesOf: map[string]int{},
		firstChange: map[string]time.Time{}, created: map[string]time.Time{}, steps: map[string][]step{}}
}

func (r *readiness) apply(key string) {
	r.mu.Lock()
	r.applied[key] = time.Now()
	r.mu.Unlock()
}

// appliedAt counts every object applied so far as applied at t (objects
// applied before the provider started are timed from its start).
func (r *readiness) appliedAt(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k := range r.applied {
		r.applied[k] = t
	}
}

func (r *readiness) seen(obj any) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return
	}
	key := u.GetKind() + "/" + u.GetName()
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	rc, sc := conditionOf(conds, "Ready"), conditionOf(conds, "Synced")
	// The message kept is the failing Synced condition's (a reconcile
	// error), else a not-Ready condition's.
	ready, msg, synced := rc.status == "True", "", ""
	if !ready {
		msg = rc.message
	}
	if sc.status == "False" {
		synced = sc.message
	}
	if synced != "" {
		msg = synced
	}
	// An imported guest that is stopped is rightly not Ready ("VM is
	// stopped"): for observe-only resources the first successful
	// observation (Synced, status.atProvider.vmid set) is what counts.
	if !ready && r.observeOnly {
		_, seen, _ := unstructured.NestedInt64(u.Object, "status", "atProvider", "vmid")
		ready = seen && synced == "" && sc.status == "True"
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.isReady[key], r.message[key] = ready, msg
	if st := stateOf(u, rc, sc); len(r.steps[key]) == 0 || r.steps[key][len(r.steps[key])-1].state != st {
		r.steps[key] = append(r.steps[key], step{at: now, state: st})
	}
	if _, done := r.created[key]; !done && u.GetAnnotations()["crossplane.io/external-create-succeeded"] != "" {
		r.created[key] = now
	}
	if _, done := r.ready[key]; ready && !done {
		r.ready[key] = now
		if t, err := time.Parse(time.RFC3339, rc.since); err == nil && rc.status == "True" {
			r.stamped[key] = t
		}
	}
}

// times are the apply-to-first-Ready durations of the keys accepted by keep.
func (r *readiness) times(keep func(key string) bool) (ds []time.Duration, readyNow, total int) {
	return r.timesBy(r.ready, keep)
}

// stampedTimes are times by the Ready conditions' own lastTransitionTime
// (whole seconds, so up to a second short): what the provider wrote,
// without the lag of the bench's watch.
func (r *readiness) stampedTimes(keep func(key string) bool) []time.Duration {
	ds, _, _ := r.timesBy(r.stamped, keep)
	return ds
}

func (r *readiness) timesBy(ready map[string]time.Time, keep func(key string) bool) (ds []time.Duration, readyNow, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, at := range r.applied {
		if !keep(k) {
			continue
		}
		total++
		if t, ok := ready[k]; ok {
			ds = append(ds, t.Sub(at))
		}
		if r.isReady[k] {
			readyNow++
		}
	}
	return ds, readyNow, total
}

// readySince returns, for the kept resources that first became Ready after t,
// how long after t each did.
func (r *readiness) readySince(keep func(key string) bool, t time.Time) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ds []time.Duration
	for k, at := range r.ready {
		if keep(k) && at.After(t) {
			ds = append(ds, at.Sub(t))
		}
	}
	return ds
}

// appliedSince returns, for the kept resources applied after t that are
// Ready, how long each took from its apply.
func (r *readiness) appliedSince(keep func(key string) bool, t time.Time) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ds []time.Duration
	for k, at := range r.applied {
		if done, ok := r.ready[k]; ok && keep(k) && at.After(t) {
			ds = append(ds, done.Sub(at))
		}
	}
	return ds
}

func (r *readiness) messages(keep func(key string) bool) map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for k, m := range r.message {
		if keep(k) {
			out[k] = m
		}
	}
	return out
}

// watch feeds r from informers on the guest kinds of ns until ctx ends.
func (k *kube) watch(ctx context.Context, ns string, r *readiness) {
	f := dynamicinformer.NewFilteredDynamicSharedInformerFactory(k.dyn, 0, ns, nil)
	for _, gvr := range []schema.GroupVersionResource{gvrVM, gvrCT} {
		_, _ = f.ForResource(gvr).Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    r.seen,
			UpdateFunc: func(o, n any) { r.changed(o, n); r.seen(n) },
		})
	}
	f.Start(ctx.Done())
}

// last is when the latest resource first became Ready.
func (r *readiness) last() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var t time.Time
	for _, at := range r.ready {
		if at.After(t) {
			t = at
		}
	}
	return t
}

func (r *readiness) changed(o, n any) {
	ou, ok1 := o.(*unstructured.Unstructured)
	nu, ok2 := n.(*unstructured.Unstructured)
	if ok1 && ok2 && ou.GetResourceVersion() != nu.GetResourceVersion() {
		r.mu.Lock()
		r.changes++
		key := nu.GetKind() + "/" + nu.GetName()
		r.changesOf[key]++
		if _, done := r.firstChange[key]; !done {
			r.firstChange[key] = time.Now()
		}
		r.mu.Unlock()
	}
}

// changesWhere sums the changes of the objects keep selects.
func (r *readiness) changesWhere(keep func(key string) bool) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k, c := range r.changesOf {
		if keep(k) {
			n += c
		}
	}
	return n
}

// timeline writes one line per object: its key, then the seconds after
// start at which it was applied, first written by the provider, its
// creation recorded and first Ready (empty where it did not happen), and
// its number of changes.
func (r *readiness) timeline(w io.Writer, start time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := slices.Sorted(maps.Keys(r.applied))
	at := func(m map[string]time.Time, k string) string {
		if t, ok := m[k]; ok {
			return strconv.FormatFloat(t.Sub(start).Seconds(), 'f', 2, 64)
		}
		return ""
	}
	if _, err := fmt.Fprintln(w, "object\tapplied\tfirstChange\tcreated\tready\tchanges\treadyStamp"); err != nil {
		return err
	}
	for _, k := range keys {
		if _, err := fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", k, at(r.applied, k), at(r.firstChange, k), at(r.created, k), at(r.ready, k), r.changesOf[k], at(r.stamped, k)); err != nil {
			return err
		}
	}
	return nil
}

func (r *readiness) changeCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changes
}

// stateOf names the state an object shows: Ready's and Synced's status
// and reason, whether its external name and creation are recorded, and
// Ready's (else a failing Synced's) message with what differs between
// objects taken out (a task's UPID becomes its type, numbers become #), so
// the same step reads the same on every object.
func stateOf(u *unstructured.Unstructured, ready, synced condition) string {
	rs, rr, rm := ready.status, ready.reason, ready.message
	ss, sr := synced.status, synced.reason
	if ss == "False" && synced.message != "" {
		rm = synced.message
	}
	a := u.GetAnnotations()
	rec := "-"
	switch {
	case a["crossplane.io/external-create-succeeded"] != "":
		rec = "created"
	case a["crossplane.io/external-create-pending"] != "":
		rec = "create-pending"
	case a["crossplane.io/external-name"] != "":
		rec = "named"
	}
	rm = upidRE.ReplaceAllString(rm, "UPID:$1")
	rm = numberRE.ReplaceAllString(rm, "#")
	return fmt.Sprintf("Ready=%s/%s Synced=%s/%s %s %s", or(rs, "?"), or(rr, "-"), or(ss, "?"), or(sr, "-"), rec, rm)
}

var (
	upidRE   = regexp.MustCompile(`UPID:[^:\s]*:[^:\s]*:[^:\s]*:[^:\s]*:([^:\s]*):[^:\s]*:[^:\s]*:`)
	numberRE = regexp.MustCompile(`[0-9]+`)
)

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// A stateTime is how long objects stayed in one state (seconds).
type stateTime struct {
	State         string
	Objects       int
	Total         float64
	P50, P90, Max float64
}

// stateTimes sums, per state, how long the kept objects stayed in it: from
// the change that showed it to the next change of state; the last state
// of an object counts only if it is not Ready (up to end). Longest total
// first.
func (r *readiness) stateTimes(keep func(key string) bool, end time.Time) []stateTime {
	r.mu.Lock()
	defer r.mu.Unlock()
	per := map[string][]time.Duration{}
	for k, ss := range r.steps {
		if !keep(k) {
			continue
		}
		for i, s := range ss {
			until := end
			if i+1 < len(ss) {
				until = ss[i+1].at
			} else if strings.HasPrefix(s.state, "Ready=True") {
				continue
			}
			per[s.state] = append(per[s.state], until.Sub(s.at))
		}
	}
	out := make([]stateTime, 0, len(per))
	for st, ds := range per {
		var sum time.Duration
		for _, d := range ds {
			sum += d
		}
		out = append(out, stateTime{State: st, Objects: len(ds), Total: secs(sum),
			P50: secs(percentile(ds, 50)), P90: secs(percentile(ds, 90)), Max: secs(percentile(ds, 100))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Total > out[j].Total })
	return out
}

// writeSteps writes every object's steps, one line each: object, seconds
// after start, state.
func (r *readiness) writeSteps(w io.Writer, start time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := fmt.Fprintln(w, "object\tat\tstate"); err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(r.steps)) {
		for _, s := range r.steps[k] {
			if _, err := fmt.Fprintf(w, "%s\t%.2f\t%s\n", k, s.at.Sub(start).Seconds(), s.state); err != nil {
				return err
			}
		}
	}
	return nil
}

// A condition is one condition's status, reason and message (all empty
// when the object does not have it).
type condition struct{ status, reason, message, since string }

func conditionOf(conds []any, typ string) condition {
	var c condition
	for _, x := range conds {
		if m, _ := x.(map[string]any); m["type"] == typ {
			c.status, _ = m["status"].(string)
			c.reason, _ = m["reason"].(string)
			c.message, _ = m["message"].(string)
			c.since, _ = m["lastTransitionTime"].(string)
		}
	}
	return c
}
