package pvesim

import (
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"
)

// delete=netN removes a NIC: at once on a stopped VM, and hot-unplugged on
// a running one (network is in qemu-server's default hotplug set); a NIC in
// the boot order leaves it, the order change going pending while the VM
// runs (update_vm_api, qemu-server src/PVE/API2/Qemu.pm). Containers unplug
// the veth at once (pve-container src/PVE/LXC/Config.pm
// vmconfig_hotplug_pending).
func TestDeleteNIC(t *testing.T) {
	srv := startSim(t, Options{})
	c := pveClient(t, srv)
	cx := ctx(t)
	node, err := c.Node(cx, "pve1")
	if err != nil {
		t.Fatal(err)
	}
	waitOK(t, must(t)(node.NewVirtualMachine(cx, 300,
		proxmox.VirtualMachineOption{Name: "scsi0", Value: "ceph-rbd:1"},
		proxmox.VirtualMachineOption{Name: "net0", Value: "virtio,bridge=vmbr0"},
		proxmox.VirtualMachineOption{Name: "net1", Value: "virtio,bridge=vmbr1"},
		proxmox.VirtualMachineOption{Name: "net2", Value: "e1000,bridge=vmbr2"},
		proxmox.VirtualMachineOption{Name: "boot", Value: "order=scsi0;net1;net2"},
	)))
	put := func(path string, p map[string]any) {
		t.Helper()
		if err := c.Put(cx, path, p, nil); err != nil {
			t.Fatal(err)
		}
	}
	put("/nodes/pve1/qemu/300/config", map[string]any{"delete": "net2"})
	g, _ := srv.Guest(300)
	if _, ok := g.Config["net2"]; ok || g.Config["net1"] == "" || g.Config["boot"] != "order=scsi0;net1" {
		t.Fatalf("stopped VM after delete=net2: net1=%q net2=%q boot=%q", g.Config["net1"], g.Config["net2"], g.Config["boot"])
	}

	vm, err := node.VirtualMachine(cx, 300)
	if err != nil {
		t.Fatal(err)
	}
	waitOK(t, must(t)(vm.Start(cx)))
	put("/nodes/pve1/qemu/300/config", map[string]any{"delete": "net1"})
	g, _ = srv.Guest(300)
	if _, ok := g.Config["net1"]; ok {
		t.Fatalf("running VM: net1 not hot-unplugged: %q", g.Config["net1"])
	}
	if g.Config["boot"] != "order=scsi0;net1" || g.Pending["boot"] != "order=scsi0" {
		t.Fatalf("running VM: boot %q, pending boot %q (want the order change pending)", g.Config["boot"], g.Pending["boot"])
	}
	// A NIC that is not set is skipped (PVE warns "cannot delete ... not set").
	put("/nodes/pve1/qemu/300/config", map[string]any{"delete": "net5"})

	waitOK(t, must(t)(node.NewContainer(cx, 301,
		proxmox.ContainerOption{Name: "ostemplate", Value: "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst"},
		proxmox.ContainerOption{Name: "rootfs", Value: "ceph-rbd:1"},
		proxmox.ContainerOption{Name: "net0", Value: "name=eth0,bridge=vmbr0,ip=dhcp"},
		proxmox.ContainerOption{Name: "net1", Value: "name=eth1,bridge=vmbr1,ip=dhcp"},
		proxmox.ContainerOption{Name: "start", Value: 1},
	)))
	put("/nodes/pve1/lxc/301/config", map[string]any{"delete": "net1"})
	ct, _ := srv.Guest(301)
	if _, ok := ct.Config["net1"]; ok || ct.Config["net0"] == "" || len(ct.Pending) != 0 || !ct.Running {
		t.Fatalf("running container after delete=net1: config %v pending %v", ct.Config, ct.Pending)
	}
}
