package pvesim

import (
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
	if err := s.updateConfig(r, g); err != nil {
		return nil, err
	}
	vmid := g.VMID
	return s.spawn(g.Node, "qmconfig", strconv.Itoa(vmid), r.user, func(t *task) error {
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
		return nil, s.updateConfig(r, g)
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
	for k, v := range set {
		nv, err := s.allocSpec(g, k, v)
		if err != nil {
			return err
		}
		set[k] = nv
	}
	for k, v := range set {
		if strings.HasPrefix(k, "net") {
			set[k] = netWithMAC(g.Kind, g.VMID, k, v)
		}
		if k == "tags" {
			set[k] = uniqueTags(v)
		}
	}
	for _, k := range reverts {
		delete(g.Pending, k)
		g.PendingDelete = slices.DeleteFunc(g.PendingDelete, func(x string) bool { return x == k })
	}
	for _, k := range sortedKeys(set) {
		v := set[k]
		if !g.Running || hotOption(g.Kind, k) {
			g.Conf[k] = v
			delete(g.Pending, k)
			continue
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
	s.changed()
	return nil
}

// detachDisk turns a removed disk into an unusedN entry, as PVE does for
// volumes it owns.
func (s *Simulator) detachDisk(g *guest, k string) {
	v := g.Conf[k]
	delete(g.Conf, k)
	if strings.Contains(v, "media=cdrom") || strings.Contains(v, "cloudinit") {
		if vol := propGet(v, "file", "file"); strings.Contains(vol, "cloudinit") {
			s.st.removeVolume(g.Node, vol)
		}
		return
	}
	vol := propGet(v, "file", "file")
	if vol == "" || vol == "none" {
		return
	}
	for i := 0; ; i++ {
		key := "unused" + strconv.Itoa(i)
		if _, ok := g.Conf[key]; !ok {
			g.Conf[key] = vol
			return
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
