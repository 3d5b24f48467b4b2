package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func vmWith(ready, synced, msg string, vmid int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"kind": "VirtualMachine", "metadata": map[string]any{"name": "s0-vm-1"}}}
	_ = unstructured.SetNestedSlice(u.Object, []any{
		map[string]any{"type": "Ready", "status": ready, "message": msg},
		map[string]any{"type": "Synced", "status": synced, "message": msg},
	}, "status", "conditions")
	if vmid > 0 {
		_ = unstructured.SetNestedField(u.Object, vmid, "status", "atProvider", "vmid")
	}
	return u
}

// A stopped imported guest is not Ready, but observed: observe-only runs
// count it done; other runs wait for Ready. A failing Synced message is kept.
func TestReadinessSeen(t *testing.T) {
	for _, c := range []struct {
		name        string
		observeOnly bool
		u           *unstructured.Unstructured
		done        bool
		wantMessage string
	}{
		{"ready", false, vmWith("True", "True", "", 100), true, ""},
		{"stopped, managed", false, vmWith("False", "True", "VM is stopped", 100), false, "VM is stopped"},
		{"stopped, observe-only", true, vmWith("False", "True", "VM is stopped", 100), true, "VM is stopped"},
		{"not observed yet", true, vmWith("False", "True", "", 0), false, ""},
		{"site down", true, vmWith("True", "False", "dial tcp 127.0.0.1:1: connection refused", 100), true, "dial tcp 127.0.0.1:1: connection refused"},
	} {
		r := newReadiness()
		r.observeOnly = c.observeOnly
		r.apply("VirtualMachine/s0-vm-1")
		r.seen(c.u)
		_, done, _ := r.times(func(string) bool { return true })
		if (done == 1) != c.done || r.message["VirtualMachine/s0-vm-1"] != c.wantMessage {
			t.Errorf("%s: done %d, message %q; want %v, %q", c.name, done, r.message["VirtualMachine/s0-vm-1"], c.done, c.wantMessage)
		}
	}
}

// readySince keeps the resources Ready after the moment and on kept sites,
// timed from that moment.
func TestReadySince(t *testing.T) {
	r := newReadiness()
	t0 := time.Now()
	r.ready["VirtualMachine/s0-vm-1"] = t0.Add(-time.Second)
	r.ready["VirtualMachine/s0-vm-2"] = t0.Add(3 * time.Second)
	r.ready["VirtualMachine/s9-vm-1"] = t0.Add(5 * time.Second)
	keep := func(k string) bool { return !strings.Contains(k, "/s9-") }
	got := r.readySince(keep, t0)
	if len(got) != 1 || got[0] != 3*time.Second {
		t.Errorf("readySince = %v, want [3s]", got)
	}
}

// Object changes are counted per object, only for a new resourceVersion.
func TestChangesWhere(t *testing.T) {
	r := newReadiness()
	obj := func(name, rv string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"kind": "VirtualMachine"}}
		u.SetName(name)
		u.SetResourceVersion(rv)
		return u
	}
	r.changed(obj("s0-vm-1", "1"), obj("s0-vm-1", "2"))
	r.changed(obj("s0-vm-1", "2"), obj("s0-vm-1", "2")) // no write
	r.changed(obj("s9-vm-1", "1"), obj("s9-vm-1", "2"))
	r.changed(obj("s9-vm-1", "2"), obj("s9-vm-1", "3"))
	kept := func(k string) bool { return !strings.Contains(k, "/s9-") }
	if got := r.changesWhere(kept); got != 1 {
		t.Errorf("kept changes = %d, want 1", got)
	}
	if got := r.changeCount(); got != 3 {
		t.Errorf("all changes = %d, want 3", got)
	}
}

// appliedSince times the kept resources applied after the moment from their
// own apply, and only those that are Ready.
func TestAppliedSince(t *testing.T) {
	r := newReadiness()
	t0 := time.Now()
	r.applied["VirtualMachine/s0-vm-1"], r.ready["VirtualMachine/s0-vm-1"] = t0.Add(-time.Second), t0.Add(time.Second)
	r.applied["VirtualMachine/s0-vm-2"], r.ready["VirtualMachine/s0-vm-2"] = t0.Add(2*time.Second), t0.Add(7*time.Second)
	r.applied["VirtualMachine/s0-vm-3"] = t0.Add(2 * time.Second) // not Ready
	r.applied["VirtualMachine/s9-vm-1"], r.ready["VirtualMachine/s9-vm-1"] = t0.Add(time.Second), t0.Add(2*time.Second)
	keep := func(k string) bool { return !strings.Contains(k, "/s9-") }
	if got := r.appliedSince(keep, t0); len(got) != 1 || got[0] != 5*time.Second {
		t.Errorf("appliedSince = %v, want [5s]", got)
	}
}

