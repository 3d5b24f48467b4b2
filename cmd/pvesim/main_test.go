package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
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

// TestRunControlFlagServesFaultAPI starts the command with -control and
// sets a fault through the printed control URL; the API then answers it.
func TestRunControlFlagServesFaultAPI(t *testing.T) {
	pr, pw := io.Pipe()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"-listen", "127.0.0.1:0", "-ca-dir", t.TempDir(), "-control", "127.0.0.1:0",
			"-nodes", "n1"}, pw, stop)
		pw.Close()
	}()
	info := map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(info) < 9 && sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		info[k] = strings.TrimSpace(v)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	req, _ := http.NewRequest(http.MethodPut, info["control"],
		strings.NewReader(`{"routes":[{"route":"GET /version","phase":"before","code":503,"body":"empty","count":1}]}`))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("control %q: %v", info["control"], err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("control PUT: %s", res.Status)
	}
	c := proxmox.NewClient(info["endpoint"], proxmox.WithAPIToken(info["token id"], info["token secret"]),
		proxmox.WithRootCAFile(info["ca"]), proxmox.WithTimeout(10*time.Second))
	// go-proxmox cannot decode an empty error body; any error proves the fault.
	if _, err := c.Version(t.Context()); err == nil {
		t.Fatalf("first /version after the fault: %v", err)
	}
	if _, err := c.Version(t.Context()); err != nil {
		t.Fatalf("count 1 fault not spent: %v", err)
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestRunRejectsNonLoopbackControl(t *testing.T) {
	err := run([]string{"-listen", "127.0.0.1:0", "-ca-dir", t.TempDir(), "-control", "0.0.0.0:0"}, io.Discard, nil)
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("got %v", err)
	}
}

// With --token-file the token goes to the file only: the output (which ends
// up in logs, e.g. make run's) carries neither the token secret nor the
// password.
func TestTokenFileKeepsSecretsOutOfTheOutput(t *testing.T) {
	dir := t.TempDir()
	tokenFile := dir + "/token"
	var out strings.Builder
	pr, pw := io.Pipe()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- run([]string{"-listen", "127.0.0.1:0", "-ca-dir", dir, "-token-file", tokenFile, "-password", "pw-0123456789abcdef"}, pw, stop)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(sc.Text(), "metrics:") {
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(tokenFile) //nolint:gosec // the test's own temp file
	if err != nil {
		t.Fatal(err)
	}
	_, secret, ok := strings.Cut(string(b), "=")
	if !ok || len(secret) < 16 {
		t.Fatalf("token file holds %d bytes, not TOKENID=SECRET", len(b))
	}
	if strings.Contains(out.String(), secret) || strings.Contains(out.String(), "pw-0123456789abcdef") {
		t.Fatalf("the output carries the token secret or the password:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "written to "+tokenFile) {
		t.Fatalf("the output does not say where the token is:\n%s", out.String())
	}
}
