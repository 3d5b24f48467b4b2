package proxmox

import (
	"context"
	"net"
	"sort"
)

type agentInterfaces struct {
	Result []struct {
		Name        string `json:"name"`
		IPAddresses []struct {
			Address string `json:"ip-address"`
			Type    string `json:"ip-address-type"`
		} `json:"ip-addresses"`
	} `json:"result"`
}

// GuestIPs asks a running VM's guest agent for its addresses: global IPv4
// first, then global IPv6; loopback and link-local ones are left out. An agent
// that does not answer (yet) yields none; a refusal (the token lacks
// VM.GuestAgent.Audit) is an error, so a role missing it shows instead of
// leaving the addresses empty for good.
func (c *Client) GuestIPs(ctx context.Context, g *Guest) ([]string, error) {
	var out agentInterfaces
	if err := c.Get(ctx, GuestPath(g.Node, "qemu", int(g.VMID))+"/agent/network-get-interfaces", &out); err != nil {
		if IsPermission(err) {
			return nil, err
		}
		return nil, nil
	}
	var v4, v6 []string
	for _, iface := range out.Result {
		for _, a := range iface.IPAddresses {
			ip := net.ParseIP(a.Address)
			if ip == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
				continue
			}
			if ip.To4() != nil {
				v4 = append(v4, a.Address)
			} else {
				v6 = append(v6, a.Address)
			}
		}
	}
	sort.Strings(v4)
	sort.Strings(v6)
	return append(v4, v6...), nil
}
