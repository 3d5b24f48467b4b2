package pvesim

import "strings"

func (s *Simulator) storageEntry(st *storage, node string) map[string]any {
	used := s.storageUsed(st, node)
	return map[string]any{"storage": st.ID, "type": st.Type, "content": strings.Join(st.Content, ","),
		"active": 1, "enabled": 1, "shared": b2i(st.Shared), "total": st.Total, "used": used,
		"avail": st.Total - used, "used_fraction": float64(used) / float64(st.Total)}
}

func getNodeStorages(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	node := r.str("node")
	if err := s.checkNode(node); err != nil {
		return nil, err
	}
	// pve-storage API2/Storage/Status.pm index: a storage filter naming no
	// storage enabled on the node is a parameter error.
	if sid := r.str("storage"); r.has("storage") && sid != "" {
		if st := s.st.Storages[sid]; st == nil || !st.on(node) {
			return nil, paramErr("storage", "No such storage.")
		}
	}
	out := []map[string]any{}
	for _, sid := range sortedKeys(s.st.Storages) {
		st := s.st.Storages[sid]
		if !st.on(node) || (r.has("storage") && r.str("storage") != sid) ||
			!r.may("/storage/"+sid, "Datastore.Audit", "Datastore.AllocateSpace") {
			continue
		}
		if c := r.str("content"); c != "" {
			ok := false
			for _, want := range splitList(c) {
				ok = ok || st.holds(want)
			}
			if !ok {
				continue
			}
		}
		out = append(out, s.storageEntry(st, node))
	}
	return out, nil
}

func (s *Simulator) storageArg(r *request) (*storage, error) {
	node := r.str("node")
	if err := s.checkNode(node); err != nil {
		return nil, err
	}
	st := s.st.Storages[r.str("storage")]
	if st == nil {
		return nil, fail("storage '%s' does not exist", r.str("storage"))
	}
	if !st.on(node) {
		return nil, fail("storage '%s' is not available on node '%s'", st.ID, node)
	}
	return st, nil
}

func getStorageStatus(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	// pve-storage API2/Storage/Status.pm read_status: the storage must be in
	// the node's storage_info, else "No such storage." as a parameter error.
	node := r.str("node")
	if err := s.checkNode(node); err != nil {
		return nil, err
	}
	st := s.st.Storages[r.str("storage")]
	if st == nil || !st.on(node) {
		return nil, paramErr("storage", "No such storage.")
	}
	// read_status returns the storage_info entry without its id and the
	// index's used_fraction: type, content, shared, active, enabled,
	// total, used, avail.
	e := s.storageEntry(st, node)
	delete(e, "storage")
	delete(e, "used_fraction")
	return e, nil
}

func getStorageContent(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	st, err := s.storageArg(r)
	if err != nil {
		return nil, err
	}
	node := r.str("node")
	content, vmid := r.str("content"), r.int("vmid", 0)
	out := []map[string]any{}
	for _, key := range sortedKeys(st.Volumes) {
		if !st.Shared && !strings.HasPrefix(key, node+"/") {
			continue
		}
		v := st.Volumes[key]
		if (content != "" && v.Content != content) || (vmid != 0 && v.VMID != vmid) {
			continue
		}
		e := map[string]any{"volid": v.VolID, "content": v.Content, "format": v.Format, "size": v.Size, "ctime": v.Ctime}
		if v.VMID != 0 {
			e["vmid"] = v.VMID
		}
		if v.Parent != "" {
			e["parent"] = v.Parent
		}
		if v.Content == "images" || v.Content == "rootdir" {
			e["used"] = v.Size
		}
		out = append(out, e)
	}
	return out, nil
}

func getAplinfo(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	if err := s.checkNode(r.str("node")); err != nil {
		return nil, err
	}
	return append([]appliance{}, s.st.Appliances...), nil
}

// downloadAppliance fetches a catalogue template into a storage's vztmpl
// content in a "download" worker.
func downloadAppliance(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.storageArg(r)
	if err != nil {
		return nil, err
	}
	tmpl := r.str("template")
	var found *appliance
	for i := range s.st.Appliances {
		if s.st.Appliances[i].Template == tmpl {
			found = &s.st.Appliances[i]
		}
	}
	if found == nil {
		return nil, paramErr("template", "no such template")
	}
	if !st.holds("vztmpl") {
		return nil, fail("storage '%s' does not support templates", st.ID)
	}
	node := r.str("node")
	return s.spawn(node, "download", tmpl, r.user, func(t *task) error {
		t.logf("starting template download from: %s", found.Source)
		t.logf("target file: /var/lib/vz/template/cache/%s", tmpl)
		if err := s.taskSleep(t, s.opts.TaskDuration); err != nil {
			return err
		}
		if err := t.injected(); err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		s.addVZTemplateLocked(node, st.ID, tmpl)
		t.logf("download of '%s' to '%s' finished", found.Source, "/var/lib/vz/template/cache/"+tmpl)
		s.changed()
		return nil
	}), nil
}
