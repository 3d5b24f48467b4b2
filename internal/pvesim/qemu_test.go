package pvesim

import (
	"strings"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"
)

func TestQemuLifecycle(t *testing.T) {
	srv := startSim(t, Options{})
	c := pveClient(t, srv)
	cx := ctx(t)
	node, err := c.Node(cx, "pve2")
	if err != nil {
		t.Fatal(err)
	}
	task, err := node.NewVirtualMachine(cx, 200,
		proxmox.VirtualMachineOption{Name: "name", Value: "web-1"},
		proxmox.VirtualMachineOption{Name: "cores", Value: 2},
		proxmox.VirtualMachineOption{Name: "memory", Value: "2048"},
		proxmox.VirtualMachineOption{Name: "scsi0", Value: "ceph-rbd:8"},
		proxmox.VirtualMachineOption{Name: "net0", Value: "virtio,bridge=vmbr0"},
		proxmox.VirtualMachineOption{Name: "agent", Value: "1"},
		proxmox.VirtualMachineOption{Name: "tags", Value: "Web,prod;web"},
	)
	waitOK(t, task, err)
	vm, err := node.VirtualMachine(cx, 200)
	if err != nil {
		t.Fatal(err)
	}
	cfg := vm.VirtualMachineConfig
	if cfg.Name != "web-1" || cfg.Cores == nil || *cfg.Cores != 2 || !strings.HasPrefix(cfg.SCSIs["scsi0"], "ceph-rbd:vm-200-disk-0,size=8G") {
		t.Fatalf("unexpected config: name=%q cores=%d scsi0=%q", cfg.Name, cfg.Cores, cfg.SCSIs["scsi0"])
	}
	if !strings.HasPrefix(cfg.Nets["net0"], "virtio=BC:24:11:") {
		t.Errorf("net0 has no generated MAC: %q", cfg.Nets["net0"])
	}
	if cfg.Boot != "order=scsi0;net0" {
		t.Errorf("default boot order %q", cfg.Boot)
	}
	if cfg.Tags != "prod;web" {
		t.Errorf("tags not normalised like get_unique_tags: %q", cfg.Tags)
	}
	if len(cfg.Digest) != 40 {
		t.Errorf("digest %q is not a SHA1", cfg.Digest)
	}
	if vm.Status != "stopped" || vm.MaxMem != 2048*1024*1024 || vm.CPUs != 2 {
		t.Errorf("status/current: status=%s maxmem=%d cpus=%d", vm.Status, vm.MaxMem, vm.CPUs)
	}

	// A stale digest is refused (update_vm_api's own text, qemu-server
	// API2/Qemu.pm), a fresh one accepted.
	err = c.Put(cx, "/nodes/pve2/qemu/200/config", map[string]any{"memory": "4096", "digest": strings.Repeat("0", 40)}, nil)
	if err == nil || !strings.Contains(err.Error(), "500 checksum mismatch (file change by other user?)") {
		t.Fatalf("stale digest: %v", err)
	}
	if err := c.Put(cx, "/nodes/pve2/qemu/200/config", map[string]any{"memory": "4096", "digest": cfg.Digest}, nil); err != nil {
		t.Fatal(err)
	}

	waitOK(t, must(t)(vm.Start(cx)))
	if err := vm.Ping(cx); err != nil {
		t.Fatal(err)
	}
	if vm.Status != "running" || vm.Uptime > 5 {
		t.Fatalf("after start: %s uptime %d", vm.Status, vm.Uptime)
	}

	// Running: cores goes pending, name applies at once.
	task, err = vm.Config(cx, proxmox.VirtualMachineOption{Name: "cores", Value: 4},
		proxmox.VirtualMachineOption{Name: "name", Value: "web-one"})
	waitOK(t, task, err)
	pending, err := vm.Pending(cx)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range *pending {
		if p.Key == "cores" {
			found = true
			if p.Value != float64(2) || p.Pending != float64(4) {
				t.Errorf("pending cores: %+v", p)
			}
		}
		if p.Key == "name" && p.Pending != nil {
			t.Errorf("name should not be pending: %+v", p)
		}
	}
	if !found {
		t.Fatalf("cores not in pending list: %+v", pending)
	}
	var current map[string]any
	if err := c.Get(cx, "/nodes/pve2/qemu/200/config?current=1", &current); err != nil {
		t.Fatal(err)
	}
	if current["cores"] != float64(2) || current["name"] != "web-one" {
		t.Errorf("current config: cores=%v name=%v", current["cores"], current["name"])
	}

	ifaces, err := vm.AgentGetNetworkIFaces(cx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ifaces) != 1 || ifaces[0].Name != "eth0" || ifaces[0].IPAddresses[0].IPAddress != guestIPv4(200, 0) {
		t.Fatalf("agent interfaces: %+v", ifaces)
	}

	// Reboot applies pending changes.
	waitOK(t, must(t)(vm.Reboot(cx)))
	if err := vm.Ping(cx); err != nil {
		t.Fatal(err)
	}
	if *vm.VirtualMachineConfig.Cores != 4 {
		t.Errorf("cores after reboot = %d", *vm.VirtualMachineConfig.Cores)
	}

	// Detaching a disk leaves it as unused0; deleting unused0 destroys the volume.
	waitOK(t, must(t)(vm.Config(cx, proxmox.VirtualMachineOption{Name: "scsi1", Value: "ceph-rbd:1"})))
	if err := c.Put(cx, "/nodes/pve2/qemu/200/config", map[string]string{"delete": "scsi1"}, nil); err != nil {
		t.Fatal(err)
	}
	var cfgNow map[string]any
	_ = c.Get(cx, "/nodes/pve2/qemu/200/config", &cfgNow)
	if cfgNow["unused0"] != "ceph-rbd:vm-200-disk-1" || cfgNow["scsi1"] != nil {
		t.Fatalf("after detaching scsi1: unused0=%v scsi1=%v", cfgNow["unused0"], cfgNow["scsi1"])
	}
	if err := c.Put(cx, "/nodes/pve2/qemu/200/config", map[string]string{"delete": "unused0"}, nil); err != nil {
		t.Fatal(err)
	}
	var vols []map[string]any
	_ = c.Get(cx, "/nodes/pve2/storage/ceph-rbd/content?vmid=200", &vols)
	if len(vols) != 1 {
		t.Errorf("volumes after deleting unused0: %v", vols)
	}

	// Resize grows only.
	waitOK(t, must(t)(vm.ResizeDisk(cx, "scsi0", "+2G")))
	_, err = vm.ResizeDisk(cx, "scsi0", "1G")
	if err == nil || !strings.Contains(err.Error(), "shrinking disks is not supported") {
		t.Fatalf("shrink: %v", err)
	}
	if err := vm.Ping(cx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(vm.VirtualMachineConfig.SCSIs["scsi0"], "size=10G") {
		t.Errorf("scsi0 after resize: %s", vm.VirtualMachineConfig.SCSIs["scsi0"])
	}

	// A running VM cannot be destroyed; stopped it can, with purge.
	if _, err := vm.Delete(cx, nil); err == nil || !strings.Contains(err.Error(), "VM 200 is running - destroy failed") {
		t.Fatalf("delete running: %v", err)
	}
	waitOK(t, must(t)(vm.Shutdown(cx)))
	waitOK(t, must(t)(vm.Delete(cx, &proxmox.VirtualMachineDeleteOptions{Purge: true, DestroyUnreferencedDisks: true})))
	if _, err := node.VirtualMachine(cx, 200); err == nil ||
		!strings.Contains(err.Error(), "Configuration file 'nodes/pve2/qemu-server/200.conf' does not exist") {
		t.Fatalf("after delete: %v", err)
	}
}
