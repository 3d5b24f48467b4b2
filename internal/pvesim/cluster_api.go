package pvesim

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// nodeCPUs and nodeMem describe every simulated node's hardware.
const (
	nodeCPUs = 16
	nodeMem  = 128 * gib
	nodeDisk = 100 * gib
)

var startTime = time.Now()

// pveRelease is what /version reports for the simulated major release.
func (s *Simulator) pveRelease() map[string]string {
	if s.opts.PVEMajor == 8 {
		return map[string]string{"version": "8.4.14", "release": "8.4", "repoid": "b502d23c55afcba1"}
	}
	return map[string]string{"version": "9.1.1", "release": "9.1", "repoid": "42db4a6cf33dac83"}
}

func getVersion(r *request) (any, error) { return r.s.pveRelease(), nil }

func getClusterStatus(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []map[string]any{{"type": "cluster", "id": "cluster", "name": s.opts.ClusterName,
		"nodes": len(s.st.Nodes), "quorate": 1, "version": len(s.st.Nodes) + 1}}
	for i, n := range s.st.Nodes {
		out = append(out, map[string]any{"type": "node", "id": "node/" + n, "name": n, "nodeid": i + 1,
			"ip": fmt.Sprintf("10.0.0.%d", i+1), "online": b2i(!s.st.Offline[n]), "local": b2i(i == 0), "level": ""})
	}
	return out, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nodeEntry is a node as /nodes and /cluster/resources list it.
func (s *Simulator) nodeEntry(n string, withType bool) map[string]any {
	e := map[string]any{"node": n, "status": s.nodeStatus(n), "cpu": 0.02, "maxcpu": nodeCPUs, "mem": 8 * gib,
		"maxmem": nodeMem, "disk": 12 * gib, "maxdisk": nodeDisk, "uptime": int64(time.Since(startTime).Seconds()) + 86400,
		"level": "", "id": "node/" + n, "type": "node"}
	if withType {
		e["cgroup-mode"] = 2
	} else {
		e["ssl_fingerprint"] = "5E:3F:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:00:01"
	}
	return e
}

func getNodes(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]map[string]any, 0, len(s.st.Nodes))
	for _, n := range s.st.Nodes {
		out = append(out, s.nodeEntry(n, false))
	}
	return out, nil
}

// checkNode answers for a node that is not in the cluster the way
// pveproxy's proxy lookup fails, and for an offline node the way its
// proxied request fails (AnyEvent::HTTP's 595).
func (s *Simulator) checkNode(node string) error {
	if !s.st.hasNode(node) {
		return httpErr(http.StatusInternalServerError,
			"hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known", node, node)
	}
	if s.st.Offline[node] {
		return &apiError{Code: 595, Msg: "No route to host", noBody: true}
	}
	return nil
}

func (s *Simulator) nodeStatus(n string) string {
	if s.st.Offline[n] {
		return "offline"
	}
	return "online"
}

func getNodeStatus(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	node := r.str("node")
	if err := s.checkNode(node); err != nil {
		return nil, err
	}
	return map[string]any{
		"uptime": int64(time.Since(startTime).Seconds()) + 86400, "cpu": 0.02, "wait": 0.0,
		"loadavg":    []string{"0.10", "0.12", "0.08"},
		"kversion":   "Linux 6.14.11-4-pve #1 SMP PREEMPT_DYNAMIC PMX 6.14.11-4 (2025-10-10T08:04Z)",
		"pveversion": "pve-manager/" + s.pveRelease()["version"] + "/" + s.pveRelease()["repoid"],
		"cpuinfo":    map[string]any{"cpus": nodeCPUs, "cores": nodeCPUs / 2, "sockets": 1, "model": "pvesim vCPU", "mhz": "2400.000", "user_hz": 100, "hvm": "1", "flags": "fpu vme de pse"},
		"memory":     map[string]any{"total": nodeMem, "used": 8 * gib, "free": nodeMem - 8*gib},
		"swap":       map[string]any{"total": 8 * gib, "used": 0, "free": 8 * gib},
		"rootfs":     map[string]any{"total": nodeDisk, "used": 12 * gib, "free": nodeDisk - 12*gib, "avail": nodeDisk - 12*gib},
		"ksm":        map[string]any{"shared": 0},
		"idle":       0,
	}, nil
}

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
	res := resource{ID: g.Kind + "/" + strconv.Itoa(g.VMID), Type: g.Kind, VMID: g.VMID, Node: g.Node,
		Status: g.status(), Template: &zeroI, Tags: g.Conf["tags"], Pool: g.Pool, Lock: g.Conf["lock"],
		MaxMem: guestMaxMem(g), MaxCPU: guestCPUs(g), MaxDisk: s.guestMaxDisk(g),
		Disk: &zeroU, DiskRead: &zeroU, DiskWrite: &zeroU, NetIn: &zeroU, NetOut: &zeroU,
		Uptime: &zeroI64, Mem: &zeroU, CPU: &zeroF}
	if g.isTemplate() {
		res.Template = &oneI
	}
	if s.st.Offline[g.Node] {
		res.Status = "unknown" // pvestatd on that node no longer reports
	}
	res.Name = guestName(g)
	if g.Running {
		up := nowUnix() - g.Started
		mem := res.MaxMem / 3
		res.Uptime, res.Mem, res.CPU = &up, &mem, &idleCPU
	}
	if len(s.st.HAResources) > 0 {
		if ha := s.st.HAResources[haSID(g)]; ha != nil {
			res.HAState = ha.State
		}
	}
	return res
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
		if v, err := strconv.Atoi(g.Conf[k]); err == nil {
			return v
		}
		return def
	}
	if g.Kind == kindLXC {
		return atoi("cores", nodeCPUs)
	}
	if v := atoi("vcpus", 0); v > 0 {
		return v
	}
	return atoi("cores", 1) * atoi("sockets", 1)
}

