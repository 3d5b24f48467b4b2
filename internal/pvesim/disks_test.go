package pvesim

import (
	"strconv"
	"strings"
	"testing"

	proxmox "github.com/luthermonson/go-proxmox"
)

// simT bundles the calls the disk tests make through go-proxmox.
type simT struct {
	t   *testing.T
	srv *Server
	c   *proxmox.Client
}

func newSimT(t *testing.T) *simT {
	srv := startSim(t, Options{})
	return &simT{t: t, srv: srv, c: pveClient(t, srv)}
}

// post sends a call that forks a worker and waits for it, returning the
// exit status ("OK" or the error).
func (s *simT) post(path string, body map[string]any) string {
	s.t.Helper()
	var upid string
	if err := s.c.Post(ctx(s.t), path, body, &upid); err != nil {
		s.t.Fatalf("POST %s: %v", path, err)
	}
	return wait(s.t, proxmox.NewTask(proxmox.UPID(upid), s.c))
}

func (s *simT) put(path string, body map[string]any) error {
	return s.c.Put(ctx(s.t), path, body, nil)
}

func (s *simT) config(path string) map[string]any {
	s.t.Helper()
	var conf map[string]any
	if err := s.c.Get(ctx(s.t), path, &conf); err != nil {
		s.t.Fatal(err)
	}
	return conf
}

// volumes lists the volids a storage holds for a vmid on a node.
func (s *simT) volumes(node, storage, vmid string) map[string]bool {
	s.t.Helper()
	var content []map[string]any
	if err := s.c.Get(ctx(s.t), "/nodes/"+node+"/storage/"+storage+"/content?vmid="+vmid, &content); err != nil {
		s.t.Fatal(err)
	}
	out := map[string]bool{}
	for _, v := range content {
		out[v["volid"].(string)] = true
	}
	return out
}

// TestCloudinitDriveAllocatedOnStorage follows create_disks in qemu-server
// src/PVE/API2/Qemu.pm: "STORAGE:cloudinit" allocates vm-<vmid>-cloudinit
// on that storage and writes the drive with media=cdrom; a storage that
// does not exist fails storage_config inside the worker on create and the
// call itself on a synchronous update.
func TestCloudinitDriveAllocatedOnStorage(t *testing.T) {
	s := newSimT(t)
	if st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": 300, "scsi0": "ceph-rbd:4", "ide2": "ceph-rbd:cloudinit"}); st != "OK" {
		t.Fatalf("create: %s", st)
	}
	conf := s.config("/nodes/pve1/qemu/300/config")
	if conf["ide2"] != "ceph-rbd:vm-300-cloudinit,media=cdrom" {
		t.Errorf("ide2 = %v", conf["ide2"])
	}
	if vols := s.volumes("pve1", "ceph-rbd", "300"); !vols["ceph-rbd:vm-300-cloudinit"] || !vols["ceph-rbd:vm-300-disk-0"] {
		t.Errorf("volumes after create: %v", vols)
	}
	st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": 301, "ide2": "nope:cloudinit"})
	if st != "unable to create VM 301 - storage 'nope' does not exist" {
		t.Errorf("create on a missing storage: %s", st)
	}
	if st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": 302}); st != "OK" {
		t.Fatal(st)
	}
	err := s.put("/nodes/pve1/qemu/302/config", map[string]any{"ide0": "nope:cloudinit"})
	if err == nil || !strings.Contains(err.Error(), "500 storage 'nope' does not exist") {
		t.Errorf("update on a missing storage: %v", err)
	}
	// A second cloud-init drive is refused before its storage is looked up,
	// as create_disks does.
	err = s.put("/nodes/pve1/qemu/300/config", map[string]any{"ide0": "nope:cloudinit"})
	if err == nil || !strings.Contains(err.Error(), "ide0 - cloud-init drive is already attached at 'ide2'") {
		t.Errorf("second cloud-init drive: %v", err)
	}
}

