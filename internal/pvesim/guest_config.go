package pvesim

import (
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// metaParams are request parameters that steer a config change rather than
// being config options.
var metaParams = map[string]bool{"node": true, "vmid": true, "digest": true, "delete": true,
	"revert": true, "skiplock": true, "force": true, "background_delay": true}

// hotOptions change immediately even while the guest runs (PVE's "fast
// plug" options plus default hotplug of network and disks).
func hotOption(kind, key string) bool {
	switch key {
	case "name", "description", "tags", "onboot", "protection", "startup", "hookscript", "lock", "hostname":
		return true
	}
	fam := strings.TrimRight(key, "0123456789")
	if kind == kindLXC {
		return key == "memory" || key == "swap" || key == "cores" || key == "cpulimit" || key == "cpuunits" || fam == "net"
	}
	switch fam {
	case "net", "scsi", "virtio", "sata", "ide", "unused", "ipconfig":
		return true
	}
	return key == "ciuser" || key == "cipassword" || key == "sshkeys" || key == "nameserver" || key == "searchdomain"
}

// configSpec is the option schema of a guest kind (the config PUT spec).
func configSpec(kind string) *RouteSpec {
	sp, _ := Specs()
	return sp["PUT /nodes/{node}/"+kind+"/{vmid}/config"]
}

// typed renders config values as PVE's JSON does: integers, numbers and
// booleans as JSON numbers, everything else as strings.
func typed(kind string, conf map[string]string) map[string]any {
	spec := configSpec(kind)
	out := make(map[string]any, len(conf)+1)
	for k, v := range conf {
		out[k] = typedValue(spec, k, v)
	}
	return out
}

func typedValue(spec *RouteSpec, k, v string) any {
	p, _ := spec.lookup(k)
	t := ""
	if p != nil {
		t = p.Type
	} else if k == "template" {
		t = "boolean"
	}
	switch t {
	case "integer", "boolean":
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	case "number":
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			return f
		}
	}
	return v
}

func getConfig(kind string) handlerFunc {
	return func(r *request) (any, error) {
		s := r.s
		s.mu.RLock()
		defer s.mu.RUnlock()
		g, err := s.guestArg(r, kind)
		if err != nil {
			return nil, err
		}
		conf := g.Conf
		if !r.bool("current", false) && (len(g.Pending) > 0 || len(g.PendingDelete) > 0) {
			conf = make(map[string]string, len(g.Conf))
			for k, v := range g.Conf {
				conf[k] = v
			}
			for k, v := range g.Pending {
				conf[k] = v
			}
			for _, k := range g.PendingDelete {
				delete(conf, k)
			}
		}
		out := typed(kind, conf)
		out["digest"] = g.digest()
		return out, nil
	}
}

func getPending(kind string) handlerFunc {
	return func(r *request) (any, error) {
		s := r.s
		s.mu.RLock()
		defer s.mu.RUnlock()
		g, err := s.guestArg(r, kind)
		if err != nil {
			return nil, err
		}
		spec := configSpec(kind)
		keys := map[string]bool{}
		for k := range g.Conf {
			keys[k] = true
		}
		for k := range g.Pending {
			keys[k] = true
		}
		for _, k := range g.PendingDelete {
			keys[k] = true
		}
		out := []map[string]any{}
		for _, k := range sortedKeys(keys) {
			e := map[string]any{"key": k}
			if v, ok := g.Conf[k]; ok {
				e["value"] = typedValue(spec, k, v)
			}
			if v, ok := g.Pending[k]; ok {
				e["pending"] = typedValue(spec, k, v)
			}
			if slices.Contains(g.PendingDelete, k) {
				e["delete"] = 1
			}
			out = append(out, e)
		}
		return out, nil
	}
}

// postQemuConfig is the asynchronous qemu config update (a qmconfig task).
func postQemuConfig(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.guestArg(r, kindQemu)
	if err != nil {
		return nil, err
	}
	err = s.updateConfig(r, g)
	var we workerError
	if err != nil && !errors.As(err, &we) {
		return nil, err
	}
	vmid := g.VMID
	return s.spawn(g.Node, "qmconfig", strconv.Itoa(vmid), r.user, func(t *task) error {
		if we.err != nil { // create_disks runs in the worker
			return we.err
		}
		return s.taskSleep(t, s.opts.TaskDuration/5)
	}), nil
}

// putConfig is the synchronous update (qemu PUT, lxc PUT).
func putConfig(kind string) handlerFunc {
	return func(r *request) (any, error) {
		s := r.s
		s.mu.Lock()
		defer s.mu.Unlock()
		g, err := s.guestArg(r, kind)
		if err != nil {
			return nil, err
		}
		err = s.updateConfig(r, g)
		var we workerError
		if errors.As(err, &we) {
			return nil, fail("%s", we.err.Error())
		}
		return nil, err
	}
}

