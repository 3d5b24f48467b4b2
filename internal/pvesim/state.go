package pvesim

import (
	"fmt"
	"sort"
)

// state is everything pmxcfs and the storages would hold; it is what gets
// persisted. Guarded by Simulator.mu.
type state struct {
	Nodes       []string               `json:"nodes"`
	Storages    map[string]*storage    `json:"storages"`
	Guests      map[int]*guest         `json:"guests"`
	Groups      map[string]*fwGroup    `json:"groups"`
	IPSets      map[string]*fwIPSet    `json:"ipsets"`
	Aliases     map[string]*fwAlias    `json:"aliases"`
	Pools       map[string]*pool       `json:"pools"`
	HAResources map[string]*haResource `json:"haResources"`
	HARules     map[string]*haRule     `json:"haRules"`
	Appliances  []appliance            `json:"appliances"`
	Offline     map[string]bool        `json:"offline,omitempty"`
	// ClusterFW is cluster.fw's options and rules; HostFW each node's host.fw.
	ClusterFW *firewallSet            `json:"clusterFirewall,omitempty"`
	HostFW    map[string]*firewallSet `json:"hostFirewalls,omitempty"`
	// Access is user.cfg: users, tokens, roles and ACLs.
	Access *accessState `json:"access,omitempty"`
}

type pool struct {
	ID      string   `json:"poolid"`
	Comment string   `json:"comment,omitempty"`
	Storage []string `json:"storage,omitempty"`
	VMs     []int    `json:"vms,omitempty"` // member vmids without a guest
}

func newState(nodes []string) *state {
	st := &state{
		Nodes:       append([]string(nil), nodes...),
		Storages:    map[string]*storage{},
		Guests:      map[int]*guest{},
		Groups:      map[string]*fwGroup{},
		IPSets:      map[string]*fwIPSet{},
		Aliases:     map[string]*fwAlias{},
		Pools:       map[string]*pool{},
		HAResources: map[string]*haResource{},
		HARules:     map[string]*haRule{},
	}
	st.Storages["local"] = &storage{ID: "local", Type: "dir", Content: []string{"backup", "iso", "vztmpl"},
		Total: 100 * gib, Volumes: map[string]*volume{}}
	// A default install's LVM thin pool "data" in VG "pve", per node.
	st.Storages["local-lvm"] = &storage{ID: "local-lvm", Type: "lvmthin", Content: []string{"images", "rootdir"},
		Total: 200 * gib, Volumes: map[string]*volume{}}
	st.Storages["ceph-rbd"] = &storage{ID: "ceph-rbd", Type: "rbd", Content: []string{"images", "rootdir"},
		Shared: true, Total: 10 * 1024 * gib, Volumes: map[string]*volume{}}
	return st
}

func (st *state) hasNode(n string) bool {
	for _, x := range st.Nodes {
		if x == n {
			return true
		}
	}
	return false
}

// guestOn finds a guest of a kind on a node, failing like load_config.
func (st *state) guestOn(kind, node string, vmid int) (*guest, error) {
	g, ok := st.Guests[vmid]
	if !ok || g.Kind != kind || g.Node != node {
		return nil, fail("Configuration file '%s' does not exist", configPath(kind, node, vmid))
	}
	return g, nil
}

// nextFreeVolume names the next disk of a guest on a storage the way PVE
// does (vm-<id>-disk-<n>, base-<id>-disk-<n>, subvol for dir rootfs).
func (st *state) nextDiskName(s *storage, node string, vmid int) string {
	for n := 0; ; n++ {
		name := fmt.Sprintf("vm-%d-disk-%d", vmid, n)
		base := fmt.Sprintf("base-%d-disk-%d", vmid, n)
		if !st.volumeExists(s, node, name) && !st.volumeExists(s, node, base) {
			return name
		}
	}
}

func (st *state) volumeExists(s *storage, node, name string) bool {
	for _, fmtName := range []string{name, name + ".raw", name + ".qcow2"} {
		if _, ok := s.Volumes[volKey(s, node, s.ID+":"+fmtName)]; ok {
			return true
		}
	}
	return false
}

func (st *state) addVolume(s *storage, node string, v *volume) {
	v.Ctime = nowUnix()
	s.Volumes[volKey(s, node, v.VolID)] = v
}

func (st *state) removeVolume(node, volid string) {
	sid, _, ok := cutVolID(volid)
	if !ok {
		return
	}
	if s := st.Storages[sid]; s != nil {
		delete(s.Volumes, volKey(s, node, volid))
	}
}

func (st *state) volume(node, volid string) *volume {
	sid, _, ok := cutVolID(volid)
	if !ok {
		return nil
	}
	s := st.Storages[sid]
	if s == nil {
		return nil
	}
	return s.Volumes[volKey(s, node, volid)]
}

func cutVolID(volid string) (string, string, bool) {
	return cutString(volid, ":")
}

func cutString(s, sep string) (string, string, bool) {
	for i := 0; i+len(sep) <= len(s); i++ {
		if s[i:i+len(sep)] == sep {
			return s[:i], s[i+len(sep):], true
		}
	}
	return s, "", false
}

// vmids returns all guest ids, sorted.
func (st *state) vmids() []int {
	ids := make([]int, 0, len(st.Guests))
	for id := range st.Guests {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}