// TestCloneGetsOwnCloudinitVolume follows clone_vm (qemu-server
// src/PVE/API2/Qemu.pm) and clone_disk (src/PVE/QemuServer.pm): a
// cloud-init drive is always copied in full to vm-<newid>-cloudinit, so
// removing the clone's drive leaves the template's volume alone.
func TestCloneGetsOwnCloudinitVolume(t *testing.T) {
	s := newSimT(t)
	for _, full := range []int{0, 1} {
		newid := 400 + full
		if st := s.post("/nodes/pve1/qemu/9000/clone", map[string]any{"newid": newid, "full": full}); st != "OK" {
			t.Fatalf("clone full=%d: %s", full, st)
		}
		want := "ceph-rbd:vm-" + strconv.Itoa(newid) + "-cloudinit,media=cdrom,size=4M"
		if got := s.config("/nodes/pve1/qemu/" + strconv.Itoa(newid) + "/config")["ide2"]; got != want {
			t.Errorf("clone full=%d ide2 = %v, want %s", full, got, want)
		}
	}
	if err := s.put("/nodes/pve1/qemu/400/config", map[string]any{"delete": "ide2"}); err != nil {
		t.Fatal(err)
	}
	if vols := s.volumes("pve1", "ceph-rbd", "9000"); !vols["ceph-rbd:vm-9000-cloudinit"] {
		t.Errorf("template's cloud-init volume gone after the clone's ide2 was deleted: %v", vols)
	}
	if vols := s.volumes("pve1", "ceph-rbd", "400"); vols["ceph-rbd:vm-400-cloudinit"] {
		t.Errorf("clone's cloud-init volume kept after its drive was deleted: %v", vols)
	}
	if conf := s.config("/nodes/pve1/qemu/400/config"); conf["unused0"] != nil {
		t.Errorf("a cloud-init drive became %v; vmconfig_register_unused_drive frees it", conf["unused0"])
	}
}

// TestReplacedDiskBecomesUnused follows vmconfig_apply_pending and
// vmconfig_register_unused_drive (qemu-server src/PVE/QemuServer.pm): a
// disk slot given a new volume keeps the old one as unusedN; deleting an
// attached disk detaches it to unusedN; re-attaching an unused volume drops
// its unusedN (write_vm_config).
func TestReplacedDiskBecomesUnused(t *testing.T) {
	s := newSimT(t)
	if st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": 310, "scsi0": "ceph-rbd:8", "scsi1": "ceph-rbd:1"}); st != "OK" {
		t.Fatal(st)
	}
	if err := s.put("/nodes/pve1/qemu/310/config", map[string]any{"scsi0": "ceph-rbd:4"}); err != nil {
		t.Fatal(err)
	}
	conf := s.config("/nodes/pve1/qemu/310/config")
	if conf["scsi0"] != "ceph-rbd:vm-310-disk-2,size=4G" || conf["unused0"] != "ceph-rbd:vm-310-disk-0" {
		t.Errorf("after replacing scsi0: scsi0=%v unused0=%v", conf["scsi0"], conf["unused0"])
	}
	if vols := s.volumes("pve1", "ceph-rbd", "310"); !vols["ceph-rbd:vm-310-disk-0"] {
		t.Errorf("replaced volume was deleted: %v", vols)
	}
	if err := s.put("/nodes/pve1/qemu/310/config", map[string]any{"delete": "scsi1"}); err != nil {
		t.Fatal(err)
	}
	conf = s.config("/nodes/pve1/qemu/310/config")
	if conf["scsi1"] != nil || conf["unused1"] != "ceph-rbd:vm-310-disk-1" {
		t.Errorf("after delete=scsi1: scsi1=%v unused1=%v", conf["scsi1"], conf["unused1"])
	}
	if err := s.put("/nodes/pve1/qemu/310/config", map[string]any{"scsi1": "ceph-rbd:vm-310-disk-0,size=8G"}); err != nil {
		t.Fatal(err)
	}
	conf = s.config("/nodes/pve1/qemu/310/config")
	if conf["unused0"] != nil || conf["unused1"] != "ceph-rbd:vm-310-disk-1" {
		t.Errorf("after re-attaching unused0: unused0=%v unused1=%v", conf["unused0"], conf["unused1"])
	}
}