func (s *Simulator) guestMaxDisk(g *guest) uint64 {
	if g.Kind == kindLXC {
		n, _ := parseSize(propGet(g.Conf["rootfs"], "size", ""))
		return n
	}
	for _, k := range []string{"scsi0", "virtio0", "sata0", "ide0"} {
		if v, ok := g.Conf[k]; ok && !strings.Contains(v, "media=cdrom") {
			n, _ := parseSize(propGet(v, "size", ""))
			return n
		}
	}
	return 0
}

func getResources(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	list := s.resourceList(r.str("type"))
	s.mu.RUnlock()
	b := append(make([]byte, 0, 300*len(list)+64), `{"data":`...)
	b = appendResources(b, list)
	return rawEnvelope(append(b, '}')), nil
}

// resourceList builds /cluster/resources under s.mu (read).
func (s *Simulator) resourceList(typ string) []resource {
	out := make([]resource, 0, len(s.st.Guests)+len(s.st.Nodes)*(len(s.st.Storages)+1)+len(s.st.Pools))
	if typ == "" || typ == "vm" {
		for _, id := range s.st.vmids() {
			out = append(out, s.guestResource(s.st.Guests[id]))
		}
	}
	if typ == "" || typ == "node" {
		for _, n := range s.st.Nodes {
			lvl := ""
			out = append(out, resource{ID: "node/" + n, Type: "node", Node: n, Status: s.nodeStatus(n),
				MaxCPU: nodeCPUs, MaxMem: nodeMem, MaxDisk: nodeDisk, Level: &lvl, CGroupMode: 2})
		}
	}
	if typ == "" || typ == "storage" {
		usedOn := s.storageUsage()
		for _, n := range s.st.Nodes {
			for _, sid := range sortedKeys(s.st.Storages) {
				st := s.st.Storages[sid]
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
	if typ == "" {
		for _, pid := range sortedKeys(s.st.Pools) {
			out = append(out, resource{ID: "/pool/" + pid, Type: "pool", Pool: pid})
		}
	}
	return out
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

func getNextID(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	if r.has("vmid") {
		id := r.int("vmid", 0)
		if _, ok := s.st.Guests[id]; ok {
			return nil, paramErr("vmid", "VM %d already exists", id)
		}
		return strconv.Itoa(id), nil
	}
	// datacenter.cfg's default next-id range: [100, 1000000).
	for id := 100; id < 1000000; id++ {
		if _, ok := s.st.Guests[id]; !ok {
			return strconv.Itoa(id), nil
		}
	}
	return nil, fail("unable to get any free VMID in range [100, 1000000]")
}

func getClusterTasks(r *request) (any, error) {
	ts := r.s.tasks.list()
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].StartTime > ts[j].StartTime })
	out := make([]map[string]any, 0, len(ts))
	for _, t := range ts {
		out = append(out, t.indexJSON())
	}
	return out, nil
}

func (s *Simulator) taskFor(r *request) (*task, error) {
	if err := func() error {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return s.checkNode(r.str("node"))
	}(); err != nil {
		return nil, err
	}
	id := r.str("upid")
	if !strings.HasPrefix(id, "UPID:") || strings.Count(id, ":") != 8 {
		return nil, fail("unable to parse worker upid '%s'", id)
	}
	t := s.tasks.get(id)
	if t == nil || t.Node != r.str("node") {
		return nil, fail("no such task")
	}
	return t, nil
}

func getTaskStatus(r *request) (any, error) {
	t, err := r.s.taskFor(r)
	if err != nil {
		return nil, err
	}
	return t.statusJSON(), nil
}

func getTaskLog(r *request) (any, error) {
	t, err := r.s.taskFor(r)
	if err != nil {
		return nil, err
	}
	start, limit := r.int("start", 0), r.int("limit", 50)
	t.mu.Lock()
	lines := append([]string(nil), t.Log...)
	t.mu.Unlock()
	out := []map[string]any{}
	for i := start; i < len(lines) && (limit == 0 || i < start+limit); i++ {
		out = append(out, map[string]any{"n": i + 1, "t": lines[i]})
	}
	if len(lines) == 0 && start == 0 {
		out = append(out, map[string]any{"n": 1, "t": "no content"})
	}
	return totalData{data: out, total: len(lines)}, nil
}
