package pvesim

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// guestArg resolves {node}/{vmid} of a request to a guest under s.mu.
func (s *Simulator) guestArg(r *request, kind string) (*guest, error) {
	node := r.str("node")
	if err := s.checkNode(node); err != nil {
		return nil, err
	}
	return s.st.guestOn(kind, node, r.int("vmid", 0))
}

// checkLock is check_lock: a config lock blocks changes ("VM 100 is locked (clone)").
func checkLock(g *guest, skiplock bool) error {
	if l := g.Conf["lock"]; l != "" && !skiplock {
		return fail("%s %d is locked (%s)", g.typeName(), g.VMID, l)
	}
	return nil
}

// listGuests is the node's guest list: qemu-server's vmlist returns
// PVE::QemuServer::vmstatus (QemuServer.pm) with or without "full";
// pve-container's vmlist returns PVE::LXC::vmstatus (LXC.pm). Neither adds
// what only status/current adds (ha, agent, spice).
func listGuests(kind string) handlerFunc {
	return func(r *request) (any, error) {
		s := r.s
		s.mu.RLock()
		defer s.mu.RUnlock()
		node := r.str("node")
		if err := s.checkNode(node); err != nil {
			return nil, err
		}
		full := kind == kindQemu && r.bool("full", false)
		out := []map[string]any{}
		for _, id := range s.st.vmids() {
			g := s.st.Guests[id]
			if g.Kind == kind && g.Node == node && r.may("/vms/"+strconv.Itoa(id), "VM.Audit") {
				out = append(out, s.vmstatus(g, full))
			}
		}
		return out, nil
	}
}

