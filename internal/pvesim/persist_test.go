package pvesim

import (
	"path/filepath"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"
)

func TestStatePersistence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	srv := startSim(t, Options{StateFile: file})
	c := pveClient(t, srv)
	cx := ctx(t)
	node, _ := c.Node(cx, "pve2")
	waitOK(t, must(t)(node.NewVirtualMachine(cx, 700, proxmox.VirtualMachineOption{Name: "name", Value: "keeper"},
		proxmox.VirtualMachineOption{Name: "scsi0", Value: "ceph-rbd:3"})))
	if err := c.NewPool(cx, "kept", ""); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	// A new simulator on the same file sees the guest, its volume and the pool.
	again := startSim(t, Options{StateFile: file})
	c2 := pveClient(t, again)
	node2, _ := c2.Node(cx, "pve2")
	vm, err := node2.VirtualMachine(cx, 700)
	if err != nil {
		t.Fatal(err)
	}
	if vm.VirtualMachineConfig.Name != "keeper" || vm.VirtualMachineConfig.SCSIs["scsi0"] != "ceph-rbd:vm-700-disk-0,size=3G" {
		t.Fatalf("restored VM: %s %s", vm.VirtualMachineConfig.Name, vm.VirtualMachineConfig.SCSIs["scsi0"])
	}
	if _, err := c2.Pool(cx, "kept"); err != nil {
		t.Fatal(err)
	}
	var vols []map[string]any
	if err := c2.Get(cx, "/nodes/pve2/storage/ceph-rbd/content?vmid=700", &vols); err != nil || len(vols) != 1 {
		t.Fatalf("restored volumes %v %v", vols, err)
	}
}
