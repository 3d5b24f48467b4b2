package pvesim

import (
	"slices"
	"strconv"
)

func listPools(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	if id := r.str("poolid"); id != "" && s.st.Pools[id] == nil {
		return nil, fail("pool '%s' does not exist", id)
	}
	out := []map[string]any{}
	for _, id := range sortedKeys(s.st.Pools) {
		if want := r.str("poolid"); want != "" && want != id {
			continue
		}
		p := s.st.Pools[id]
		e := map[string]any{"poolid": id}
		if p.Comment != "" {
			e["comment"] = p.Comment
		}
		if r.has("poolid") {
			e["members"] = s.poolMembers(p, r.str("type"))
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *Simulator) poolMembers(p *pool, typ string) []any {
	members := []any{}
	for _, id := range s.st.vmids() {
		g := s.st.Guests[id]
		if g.Pool == p.ID && (typ == "" || typ == g.Kind) {
			members = append(members, s.guestResource(g))
		}
	}
	if typ == "" || typ == "storage" {
		for _, sid := range p.Storage {
			if st := s.st.Storages[sid]; st != nil {
				for _, n := range s.st.Nodes {
					if st.on(n) {
						used := s.storageUsed(st, n)
						sh := b2i(st.Shared)
						members = append(members, resource{ID: "storage/" + n + "/" + sid, Type: "storage", Node: n,
							Storage: sid, Status: "available", PluginType: st.Type, MaxDisk: st.Total, Disk: &used, Shared: &sh})
					}
				}
			}
		}
	}
	return members
}

func createPool(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.str("poolid")
	if s.st.Pools[id] != nil {
		return nil, fail("pool '%s' already exists", id)
	}
	if c := id[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
		return nil, fail("pool name must start with a letter")
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
	out := map[string]any{"members": s.poolMembers(p, r.str("type"))}
	if p.Comment != "" {
		out["comment"] = p.Comment
	}
	return out, nil
}

// updatePool adds or (with delete) removes members, as PVE's update_pool.
func updatePool(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.poolArg(r)
	if err != nil {
		return nil, err
	}
	del := r.bool("delete", false)
	for _, v := range splitList(r.str("vms")) {
		id, _ := strconv.Atoi(v)
		g := s.st.Guests[id]
		if g == nil {
			return nil, fail("no such VM '%s'", v)
		}
		switch {
		case del && g.Pool != p.ID:
			return nil, fail("VM %d is not a pool member", id)
		case del:
			g.Pool = ""
		case g.Pool == p.ID:
			return nil, fail("VM %d is already a pool member", id)
		case g.Pool != "" && !r.bool("allow-move", false):
			return nil, fail("VM %d belongs already to pool '%s' and 'allow-move' is not set", id, g.Pool)
		default:
			g.Pool = p.ID
		}
	}
	for _, sid := range splitList(r.str("storage")) {
		if s.st.Storages[sid] == nil {
			return nil, fail("no such storage '%s'", sid)
		}
		switch in := slices.Contains(p.Storage, sid); {
		case del && !in:
			return nil, fail("Storage '%s' is not a pool member", sid)
		case del:
			p.Storage = removeItem(p.Storage, sid)
		case in:
			return nil, fail("Storage '%s' is already a pool member", sid)
		default:
			p.Storage = append(p.Storage, sid)
		}
	}
	if r.has("comment") {
		p.Comment = r.str("comment")
	}
	s.changed()
	return nil, nil
}

func deletePool(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.poolArg(r)
	if err != nil {
		return nil, err
	}
	for _, id := range s.st.vmids() {
		if s.st.Guests[id].Pool == p.ID {
			return nil, fail("pool '%s' is not empty (contains VM %d)", p.ID, id)
		}
	}
	if len(p.Storage) > 0 {
		return nil, fail("pool '%s' is not empty (contains storage '%s')", p.ID, p.Storage[0])
	}
	delete(s.st.Pools, p.ID)
	s.changed()
	return nil, nil
}