// vmstatus is one guest's entry of PVE::QemuServer::vmstatus (qemu-server
// src/PVE/QemuServer.pm) or PVE::LXC::vmstatus (pve-container
// src/PVE/LXC.pm). full (qemu only) adds what vmstatus asks QMP for:
// qmpstatus, nics, and for a running VM blockstat, diskread/diskwrite,
// running-machine, running-qemu, proxmox-support and the balloon figures.
func (s *Simulator) vmstatus(g *guest, full bool) map[string]any {
	res := s.guestResource(g)
	m := map[string]any{"vmid": g.VMID, "name": res.Name, "status": g.status(), "cpus": res.MaxCPU,
		"maxmem": res.MaxMem, "maxdisk": res.MaxDisk, "disk": 0, "mem": 0, "cpu": 0, "uptime": 0,
		"netin": 0, "netout": 0}
	if g.Conf["tags"] != "" {
		m["tags"] = g.Conf["tags"]
	}
	if g.Conf["lock"] != "" {
		m["lock"] = g.Conf["lock"]
	}
	if g.isTemplate() {
		m["template"] = 1
	}
	var netin, netout uint64
	if g.Running {
		up := *res.Uptime
		netin, netout = uint64(up)*1200+uint64(g.VMID), uint64(up)*800+uint64(g.VMID)
		m["uptime"], m["cpu"], m["mem"] = up, *res.CPU, *res.Mem
		m["netin"], m["netout"] = netin, netout
		for _, k := range []string{"cpusome", "cpufull", "iosome", "iofull", "memorysome", "memoryfull"} {
			m["pressure"+k] = 0
		}
	}
	if g.Kind == kindLXC {
		m["type"] = "lxc"
		if cl := g.Conf["cpulimit"]; cl != "" && g.Conf["cores"] == "" {
			if f, err := strconv.ParseFloat(cl, 64); err == nil && f > 0 {
				m["cpus"] = f // cpulimit as configured, fractions included
			}
		}
		sw, _ := strconv.ParseUint(g.Conf["swap"], 10, 64)
		m["maxswap"], m["swap"], m["diskread"], m["diskwrite"] = sw*mib, 0, 0, 0
		if g.Running {
			m["pid"] = 20000 + g.VMID%50000
			m["disk"] = res.MaxDisk / 5 // used space of the mounted rootfs
		}
		return m
	}
	m["memhost"] = 0
	if b := g.Conf["balloon"]; b != "" && b != "0" {
		n, _ := strconv.ParseUint(b, 10, 64)
		m["balloon_min"] = n * mib
		m["shares"] = 1000
		if v, err := strconv.Atoi(g.Conf["shares"]); err == nil {
			m["shares"] = v
		}
	}
	if hasSerial(g.Conf) {
		m["serial"] = 1
	}
	if g.Running {
		m["pid"] = 10000 + g.VMID%50000
		m["memhost"] = *res.Mem
	}
	if !full {
		return m
	}
	m["qmpstatus"] = g.status()
	if g.Paused {
		m["qmpstatus"] = "paused"
	}
	if !g.Running {
		return m
	}
	nics := map[string]any{}
	for i := 0; i < 32; i++ {
		if _, ok := g.Conf["net"+strconv.Itoa(i)]; ok {
			nics[fmt.Sprintf("tap%di%d", g.VMID, i)] = map[string]any{"netin": netin, "netout": netout}
		}
	}
	m["nics"] = nics
	blockstat := map[string]any{}
	var rd, wr uint64
	for _, k := range sortedKeys(g.Conf) {
		if !isDiskKey(kindQemu, k) || strings.HasPrefix(k, "unused") {
			continue
		}
		st := blockStats(g, k)
		rd += st["rd_bytes"].(uint64)
		wr += st["wr_bytes"].(uint64)
		blockstat[k] = st
	}
	m["blockstat"], m["diskread"], m["diskwrite"] = blockstat, rd, wr
	m["running-machine"] = "pc-i440fx-10.1+pve0"
	m["running-qemu"] = "10.1.2"
	m["proxmox-support"] = map[string]any{"backup-fleecing": true, "backup-max-workers": true,
		"pbs-dirty-bitmap": true, "pbs-dirty-bitmap-migration": true, "pbs-dirty-bitmap-savevm": true,
		"pbs-library-version": "2.0.1 (UNKNOWN)", "pbs-masterkey": true, "query-bitmap-info": true}
	if g.Conf["balloon"] != "0" { // the balloon device is there unless balloon=0
		maxMem := res.MaxMem
		used := *res.Mem
		m["maxmem"], m["balloon"], m["mem"], m["freemem"] = maxMem, maxMem, used, maxMem-used
		m["ballooninfo"] = map[string]any{"actual": maxMem, "max_mem": maxMem, "total_mem": maxMem, "free_mem": maxMem - used,
			"mem_swapped_in": 0, "mem_swapped_out": 0, "major_page_faults": 120, "minor_page_faults": 45000,
			"last_update": nowUnix()}
	}
	return m
}

// blockStats is a drive's query-blockstats entry as vmstatus keeps it.
func blockStats(g *guest, drive string) map[string]any {
	up := uint64(nowUnix() - g.Started)
	var rd, wr uint64
	if propGet(g.Conf[drive], "media", "") != "cdrom" {
		rd, wr = up*4096+512*1024, up*2048
	}
	return map[string]any{"rd_bytes": rd, "wr_bytes": wr, "rd_operations": rd / 4096, "wr_operations": wr / 4096,
		"flush_operations": up, "rd_merged": 0, "wr_merged": 0, "unmap_bytes": 0, "unmap_operations": 0,
		"unmap_merged": 0, "rd_total_time_ns": rd * 10, "wr_total_time_ns": wr * 20, "flush_total_time_ns": up * 1000,
		"unmap_total_time_ns": 0, "wr_highest_offset": wr, "idle_time_ns": 1000000, "account_invalid": true,
		"account_failed": true, "failed_rd_operations": 0, "failed_wr_operations": 0, "failed_flush_operations": 0,
		"failed_unmap_operations": 0, "invalid_rd_operations": 0, "invalid_wr_operations": 0,
		"invalid_flush_operations": 0, "invalid_unmap_operations": 0, "timed_stats": []any{}}
}