// updateConfig applies a config change like update_vm_api: option checks,
// digest, lock, then either direct application or pending for running guests.
func (s *Simulator) updateConfig(r *request, g *guest) error {
	spec := configSpec(g.Kind)
	set := map[string]string{}
	for k, v := range r.params {
		if !metaParams[k] {
			set[k] = v
		}
	}
	var dels, reverts []string
	for _, k := range splitList(r.str("delete")) {
		if k == "cdrom" {
			k = "ide2"
		}
		if _, ok := set[k]; ok {
			return paramErr("delete", "you can't use '-%s' and -delete %s' at the same time", k, k)
		}
		if p, _ := spec.lookup(k); p == nil || metaParams[k] {
			return paramErr("delete", "unknown option '%s'", k)
		}
		dels = append(dels, k)
	}
	for _, k := range splitList(r.str("revert")) {
		if p, _ := spec.lookup(k); p == nil {
			return paramErr("revert", "unknown option '%s'", k)
		}
		reverts = append(reverts, k)
	}
	if len(set) == 0 && len(dels) == 0 && len(reverts) == 0 {
		return fail("no options specified")
	}
	if d := r.str("digest"); d != "" && d != g.digest() {
		// qemu-server's update_vm_api dies with its own text; pve-container
		// (API2/LXC/Config.pm) uses PVE::Tools::assert_if_modified.
		if g.Kind == kindQemu {
			return fail("checksum mismatch (file change by other user?)")
		}
		return fail("detected modified configuration - file changed by other user? Try again.")
	}
	if err := checkLock(g, r.bool("skiplock", false)); err != nil {
		return err
	}
	if g.Conf["protection"] == "1" {
		for _, k := range dels {
			if isDiskKey(g.Kind, k) {
				return fail("can't remove drive '%s' - protection mode enabled", k)
			}
		}
	}
	var workerErr error
	var allocated []string
	for _, k := range sortedKeys(set) {
		nv, made, err := s.normaliseOption(g, k, set[k])
		if err == nil {
			allocated = append(allocated, made...)
			set[k] = nv
			continue
		}
		for _, vol := range allocated {
			s.st.removeVolume(g.Node, vol)
		}
		var we workerError
		if errors.As(err, &we) {
			workerErr = we
			break
		}
		return err
	}
	if workerErr != nil {
		return workerErr
	}
	if _, given := set["boot"]; g.Kind == kindQemu && !given {
		if order, changed := bootOrderWithout(g, dels); changed && order != "" {
			set["boot"] = "order=" + order
		} else if changed {
			dels = append(dels, "boot")
		}
	}
	for _, k := range reverts {
		delete(g.Pending, k)
		g.PendingDelete = slices.DeleteFunc(g.PendingDelete, func(x string) bool { return x == k })
	}
	for _, k := range sortedKeys(set) {
		v := set[k]
		if k == "description" && v == "" {
			dels = append(dels, k)
			continue
		}
		disk := isDiskKey(g.Kind, k) && !strings.HasPrefix(k, "unused")
		if !g.Running || hotOption(g.Kind, k) {
			if old, ok := g.Pending[k]; ok && disk {
				s.registerUnused(g, old, v)
			}
			if old, ok := g.Conf[k]; ok && disk {
				s.registerUnused(g, old, v)
			}
			g.Conf[k] = v
			delete(g.Pending, k)
			continue
		}
		if old, ok := g.Pending[k]; ok && disk {
			s.registerUnused(g, old, v)
		}
		if g.Pending == nil {
			g.Pending = map[string]string{}
		}
		g.Pending[k] = v
	}
	for _, k := range dels {
		if !g.Running || hotOption(g.Kind, k) {
			switch {
			case strings.HasPrefix(k, "unused"):
				// Deleting an unused entry destroys its volume, as in PVE.
				s.st.removeVolume(g.Node, g.Conf[k])
				delete(g.Conf, k)
			case isDiskKey(g.Kind, k):
				s.detachDisk(g, k)
			default:
				delete(g.Conf, k)
			}
			delete(g.Pending, k)
			continue
		}
		if !slices.Contains(g.PendingDelete, k) {
			g.PendingDelete = append(g.PendingDelete, k)
		}
	}
	dropReusedUnused(g)
	s.changed()
	return nil
}

