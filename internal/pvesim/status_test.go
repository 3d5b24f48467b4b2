package pvesim

import (
	"strings"
	"testing"
	"time"
)

// listEntry returns the node list entry of one guest.
func (s *simT) listEntry(path string, vmid int) map[string]any {
	s.t.Helper()
	var list []map[string]any
	if err := s.c.Get(ctx(s.t), path, &list); err != nil {
		s.t.Fatal(err)
	}
	for _, e := range list {
		if n, _ := e["vmid"].(float64); int(n) == vmid {
			return e
		}
	}
	s.t.Fatalf("%d not in %s", vmid, path)
	return nil
}

func hasKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("%s: missing %q (has %v)", what, k, sortedKeys(m))
		}
	}
}

func lacksKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if v, ok := m[k]; ok {
			t.Errorf("%s: has %q = %v, which PVE does not return there", what, k, v)
		}
	}
}

// statusOnly are the keys only vm_status adds to vmstatus (qemu-server
// src/PVE/API2/Qemu.pm vm_status) or only vmstatus with full adds
// (src/PVE/QemuServer.pm).
var statusOnly = []string{"ha", "agent", "spice", "qmpstatus", "running-machine", "running-qemu", "nics",
	"blockstat", "proxmox-support", "ballooninfo", "balloon", "freemem", "diskread", "diskwrite"}

// TestGuestListFieldsLikeVmlist follows qemu-server's vmlist (src/PVE/API2/Qemu.pm)
// returning PVE::QemuServer::vmstatus($vmid, $full) (src/PVE/QemuServer.pm)
// and pve-container's vmlist (src/PVE/API2/LXC.pm) returning PVE::LXC::vmstatus
// (src/PVE/LXC.pm): no per-guest status/current fields in the list.
func TestGuestListFieldsLikeVmlist(t *testing.T) {
	s := newSimT(t)
	if st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": 500, "scsi0": "ceph-rbd:1", "net0": "virtio,bridge=vmbr0",
		"agent": "1", "serial0": "socket", "balloon": 256, "start": 1}); st != "OK" {
		t.Fatal(st)
	}
	if err := s.c.Post(ctx(t), "/cluster/ha/resources", map[string]any{"sid": "vm:500"}, nil); err != nil {
		t.Fatal(err)
	}
	e := s.listEntry("/nodes/pve1/qemu", 500)
	lacksKeys(t, "qemu list", e, statusOnly...)
	hasKeys(t, "qemu list", e, "vmid", "name", "status", "cpus", "maxmem", "maxdisk", "disk", "mem", "memhost",
		"cpu", "uptime", "netin", "netout", "pid", "serial", "balloon_min", "shares", "pressurecpusome",
		"pressurememoryfull")
	full := s.listEntry("/nodes/pve1/qemu?full=1", 500)
	hasKeys(t, "qemu list full=1", full, "qmpstatus", "nics", "blockstat", "running-qemu", "running-machine",
		"proxmox-support", "diskread", "diskwrite", "balloon", "ballooninfo")
	lacksKeys(t, "qemu list full=1", full, "ha", "agent")
	tmpl := s.listEntry("/nodes/pve1/qemu", DefaultTemplateID)
	if tmpl["template"] != float64(1) || tmpl["status"] != "stopped" {
		t.Errorf("template entry: %v", tmpl)
	}
	lacksKeys(t, "stopped VM in list", tmpl, "pid", "pressurecpusome")

	if st := s.post("/nodes/pve1/lxc", map[string]any{"vmid": 501, "ostemplate": "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst",
		"rootfs": "ceph-rbd:2", "start": 1}); st != "OK" {
		t.Fatal(st)
	}
	ct := s.listEntry("/nodes/pve1/lxc", 501)
	lacksKeys(t, "lxc list", ct, "ha", "qmpstatus", "memhost", "agent")
	hasKeys(t, "lxc list", ct, "type", "maxswap", "swap", "diskread", "diskwrite", "pid", "pressureiosome")
}

