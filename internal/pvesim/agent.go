package pvesim

import (
	"fmt"
	"strings"
	"time"
)

// agentReady is assert_agent_available plus the boot delay.
func (s *Simulator) agentReady(r *request) (*guest, error) {
	g, err := s.guestArg(r, kindQemu)
	if err != nil {
		return nil, err
	}
	if propGet(g.Conf["agent"], "enabled", "enabled") != "1" {
		return nil, fail("No QEMU guest agent configured")
	}
	if !g.Running {
		return nil, fail("VM %d is not running", g.VMID)
	}
	if time.Since(g.bootedAt) < s.opts.AgentStartDelay {
		return nil, fail("QEMU guest agent is not running")
	}
	return g, nil
}

func agentPing(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, err := s.agentReady(r); err != nil {
		return nil, err
	}
	return map[string]any{"result": map[string]any{}}, nil
}

// agentOSInfo reports the OS the seeded images carry (go-proxmox's
// WaitForAgent polls it).
func agentOSInfo(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	if _, err := s.agentReady(r); err != nil {
		return nil, err
	}
	return map[string]any{"result": map[string]any{"id": "debian", "name": "Debian GNU/Linux",
		"pretty-name": "Debian GNU/Linux 12 (bookworm)", "version": "12 (bookworm)", "version-id": "12",
		"kernel-release": "6.1.0-40-amd64", "kernel-version": "#1 SMP PREEMPT_DYNAMIC Debian 6.1.153-1",
		"machine": "x86_64"}}, nil
}

// agentInterfaces answers the guest agent's network-get-interfaces for a
// running VM with the agent enabled, as qemu-guest-agent reports them.
func agentInterfaces(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	g, err := s.agentReady(r)
	if err != nil {
		return nil, err
	}
	ifaces := []map[string]any{{
		"name": "lo", "hardware-address": "00:00:00:00:00:00",
		"ip-addresses": []map[string]any{
			{"ip-address-type": "ipv4", "ip-address": "127.0.0.1", "prefix": 8},
			{"ip-address-type": "ipv6", "ip-address": "::1", "prefix": 128},
		},
		"statistics": stats(),
	}}
	for i := 0; i < 32; i++ {
		v, ok := g.Conf[fmt.Sprintf("net%d", i)]
		if !ok {
			continue
		}
		first, _, _ := strings.Cut(v, ",")
		_, mac, _ := strings.Cut(first, "=")
		ip := guestIPv4(g.VMID, i)
		if cfg := propGet(g.Conf[fmt.Sprintf("ipconfig%d", i)], "ip", ""); cfg != "" && cfg != "dhcp" {
			ip, _, _ = strings.Cut(cfg, "/")
		}
		ifaces = append(ifaces, map[string]any{
			"name": fmt.Sprintf("eth%d", i), "hardware-address": strings.ToLower(mac),
			"ip-addresses": []map[string]any{
				{"ip-address-type": "ipv4", "ip-address": ip, "prefix": 16},
				{"ip-address-type": "ipv6", "ip-address": guestIPv6(g.VMID, i), "prefix": 64},
			},
			"statistics": stats(),
		})
	}
	return map[string]any{"result": ifaces}, nil
}

func stats() map[string]int {
	return map[string]int{"rx-bytes": 0, "rx-dropped": 0, "rx-errs": 0, "rx-packets": 0,
		"tx-bytes": 0, "tx-dropped": 0, "tx-errs": 0, "tx-packets": 0}
}
