// Package tcpfwd passes TCP connections from a loopback address to a target
// until taken down, so a test or benchmark can make a site unreachable
// (connections refused, open ones cut) and bring it back at the same address
// with everything behind it kept.
package tcpfwd

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// A Forwarder passes connections from Addr to its target while up.
type Forwarder struct {
	target string
	mu     sync.Mutex
	addr   string
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

// New starts a forwarder to target on a free port of 127.0.0.1.
func New(target string) (*Forwarder, error) {
	f := &Forwarder{addr: "127.0.0.1:0", target: target}
	if err := f.Up(); err != nil {
		return nil, err
	}
	return f, nil
}

// Addr is the host:port the forwarder listens on (the same after Down and Up).
func (f *Forwarder) Addr() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addr
}

// Up listens again after Down; it is a no-op while up.
func (f *Forwarder) Up() error {
	f.mu.Lock()
	if f.ln != nil {
		f.mu.Unlock()
		return nil
	}
	addr := f.addr
	f.mu.Unlock()
	var ln net.Listener
	var err error
	for range 50 { // the port may linger briefly after Down
		if ln, err = net.Listen("tcp", addr); err == nil {
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

// Down closes the listener (new connections are refused) and cuts every
// open connection.
func (f *Forwarder) Down() {
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

func (f *Forwarder) serve(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go f.pipe(c)
	}
}

func (f *Forwarder) track(cs ...net.Conn) bool {
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

func (f *Forwarder) pipe(c net.Conn) {
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