// TestStatusCurrentRunningVM follows vm_status (qemu-server
// src/PVE/API2/Qemu.pm): vmstatus($vmid, 1) with the QMP answers
// (blockstat per drive, nics per tap device, proxmox-support, balloon),
// memhost and the cgroup pressures, serial, plus ha
// (get_service_status, pve-ha-manager src/PVE/HA/Config.pm: no group, the
// manager's state) and agent.
func TestStatusCurrentRunningVM(t *testing.T) {
	s := newSimT(t)
	if st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": 510, "scsi0": "ceph-rbd:1", "ide2": "ceph-rbd:cloudinit",
		"net0": "virtio,bridge=vmbr0", "net1": "virtio,bridge=vmbr0", "agent": "1", "serial0": "socket", "start": 1}); st != "OK" {
		t.Fatal(st)
	}
	var cur map[string]any
	get := func() {
		t.Helper()
		cur = nil
		if err := s.c.Get(ctx(t), "/nodes/pve1/qemu/510/status/current", &cur); err != nil {
			t.Fatal(err)
		}
	}
	get()
	hasKeys(t, "status/current", cur, "qmpstatus", "running-machine", "running-qemu", "proxmox-support", "memhost",
		"pressurecpusome", "pressurecpufull", "pressureiosome", "pressureiofull", "pressurememorysome",
		"pressurememoryfull", "serial", "balloon", "ballooninfo", "freemem", "agent", "diskread", "diskwrite")
	bs, _ := cur["blockstat"].(map[string]any)
	if _, ok := bs["scsi0"].(map[string]any)["rd_bytes"]; !ok || bs["ide2"] == nil {
		t.Errorf("blockstat per drive: %v", bs)
	}
	nics, _ := cur["nics"].(map[string]any)
	if len(nics) != 2 || nics["tap510i0"] == nil || nics["tap510i1"] == nil {
		t.Errorf("nics per tap device: %v", nics)
	}
	if ha := cur["ha"].(map[string]any); len(ha) != 1 || ha["managed"] != float64(0) {
		t.Errorf("unmanaged ha: %v", ha)
	}
	if err := s.c.Post(ctx(t), "/cluster/ha/resources", map[string]any{"sid": "vm:510", "state": "stopped"}, nil); err != nil {
		t.Fatal(err)
	}
	get()
	ha := cur["ha"].(map[string]any)
	if _, hasGroup := ha["group"]; hasGroup || ha["managed"] != float64(1) || ha["state"] != "request_stop" {
		t.Errorf("ha while the manager stops the VM: %v", ha)
	}
	s.srv.Wait()
	get()
	if ha := cur["ha"].(map[string]any); ha["state"] != "stopped" || cur["status"] != "stopped" {
		t.Errorf("ha after stop: %v status %v", ha, cur["status"])
	}
	lacksKeys(t, "stopped status/current", cur, "blockstat", "nics", "running-qemu", "pid")
	if cur["qmpstatus"] != "stopped" {
		t.Errorf("qmpstatus of a stopped VM: %v", cur["qmpstatus"])
	}
}

