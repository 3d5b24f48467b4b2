package pvesim

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// resource is one /cluster/resources entry; a struct keeps the 10,000-guest
// listing cheap to encode.
type resource struct {
	ID         string   `json:"id"`
	Type       string   `json:"type"`
	VMID       int      `json:"vmid,omitempty"`
	Name       string   `json:"name,omitempty"`
	Node       string   `json:"node,omitempty"`
	Status     string   `json:"status,omitempty"`
	Template   *int     `json:"template,omitempty"`
	MaxMem     uint64   `json:"maxmem,omitempty"`
	Mem        *uint64  `json:"mem,omitempty"`
	MaxCPU     int      `json:"maxcpu,omitempty"`
	CPU        *float64 `json:"cpu,omitempty"`
	MaxDisk    uint64   `json:"maxdisk,omitempty"`
	Disk       *uint64  `json:"disk,omitempty"`
	DiskRead   *uint64  `json:"diskread,omitempty"`
	DiskWrite  *uint64  `json:"diskwrite,omitempty"`
	NetIn      *uint64  `json:"netin,omitempty"`
	NetOut     *uint64  `json:"netout,omitempty"`
	Uptime     *int64   `json:"uptime,omitempty"`
	Tags       string   `json:"tags,omitempty"`
	Pool       string   `json:"pool,omitempty"`
	Lock       string   `json:"lock,omitempty"`
	HAState    string   `json:"hastate,omitempty"`
	Storage    string   `json:"storage,omitempty"`
	PluginType string   `json:"plugintype,omitempty"`
	Content    string   `json:"content,omitempty"`
	Shared     *int     `json:"shared,omitempty"`
	Level      *string  `json:"level,omitempty"`
	CGroupMode int      `json:"cgroup-mode,omitempty"`
	MemHost    *uint64  `json:"memhost,omitempty"`
	NetType    string   `json:"network-type,omitempty"`
	Network    string   `json:"network,omitempty"`
}

var (
	zeroU   uint64
	zeroI64 int64
	zeroF   float64
	oneI    = 1
	zeroI   int
	idleCPU = 0.01
)

// guestResource summarises a guest like pvestatd's data in the resource
// list. Stopped guests share their zero counters so that listing 10,000
// guests allocates little.
func (s *Simulator) guestResource(g *guest) resource {
	if s.st.Offline[g.Node] {
		// No statistics from the node: extract_vm_stats (pve-manager
		// PVE/API2Tools.pm) leaves only id, vmid, node, type and status
		// unknown; Cluster.pm adds lock, tags and pool (cluster-wide
		// config) and the HA state.
		res := resource{ID: g.Kind + "/" + strconv.Itoa(g.VMID), Type: g.Kind, VMID: g.VMID, Node: g.Node,
			Status: "unknown", Tags: g.Conf["tags"], Pool: g.Pool, Lock: g.Conf["lock"]}
		s.setHAState(&res, g)
		return res
	}
	res := resource{ID: g.Kind + "/" + strconv.Itoa(g.VMID), Type: g.Kind, VMID: g.VMID, Node: g.Node,
		Status: g.status(), Template: &zeroI, Tags: g.Conf["tags"], Pool: g.Pool, Lock: g.Conf["lock"],
		MaxMem: guestMaxMem(g), MaxCPU: guestCPUs(g), MaxDisk: s.guestMaxDisk(g),
		Disk: &zeroU, DiskRead: &zeroU, DiskWrite: &zeroU, NetIn: &zeroU, NetOut: &zeroU,
		Uptime: &zeroI64, Mem: &zeroU, CPU: &zeroF, MemHost: &zeroU}
	if g.isTemplate() {
		res.Template = &oneI
	}
	res.Name = guestName(g)
	if g.Running {
		up := max(nowUnix()-g.Started, 1) // a running process has been up a moment
		mem := res.MaxMem / 3
		res.Uptime, res.Mem, res.CPU, res.MemHost = &up, &mem, &idleCPU, &mem
	}
	s.setHAState(&res, g)
	return res
}

