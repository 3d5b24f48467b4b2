package pvesim

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// reNewDisk matches PVE's "STORAGE:SIZE_IN_GiB" syntax for a new volume
// (Drive.pm NEW_DISK_RE, with the storage required here).
var reNewDisk = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]):(\d+(?:\.\d+)?)$`)

// reCloudinit is a "STORAGE:cloudinit" request for a new cloud-init drive.
var reCloudinit = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]):cloudinit$`)

// cloudinitSize is CLOUDINIT_DISK_SIZE (qemu-server Cloudinit.pm): 4 MiB.
const cloudinitSize = 4 * mib

// workerError is an error PVE only meets inside the forked worker (for
// example create_disks allocating a cloud-init volume): handlers that fork
// turn it into the task's failure instead of answering with it.
type workerError struct{ err error }

func (e workerError) Error() string { return e.err.Error() }

// optSub is the property-string format of a config option, if it has one.
func optSub(kind, key string) map[string]Param {
	if p, _ := configSpec(kind).lookup(key); p != nil {
		return p.Sub
	}
	return nil
}

// driveVolKey is the key holding the volume in a drive/mount point string.
func driveVolKey(kind string) string {
	if kind == kindLXC {
		return "volume"
	}
	return "file"
}

// normaliseOption does to one option what create and update do before
// writing it: tags as get_unique_tags, descriptions as the config parser
// reads them back, drives parsed, new volumes allocated and printed like
// print_drive (qemu-server Drive.pm) or print_ct_mountpoint (pve-container
// LXC/Config.pm), nets given a MAC and printed like print_net
// (qemu-server QemuServer/Network.pm) or print_lxc_network. It returns the
// new value and the volumes it allocated.
func (s *Simulator) normaliseOption(g *guest, key, value string) (string, []string, error) {
	switch {
	case key == "tags":
		return uniqueTags(value), nil, nil
	case key == "description":
		return normDescription(g.Kind, value), nil, nil
	case strings.HasPrefix(key, "net") && strings.TrimLeft(key[3:], "0123456789") == "":
		return normNet(g.Kind, g.VMID, key, value), nil, nil
	case !isDiskKey(g.Kind, key) || strings.HasPrefix(key, "unused"):
		return value, nil, nil
	}
	sub := optSub(g.Kind, key)
	res, perr := parsePropertyString(sub, value)
	if sub == nil || perr != "" {
		return value, nil, nil
	}
	vk := driveVolKey(g.Kind)
	file := res[vk]
	if g.Kind == kindQemu {
		// $check_drive_param / $check_storage_access (qemu-server API2/Qemu.pm)
		if _, name, ok := cutVolID(file); ok && !reNewDisk.MatchString(file) && name != "cloudinit" {
			switch vtype, _, _ := strings.Cut(name, "/"); {
			case vtype == "iso" && res["media"] != "cdrom":
				return "", nil, paramErr(key, "explicit 'media=cdrom' is required for iso images")
			case vtype == "vztmpl" || vtype == "backup" || vtype == "snippets" || vtype == "import":
				return "", nil, paramErr(key, "content type needs to be 'images' or 'iso'")
			}
		}
	}
	var made []string
	switch {
	case g.Kind == kindQemu && (file == "" || file == "none" || file == "cdrom"):
		delete(res, "size")
	case g.Kind == kindQemu && reCloudinit.MatchString(file):
		for k, v := range g.Conf {
			if k != key && isDiskKey(kindQemu, k) && isCloudinitVol(propGet(v, "file", "file")) {
				return "", nil, workerError{fmt.Errorf("%s - cloud-init drive is already attached at '%s'", key, k)}
			}
		}
		volid, err := s.allocCloudinit(g.Node, g.VMID, reCloudinit.FindStringSubmatch(file)[1], res["format"])
		if err != nil {
			return "", nil, workerError{err}
		}
		res[vk], res["media"] = volid, "cdrom"
		delete(res, "format")
		made = append(made, volid)
	case reNewDisk.MatchString(file):
		m := reNewDisk.FindStringSubmatch(file)
		content := "images"
		if g.Kind == kindLXC {
			content = "rootdir"
		}
		st, err := s.storageFor(m[1], g.Node, content)
		if err != nil {
			return "", nil, err
		}
		f, _ := strconv.ParseFloat(m[2], 64)
		size := uint64(f * float64(gib))
		name := s.st.nextDiskName(st, g.Node, g.VMID)
		volid := st.ID + ":" + name
		if st.Type == "dir" {
			volid = fmt.Sprintf("%s:%d/%s.raw", st.ID, g.VMID, name)
		}
		s.st.addVolume(st, g.Node, &volume{VolID: volid, Content: content, Format: "raw", Size: size, VMID: g.VMID})
		res[vk], res["size"] = volid, formatSize(size)
		made = append(made, volid)
	}
	var skip []string
	if g.Kind == kindLXC {
		skip = []string{"type"}
		if key == "rootfs" {
			skip = append(skip, "mp")
		}
	}
	return printPropertyString(sub, res, skip...), made, nil
}