// TestNodeStatusLikeNodesPm follows status in pve-manager PVE/API2/Nodes.pm:
// uname as current-kernel (kversion kept for compatibility), boot-info,
// read_meminfo with available, read_cpuinfo, ksm, swap and df of /.
func TestNodeStatusLikeNodesPm(t *testing.T) {
	s := newSimT(t)
	var st map[string]any
	if err := s.c.Get(ctx(t), "/nodes/pve2/status", &st); err != nil {
		t.Fatal(err)
	}
	hasKeys(t, "node status", st, "uptime", "idle", "loadavg", "kversion", "current-kernel", "boot-info", "cpuinfo",
		"cpu", "wait", "memory", "ksm", "swap", "pveversion", "rootfs")
	kernel, _ := st["current-kernel"].(map[string]any)
	hasKeys(t, "current-kernel", kernel, "sysname", "release", "version", "machine")
	if st["kversion"] != kernel["sysname"].(string)+" "+kernel["release"].(string)+" "+kernel["version"].(string) {
		t.Errorf("kversion %q is not uname's sysname release version (%v)", st["kversion"], kernel)
	}
	if mode := st["boot-info"].(map[string]any)["mode"]; mode != "efi" && mode != "legacy-bios" {
		t.Errorf("boot-info mode %v", mode)
	}
	mem := st["memory"].(map[string]any)
	hasKeys(t, "memory", mem, "total", "used", "free", "available")
	if mem["available"].(float64) < mem["free"].(float64) || mem["available"].(float64) > mem["total"].(float64) {
		t.Errorf("memory figures inconsistent: %v", mem)
	}
	hasKeys(t, "cpuinfo", st["cpuinfo"].(map[string]any), "cpus", "cores", "sockets", "model", "mhz", "user_hz", "hvm", "flags")
}

// TestSuspendResumeVM follows vm_suspend / vm_resume (qemu-server
// src/PVE/API2/Qemu.pm, src/PVE/QemuServer/RunState.pm): a qmpause task
// pauses (qmpstatus "paused", status still running; shutdown refused);
// todisk=1 is a qmsuspend task saving vm-<vmid>-state-suspend-<date> on
// statestorage and leaving the VM stopped with lock "suspended" and
// vmstate; resume (or start) boots from it, frees the volume and clears
// lock and vmstate (vm_start, src/PVE/QemuServer.pm).
func TestSuspendResumeVM(t *testing.T) {
	s := newSimT(t)
	if st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": 520, "scsi0": "ceph-rbd:1", "memory": 1024, "start": 1}); st != "OK" {
		t.Fatal(st)
	}
	status := func() map[string]any {
		var cur map[string]any
		if err := s.c.Get(ctx(t), "/nodes/pve1/qemu/520/status/current", &cur); err != nil {
			t.Fatal(err)
		}
		return cur
	}
	if st := s.post("/nodes/pve1/qemu/520/status/suspend", nil); st != "OK" {
		t.Fatal(st)
	}
	if cur := status(); cur["status"] != "running" || cur["qmpstatus"] != "paused" {
		t.Errorf("after pause: status %v qmpstatus %v", cur["status"], cur["qmpstatus"])
	}
	err := s.c.Post(ctx(t), "/nodes/pve1/qemu/520/status/shutdown", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "VM is paused - cannot shutdown") {
		t.Errorf("shutdown while paused: %v", err)
	}
	if st := s.post("/nodes/pve1/qemu/520/status/resume", nil); st != "OK" {
		t.Fatal(st)
	}
	if cur := status(); cur["qmpstatus"] != "running" {
		t.Errorf("after resume: qmpstatus %v", cur["qmpstatus"])
	}
	err = s.c.Post(ctx(t), "/nodes/pve1/qemu/520/status/suspend", map[string]any{"statestorage": "local"}, nil)
	if err == nil || !strings.Contains(err.Error(), "400 Parameter verification failed") {
		t.Errorf("statestorage without todisk: %v", err)
	}
	if st := s.post("/nodes/pve1/qemu/520/status/suspend", map[string]any{"todisk": 1, "statestorage": "local"}); st != "OK" {
		t.Fatal(st)
	}
	conf := s.config("/nodes/pve1/qemu/520/config")
	date := time.Now().Format("2006-01-02")
	want := "local:520/vm-520-state-suspend-" + date + ".raw"
	if conf["lock"] != "suspended" || conf["vmstate"] != want {
		t.Errorf("after suspend to disk: lock %v vmstate %v, want %s", conf["lock"], conf["vmstate"], want)
	}
	if vols := s.volumes("pve1", "local", "520"); !vols[want] {
		t.Errorf("state volume not on local: %v", vols)
	}
	if cur := status(); cur["status"] != "stopped" {
		t.Errorf("after suspend to disk: status %v", cur["status"])
	}
	if st := s.post("/nodes/pve1/qemu/520/status/resume", nil); st != "OK" {
		t.Fatal(st)
	}
	conf = s.config("/nodes/pve1/qemu/520/config")
	if conf["lock"] != nil || conf["vmstate"] != nil || status()["status"] != "running" {
		t.Errorf("after resume from disk: lock %v vmstate %v status %v", conf["lock"], conf["vmstate"], status()["status"])
	}
	if vols := s.volumes("pve1", "local", "520"); vols[want] {
		t.Errorf("state volume kept after resume: %v", vols)
	}
	// Without statestorage the state goes where find_vmstate_storage looks: the VM's shared disk storage.
	if st := s.post("/nodes/pve1/qemu/520/status/suspend", map[string]any{"todisk": 1}); st != "OK" {
		t.Fatal(st)
	}
	if got := s.config("/nodes/pve1/qemu/520/config")["vmstate"]; got != "ceph-rbd:vm-520-state-suspend-"+date {
		t.Errorf("default state storage: %v", got)
	}
	if st := s.post("/nodes/pve1/qemu/520/status/start", nil); st != "OK" {
		t.Errorf("start of a VM suspended to disk: %s", st)
	}
	// Not running: refused before forking.
	if st := s.post("/nodes/pve1/qemu/520/status/stop", nil); st != "OK" {
		t.Fatal(st)
	}
	err = s.c.Post(ctx(t), "/nodes/pve1/qemu/520/status/resume", nil, nil)
	if err == nil || !strings.Contains(err.Error(), "500 VM 520 not running") {
		t.Errorf("resume of a stopped VM: %v", err)
	}
	// HA-managed VMs cannot be suspended to disk.
	if err := s.c.Post(ctx(t), "/cluster/ha/resources", map[string]any{"sid": "vm:520"}, nil); err != nil {
		t.Fatal(err)
	}
	err = s.c.Post(ctx(t), "/nodes/pve1/qemu/520/status/suspend", map[string]any{"todisk": 1}, nil)
	if err == nil || !strings.Contains(err.Error(), "Cannot suspend HA managed VM to disk") {
		t.Errorf("suspend HA VM to disk: %v", err)
	}
}

