package pvesim

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

// TestConcurrentClients runs creates, clones, config changes, starts and
// deletes from many clients at once and then checks the cluster is
// consistent: no task still running, no stray locks, every volume owned by
// an existing guest.
func TestConcurrentClients(t *testing.T) {
	srv := startSim(t, Options{TaskDuration: 5 * time.Millisecond, StorageLockTimeout: 5 * time.Second})
	c := pveClient(t, srv)
	cx := ctx(t)
	node, _ := c.Node(cx, "pve1")
	tmpl, err := node.VirtualMachine(cx, DefaultTemplateID)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 4; i++ {
				id := 2000 + w*10 + i
				var task *proxmox.Task
				var err error
				if i%2 == 0 {
					_, task, err = tmpl.Clone(cx, &proxmox.VirtualMachineCloneOptions{NewID: id, Name: fmt.Sprintf("c%d", id)})
				} else {
					task, err = node.NewVirtualMachine(cx, id, proxmox.VirtualMachineOption{Name: "scsi0", Value: "ceph-rbd:1"})
				}
				if err == nil {
					err = task.Wait(cx, 5*time.Millisecond, 30*time.Second)
				}
				if err != nil || task.ExitStatus != "OK" {
					errs <- fmt.Errorf("create %d: %v %s", id, err, task.ExitStatus)
					continue
				}
				vm, err := node.VirtualMachine(cx, id)
				if err != nil {
					errs <- err
					continue
				}
				if t2, err := vm.Config(cx, proxmox.VirtualMachineOption{Name: "memory", Value: "1024"}); err == nil {
					_ = t2.Wait(cx, 5*time.Millisecond, 30*time.Second)
				} else {
					errs <- err
				}
				if i == 3 {
					continue // keep one per worker
				}
				dt, err := vm.Delete(cx, nil)
				if err == nil {
					err = dt.Wait(cx, 5*time.Millisecond, 30*time.Second)
				}
				if err != nil {
					errs <- fmt.Errorf("delete %d: %v", id, err)
				}
			}
		}(w)
	}
	wg.Wait()
	srv.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s := srv.Simulator
	s.mu.RLock()
	defer s.mu.RUnlock()
	if n := len(s.st.Guests); n != 1+8 {
		t.Errorf("%d guests, want the template and one per worker", n)
	}
	for id, g := range s.st.Guests {
		if g.Conf["lock"] != "" {
			t.Errorf("guest %d still locked %q", id, g.Conf["lock"])
		}
	}
	for _, st := range s.st.Storages {
		for _, v := range st.Volumes {
			if v.VMID != 0 && s.st.Guests[v.VMID] == nil && !strings.Contains(v.VolID, "vztmpl") {
				t.Errorf("volume %s belongs to no guest", v.VolID)
			}
		}
	}
	for _, tk := range s.tasks.list() {
		if tk.isRunning() {
			t.Errorf("task %s still running", tk.UPID)
		}
	}
}