// setHAState adds the manager's service state; an ignored resource has none
// and falls back to the configured state (Cluster.pm resources).
func (s *Simulator) setHAState(res *resource, g *guest) {
	if len(s.st.HAResources) == 0 {
		return
	}
	if ha := s.st.HAResources[haSID(g)]; ha != nil {
		res.HAState = ha.State
		if ha.State != "ignored" {
			res.HAState = ha.managerState(g)
		}
	}
}

func guestName(g *guest) string {
	if g.Kind == kindLXC {
		if h := g.Conf["hostname"]; h != "" {
			return h
		}
		return fmt.Sprintf("CT%d", g.VMID)
	}
	if n := g.Conf["name"]; n != "" {
		return n
	}
	return fmt.Sprintf("VM %d", g.VMID)
}

func guestMaxMem(g *guest) uint64 {
	m := g.Conf["memory"]
	if g.Kind == kindQemu {
		m = propGet(m, "current", "current")
		if m == "" {
			m = "512"
		}
	} else if m == "" {
		m = "512"
	}
	n, _ := strconv.ParseUint(m, 10, 64)
	return n * mib
}

func guestCPUs(g *guest) int {
	atoi := func(k string, def int) int {
		if g.Conf[k] == "" { // no error value to allocate
			return def
		}
		if v, err := strconv.Atoi(g.Conf[k]); err == nil {
			return v
		}
		return def
	}
	if g.Kind == kindLXC {
		// PVE::LXC::vmstatus: cores, else cpulimit, else the host's CPUs.
		if c := atoi("cores", 0); c > 0 {
			return c
		}
		if cl := g.Conf["cpulimit"]; cl != "" {
			if f, err := strconv.ParseFloat(cl, 64); err == nil && f > 0 {
				return int(math.Ceil(f))
			}
		}
		return nodeCPUs
	}
	// vmstatus (qemu-server QemuServer.pm): sockets * cores, at most the
	// host's CPUs, unless vcpus is set.
	if v := atoi("vcpus", 0); v > 0 {
		return v
	}
	return min(atoi("cores", 1)*atoi("sockets", 1), nodeCPUs)
}

func (s *Simulator) guestMaxDisk(g *guest) uint64 {
	if g.Kind == kindLXC {
		n, _ := parseSize(propGet(g.Conf["rootfs"], "size", ""))
		return n
	}
	// bootdisk_size (qemu-server Drive.pm): the first disk of the boot
	// order that is not a CD-ROM (the legacy bootdisk without an order).
	order := propGet(g.Conf["boot"], "order", "")
	if order == "" {
		order = g.Conf["bootdisk"]
	}
	for order != "" {
		var k string
		k, order, _ = strings.Cut(order, ";")
		v, ok := g.Conf[k]
		if !ok || !isDiskKey(kindQemu, k) || strings.HasPrefix(k, "unused") || propGet(v, "media", "") == "cdrom" {
			continue
		}
		if f := propGet(v, "file", "file"); f == "" {
			continue
		}
		n, _ := parseSize(propGet(v, "size", ""))
		return n
	}
	return 0
}

func getResources(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	list := s.resourceList(r.str("type"))
	s.mu.RUnlock()
	list = r.visibleResources(list)
	b := append(make([]byte, 0, 300*len(list)+64), `{"data":`...)
	b = appendResources(b, list)
	return rawEnvelope(append(b, '}')), nil
}

