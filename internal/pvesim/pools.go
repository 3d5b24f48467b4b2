package pvesim

import (
	"slices"
	"strconv"
	"strings"
)

// listPools is the pool index (pve-manager PVE/API2/Pool.pm): without
// poolid every pool with its comment; with poolid that pool with its
// members, optionally filtered by type (which requires poolid).
func listPools(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r.has("type") && !r.has("poolid") {
		return nil, paramErr("poolid", "missing property required by 'type'")
	}
	if id := r.str("poolid"); id != "" {
		p := s.st.Pools[id]
		if p == nil {
			return nil, fail("pool '%s' does not exist", id)
		}
		return []map[string]any{s.poolInfo(p, r.str("type"))}, nil
	}
	out := []map[string]any{}
	for _, id := range sortedKeys(s.st.Pools) {
		if !r.may("/pool/"+id, "Pool.Audit") {
			continue
		}
		e := map[string]any{"poolid": id}
		if c := s.st.Pools[id].Comment; c != "" {
			e["comment"] = c
		}
		out = append(out, e)
	}
	return out, nil
}

// poolInfo is one pool as the index answers for a poolid.
func (s *Simulator) poolInfo(p *pool, typ string) map[string]any {
	out := map[string]any{"poolid": p.ID, "members": s.poolMembers(p, typ)}
	if p.Comment != "" {
		out["comment"] = p.Comment
	}
	return out
}

// poolMembers lists a pool's guests as extract_vm_stats and its storages
// once each as extract_storage_stats (pve-manager PVE/API2Tools.pm), the
// storage seen from the answering node (the first one) unless the storage
// is limited to other nodes.
func (s *Simulator) poolMembers(p *pool, typ string) []any {
	members := []any{}
	for _, id := range s.st.vmids() {
		g := s.st.Guests[id]
		if g.Pool == p.ID && (typ == "" || typ == g.Kind) {
			members = append(members, s.vmStats(g))
		}
	}
	if typ == "" || typ == "storage" {
		for _, sid := range sortedStrings(p.Storage) {
			st := s.st.Storages[sid]
			if st == nil {
				continue
			}
			node := s.st.Nodes[0]
			if !st.on(node) {
				node = sortedStrings(st.Nodes)[0]
			}
			used := s.storageUsed(st, node)
			members = append(members, map[string]any{"id": "storage/" + node + "/" + sid, "type": "storage",
				"node": node, "storage": sid, "plugintype": st.Type, "status": "available", "shared": b2i(st.Shared),
				"content": strings.Join(st.Content, ","), "maxdisk": st.Total, "disk": used})
		}
	}
	return members
}

// vmStats is extract_vm_stats (pve-manager PVE/API2Tools.pm): the RRD
// figures pvestatd broadcast, without tags, pool, lock or HA state; PVE 9's
// "pve-vm-9.0" RRD adds memhost.
func (s *Simulator) vmStats(g *guest) map[string]any {
	res := s.guestResource(g)
	return map[string]any{"id": res.ID, "vmid": g.VMID, "node": g.Node, "type": g.Kind, "status": res.Status,
		"uptime": *res.Uptime, "name": res.Name, "template": *res.Template, "maxcpu": res.MaxCPU, "cpu": *res.CPU,
		"maxmem": res.MaxMem, "mem": *res.Mem, "maxdisk": res.MaxDisk, "disk": *res.Disk, "netin": *res.NetIn,
		"netout": *res.NetOut, "diskread": *res.DiskRead, "diskwrite": *res.DiskWrite, "memhost": *res.Mem}
}

func sortedStrings(v []string) []string {
	out := append([]string(nil), v...)
	slices.Sort(out)
	return out
}

// createPool is create_pool (pve-manager PVE/API2/Pool.pm): nested ids
// ("a/b/c", at most three levels, checked by the pve-poolid format) need
// their parent; every level starts with a letter. Errors carry
// lock_user_config's "create pool failed: " prefix.
func createPool(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.str("poolid")
	if s.st.Pools[id] != nil {
		return nil, fail("create pool failed: pool '%s' already exists", id)
	}
	leaf := id
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		parent := id[:i]
		leaf = id[i+1:]
		if s.st.Pools[parent] == nil {
			return nil, fail("create pool failed: parent '%s' of pool '%s' does not exist", parent, id)
		}
	}
	if c := leaf[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return nil, fail("create pool failed: pool name must start with a letter")
	}
	s.st.Pools[id] = &pool{ID: id, Comment: r.str("comment")}
	s.changed()
	return nil, nil
}

