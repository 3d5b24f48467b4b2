package pvesim

import (
	"strings"
	"sync"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

func TestCloneTemplateAndLinkedClones(t *testing.T) {
	srv := startSim(t, Options{})
	c := pveClient(t, srv)
	cx := ctx(t)
	node, _ := c.Node(cx, "pve1")
	tmpl, err := node.VirtualMachine(cx, DefaultTemplateID)
	if err != nil {
		t.Fatal(err)
	}
	if !bool(tmpl.Template) || tmpl.VirtualMachineConfig.Name != "debian-12-cloudinit" {
		t.Fatalf("seeded template: template=%v name=%s", tmpl.Template, tmpl.VirtualMachineConfig.Name)
	}
	// Linked clone (default from a template) onto another node via shared RBD.
	newid, task, err := tmpl.Clone(cx, &proxmox.VirtualMachineCloneOptions{Name: "linked", Target: "pve3"})
	waitOK(t, task, err)
	if newid != 100 {
		t.Errorf("newid from nextid = %d", newid)
	}
	pve3, _ := c.Node(cx, "pve3")
	vm, err := pve3.VirtualMachine(cx, newid)
	if err != nil {
		t.Fatal(err)
	}
	if got := vm.VirtualMachineConfig.SCSIs["scsi0"]; !strings.HasPrefix(got, "ceph-rbd:base-9000-disk-0/vm-100-disk-0,") {
		t.Errorf("linked clone disk %q", got)
	}
	if vm.VirtualMachineConfig.Nets["net0"] == tmpl.VirtualMachineConfig.Nets["net0"] {
		t.Error("clone kept the template's MAC")
	}
	// Full clone with a storage.
	_, task, err = tmpl.Clone(cx, &proxmox.VirtualMachineCloneOptions{NewID: 150, Full: true, Storage: "ceph-rbd"})
	waitOK(t, task, err)
	full, _ := node.VirtualMachine(cx, 150)
	if got := full.VirtualMachineConfig.SCSIs["scsi0"]; !strings.HasPrefix(got, "ceph-rbd:vm-150-disk-0,") {
		t.Errorf("full clone disk %q", got)
	}
	if full.VirtualMachineConfig.Name != "Copy-of-VM-debian-12-cloudinit" {
		t.Errorf("default clone name %q", full.VirtualMachineConfig.Name)
	}
	// Linked clones only from templates; storage not allowed for linked.
	// go-proxmox omits full=false, so ask explicitly for a linked clone.
	err = c.Post(cx, "/nodes/pve1/qemu/150/clone", map[string]any{"newid": 151, "full": 0}, nil)
	if err == nil || !strings.Contains(err.Error(), "500 Linked clone feature is not supported for 'ceph-rbd:vm-150-disk-0' (scsi0)") {
		t.Errorf("linked from non-template: %v", err)
	}
	_, _, err = tmpl.Clone(cx, &proxmox.VirtualMachineCloneOptions{NewID: 152, Storage: "ceph-rbd"})
	if err == nil || !strings.Contains(err.Error(), "parameter 'storage' not allowed for linked clones") {
		t.Errorf("storage on linked: %v", err)
	}
	_, _, err = tmpl.Clone(cx, &proxmox.VirtualMachineCloneOptions{NewID: 150})
	if err == nil || !strings.Contains(err.Error(), "unable to create VM 150: config file already exists") {
		t.Errorf("existing newid: %v", err)
	}
	// Template conversion, then the template cannot be deleted while linked clones use it.
	waitOK(t, must(t)(full.ConvertToTemplate(cx)))
	if err := full.Ping(cx); err != nil {
		t.Fatal(err)
	}
	if !bool(full.Template) || !strings.HasPrefix(full.VirtualMachineConfig.SCSIs["scsi0"], "ceph-rbd:base-150-disk-0,") {
		t.Errorf("after template: %v %s", full.Template, full.VirtualMachineConfig.SCSIs["scsi0"])
	}
	if _, err := full.ConvertToTemplate(cx); err == nil || !strings.Contains(err.Error(), "you can't convert a template to a template") {
		t.Errorf("template twice: %v", err)
	}
	if _, err := tmpl.Delete(cx, nil); err == nil || !strings.Contains(err.Error(), "base volume 'base-9000-disk-0' is still in use by linked cloned") {
		t.Errorf("delete used template: %v", err)
	}
	// Starting a template is refused.
	if _, err := tmpl.Start(cx); err == nil || !strings.Contains(err.Error(), "you can't start a vm if it's a template") {
		t.Errorf("start template: %v", err)
	}
	// The storage content lists the volumes.
	var content []map[string]any
	if err := c.Get(cx, "/nodes/pve1/storage/ceph-rbd/content?vmid=100", &content); err != nil {
		t.Fatal(err)
	}
	// The linked disk plus the clone's own cloud-init volume (clone_disk
	// always copies a cloud-init drive in full).
	vols := map[string]any{}
	for _, v := range content {
		vols[v["volid"].(string)] = v["parent"]
	}
	if len(content) != 2 || vols["ceph-rbd:base-9000-disk-0/vm-100-disk-0"] != "ceph-rbd:base-9000-disk-0" {
		t.Errorf("linked clone volume: %v", content)
	}
	if _, ok := vols["ceph-rbd:vm-100-cloudinit"]; !ok {
		t.Errorf("linked clone has no cloud-init volume of its own: %v", content)
	}
}

// TestStorageLockContention: parallel clones serialise on the storage lock
// and the ones that wait longer than the timeout fail like PVE.
func TestStorageLockContention(t *testing.T) {
	// Each clone holds the lock 400ms and waiters give up after 500ms, so of
	// six clones sent together the first one or two succeed and the rest time
	// out, even on a loaded machine.
	srv := startSim(t, Options{TaskDuration: 400 * time.Millisecond, StorageLockHold: 400 * time.Millisecond,
		StorageLockTimeout: 500 * time.Millisecond})
	c := pveClient(t, srv)
	cx := ctx(t)
	status := parallelFullClones(t, srv, 6, 400)
	ok, timedOut := 0, 0
	for _, s := range status {
		switch {
		case s == "OK":
			ok++
		case s == "clone failed: cfs-lock 'storage-ceph-rbd' error: got lock request timeout":
			timedOut++
		default:
			t.Errorf("unexpected task status %q", s)
		}
	}
	if ok == 0 || timedOut == 0 {
		t.Fatalf("want some clones to succeed and some to time out, got %v", status)
	}
	// Failed clones leave no guest behind.
	var res []map[string]any
	if err := c.Get(cx, "/cluster/resources?type=vm", &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 1+ok {
		t.Errorf("%d guests after %d successful clones", len(res), ok)
	}
}

// TestParallelFullClonesCopyOutsideTheLock: PVE holds a storage's lock
// only for each volume's allocation and copies a full clone's data after
// releasing it (clone_disk), so full clones sent together overlap and all
// succeed even when a clone takes longer than a waiter's lock timeout. With
// the lock held for the whole task (the control case) the same clones fail
// on it: the test can fail.
func TestParallelFullClonesCopyOutsideTheLock(t *testing.T) {
	for _, c := range []struct {
		name       string
		hold       time.Duration
		wantFailed bool
	}{{"default hold", 0, false}, {"lock held for the whole task", 1500 * time.Millisecond, true}} {
		t.Run(c.name, func(t *testing.T) {
			srv := startSim(t, Options{TaskDuration: 1500 * time.Millisecond, StorageLockHold: c.hold, StorageLockTimeout: time.Second})
			status := parallelFullClones(t, srv, 3, 500)
			failed := 0
			for _, s := range status {
				if s != "OK" {
					failed++
				}
			}
			if got := failed > 0; got != c.wantFailed {
				t.Errorf("clone statuses %q: want failures %v", status, c.wantFailed)
			}
		})
	}
}

// parallelFullClones sends n full clones of the default template at once
// (ids from firstID) and returns each task's exit status.
func parallelFullClones(t *testing.T, srv *Server, n, firstID int) []string {
	t.Helper()
	cx := ctx(t)
	node, _ := pveClient(t, srv).Node(cx, "pve1")
	tmpl, err := node.VirtualMachine(cx, DefaultTemplateID)
	if err != nil {
		t.Fatal(err)
	}
	status := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, task, err := tmpl.Clone(cx, &proxmox.VirtualMachineCloneOptions{NewID: firstID + i, Full: true})
			if err != nil {
				status[i] = "request: " + err.Error()
				return
			}
			status[i] = wait(t, task)
		}()
	}
	wg.Wait()
	return status
}

// TestLocalStorageLockMessage: node-local storages use a flock, with PVE's
// "can't lock file" message.
func TestLocalStorageLockMessage(t *testing.T) {
	srv := startSim(t, Options{})
	sim := srv.Simulator
	st := sim.st.Storages["local"]
	rel, err := sim.lockStorage(st, "pve1")
	if err != nil {
		t.Fatal(err)
	}
	defer rel()
	if _, err := sim.lockStorage(st, "pve2"); err != nil {
		t.Fatalf("another node's local storage is a different lock: %v", err)
	}
	_, err = sim.lockStorage(st, "pve1")
	if err == nil || err.Error() != "can't lock file '/var/lock/pve-manager/pve-storage-local' - got timeout" {
		t.Fatalf("got %v", err)
	}
}