// allocCloudinit allocates vm-<vmid>-cloudinit on a storage as
// create_disks and clone_disk do (qemu-server API2/Qemu.pm, QemuServer.pm):
// qcow2 files on path-based storages, raw images elsewhere.
func (s *Simulator) allocCloudinit(node string, vmid int, sid, format string) (string, error) {
	st := s.st.Storages[sid]
	if st == nil || !st.on(node) {
		return "", fmt.Errorf("storage '%s' does not exist", sid)
	}
	name := fmt.Sprintf("vm-%d-cloudinit", vmid)
	volid := st.ID + ":" + name
	if st.Type == "dir" {
		if format == "" {
			format = "qcow2"
		}
		volid = fmt.Sprintf("%s:%d/%s.%s", st.ID, vmid, name, format)
	} else if format == "" {
		format = "raw"
	}
	if s.st.volume(node, volid) != nil {
		// vdisk_alloc with a fixed name fails in the plugin's alloc_image
		// (pve-storage RBDPlugin.pm, LvmThinPlugin.pm, Plugin.pm).
		switch st.Type {
		case "rbd":
			return "", fmt.Errorf("rbd create '%s' error: rbd: create error: (17) File exists", name)
		case "lvmthin", "lvm":
			return "", fmt.Errorf("lvcreate 'pve/%s' error:   Logical Volume \"%s\" already exists in volume group \"pve\"", name, name)
		case "dir":
			return "", fmt.Errorf("disk image '/var/lib/vz/images/%d/%s.%s' already exists", vmid, name, format)
		}
		return "", fmt.Errorf("volume '%s' already exists", volid)
	}
	s.st.addVolume(st, node, &volume{VolID: volid, Content: "images", Format: format, Size: cloudinitSize, VMID: vmid})
	return volid, nil
}

// isCloudinitVol is drive_is_cloudinit (qemu-server Drive.pm).
func isCloudinitVol(file string) bool { return reCloudinitFile.MatchString(file) }

var reCloudinitFile = regexp.MustCompile(`[:/](?:vm-\d+-)?cloudinit(?:\.(?:raw|qcow2|vmdk))?$`)

// normNet gives a new interface its MAC and prints it as PVE writes it:
// qemu parse_net/print_net ("virtio=MAC,bridge=vmbr0,..."), containers
// parse_lxc_network/print_lxc_network (type=veth, hwaddr added).
func normNet(kind string, vmid int, key, v string) string {
	sub := optSub(kind, key)
	res, perr := parsePropertyString(sub, v)
	if sub == nil || perr != "" {
		return v
	}
	mac := randomMAC()
	if kind == kindLXC {
		res["type"] = "veth"
		if res["hwaddr"] == "" {
			res["hwaddr"] = mac
		}
	} else if res["macaddr"] == "" {
		res["macaddr"] = mac
	}
	return printPropertyString(sub, res)
}