func (s *Simulator) poolArg(r *request) (*pool, error) {
	p := s.st.Pools[r.str("poolid")]
	if p == nil {
		return nil, fail("pool '%s' does not exist", r.str("poolid"))
	}
	return p, nil
}

func getPool(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, err := s.poolArg(r)
	if err != nil {
		return nil, err
	}
	// read_pool returns the index entry itself, poolid included.
	return s.poolInfo(p, r.str("type")), nil
}

// updatePool is update_pool (pve-manager PVE/API2/Pool.pm): adds or, with
// delete, removes guests and storages. Like user.cfg, a pool may hold
// vmids that have no guest (they are not listed, and a guest created later
// with that vmid is a member). Nothing is written when any item fails, as
// the handler dies before cfs_write_file.
func updatePool(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.poolArg(r)
	if err != nil {
		return nil, err
	}
	del := r.bool("delete", false)
	member := map[int]string{} // the planned usercfg->{vms}
	poolOf := func(id int) string {
		if m, ok := member[id]; ok {
			return m
		}
		return s.poolOfVMID(id)
	}
	for _, v := range splitList(r.str("vms")) {
		id, _ := strconv.Atoi(v)
		cur := poolOf(id)
		switch {
		case del && cur != p.ID:
			return nil, fail("update pools failed: VM %d is not a pool member", id)
		case del:
			member[id] = ""
		case cur == p.ID:
			return nil, fail("update pools failed: VM %d is already a pool member", id)
		case cur != "" && !r.bool("allow-move", false):
			return nil, fail("update pools failed: VM %d belongs already to pool '%s' and 'allow-move' is not set", id, cur)
		default:
			member[id] = p.ID
		}
	}
	storages := slices.Clone(p.Storage)
	for _, sid := range splitList(r.str("storage")) {
		switch in := slices.Contains(storages, sid); {
		case del && !in:
			return nil, fail("update pools failed: Storage '%s' is not a pool member", sid)
		case del:
			storages = removeItem(storages, sid)
		case in:
			return nil, fail("update pools failed: Storage '%s' is already a pool member", sid)
		default:
			storages = append(storages, sid)
		}
	}
	for id, pid := range member {
		s.setPoolOfVMID(id, pid)
	}
	p.Storage = storages
	if r.has("comment") {
		p.Comment = r.str("comment")
	}
	s.changed()
	return nil, nil
}

// poolOfVMID is usercfg->{vms}->{vmid}: the guest's pool, or the pool
// holding the vmid without a guest.
func (s *Simulator) poolOfVMID(id int) string {
	if g := s.st.Guests[id]; g != nil {
		return g.Pool
	}
	for _, pid := range sortedKeys(s.st.Pools) {
		if slices.Contains(s.st.Pools[pid].VMs, id) {
			return pid
		}
	}
	return ""
}

// setPoolOfVMID moves a vmid into a pool ("" = none).
func (s *Simulator) setPoolOfVMID(id int, pid string) {
	for _, p := range s.st.Pools {
		p.VMs = slices.DeleteFunc(p.VMs, func(x int) bool { return x == id })
	}
	if g := s.st.Guests[id]; g != nil {
		g.Pool = pid
		return
	}
	if p := s.st.Pools[pid]; p != nil {
		p.VMs = append(p.VMs, id)
		slices.Sort(p.VMs)
	}
}

// adoptPoolMember gives a new guest the pool user.cfg already lists its
// vmid in (a guest created with a pool parameter joins that one instead).
func (s *Simulator) adoptPoolMember(g *guest) {
	if g.Pool == "" {
		g.Pool = s.poolOfVMID(g.VMID) // not yet in s.st.Guests
	}
	for _, p := range s.st.Pools {
		p.VMs = slices.DeleteFunc(p.VMs, func(x int) bool { return x == g.VMID })
	}
}

func deletePool(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.poolArg(r)
	if err != nil {
		return nil, err
	}
	// delete_pool: sub-pools, then guests, then existing storages.
	for _, sub := range sortedKeys(s.st.Pools) {
		if strings.HasPrefix(sub, p.ID+"/") {
			return nil, fail("delete pool failed: pool '%s' is not empty (contains pool '%s')", p.ID, sub)
		}
	}
	for _, id := range s.st.vmids() {
		if s.st.Guests[id].Pool == p.ID {
			return nil, fail("delete pool failed: pool '%s' is not empty (contains VM %d)", p.ID, id)
		}
	}
	for _, sid := range sortedStrings(p.Storage) {
		if s.st.Storages[sid] != nil {
			return nil, fail("delete pool failed: pool '%s' is not empty (contains storage '%s')", p.ID, sid)
		}
	}
	delete(s.st.Pools, p.ID)
	s.changed()
	return nil, nil
}
