package main

import (
	"strings"
	"testing"
	"time"
)

// The forced closes of the run's namespace are counted by when they were
// logged; other namespaces, cluster-wide watches and other lines are not.
func TestCountClosesByPhase(t *testing.T) {
	const ns = "scale-3-shared-100x100-341263"
	line := func(at, resource, key string) string {
		return "I1203 " + at + "   16614 cache_watcher.go:203] Forcing " + resource + " watcher close due to unresponsiveness: key: \"" + key +
			"\", labels: \"\", fields: \"\". len(c.input) = 100, len(c.result) = 100, graceful = false"
	}
	vm := "/proxmox.microcloud.dev/virtualmachines/" + ns + "/"
	log := strings.Join([]string{
		line("23:41:53.000001", "virtualmachines.proxmox.microcloud.dev", vm),
		line("23:42:39.500000", "virtualmachines.proxmox.microcloud.dev", vm),
		line("23:43:35.100000", "containers.proxmox.microcloud.dev", "/proxmox.microcloud.dev/containers/"+ns+"/"),
		line("23:43:36.100000", "virtualmachines.proxmox.microcloud.dev", "/proxmox.microcloud.dev/virtualmachines/scale-4-shared-100x100-1/"),
		line("23:43:37.100000", "virtualmachines.proxmox.microcloud.dev", "/proxmox.microcloud.dev/virtualmachines/"),
		line("23:43:38.100000", "clusterproviderconfigs.microcloud.dev", "/microcloud.dev/clusterproviderconfigs/"),
		`I1203 23:44:29.028656   16614 stats.go:119] "Error getting keys" err="Timeout: Too large resource version: 18055, current: 3170"`,
		line("23:47:15.000000", "virtualmachines.proxmox.microcloud.dev", vm),
	}, "\n")
	start := time.Date(2026, 12, 3, 23, 42, 35, 0, time.UTC)
	ready := time.Date(2026, 12, 3, 23, 47, 0, 0, time.UTC)
	c, err := countCloses(strings.NewReader(log), time.UTC, ns, start, ready)
	if err != nil {
		t.Fatal(err)
	}
	if c.BeforeProvider != 1 || c.Ramp != 2 || c.After != 1 {
		t.Errorf("before/ramp/after = %d/%d/%d, want 1/2/1", c.BeforeProvider, c.Ramp, c.After)
	}
	if c.RampByResource["virtualmachines"] != 1 || c.RampByResource["containers"] != 1 || len(c.RampByResource) != 2 {
		t.Errorf("ramp by resource %v, want one virtualmachines and one containers", c.RampByResource)
	}
}

// klog's stamp has no year: a run across New Year keeps its order.
func TestKlogTimeAcrossNewYear(t *testing.T) {
	near := time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC)
	got, err := klogTime("0101 00:00:30.000000", near, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2027, 1, 1, 0, 0, 30, 0, time.UTC); !got.Equal(want) {
		t.Errorf("got %v, want %v", got, want)
	}
	got, err = klogTime("1231 23:58:00.000000", near, time.UTC)
	if err != nil || !got.Equal(time.Date(2026, 12, 31, 23, 58, 0, 0, time.UTC)) {
		t.Errorf("got %v (%v), want the same day", got, err)
	}
}