// randomMAC is random_ether_addr (pve-common src/PVE/Tools.pm) with the
// datacenter's default mac_prefix BC:24:11: every interface given without
// a MAC gets a new one, on create, update and clone alike.
func randomMAC() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("BC:24:11:%02X:%02X:%02X", b[0], b[1], b[2])
}

// normDescription is what the config parsers hand back after the
// description was written as comment lines: qemu-server's parse_vm_config
// strips trailing whitespace, pve-container's parse_pct_config ends every
// line (the last included) with a newline.
func normDescription(kind, d string) string {
	lines := strings.Split(d, "\n")
	for len(lines) > 0 && lines[len(lines)-1] == "" { // Perl's split drops trailing empty fields
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return ""
	}
	out := strings.Join(lines, "\n") + "\n"
	if kind == kindQemu {
		return strings.TrimRightFunc(out, unicode.IsSpace)
	}
	return out
}

// storageFor checks that a storage exists on a node and holds a content type.
func (s *Simulator) storageFor(sid, node, content string) (*storage, error) {
	st := s.st.Storages[sid]
	if st == nil || !st.on(node) {
		return nil, fail("storage '%s' does not exist", sid)
	}
	if !st.holds(content) {
		if content == "rootdir" {
			return nil, paramErr("storage", "storage '%s' does not support container directories", sid)
		}
		// check_storage_access (qemu-server API2/Qemu.pm) raises it on "storage".
		return nil, paramErr("storage", "storage '%s' does not support vm images", sid)
	}
	return st, nil
}

// diskStorages lists the storages a config's volumes live on.
func diskStorages(g *guest) []string {
	set := map[string]bool{}
	for k, v := range g.Conf {
		if isDiskKey(g.Kind, k) && !strings.HasPrefix(k, "unused") && !strings.Contains(v, "media=cdrom") {
			if sid, _, ok := cutVolID(propGet(v, "file", "file")); ok {
				set[sid] = true
			}
		}
	}
	out := sortedKeys(set)
	sort.Strings(out)
	return out
}

// createParams are create-only parameters that do not end up in the config.
var createParams = map[string]bool{"node": true, "vmid": true, "pool": true, "start": true, "storage": true,
	"archive": true, "force": true, "unique": true, "live-restore": true, "import-working-storage": true,
	"ostemplate": true, "password": true, "ssh-public-keys": true, "restore": true,
	"ignore-unpack-errors": true, "bwlimit": true, "ha-managed": true}

func createQemu(r *request) (any, error) { return r.s.createGuest(r, kindQemu) }

func createLXC(r *request) (any, error) { return r.s.createGuest(r, kindLXC) }

