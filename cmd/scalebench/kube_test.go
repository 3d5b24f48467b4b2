package main

import (
	"testing"

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
