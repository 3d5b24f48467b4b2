package pvesim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	proxmox "github.com/luthermonson/go-proxmox"
)

// schemaFile finds PVE's official API schema: $PVE_API_SCHEMA when set,
// else ../shared/pve-api/pve-api-schema.json beside the repository root.
// A clone without it skips only the comparison that needs it, even under
// MICROCLOUD_REQUIRE_INTEGRATION=1: the schema is upstream reference data,
// not a part the tests start.
func schemaFile(t testing.TB) string {
	t.Helper()
	p, err := schemaPath()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		msg := fmt.Sprintf("reference schema not found at %s; set PVE_API_SCHEMA to compare; only this comparison is skipped", p)
		// go test shows a skip's reason only with -v; cluster/test.sh
		// prints what lands in MICROCLOUD_REPORT_DIR, so make test says it.
		if dir := os.Getenv("MICROCLOUD_REPORT_DIR"); dir != "" && os.MkdirAll(dir, 0o755) == nil {
			_ = os.WriteFile(filepath.Join(dir, "pvesim-schema-comparison-skipped.txt"), []byte("TestSpecsMatchOfficialSchema: "+msg+"\n"), 0o644)
		}
		t.Skip(msg)
	}
	return p
}

// schemaPath is where schemaFile looks, without checking the file exists.
func schemaPath() (string, error) {
	if p := os.Getenv("PVE_API_SCHEMA"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("repository root (go.mod) not found")
		}
		dir = parent
	}
	return filepath.Join(dir, "..", "shared", "pve-api", "pve-api-schema.json"), nil
}

// startSim starts a simulator with fast tasks and closes it with the test.
func startSim(t testing.TB, opts Options) *Server {
	t.Helper()
	if opts.TaskDuration == 0 {
		opts.TaskDuration = 20 * time.Millisecond
	}
	if opts.CADir == "" {
		opts.CADir = t.TempDir()
	}
	sim, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sim.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

// pveClient is go-proxmox with the API token, trusting the simulator's CA
// from the file it wrote.
func pveClient(t testing.TB, srv *Server) *proxmox.Client {
	t.Helper()
	return proxmox.NewClient(srv.URL, proxmox.WithAPIToken(srv.TokenID, srv.Secret),
		proxmox.WithRootCAFile(srv.CAPath), proxmox.WithTimeout(30*time.Second))
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// wait polls a task until it stops and returns its exit status.
func wait(t testing.TB, task *proxmox.Task) string {
	t.Helper()
	if task == nil {
		t.Fatal("no task")
	}
	if err := task.Wait(ctx(t), 10*time.Millisecond, 20*time.Second); err != nil {
		t.Fatalf("waiting for %s: %v", task.UPID, err)
	}
	return task.ExitStatus
}

// must turns (task, err) into a task, failing the test on err.
func must(t testing.TB) func(*proxmox.Task, error) *proxmox.Task {
	return func(task *proxmox.Task, err error) *proxmox.Task {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return task
	}
}

func waitOK(t testing.TB, task *proxmox.Task, errs ...error) {
	t.Helper()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if st := wait(t, task); st != "OK" {
		t.Fatalf("task %s: %s", task.UPID, st)
	}
}

type rawResp struct {
	Code   int
	Status string
	Body   []byte
	Header http.Header
	Close  bool
}

// raw sends a request without go-proxmox; auth "" sends none, "token" the
// API token, anything else as the Authorization header.
func raw(t testing.TB, srv *Server, method, path, contentType, body, auth string) rawResp {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	switch auth {
	case "":
	case "token":
		req.Header.Set("Authorization", "PVEAPIToken="+srv.TokenID+"="+srv.Secret)
	default:
		req.Header.Set("Authorization", auth)
	}
	res, err := srv.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return rawResp{Code: res.StatusCode, Status: res.Status, Body: b, Header: res.Header, Close: res.Close}
}

func decode(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return m
}