func (s *Simulator) createGuest(r *request, kind string) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	node, vmid := r.str("node"), r.int("vmid", 0)
	if err := s.checkNode(node); err != nil {
		return nil, err
	}
	word := "VM"
	if kind == kindLXC {
		word = "CT"
	}
	if old, ok := s.st.Guests[vmid]; ok {
		return nil, fail("unable to create %s %d - VM %d already exists on node '%s'", word, vmid, vmid, old.Node)
	}
	if r.has("archive") || r.bool("restore", false) {
		return nil, fail("restore is not supported by pvesim")
	}
	pool := r.str("pool")
	if pool != "" && s.st.Pools[pool] == nil {
		return nil, httpErr(http.StatusForbidden, "Permission check failed (pool '%s' does not exist)", pool) // check_pool_exist
	}
	g := &guest{VMID: vmid, Kind: kind, Node: node, Conf: map[string]string{}, Pool: pool}
	for k, v := range r.params {
		if !createParams[k] {
			g.Conf[k] = v
		}
	}
	if kind == kindLXC {
		if err := s.lxcDefaults(r, g); err != nil {
			return nil, err
		}
	} else {
		if g.Conf["smbios1"] == "" {
			g.Conf["smbios1"] = "uuid=" + uuidFor(vmid)
		}
		g.Conf["vmgenid"] = uuidFor(vmid + 7)
		g.Conf["meta"] = fmt.Sprintf("creation-qemu=10.1.2,ctime=%d", nowUnix())
	}
	var allocated []string
	var workerErr error // met by create_disks in the worker, not before forking
	for _, k := range sortedKeys(g.Conf) {
		v, made, err := s.normaliseOption(g, k, g.Conf[k])
		var we workerError
		if errors.As(err, &we) {
			if workerErr == nil {
				workerErr = we.err
			}
			continue
		}
		if err != nil {
			for _, vol := range allocated {
				s.st.removeVolume(node, vol)
			}
			return nil, err
		}
		allocated = append(allocated, made...)
		if v == "" && k == "description" {
			delete(g.Conf, k)
			continue
		}
		g.Conf[k] = v
	}
	if kind == kindQemu && g.Conf["boot"] == "" {
		if order := defaultBootOrder(g.Conf); order != "" {
			g.Conf["boot"] = "order=" + order
		}
	}
	g.Conf["lock"] = "create"
	s.adoptPoolMember(g)
	s.st.Guests[vmid] = g
	s.changed()
	start := r.bool("start", false)
	return s.spawn(node, taskPrefix(kind)+"create", strconv.Itoa(vmid), r.user, func(t *task) error {
		err := workerErr
		if err == nil {
			err = s.allocateUnderLocks(node, diskStoragesOf(allocated), t)
		}
		if err == nil {
			err = t.injected()
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		g := s.st.Guests[vmid]
		if g == nil {
			return fmt.Errorf("Configuration file '%s' does not exist", configPath(kind, node, vmid))
		}
		if err != nil {
			for _, vol := range allocated {
				s.st.removeVolume(node, vol)
			}
			delete(s.st.Guests, vmid)
			return fmt.Errorf("unable to create %s %d - %w", word, vmid, err)
		}
		delete(g.Conf, "lock")
		if start {
			g.Running, g.Started, g.bootedAt = true, nowUnix(), time.Now()
		}
		return nil
	}), nil
}

func diskStoragesOf(vols []string) []string {
	set := map[string]bool{}
	for _, v := range vols {
		if sid, _, ok := cutVolID(v); ok {
			set[sid] = true
		}
	}
	return sortedKeys(set)
}

// allocateUnderLocks holds each storage's allocation lock in turn for the
// configured time, then lets the rest of the task time pass.
func (s *Simulator) allocateUnderLocks(node string, sids []string, t *task) error {
	held := 0
	for _, sid := range sids {
		s.mu.RLock()
		st := s.st.Storages[sid]
		s.mu.RUnlock()
		if st == nil {
			continue
		}
		rel, err := s.lockStorage(st, node)
		if err != nil {
			return err
		}
		t.logf("allocating volume on storage '%s'", sid)
		err = s.taskSleep(t, s.opts.StorageLockHold)
		rel()
		if err != nil {
			return err
		}
		held++
	}
	if rest := s.opts.TaskDuration - s.opts.StorageLockHold*timeMul(held); rest > 0 {
		return s.taskSleep(t, rest)
	}
	return nil
}

// defaultBootOrder is what qemu-server writes when a VM is created without
// "boot": the first disk, the first CD-ROM, then the first NIC.
func defaultBootOrder(conf map[string]string) string {
	var disk, cdrom, nic string
	for _, bus := range []struct {
		name string
		n    int
	}{{"ide", 4}, {"sata", 6}, {"scsi", 31}, {"virtio", 16}} {
		for i := 0; i < bus.n; i++ {
			k := bus.name + strconv.Itoa(i)
			v, ok := conf[k]
			if !ok {
				continue
			}
			if strings.Contains(v, "media=cdrom") {
				if cdrom == "" && !strings.Contains(v, "cloudinit") {
					cdrom = k
				}
			} else if disk == "" {
				disk = k
			}
		}
	}
	for i := 0; i < 32 && nic == ""; i++ {
		if _, ok := conf["net"+strconv.Itoa(i)]; ok {
			nic = "net" + strconv.Itoa(i)
		}
	}
	var parts []string
	for _, p := range []string{disk, cdrom, nic} {
		if p != "" {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ";")
}
