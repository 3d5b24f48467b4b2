package main

import (
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/internal/tcpfwd"
)

// A site is one simulated PVE cluster behind a TCP forwarder: the provider
// talks to the forwarder, so taking the site down (connections refused and
// cut) and bringing it back keeps the simulator, its guests and its counters.
type site struct {
	name string
	srv  *pvesim.Server
	fwd  *tcpfwd.Forwarder
}

func startSite(name string, o pvesim.Options) (*site, error) {
	sim, err := pvesim.New(o)
	if err != nil {
		return nil, err
	}
	srv, err := sim.Start()
	if err != nil {
		return nil, err
	}
	f, err := tcpfwd.New(srv.Addr)
	if err != nil {
		_ = srv.Close()
		return nil, err
	}
	return &site{name: name, srv: srv, fwd: f}, nil
}

// endpoint is what the provider is given: the forwarder's address.
func (s *site) endpoint() string { return "https://" + s.fwd.Addr() }

func (s *site) close() {
	s.fwd.Down()
	_ = s.srv.Close()
}

// counts are the simulator's requests by "METHOD /route".
func (s *site) counts() map[string]float64 { return s.srv.RequestCounts() }

// total adds the counts; creates are guest creates and clones, deletes guest destroys.
func total(c map[string]float64) (all, creates, deletes float64) {
	for k, v := range c {
		all += v
		switch k {
		case "POST /nodes/{node}/qemu/{vmid}/clone", "POST /nodes/{node}/qemu", "POST /nodes/{node}/lxc":
			creates += v
		case "DELETE /nodes/{node}/qemu/{vmid}", "DELETE /nodes/{node}/lxc/{vmid}":
			deletes += v
		}
	}
	return all, creates, deletes
}
