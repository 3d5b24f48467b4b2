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
	// pve-manager PVE/API2/Nodes.pm status: uname as current-kernel (and
	// the legacy kversion string), boot-info, read_cpuinfo, read_meminfo
	// (with available), ksm, swap, df of /.
	up := int64(time.Since(startTime).Seconds()) + 86400
	return map[string]any{
		"uptime": up, "idle": 0, "cpu": 0.02, "wait": 0.0,
		"loadavg":  []string{"0.10", "0.12", "0.08"},
		"kversion": "Linux " + kernelRelease + " " + kernelVersion,
		"current-kernel": map[string]any{"sysname": "Linux", "release": kernelRelease, "version": kernelVersion,
			"machine": "x86_64"},
		"boot-info":  map[string]any{"mode": "efi", "secureboot": 0},
		"pveversion": "pve-manager/" + s.pveRelease()["version"] + "/" + s.pveRelease()["repoid"],
		"cpuinfo": map[string]any{"cpus": nodeCPUs, "cores": nodeCPUs / 2, "sockets": 1, "model": "pvesim vCPU",
			"vendor": "GenuineIntel", "family": "6", "mhz": "2400.000", "user_hz": 100, "hvm": "1",
			"flags": "fpu vme de pse tsc msr pae mce cx8 apic sep vmx"},
		"memory": map[string]any{"total": nodeMem, "used": nodeMemUsed, "free": nodeMem - nodeMemUsed - 4*gib,
			"available": nodeMem - nodeMemUsed},
		"swap":   map[string]any{"total": 8 * gib, "used": 0, "free": 8 * gib},
		"rootfs": map[string]any{"total": nodeDisk, "used": nodeDiskUsed, "free": nodeDisk - nodeDiskUsed, "avail": nodeDisk - nodeDiskUsed - 5*gib},
		"ksm":    map[string]any{"shared": 0},
	}, nil
}

// The simulated nodes' kernel (uname) and usage figures.
const (
	kernelRelease = "6.17.2-1-pve"
	kernelVersion = "#1 SMP PREEMPT_DYNAMIC PMX 6.17.2-1 (2025-10-21T11:55Z)"
	nodeMemUsed   = 8 * gib
	nodeDiskUsed  = 12 * gib
)

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
		if r.seesTask(t, "") {
			out = append(out, t.indexJSON())
		}
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
		return nil, paramErr("upid", "unable to parse worker upid")
	}
	t := s.tasks.get(id)
	if t == nil || t.Node != r.str("node") {
		return nil, paramErr("upid", "no such task")
	}
	return t, nil
}

// stopTask is stop_task: the worker is interrupted and fails with
// "received interrupt" after running its cleanup.
func stopTask(r *request) (any, error) {
	t, err := r.s.taskFor(r)
	if err != nil {
		return nil, err
	}
	t.requestStop()
	return nil, nil
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
	if ae, ok := err.(*apiError); ok && ae.Errors["upid"] == "no such task" {
		// PVE only parses the UPID here and dumps whatever the log file holds.
		return totalData{data: []map[string]any{{"n": 1, "t": "unable to open file - No such file or directory"}}, total: 1}, nil
	}
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

// listNodeTasks is GET /nodes/{node}/tasks: finished tasks by default
// (source=archive), running ones with source=active, both with all; newest
// first, filtered like PVE's task index.
func listNodeTasks(r *request) (any, error) {
	s := r.s
	node := r.str("node")
	s.mu.RLock()
	err := s.checkNode(node)
	s.mu.RUnlock()
	if err != nil {
		return nil, err
	}
	source := r.str("source")
	if source == "" {
		source = "archive"
	}
	status := map[string]bool{"ok": true, "warning": true, "error": true, "unknown": true}
	if r.has("statusfilter") && !r.bool("errors", false) {
		status = map[string]bool{}
		for _, f := range splitList(r.str("statusfilter")) {
			status[strings.ToLower(f)] = true
		}
	} else if r.bool("errors", false) {
		status["ok"] = false
	}
	ts := s.tasks.list()
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].StartTime > ts[j].StartTime })
	start, limit := r.int("start", 0), r.int("limit", 50)
	out := []map[string]any{}
	count := 0
	for _, pass := range []bool{true, false} { // active first, then the archive
		if (pass && source == "archive") || (!pass && source == "active") {
			continue
		}
		for _, t := range ts {
			e := t.indexJSON()
			running := e["status"] == nil
			if t.Node != node || running != pass || !r.seesTask(t, node) {
				continue
			}
			if tf := r.str("typefilter"); tf != "" && t.Type != tf {
				continue
			}
			if uf := r.str("userfilter"); uf != "" && !strings.Contains(strings.ToLower(t.User), strings.ToLower(uf)) {
				continue
			}
			if r.has("vmid") && t.ID != r.str("vmid") {
				continue
			}
			if (r.has("since") && t.StartTime < int64(r.int("since", 0))) || (r.has("until") && t.StartTime > int64(r.int("until", 0))) {
				continue
			}
			if running {
				e["status"] = "RUNNING"
			} else if !status[statusType(e["status"].(string))] {
				continue
			}
			count++
			if count <= start || len(out) >= limit {
				continue
			}
			out = append(out, e)
		}
	}
	return out, nil
}

// statusType is upid_normalize_status_type.
func statusType(st string) string {
	switch {
	case st == "OK":
		return "ok"
	case strings.HasPrefix(st, "WARNINGS:"):
		return "warning"
	case st == "":
		return "unknown"
	}
	return "error"
}
