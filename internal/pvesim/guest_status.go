package pvesim

import (
	"fmt"
	"strconv"
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

func listGuests(kind string) handlerFunc {
	return func(r *request) (any, error) {
		s := r.s
		s.mu.RLock()
		defer s.mu.RUnlock()
		node := r.str("node")
		if err := s.checkNode(node); err != nil {
			return nil, err
		}
		out := []map[string]any{}
		for _, id := range s.st.vmids() {
			g := s.st.Guests[id]
			if g.Kind == kind && g.Node == node {
				out = append(out, s.guestStatus(g))
			}
		}
		return out, nil
	}
}

// guestStatus is the status/current answer (also the node's guest list).
func (s *Simulator) guestStatus(g *guest) map[string]any {
	res := s.guestResource(g)
	m := map[string]any{"vmid": g.VMID, "name": res.Name, "status": g.status(), "cpus": res.MaxCPU,
		"maxmem": res.MaxMem, "maxdisk": res.MaxDisk, "mem": *res.Mem, "disk": 0, "cpu": *res.CPU,
		"uptime": *res.Uptime, "netin": 0, "netout": 0, "diskread": 0, "diskwrite": 0,
		"ha": map[string]any{"managed": 0}}
	if g.Conf["tags"] != "" {
		m["tags"] = g.Conf["tags"]
	}
	if g.Conf["lock"] != "" {
		m["lock"] = g.Conf["lock"]
	}
	if g.isTemplate() {
		m["template"] = 1
	}
	if ha := s.st.HAResources[haSID(g)]; ha != nil {
		m["ha"] = map[string]any{"managed": 1, "state": ha.State, "group": ha.Group}
	}
	if g.Kind == kindQemu {
		m["qmpstatus"] = g.status()
		if propGet(g.Conf["agent"], "enabled", "enabled") == "1" {
			m["agent"] = 1
		}
		if g.Running {
			m["pid"] = 10000 + g.VMID%50000
			m["running-qemu"] = "10.1.2"
			m["running-machine"] = "pc-i440fx-10.1+pve0"
		}
	} else {
		m["type"] = "lxc"
		sw, _ := strconv.ParseUint(g.Conf["swap"], 10, 64)
		m["maxswap"] = sw * mib
		m["swap"] = 0
		if g.Running {
			m["pid"] = 20000 + g.VMID%50000
		}
	}
	return m
}

func statusCurrent(kind string) handlerFunc {
	return func(r *request) (any, error) {
		s := r.s
		s.mu.RLock()
		defer s.mu.RUnlock()
		g, err := s.guestArg(r, kind)
		if err != nil {
			return nil, err
		}
		return s.guestStatus(g), nil
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
			if err := checkLock(g, r.bool("skiplock", false)); err != nil {
				return err
			}
			switch action {
			case "start":
				if g.Running {
					return fmt.Errorf("VM %d already running", vmid)
				}
				applyPending(g)
				g.Running, g.Started, g.bootedAt = true, nowUnix(), time.Now()
			case "stop", "shutdown":
				if g.Running {
					applyPending(g)
				}
				g.Running = false
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