// TestNetWithMACAccepted follows parse_net / print_net (qemu-server
// src/PVE/QemuServer/Network.pm): "virtio=<MAC>" is a key alias setting
// model and macaddr, accepted on create and update and printed back with
// the model first and the other keys sorted.
func TestNetWithMACAccepted(t *testing.T) {
	s := newSimT(t)
	if st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": 320, "net0": "virtio=BC:24:11:AA:BB:CC,firewall=1,bridge=vmbr0"}); st != "OK" {
		t.Fatal(st)
	}
	if got := s.config("/nodes/pve1/qemu/320/config")["net0"]; got != "virtio=BC:24:11:AA:BB:CC,bridge=vmbr0,firewall=1" {
		t.Errorf("net0 after create = %v", got)
	}
	if err := s.put("/nodes/pve1/qemu/320/config", map[string]any{"net1": "tag=5,bridge=vmbr1,e1000=BC:24:11:AA:BB:CD"}); err != nil {
		t.Fatal(err)
	}
	if got := s.config("/nodes/pve1/qemu/320/config")["net1"]; got != "e1000=BC:24:11:AA:BB:CD,bridge=vmbr1,tag=5" {
		t.Errorf("net1 after update = %v", got)
	}
	// The key alias and the model together are refused, as parse_property_string does.
	err := s.put("/nodes/pve1/qemu/320/config", map[string]any{"net2": "virtio,e1000=BC:24:11:AA:BB:CE"})
	if err == nil || !strings.Contains(err.Error(), "400 Parameter verification failed") {
		t.Errorf("model twice: %v", err)
	}
}

// TestDriveStringsInPrintDriveOrder follows print_drive (qemu-server
// src/PVE/QemuServer/Drive.pm) and print_property_string (pve-common
// src/PVE/JSONSchema.pm): the volume first, the other keys sorted, the
// size as format_size writes it; containers' mount points likewise
// (print_ct_mountpoint, pve-container src/PVE/LXC/Config.pm).
func TestDriveStringsInPrintDriveOrder(t *testing.T) {
	s := newSimT(t)
	if st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": 330,
		"scsi0": "ceph-rbd:8,ssd=1,discard=on,cache=writeback", "virtio1": "file=ceph-rbd:1,iothread=on"}); st != "OK" {
		t.Fatal(st)
	}
	conf := s.config("/nodes/pve1/qemu/330/config")
	if conf["scsi0"] != "ceph-rbd:vm-330-disk-0,cache=writeback,discard=on,size=8G,ssd=1" {
		t.Errorf("scsi0 = %v", conf["scsi0"])
	}
	if conf["virtio1"] != "ceph-rbd:vm-330-disk-1,iothread=1,size=1G" {
		t.Errorf("virtio1 = %v", conf["virtio1"])
	}
	if err := s.put("/nodes/pve1/qemu/330/config", map[string]any{"scsi0": "size=8192M,discard=on,file=ceph-rbd:vm-330-disk-0"}); err != nil {
		t.Fatal(err)
	}
	if got := s.config("/nodes/pve1/qemu/330/config")["scsi0"]; got != "ceph-rbd:vm-330-disk-0,discard=on,size=8G" {
		t.Errorf("scsi0 after update = %v", got)
	}
	st := s.post("/nodes/pve1/lxc", map[string]any{"vmid": 331, "ostemplate": "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst",
		"rootfs": "ceph-rbd:2,quota=1,acl=0", "net0": "name=eth0,ip=dhcp,bridge=vmbr0"})
	if st != "OK" {
		t.Fatal(st)
	}
	conf = s.config("/nodes/pve1/lxc/331/config")
	if conf["rootfs"] != "ceph-rbd:vm-331-disk-0,acl=0,quota=1,size=2G" {
		t.Errorf("rootfs = %v", conf["rootfs"])
	}
	// print_lxc_network: the required "name" first, then sorted.
	if got, _ := conf["net0"].(string); !strings.HasPrefix(got, "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:") || !strings.HasSuffix(got, ",ip=dhcp,type=veth") {
		t.Errorf("lxc net0 = %v", conf["net0"])
	}
}