// hasSerial is conf_has_serial (qemu-server QemuServer.pm).
func hasSerial(conf map[string]string) bool {
	for i := 0; i < 4; i++ {
		if conf["serial"+strconv.Itoa(i)] != "" {
			return true
		}
	}
	return false
}

// haStatus is get_service_status (pve-ha-manager src/PVE/HA/Config.pm):
// managed unless absent or "ignored", and the state is the HA manager's
// service state, not the requested one.
func (s *Simulator) haStatus(g *guest) map[string]any {
	ha := s.st.HAResources[haSID(g)]
	if ha == nil || ha.State == "ignored" {
		return map[string]any{"managed": 0}
	}
	return map[string]any{"managed": 1, "state": ha.managerState(g)}
}

// statusCurrent is vm_status: vmstatus with full detail plus the HA
// status (qemu-server API2/Qemu.pm adds agent and spice; pve-container
// API2/LXC/Status.pm only ha).
func statusCurrent(kind string) handlerFunc {
	return func(r *request) (any, error) {
		s := r.s
		s.mu.RLock()
		defer s.mu.RUnlock()
		g, err := s.guestArg(r, kind)
		if err != nil {
			return nil, err
		}
		m := s.vmstatus(g, true)
		m["ha"] = s.haStatus(g)
		if kind == kindQemu {
			if propGet(g.Conf["agent"], "enabled", "enabled") == "1" {
				m["agent"] = 1
			}
			if vga := g.Conf["vga"]; vga != "" {
				typ := propGet(vga, "type", "type")
				if strings.HasPrefix(typ, "virtio") || strings.HasPrefix(typ, "qxl") {
					m["spice"] = 1
				}
				if c := propGet(vga, "clipboard", ""); c != "" {
					m["clipboard"] = c
				}
			}
		}
		return m, nil
	}
}

// taskPrefix is the worker-name prefix PVE uses per guest kind.
func taskPrefix(kind string) string {
	if kind == kindLXC {
		return "vz"
	}
	return "qm"
}

