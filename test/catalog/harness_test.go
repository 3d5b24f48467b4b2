// Package catalog tests the platform catalogue end to end without a cluster: every example XR in
// examples/catalog is rendered by the Crossplane CLI (v2.2.0) against its Composition, with
// function-microcloud running as a local process, and the output is validated against the
// provider's CRDs and the XRDs with `crossplane beta validate`, offline.
package catalog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

var (
	repoRoot   = mustAbs("../..")
	catalogDir = filepath.Join(repoRoot, "examples", "catalog")
)

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return a
}

// crossplaneCLI returns the CLI path from CROSSPLANE_CLI. Unset, the test skips, unless
// MICROCLOUD_REQUIRE_INTEGRATION=1, where it builds (or finds cached) the CLI with
// cluster/crossplane-cli.sh and fails if that does not work.
func crossplaneCLI(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CROSSPLANE_CLI"); p != "" {
		return p
	}
	if os.Getenv("MICROCLOUD_REQUIRE_INTEGRATION") != "1" {
		t.Skip("CROSSPLANE_CLI is not set (build it with cluster/crossplane-cli.sh)")
	}
	cliOnce.Do(func() {
		out, err := exec.Command("bash", filepath.Join(repoRoot, "cluster", "crossplane-cli.sh")).Output()
		if err != nil {
			cliErr = fmt.Errorf("cluster/crossplane-cli.sh: %w", err)
			return
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		cliPath = lines[len(lines)-1]
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliPath
}

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// validateCache is a fresh `beta validate` cache seeded with Crossplane's core CRDs, so that
// validation downloads nothing: the copy the CLI script keeps next to the binary.
func validateCache(t *testing.T, cli string) string {
	t.Helper()
	const image = "xpkg.crossplane.io/crossplane/crossplane@v2.2.0"
	src := filepath.Join(filepath.Dir(filepath.Dir(cli)), "validate-cache", image, "package.yaml")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatalf("the validate cache seeded by cluster/crossplane-cli.sh is missing: %v", err)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, image), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, image, "package.yaml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// offlineEnv makes any attempt to reach the network through a proxy fail; loopback stays direct
// for the gRPC connection to the local function.
func offlineEnv() []string {
	env := []string{}
	for _, e := range os.Environ() {
		k := strings.ToUpper(strings.SplitN(e, "=", 2)[0])
		if k == "HTTPS_PROXY" || k == "HTTP_PROXY" || k == "NO_PROXY" || k == "ALL_PROXY" {
			continue
		}
		env = append(env, e)
	}
	return append(env, "HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1", "NO_PROXY=127.0.0.1")
}

var (
	fnOnce sync.Once
	fnAddr string
	fnErr  error
)

// functionAddress builds cmd/function-microcloud and starts it once for the package, insecure on a
// free loopback port. It is stopped by PID in TestMain.
func functionAddress(t *testing.T) string {
	t.Helper()
	fnOnce.Do(func() { fnAddr, fnErr = startFunction() })
	if fnErr != nil {
		t.Fatal(fnErr)
	}
	return fnAddr
}

var fnProc *exec.Cmd

func startFunction() (string, error) {
	bin := filepath.Join(tmpDir, "function-microcloud")
	build := exec.Command("go", "build", "-tags", "pacific", "-o", bin, "./cmd/function-microcloud")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build function-microcloud: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	_ = l.Close()
	fnProc = exec.Command(bin, "--insecure", "--address", addr)
	fnProc.Stdout, fnProc.Stderr = &fnLog, &fnLog
	if err := fnProc.Start(); err != nil {
		return "", err
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			_ = c.Close()
			return addr, nil
		}
	}
	return "", fmt.Errorf("function-microcloud did not listen on %s: %s", addr, fnLog.String())
}

var (
	fnLog  syncBuffer
	tmpDir string
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestMain(m *testing.M) {
	var err error
	tmpDir, err = os.MkdirTemp("", "catalog-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if fnProc != nil && fnProc.Process != nil {
		_ = fnProc.Process.Kill()
		_ = fnProc.Wait()
	}
	_ = os.RemoveAll(tmpDir)
	os.Exit(code)
}

// functionsFile is examples/packages's Function object with the render annotations that make the
// CLI call the local process instead of pulling the package.
func functionsFile(t *testing.T, addr string) string {
	t.Helper()
	objs := readObjects(t, filepath.Join(repoRoot, "examples", "packages", "function-microcloud.yaml"))
	fn := objs[0]
	ann := fn.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann["render.crossplane.io/runtime"] = "Development"
	ann["render.crossplane.io/runtime-development-target"] = addr
	fn.SetAnnotations(ann)
	return writeObjects(t, "functions.yaml", fn)
}

// readObjects reads every YAML document of a file.
func readObjects(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := parseObjects(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return objs
}

func parseObjects(b []byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		if t := strings.TrimSpace(string(j)); t == "null" || t == "{}" {
			continue
		}
		// Unstructured's own decoder keeps integers as int64, as the API server would.
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
}

func writeObjects(t *testing.T, name string, objs ...*unstructured.Unstructured) string {
	t.Helper()
	var b bytes.Buffer
	for _, o := range objs {
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// run runs the CLI offline and returns stdout, stderr and the error.
func run(t *testing.T, cli string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(cli, args...)
	cmd.Env = offlineEnv()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}