// TestDescriptionAsConfigParserReadsIt: qemu-server's parse_vm_config
// (src/PVE/QemuServer.pm) strips trailing whitespace from the description
// it reads back from the comment lines; pve-container's parse_pct_config
// (src/PVE/LXC/Config.pm) ends every comment line with a newline.
func TestDescriptionAsConfigParserReadsIt(t *testing.T) {
	s := newSimT(t)
	if st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": 340, "description": "first\nsecond\n\n"}); st != "OK" {
		t.Fatal(st)
	}
	if got := s.config("/nodes/pve1/qemu/340/config")["description"]; got != "first\nsecond" {
		t.Errorf("qemu description = %q", got)
	}
	if st := s.post("/nodes/pve1/lxc", map[string]any{"vmid": 341, "ostemplate": "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst",
		"rootfs": "ceph-rbd:2", "description": "one line"}); st != "OK" {
		t.Fatal(st)
	}
	if got := s.config("/nodes/pve1/lxc/341/config")["description"]; got != "one line\n" {
		t.Errorf("lxc description = %q", got)
	}
}

// TestStaleDigestTexts: qemu-server's update_vm_api and resize_vm
// (src/PVE/API2/Qemu.pm) die "checksum mismatch (file change by other
// user?)"; pve-container's config PUT and resize (src/PVE/API2/LXC/Config.pm,
// src/PVE/API2/LXC.pm) use PVE::Tools::assert_if_modified's "detected
// modified configuration - file changed by other user? Try again.".
func TestStaleDigestTexts(t *testing.T) {
	s := newSimT(t)
	if st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": 350, "scsi0": "ceph-rbd:1"}); st != "OK" {
		t.Fatal(st)
	}
	if st := s.post("/nodes/pve1/lxc", map[string]any{"vmid": 351, "ostemplate": "local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst",
		"rootfs": "ceph-rbd:2"}); st != "OK" {
		t.Fatal(st)
	}
	stale := strings.Repeat("0", 40)
	const qm, ct = "500 checksum mismatch (file change by other user?)",
		"500 detected modified configuration - file changed by other user? Try again."
	cx := ctx(t)
	for _, tc := range []struct {
		method, path string
		body         map[string]any
		want         string
	}{
		{"PUT", "/nodes/pve1/qemu/350/config", map[string]any{"cores": 2}, qm},
		{"POST", "/nodes/pve1/qemu/350/config", map[string]any{"cores": 2}, qm},
		{"PUT", "/nodes/pve1/qemu/350/resize", map[string]any{"disk": "scsi0", "size": "+1G"}, qm},
		{"PUT", "/nodes/pve1/lxc/351/config", map[string]any{"cores": 2}, ct},
		{"PUT", "/nodes/pve1/lxc/351/resize", map[string]any{"disk": "rootfs", "size": "+1G"}, ct},
	} {
		tc.body["digest"] = stale
		var err error
		if tc.method == "PUT" {
			err = s.c.Put(cx, tc.path, tc.body, nil)
		} else {
			err = s.c.Post(cx, tc.path, tc.body, nil)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v, want %q", tc.method, tc.path, err, tc.want)
		}
	}
}