// statusAction handles start/stop/shutdown/reboot. HA-managed guests are
// driven through the HA stack (hastart/hastop tasks) as in PVE.
func statusAction(kind, action string) handlerFunc {
	return func(r *request) (any, error) {
		s := r.s
		s.mu.Lock()
		defer s.mu.Unlock()
		g, err := s.guestArg(r, kind)
		if err != nil {
			return nil, err
		}
		if g.isTemplate() && action == "start" {
			if kind == kindLXC {
				return nil, fail("you can't start a CT if it's a template")
			}
			return nil, fail("you can't start a vm if it's a template")
		}
		if !g.Running && action == "reboot" {
			return nil, fail("%s %d not running", g.typeName(), g.VMID)
		}
		if kind == kindQemu && action == "shutdown" && g.Paused {
			// vm_shutdown (qemu-server API2/Qemu.pm)
			if !r.bool("forceStop", false) {
				return nil, fail("VM is paused - cannot shutdown")
			}
		}
		if kind == kindLXC {
			switch {
			case action == "start" && g.Running:
				return nil, fail("CT %d already running", g.VMID)
			case (action == "stop" || action == "shutdown") && !g.Running:
				return nil, fail("CT %d not running", g.VMID)
			}
		}
		if err := checkLock(g, r.bool("skiplock", false)); err != nil && kind == kindLXC {
			return nil, err
		}
		typ := taskPrefix(kind) + action
		if ha := s.st.HAResources[haSID(g)]; ha != nil && action != "reboot" {
			typ = "hastart"
			ha.State = "started"
			if action != "start" {
				typ, ha.State = "hastop", "stopped"
			}
		}
		vmid := g.VMID
		return s.spawn(g.Node, typ, strconv.Itoa(vmid), r.user, func(t *task) error {
			rel, err := s.lockGuest(kind, vmid)
			if err != nil {
				return err
			}
			defer rel()
			if err := s.taskSleep(t, s.opts.TaskDuration); err != nil {
				return err
			}
			if err := t.injected(); err != nil {
				return err
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			defer s.changed()
			g := s.st.Guests[vmid]
			if g == nil {
				return fmt.Errorf("Configuration file '%s' does not exist", configPath(kind, r.str("node"), vmid))
			}
			// vm_start resumes a VM suspended to disk despite its lock.
			if err := checkLock(g, r.bool("skiplock", false) || (action == "start" && g.Conf["lock"] == "suspended")); err != nil {
				return err
			}
			switch action {
			case "start":
				if g.Running {
					return fmt.Errorf("VM %d already running", vmid)
				}
				s.startGuest(g)
			case "stop", "shutdown":
				if g.Running {
					applyPending(g)
				}
				g.Running, g.Paused = false, false
			case "reboot":
				applyPending(g)
				g.Started, g.bootedAt = nowUnix(), time.Now()
			}
			return nil
		}), nil
	}
}

// applyPending moves pending changes into the config, as a cold start does.
func applyPending(g *guest) {
	for k, v := range g.Pending {
		g.Conf[k] = v
	}
	for _, k := range g.PendingDelete {
		delete(g.Conf, k)
	}
	g.Pending, g.PendingDelete = nil, nil
}

// startGuest boots a guest; a VM suspended to disk resumes from its state
// volume, which vm_start then frees together with the lock and the
// vmstate/runningmachine/runningcpu keys (qemu-server QemuServer.pm).
func (s *Simulator) startGuest(g *guest) {
	if g.Conf["lock"] == "suspended" {
		if vol := g.Conf["vmstate"]; vol != "" {
			s.st.removeVolume(g.Node, vol)
		}
		for _, k := range []string{"lock", "vmstate", "runningmachine", "runningcpu", "running-nets-host-mtu"} {
			delete(g.Conf, k)
		}
	} else {
		applyPending(g)
	}
	g.Running, g.Paused, g.Started, g.bootedAt = true, false, nowUnix(), time.Now()
}

// suspendVM is vm_suspend (qemu-server API2/Qemu.pm; the work in
// QemuServer/RunState.pm vm_suspend): a qmpause task pauses the VM, with
// todisk a qmsuspend task saves its state into vm-<vmid>-state-suspend-<date>
// on statestorage (or find_vmstate_storage's choice), stops it and leaves
// the config locked "suspended".
func suspendVM(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.guestArg(r, kindQemu)
	if err != nil {
		return nil, err
	}
	if r.has("statestorage") && !r.has("todisk") {
		return nil, paramErr("todisk", "missing property required by 'statestorage'")
	}
	if !g.Running {
		return nil, fail("VM %d not running", g.VMID)
	}
	todisk := r.bool("todisk", false)
	if ha := s.st.HAResources[haSID(g)]; todisk && ha != nil && ha.State != "ignored" {
		return nil, fail("Cannot suspend HA managed VM to disk")
	}
	statestorage := r.str("statestorage")
	if todisk && statestorage == "" {
		statestorage = s.findVMStateStorage(g)
	}
	typ := "qmpause"
	if todisk {
		typ = "qmsuspend"
	}
	vmid, skiplock := g.VMID, r.bool("skiplock", false)
	return s.spawn(g.Node, typ, strconv.Itoa(vmid), r.user, func(t *task) error {
		rel, err := s.lockGuest(kindQemu, vmid)
		if err != nil {
			return err
		}
		defer rel()
		if err := s.taskSleep(t, s.opts.TaskDuration); err != nil {
			return err
		}
		if err := t.injected(); err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		defer s.changed()
		g := s.st.Guests[vmid]
		if g == nil {
			return fmt.Errorf("Configuration file '%s' does not exist", configPath(kindQemu, r.str("node"), vmid))
		}
		if err := checkLock(g, skiplock || g.Conf["lock"] == "backup"); err != nil {
			return err
		}
		if !todisk {
			g.Paused = true
			return nil
		}
		st := s.st.Storages[statestorage]
		if st == nil || !st.on(g.Node) {
			return fmt.Errorf("storage '%s' does not exist", statestorage)
		}
		// __snapshot_save_vmstate (QemuConfig.pm): twice the memory plus 500 MiB.
		size := 2*guestMaxMem(g) + 500*mib
		name := fmt.Sprintf("vm-%d-state-suspend-%s", vmid, time.Now().Format("2006-01-02"))
		volid := st.ID + ":" + name
		if st.Type == "dir" {
			volid = fmt.Sprintf("%s:%d/%s.raw", st.ID, vmid, name)
		}
		s.st.addVolume(st, g.Node, &volume{VolID: volid, Content: "images", Format: "raw", Size: size, VMID: vmid})
		t.logf("State saved, quitting")
		g.Conf["vmstate"], g.Conf["runningmachine"] = volid, "pc-i440fx-10.1+pve0"
		g.Conf["runningcpu"] = "kvm64,enforce,+kvm_pv_eoi,+kvm_pv_unhalt,+lahf_lm,+sep"
		g.Conf["lock"] = "suspended"
		g.Running, g.Paused = false, false
		return nil
	}), nil
}

// findVMStateStorage is find_vmstate_storage (qemu-server QemuConfig.pm):
// vmstatestorage, else a shared storage holding one of the VM's disks, else
// a local one, else "local"; file-based storages preferred.
func (s *Simulator) findVMStateStorage(g *guest) string {
	if v := g.Conf["vmstatestorage"]; v != "" {
		return v
	}
	var shared, local string
	for _, sid := range diskStorages(g) {
		st := s.st.Storages[sid]
		if st == nil {
			continue
		}
		dst := &local
		if st.Shared {
			dst = &shared
		}
		if *dst == "" || st.Type == "dir" {
			*dst = sid
		}
	}
	switch {
	case shared != "":
		return shared
	case local != "":
		return local
	}
	return "local"
}

// resumeVM is vm_resume (qemu-server API2/Qemu.pm, RunState.pm): a paused
// VM continues; one suspended to disk is started from its state.
func resumeVM(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	g, err := s.guestArg(r, kindQemu)
	if err != nil {
		return nil, err
	}
	toDisk := g.Conf["lock"] == "suspended"
	if !toDisk && !g.Running {
		return nil, fail("VM %d not running", g.VMID)
	}
	vmid, skiplock := g.VMID, r.bool("skiplock", false)
	return s.spawn(g.Node, "qmresume", strconv.Itoa(vmid), r.user, func(t *task) error {
		rel, err := s.lockGuest(kindQemu, vmid)
		if err != nil {
			return err
		}
		defer rel()
		if err := s.taskSleep(t, s.opts.TaskDuration); err != nil {
			return err
		}
		if err := t.injected(); err != nil {
			return err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		defer s.changed()
		g := s.st.Guests[vmid]
		if g == nil {
			return fmt.Errorf("Configuration file '%s' does not exist", configPath(kindQemu, r.str("node"), vmid))
		}
		if toDisk {
			if g.Running {
				return fmt.Errorf("VM %d already running", vmid)
			}
			s.startGuest(g)
			return nil
		}
		if g.isTemplate() {
			return fmt.Errorf("VM %d is a template and cannot be resumed!", vmid)
		}
		if !g.Paused {
			return nil // already running: "job done"
		}
		if err := checkLock(g, skiplock || g.Conf["lock"] == "backup"); err != nil {
			return err
		}
		g.Paused = false
		return nil
	}), nil
}