// TestVMStatusSizesFromBootOrder: vmstatus (qemu-server src/PVE/QemuServer.pm)
// takes maxdisk from bootdisk_size (src/PVE/QemuServer/Drive.pm: the first
// non-CD-ROM disk of the boot order, nothing without one) and caps
// sockets * cores at the host's CPUs.
func TestVMStatusSizesFromBootOrder(t *testing.T) {
	s := newSimT(t)
	if st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": 550, "scsi0": "ceph-rbd:2", "scsi1": "ceph-rbd:5",
		"ide2": "none,media=cdrom", "boot": "order=ide2;scsi1;scsi0", "cores": 32}); st != "OK" {
		t.Fatal(st)
	}
	e := s.listEntry("/nodes/pve1/qemu", 550)
	if e["maxdisk"] != float64(5<<30) || e["cpus"] != float64(nodeCPUs) {
		t.Errorf("maxdisk %v (want the boot order's first disk, 5G), cpus %v (want %d)", e["maxdisk"], e["cpus"], nodeCPUs)
	}
	if err := s.put("/nodes/pve1/qemu/550/config", map[string]any{"boot": "order=ide2"}); err != nil {
		t.Fatal(err)
	}
	if e := s.listEntry("/nodes/pve1/qemu", 550); e["maxdisk"] != float64(0) {
		t.Errorf("maxdisk without a disk in the boot order: %v", e["maxdisk"])
	}
}
