package main

import (
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
