package pvesim

import (
	"fmt"
	"slices"
)

// Control calls let tests make the cluster change behind a client's back,
// the way an admin, HA or a backup job would on a real cluster.

// MoveGuest moves a guest to another node as an HA relocation would. Its
// volumes must be on shared storage.
func (s *Simulator) MoveGuest(vmid int, node string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.st.Guests[vmid]
	if g == nil {
		return fmt.Errorf("guest %d does not exist", vmid)
	}
	if !s.st.hasNode(node) {
		return fmt.Errorf("node '%s' does not exist", node)
	}
	for _, vol := range s.guestVolumes(g) {
		sid, _, _ := cutVolID(vol)
		if st := s.st.Storages[sid]; st != nil && !st.Shared {
			return fmt.Errorf("guest %d uses local storage '%s'", vmid, sid)
		}
	}
	g.Node = node
	s.changed()
	return nil
}

// SetNodeOnline takes a node off the network (false) or back. Requests
// proxied to an offline node fail with 595 "No route to host", /nodes and
// /cluster/resources show it offline and its guests' status as unknown.
func (s *Simulator) SetNodeOnline(node string, online bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.st.hasNode(node) {
		return fmt.Errorf("node '%s' does not exist", node)
	}
	if s.st.Offline == nil {
		s.st.Offline = map[string]bool{}
	}
	if online {
		delete(s.st.Offline, node)
	} else {
		s.st.Offline[node] = true
	}
	s.changed()
	return nil
}

// SetLock sets (or with "" clears) a guest's config lock, e.g. "backup".
func (s *Simulator) SetLock(vmid int, lock string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.st.Guests[vmid]
	if g == nil {
		return fmt.Errorf("guest %d does not exist", vmid)
	}
	if lock == "" {
		delete(g.Conf, "lock")
	} else {
		g.Conf["lock"] = lock
	}
	s.changed()
	return nil
}

// SetConfig changes config keys directly (value "" deletes), as an admin
// editing the guest outside the provider would; the digest changes.
func (s *Simulator) SetConfig(vmid int, kv map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.st.Guests[vmid]
	if g == nil {
		return fmt.Errorf("guest %d does not exist", vmid)
	}
	for k, v := range kv {
		if v == "" {
			delete(g.Conf, k)
		} else {
			g.Conf[k] = v
		}
	}
	s.changed()
	return nil
}

// GuestInfo is a read-only snapshot of a guest for tests.
type GuestInfo struct {
	VMID    int
	Kind    string // "qemu" or "lxc"
	Node    string
	Running bool
	Pool    string
	Config  map[string]string
	Pending map[string]string
}

// Guest returns a snapshot of a guest, or false when it does not exist.
func (s *Simulator) Guest(vmid int) (GuestInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	g := s.st.Guests[vmid]
	if g == nil {
		return GuestInfo{}, false
	}
	gi := GuestInfo{VMID: g.VMID, Kind: g.Kind, Node: g.Node, Running: g.Running, Pool: g.Pool,
		Config: map[string]string{}, Pending: map[string]string{}}
	for k, v := range g.Conf {
		gi.Config[k] = v
	}
	for k, v := range g.Pending {
		gi.Pending[k] = v
	}
	return gi, true
}

// GuestIDs lists all guest ids, sorted.
func (s *Simulator) GuestIDs() []int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.st.vmids())
}