// TestNetWithoutMACGetsNewMAC follows update_vm_api (qemu-server
// src/PVE/API2/Qemu.pm): every net option is run through parse_net, which
// gives an interface without macaddr a new random_ether_addr
// (pve-common src/PVE/Tools.pm) under the BC:24:11 prefix, so resending a
// NIC without its MAC changes the MAC.
func TestNetWithoutMACGetsNewMAC(t *testing.T) {
	s := newSimT(t)
	if st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": 360, "net0": "virtio,bridge=vmbr0"}); st != "OK" {
		t.Fatal(st)
	}
	first, _ := s.config("/nodes/pve1/qemu/360/config")["net0"].(string)
	if err := s.put("/nodes/pve1/qemu/360/config", map[string]any{"net0": "virtio,bridge=vmbr0"}); err != nil {
		t.Fatal(err)
	}
	second, _ := s.config("/nodes/pve1/qemu/360/config")["net0"].(string)
	if !strings.HasPrefix(first, "virtio=BC:24:11:") || !strings.HasPrefix(second, "virtio=BC:24:11:") || first == second {
		t.Errorf("net0 after create %q, after resending without MAC %q", first, second)
	}
}

// TestCloudinitReaddOnSameSlotFails: update_vm_api (qemu-server
// src/PVE/API2/Qemu.pm) hands "STORAGE:cloudinit" to create_disks, whose
// vdisk_alloc of the fixed name vm-<vmid>-cloudinit fails in the plugin
// when the VM already has that volume (pve-storage RBDPlugin.pm
// alloc_image: "rbd create '…' error").
func TestCloudinitReaddOnSameSlotFails(t *testing.T) {
	s := newSimT(t)
	if st := s.post("/nodes/pve1/qemu/9000/clone", map[string]any{"newid": 370}); st != "OK" {
		t.Fatal(st)
	}
	err := s.put("/nodes/pve1/qemu/370/config", map[string]any{"ide2": "ceph-rbd:cloudinit"})
	if err == nil || !strings.Contains(err.Error(), "rbd create 'vm-370-cloudinit' error: rbd: create error: (17) File exists") {
		t.Errorf("re-adding cloud-init on ide2: %v", err)
	}
	// Moving it to another slot after deleting works.
	if err := s.put("/nodes/pve1/qemu/370/config", map[string]any{"delete": "ide2"}); err != nil {
		t.Fatal(err)
	}
	if err := s.put("/nodes/pve1/qemu/370/config", map[string]any{"ide0": "ceph-rbd:cloudinit"}); err != nil {
		t.Errorf("cloud-init on ide0 after deleting ide2: %v", err)
	}
}

// TestDriveVolumeContentChecks follows $check_drive_param and
// $check_storage_access (qemu-server src/PVE/API2/Qemu.pm): an ISO needs an
// explicit media=cdrom, and only images or ISOs can back a drive.
func TestDriveVolumeContentChecks(t *testing.T) {
	s := newSimT(t)
	for _, tc := range []struct{ body, want string }{
		{"vmid=380&ide2=local:iso/debian.iso", `"ide2":"explicit 'media=cdrom' is required for iso images"`},
		{"vmid=381&scsi0=local:vztmpl/debian-12-standard_12.12-1_amd64.tar.zst", `"scsi0":"content type needs to be 'images' or 'iso'"`},
	} {
		r := raw(t, s.srv, "POST", "/nodes/pve1/qemu", "application/x-www-form-urlencoded", tc.body, "token")
		if r.Code != 400 || !strings.Contains(string(r.Body), tc.want) {
			t.Errorf("%s: %d %s", tc.body, r.Code, r.Body)
		}
	}
	if st := s.post("/nodes/pve1/qemu", map[string]any{"vmid": 382, "ide2": "local:iso/debian.iso,media=cdrom"}); st != "OK" {
		t.Errorf("ISO as CD-ROM: %s", st)
	}
}