// resourceList builds /cluster/resources under s.mu (read) in the order
// of pve-manager PVE/API2/Cluster.pm resources: pools (with the totals of
// their running guests), guests (vmids sorted as strings, as Perl's sort
// keys does), nodes, storages (per storage, then per node) and, without a
// type filter, PVE 9.1's network entries (the "localnetwork" zone of every
// node; no SDN zones or fabrics are configured).
func (s *Simulator) resourceList(typ string) []resource {
	out := make([]resource, 0, len(s.st.Guests)+len(s.st.Nodes)*(len(s.st.Storages)+2)+len(s.st.Pools))
	pools := map[string]int{}
	if typ == "" {
		for _, pid := range sortedKeys(s.st.Pools) {
			pools[pid] = len(out)
			out = append(out, resource{ID: "/pool/" + pid, Type: "pool", Pool: pid})
		}
	}
	if typ == "" || typ == "vm" {
		for _, id := range s.vmidsAsStrings() {
			res := s.guestResource(s.st.Guests[id])
			if i, ok := pools[res.Pool]; ok && res.Uptime != nil && *res.Uptime > 0 {
				addToPool(&out[i], &res)
			}
			out = append(out, res)
		}
	}
	if typ == "" || typ == "node" {
		haActive := len(s.st.HAResources) > 0
		for _, n := range s.st.Nodes {
			lvl := ""
			e := resource{ID: "node/" + n, Type: "node", Node: n, Status: s.nodeStatus(n),
				MaxCPU: nodeCPUs, MaxMem: nodeMem, MaxDisk: nodeDisk, Level: &lvl, CGroupMode: 2}
			if !s.st.Offline[n] { // extract_node_stats: live figures only for online nodes
				up, mem, disk, cpu := int64(time.Since(startTime).Seconds())+86400, uint64(nodeMemUsed), uint64(nodeDiskUsed), 0.02
				e.Uptime, e.Mem, e.Disk, e.CPU = &up, &mem, &disk, &cpu
			}
			if haActive { // the HA manager's node_status
				e.HAState = "online"
				if s.st.Offline[n] {
					e.HAState = "unknown"
				}
			}
			out = append(out, e)
		}
	}
	if typ == "" || typ == "storage" {
		usedOn := s.storageUsage()
		for _, sid := range sortedKeys(s.st.Storages) {
			st := s.st.Storages[sid]
			for _, n := range s.st.Nodes {
				if !st.on(n) {
					continue
				}
				used := usedOn[sid+"/"+n]
				sh := b2i(st.Shared)
				out = append(out, resource{ID: "storage/" + n + "/" + sid, Type: "storage", Node: n,
					Storage: sid, Status: "available", PluginType: st.Type, Content: strings.Join(st.Content, ","),
					MaxDisk: st.Total, Disk: &used, Shared: &sh})
			}
		}
	}
	if typ == "" && s.opts.PVEMajor != 8 {
		for _, n := range s.st.Nodes {
			out = append(out, resource{ID: "network/" + n + "/zone/localnetwork", Type: "network",
				NetType: "zone", Network: "localnetwork", Node: n, Status: "ok"})
		}
	}
	return out
}

// addToPool adds a running guest to its pool's totals as Cluster.pm does:
// the longest uptime, summed memory and CPUs, CPU usage weighted by CPUs.
func addToPool(p, g *resource) {
	if p.Uptime == nil || *g.Uptime > *p.Uptime {
		up := *g.Uptime
		p.Uptime = &up
	}
	mem := *g.Mem
	if p.Mem != nil {
		mem += *p.Mem
	}
	p.Mem = &mem
	p.MaxMem += g.MaxMem
	cpu := 0.0
	if p.CPU != nil {
		cpu = *p.CPU
	}
	cpu = (cpu*float64(p.MaxCPU) + *g.CPU*float64(g.MaxCPU)) / float64(p.MaxCPU+g.MaxCPU)
	p.CPU = &cpu
	p.MaxCPU += g.MaxCPU
}

// storageUsage sums volume sizes per "storage/node" in one pass.
func (s *Simulator) storageUsage() map[string]uint64 {
	out := map[string]uint64{}
	for sid, st := range s.st.Storages {
		if st.Shared {
			u := st.used()
			for _, n := range s.st.Nodes {
				out[sid+"/"+n] = u
			}
			continue
		}
		for k, v := range st.Volumes {
			node, _, _ := strings.Cut(k, "/")
			out[sid+"/"+node] += v.Size
		}
	}
	return out
}

func (s *Simulator) storageUsed(st *storage, node string) uint64 {
	if st.Shared {
		return st.used()
	}
	var u uint64
	prefix := node + "/"
	for k, v := range st.Volumes {
		if strings.HasPrefix(k, prefix) {
			u += v.Size
		}
	}
	return u
}

// vmidsAsStrings is the guest ids in Perl's "sort keys" order (as strings:
// 100, 1000, 101), compared without allocating.
func (s *Simulator) vmidsAsStrings() []int {
	ids := s.st.vmids()
	sort.Slice(ids, func(i, j int) bool {
		var a, b [20]byte
		return string(strconv.AppendInt(a[:0], int64(ids[i]), 10)) < string(strconv.AppendInt(b[:0], int64(ids[j]), 10))
	})
	return ids
}