// The timeline has one line per applied object, its moments after start
// (empty where they did not happen) and its changes.
func TestTimeline(t *testing.T) {
	r := newReadiness()
	t0 := time.Now()
	r.applied["VirtualMachine/s0-vm-1"] = t0.Add(1500 * time.Millisecond)
	r.applied["VirtualMachine/s0-vm-2"] = t0.Add(2 * time.Second)
	old := vmWith("False", "True", "", 0)
	old.SetResourceVersion("1")
	u := vmWith("True", "True", "", 100)
	u.SetResourceVersion("2")
	u.SetAnnotations(map[string]string{"crossplane.io/external-create-succeeded": "x"})
	// The provider wrote Ready 3 s after t0 (to the second); the watch saw it now.
	stamp := t0.Add(3 * time.Second).Truncate(time.Second)
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	conds[0].(map[string]any)["lastTransitionTime"] = stamp.UTC().Format(time.RFC3339)
	_ = unstructured.SetNestedSlice(u.Object, conds, "status", "conditions")
	r.changed(old, u)
	r.seen(u)
	var b strings.Builder
	if err := r.timeline(&b, t0); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "object\tapplied\tfirstChange\tcreated\tready\tchanges\treadyStamp" {
		t.Fatalf("timeline:\n%s", b.String())
	}
	f := strings.Split(lines[1], "\t")
	wantStamp := strconv.FormatFloat(stamp.Sub(t0).Seconds(), 'f', 2, 64)
	if f[0] != "VirtualMachine/s0-vm-1" || f[1] != "1.50" || f[2] == "" || f[3] == "" || f[4] == "" || f[5] != "1" || f[6] != wantStamp {
		t.Errorf("first line %q, want stamp %s", lines[1], wantStamp)
	}
	if st := r.stampedTimes(func(string) bool { return true }); len(st) != 1 || st[0] != stamp.Sub(t0.Add(1500*time.Millisecond)) {
		t.Errorf("stamped times %v, want [%v]", st, stamp.Sub(t0.Add(1500*time.Millisecond)))
	}
	if lines[2] != "VirtualMachine/s0-vm-2\t2.00\t\t\t\t0\t" {
		t.Errorf("second line %q", lines[2])
	}
}

// Each change of state is a step; the same state seen again is not, and
// task UPIDs and numbers are taken out so steps of different objects
// read the same. stateTimes sums each state up to the next one and leaves
// out a final Ready state.
func TestStates(t *testing.T) {
	r := newReadiness()
	t0 := time.Now()
	see := func(key string, at time.Duration, u *unstructured.Unstructured) {
		u.SetName(strings.TrimPrefix(key, "VirtualMachine/"))
		n := len(r.steps[key])
		r.seen(u)
		if ss := r.steps[key]; len(ss) > n {
			ss[n].at = t0.Add(at) // the test's clock, not the watch's
		}
	}
	task := func(vmid string) *unstructured.Unstructured {
		return vmWith("False", "True", "task UPID:pve1:0000"+vmid+":00AB:6744F1A0:qmclone:"+vmid+":root@pam: is running", 0)
	}
	see("VirtualMachine/s0-vm-1", 0, vmWith("", "", "", 0))
	see("VirtualMachine/s0-vm-1", 1*time.Second, task("101"))
	see("VirtualMachine/s0-vm-1", 2*time.Second, task("101")) // no new step: its time stays
	see("VirtualMachine/s0-vm-1", 5*time.Second, vmWith("True", "True", "", 101))
	see("VirtualMachine/s0-vm-2", 0, vmWith("", "", "", 0))
	see("VirtualMachine/s0-vm-2", 3*time.Second, task("102"))
	if n := len(r.steps["VirtualMachine/s0-vm-1"]); n != 3 {
		t.Fatalf("steps of vm-1: %v", r.steps["VirtualMachine/s0-vm-1"])
	}
	clone := "Ready=False/- Synced=True/- - task UPID:qmclone is running"
	if got := r.steps["VirtualMachine/s0-vm-2"][1].state; got != clone {
		t.Errorf("state %q, want %q", got, clone)
	}
	states := r.stateTimes(func(string) bool { return true }, t0.Add(10*time.Second))
	byState := map[string]stateTime{}
	for _, st := range states {
		byState[st.State] = st
	}
	// vm-1 ran its clone 4 s, vm-2 has run it 7 s by the end.
	if st := byState[clone]; st.Objects != 2 || st.Total != 11 || st.Max != 7 {
		t.Errorf("clone state: %+v", st)
	}
	if states[0].State != clone {
		t.Errorf("longest state first: %+v", states)
	}
	for s := range byState {
		if strings.HasPrefix(s, "Ready=True") {
			t.Errorf("a final Ready state counted: %+v", byState[s])
		}
	}
	var b strings.Builder
	if err := r.writeSteps(&b, t0); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(b.String()), "\n"); len(lines) != 6 || lines[2] != "VirtualMachine/s0-vm-1\t1.00\t"+clone {
		t.Errorf("steps:\n%s", b.String())
	}
}

// Objects applied before the provider started count from its start.
func TestAppliedAt(t *testing.T) {
	r := newReadiness()
	r.apply("VirtualMachine/s0-vm-1")
	r.apply("VirtualMachine/s0-vm-2")
	start := time.Now().Add(time.Minute)
	r.appliedAt(start)
	r.ready["VirtualMachine/s0-vm-1"] = start.Add(3 * time.Second)
	ds, _, total := r.times(func(string) bool { return true })
	if total != 2 || len(ds) != 1 || ds[0] != 3*time.Second {
		t.Errorf("times = %v of %d, want [3s] of 2", ds, total)
	}
}
