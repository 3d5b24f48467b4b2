package main

import (
	"bufio"
	"io"
	"strings"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

// TestRunPrintsUsableEndpoint starts the command on a random port and uses
// what it prints (endpoint, token, CA path) to talk to it with go-proxmox.
func TestRunPrintsUsableEndpoint(t *testing.T) {
	pr, pw := io.Pipe()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"-listen", "127.0.0.1:0", "-ca-dir", t.TempDir(), "-seed-guests", "20",
			"-task-duration", "10ms", "-nodes", "n1,n2"}, pw, stop)
		pw.Close()
	}()
	info := map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(info) < 8 && sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		info[k] = strings.TrimSpace(v)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	c := proxmox.NewClient(info["endpoint"], proxmox.WithAPIToken(info["token id"], info["token secret"]),
		proxmox.WithRootCAFile(info["ca"]), proxmox.WithTimeout(10*time.Second))
	cx := t.Context()
	nodes, err := c.Nodes(cx)
	if err != nil {
		t.Fatalf("nodes via printed endpoint %q: %v", info["endpoint"], err)
	}
	if len(nodes) != 2 || nodes[1].Node != "n2" {
		t.Errorf("nodes %+v", nodes)
	}
	cl, _ := c.Cluster(cx)
	vms, err := cl.Resources(cx, "vm")
	if err != nil || len(vms) != 21 {
		t.Errorf("%d guests (want 20 seeded + template): %v", len(vms), err)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunRejectsBadFaultsFile(t *testing.T) {
	err := run([]string{"-listen", "127.0.0.1:0", "-faults", "/nonexistent/faults.json"}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "cannot read faults") {
		t.Fatalf("got %v", err)
	}
}