// bootOrderWithout is the boot order once the deleted devices that are set
// are taken out of it, as update_vm_api (qemu-server API2/Qemu.pm) does:
// a NIC or disk deleted is no longer booted from. changed is false when
// none of them was in the order (or the order is the legacy form).
func bootOrderWithout(g *guest, dels []string) (order string, changed bool) {
	devs := splitList(propGet(g.Conf["boot"], "order", ""))
	kept := devs[:0:0]
	for _, d := range devs {
		_, inConf := g.Conf[d]
		_, inPending := g.Pending[d]
		if slices.Contains(dels, d) && (inConf || inPending) {
			changed = true
			continue
		}
		kept = append(kept, d)
	}
	return strings.Join(kept, ";"), changed
}

// detachDisk removes a disk from the config the way
// vmconfig_delete_or_detach_drive (qemu-server QemuServer.pm) and
// pve-container's delete path do: its volume becomes unusedN.
func (s *Simulator) detachDisk(g *guest, k string) {
	v := g.Conf[k]
	delete(g.Conf, k)
	s.registerUnused(g, v, "")
}

// registerUnused is vmconfig_register_unused_drive (qemu-server
// QemuServer.pm) for a drive value being replaced by newValue ("" when
// deleted): a cloud-init volume is freed, a CD-ROM forgotten, any other
// volume the guest owns (vm_is_volid_owner) is added as unusedN. Containers
// (pve-container LXC/Config.pm) add any replaced volume mount point.
func (s *Simulator) registerUnused(g *guest, old, newValue string) {
	vk := driveVolKey(g.Kind)
	vol := propGet(old, vk, vk)
	if vol == "" || vol == "none" || vol == "cdrom" {
		return
	}
	if nv := propGet(newValue, vk, vk); nv == vol {
		return // the same volume stays attached
	}
	if g.Kind == kindQemu {
		if isCloudinitVol(vol) {
			s.st.removeVolume(g.Node, vol)
			return
		}
		if propGet(old, "media", "") == "cdrom" || volOwner(vol) != g.VMID {
			return
		}
	} else if _, _, ok := cutVolID(vol); !ok {
		return // bind mounts and devices are not volumes
	}
	addUnused(g, vol)
}

// reVolOwner reads the owning vmid from a volume name, as the storage
// plugins' parse_volname does ("vm-100-disk-0", "base-9000-disk-0/vm-100-disk-0",
// "100/vm-100-disk-0.raw", "subvol-100-disk-0").
var reVolOwner = regexp.MustCompile(`(?:^|/)(?:vm|base|subvol|basevol)-(\d+)-[^/]*$`)

func volOwner(volid string) int {
	_, name, ok := cutVolID(volid)
	if !ok {
		return 0
	}
	m := reVolOwner.FindStringSubmatch(name)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// addUnused is add_unused_volume (pve-guest-common AbstractConfig.pm): the
// lowest free unusedN, no duplicates.
func addUnused(g *guest, vol string) {
	free := ""
	for i := 255; i >= 0; i-- {
		key := "unused" + strconv.Itoa(i)
		if v, ok := g.Conf[key]; ok {
			if v == vol {
				return
			}
		} else {
			free = key
		}
	}
	if free != "" {
		g.Conf[free] = vol
	}
}

// dropReusedUnused is write_vm_config's "remove 'unusedX' settings if we
// re-add a volume" (qemu-server QemuServer.pm, also pve-container).
func dropReusedUnused(g *guest) {
	used := map[string]bool{}
	vk := driveVolKey(g.Kind)
	for _, conf := range []map[string]string{g.Conf, g.Pending} {
		for k, v := range conf {
			if isDiskKey(g.Kind, k) && !strings.HasPrefix(k, "unused") {
				used[propGet(v, vk, vk)] = true
			}
		}
	}
	for k, v := range g.Conf {
		if strings.HasPrefix(k, "unused") && used[v] {
			delete(g.Conf, k)
		}
	}
}

func isDiskKey(kind, k string) bool {
	fam := strings.TrimRight(k, "0123456789")
	if kind == kindLXC {
		return k == "rootfs" || fam == "mp" || fam == "unused"
	}
	switch fam {
	case "scsi", "virtio", "sata", "ide", "efidisk", "tpmstate", "unused":
		return true
	}
	return false
}

// uniqueTags is get_unique_tags with the datacenter defaults: lower-cased,
// sorted case-insensitively, duplicates dropped, joined with ';'. Clients
// comparing tags verbatim see drift, as they would on PVE.
func uniqueTags(v string) string {
	tags := splitList(v)
	for i, t := range tags {
		tags[i] = strings.ToLower(t)
	}
	slices.Sort(tags)
	return strings.Join(slices.Compact(tags), ";")
}
