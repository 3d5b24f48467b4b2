package main

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// A site is one simulated PVE cluster behind a TCP forwarder: the provider
// talks to the forwarder, so taking the site down (connections refused and
// cut) and bringing it back keeps the simulator, its guests and its counters.
type site struct {
	name string
	srv  *pvesim.Server
	fwd  *forwarder
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
	f, err := newForwarder(srv.Addr)
	if err != nil {
		_ = srv.Close()
		return nil, err
	}
	return &site{name: name, srv: srv, fwd: f}, nil
}

// endpoint is what the provider is given: the forwarder's address.
func (s *site) endpoint() string { return "https://" + s.fwd.addr }

func (s *site) close() {
	s.fwd.down()
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

// forwarder passes TCP connections from its address to target until down,
// which closes the listener and cuts every open connection; up listens on
// the same address again.
type forwarder struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        map[net.Conn]struct{}
}

func newForwarder(target string) (*forwarder, error) {
	f := &forwarder{addr: "127.0.0.1:0", target: target}
	if err := f.up(); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *forwarder) up() error {
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly after down
		if ln, err = net.Listen("tcp", f.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("forwarder to %s: %w", f.target, err)
	}
	f.mu.Lock()
	f.ln, f.addr, f.conns = ln, ln.Addr().String(), map[net.Conn]struct{}{}
	f.mu.Unlock()
	go f.serve(ln)
	return nil
}

func (f *forwarder) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go f.pipe(c)
	}
}

func (f *forwarder) track(cs ...net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ln == nil {
		return false
	}
	for _, c := range cs {
		f.conns[c] = struct{}{}
	}
	return true
}

func (f *forwarder) pipe(c net.Conn) {
	t, err := net.Dial("tcp", f.target)
	if err != nil || !f.track(c, t) {
		_ = c.Close()
		if t != nil {
			_ = t.Close()
		}
		return
	}
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) { _, _ = io.Copy(dst, src); done <- struct{}{} }
	go cp(t, c)
	go cp(c, t)
	<-done
	_ = c.Close()
	_ = t.Close()
	f.mu.Lock()
	delete(f.conns, c)
	delete(f.conns, t)
	f.mu.Unlock()
}

func (f *forwarder) down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ln == nil {
		return
	}
	_ = f.ln.Close()
	f.ln = nil
	for c := range f.conns {
		_ = c.Close()
	}
}
