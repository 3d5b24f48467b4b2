package pvesim

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// reNewDisk matches PVE's "STORAGE:SIZE_IN_GiB" syntax for a new volume.
var reNewDisk = regexp.MustCompile(`^([a-zA-Z][a-zA-Z0-9\-_.]*[a-zA-Z0-9]):(\d+(?:\.\d+)?)$`)

// allocSpec allocates a volume for a "STORAGE:SIZE" disk option and returns
// the option with the new volume id and size, as PVE writes it.
func (s *Simulator) allocSpec(g *guest, key, value string) (string, error) {
	if !isDiskKey(g.Kind, key) || strings.HasPrefix(key, "unused") {
		return value, nil
	}
	first, rest, _ := strings.Cut(value, ",")
	if k, v, ok := strings.Cut(first, "="); ok && (k == "file" || k == "volume") {
		first = v
	}
	m := reNewDisk.FindStringSubmatch(first)
	if m == nil {
		return value, nil
	}
	sid, sizeGiB := m[1], m[2]
	content := "images"
	if g.Kind == kindLXC {
		content = "rootdir"
	}
	st, err := s.storageFor(sid, g.Node, content)
	if err != nil {
		return "", err
	}
	f, _ := strconv.ParseFloat(sizeGiB, 64)
	size := uint64(f * float64(gib))
	name := s.st.nextDiskName(st, g.Node, g.VMID)
	volid := st.ID + ":" + name
	if st.Type == "dir" {
		volid = fmt.Sprintf("%s:%d/%s.raw", st.ID, g.VMID, name)
	}
	s.st.addVolume(st, g.Node, &volume{VolID: volid, Content: content, Format: "raw", Size: size, VMID: g.VMID})
	out := volid
	if rest != "" {
		out += "," + rest
	}
	return out + ",size=" + formatSize(size), nil
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
		return nil, fail("storage '%s' does not support vm images", sid)
	}
	return st, nil
}

// netWithMAC adds the MAC address PVE generates for new interfaces.
func netWithMAC(kind string, vmid int, key, v string) string {
	slot, _ := strconv.Atoi(strings.TrimPrefix(key, "net"))
	mac := macFor(vmid, slot+1)
	if kind == kindLXC {
		if propGet(v, "hwaddr", "") == "" {
			v += ",hwaddr=" + mac
		}
		if propGet(v, "type", "") == "" {
			v += ",type=veth"
		}
		return v
	}
	parts := strings.Split(v, ",")
	for i, p := range parts {
		k, val, hasEq := strings.Cut(p, "=")
		switch {
		case i == 0 && !hasEq:
			parts[0] = p + "=" + mac
		case k == "model":
			parts[i] = val + "=" + macOr(propGet(v, "macaddr", ""), mac)
		}
	}
	out := parts[:0]
	for _, p := range parts {
		if !strings.HasPrefix(p, "macaddr=") {
			out = append(out, p)
		}
	}
	return strings.Join(out, ",")
}

func macOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
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
		return nil, fail("pool '%s' does not exist", pool)
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
	for _, k := range sortedKeys(g.Conf) {
		v, err := s.allocSpec(g, k, g.Conf[k])
		if err != nil {
			for _, vol := range allocated {
				s.st.removeVolume(node, vol)
			}
			return nil, err
		}
		if v != g.Conf[k] {
			allocated = append(allocated, propGet(v, "file", "file"))
		}
		g.Conf[k] = v
		if strings.HasPrefix(k, "net") {
			g.Conf[k] = netWithMAC(kind, vmid, k, v)
		}
		if k == "tags" {
			g.Conf[k] = uniqueTags(v)
		}
	}
	if kind == kindQemu && g.Conf["boot"] == "" {
		if order := defaultBootOrder(g.Conf); order != "" {
			g.Conf["boot"] = "order=" + order
		}
	}
	g.Conf["lock"] = "create"
	s.st.Guests[vmid] = g
	s.changed()
	start := r.bool("start", false)
	return s.spawn(node, taskPrefix(kind)+"create", strconv.Itoa(vmid), r.user, func(t *task) error {
		err := s.allocateUnderLocks(node, diskStoragesOf(allocated), t)
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
