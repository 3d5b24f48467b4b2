// Package pkgtest builds the provider's Crossplane package with cluster/package.sh (no Docker,
// the xpkg step offline) and inspects the result with go-containerregistry: a valid image whose
// package layer holds the Provider meta and exactly the CRDs of package/crds, whose config is the
// embedded runtime image's (entrypoint /provider, user 65532), which `crossplane xpkg push` stores
// in an OCI registry (an in-memory one on loopback), and whose files run the provider.
//
// Needs CROSSPLANE_CLI (cluster/crossplane-cli.sh); skips without it unless
// MICROCLOUD_REQUIRE_INTEGRATION=1.
package pkgtest

import (
	"archive/tar"
	"bufio"
	"bytes"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"sigs.k8s.io/yaml"

	"github.com/microcloud-dev/provider-microcloud/internal/image"
)

const version = "v0.0.0-pkgtest"

func requireEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		if os.Getenv("MICROCLOUD_REQUIRE_INTEGRATION") == "1" {
			t.Fatalf("%s is not set (MICROCLOUD_REQUIRE_INTEGRATION=1)", name)
		}
		t.Skipf("%s is not set", name)
	}
	return v
}

func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// object is the part of a manifest the checks read.
type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
}

func TestPackage(t *testing.T) {
	cli := requireEnv(t, "CROSSPLANE_CLI")
	root := repoRoot(t)
	out := t.TempDir()

	cmd := exec.Command("bash", filepath.Join(root, "cluster", "package.sh")) //nolint:gosec // our script
	cmd.Env = append(os.Environ(), "PACKAGE_OUTPUT_DIR="+out, "CROSSPLANE_CLI="+cli, "VERSION="+version)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		t.Fatalf("cluster/package.sh: %v\n%s", err, stderr.String())
	}
	t.Log(stderr.String())
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	xpkg := lines[len(lines)-1]
	if want := filepath.Join(out, "provider-microcloud.xpkg"); xpkg != want {
		t.Fatalf("package.sh printed %q, want %q", xpkg, want)
	}

	pkg, err := tarball.ImageFromPath(xpkg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(pkg); err != nil {
		t.Fatalf("xpkg is not a valid image: %v", err)
	}
	cf, err := pkg.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Package layer holds the Provider meta and every CRD", func(t *testing.T) {
		docs := packageYAML(t, pkg, cf)
		if len(docs) == 0 {
			t.Fatal("package.yaml is empty")
		}
		var meta object
		if err := yaml.Unmarshal([]byte(docs[0]), &meta); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff("meta.pkg.crossplane.io/v1 Provider provider-microcloud",
			meta.APIVersion+" "+meta.Kind+" "+meta.Metadata.Name); diff != "" {
			t.Errorf("first object -want +got:\n%s", diff)
		}
		var got []string
		for _, d := range docs[1:] {
			var o object
			if err := yaml.Unmarshal([]byte(d), &o); err != nil {
				t.Fatal(err)
			}
			if o.Kind != "CustomResourceDefinition" {
				t.Errorf("package object %s %s is not a CRD", o.Kind, o.Metadata.Name)
			}
			got = append(got, o.Metadata.Name)
		}
		sort.Strings(got)
		if diff := cmp.Diff(crdNames(t, filepath.Join(root, "package", "crds")), got); diff != "" {
			t.Errorf("CRDs in the package -package/crds +xpkg:\n%s", diff)
		}
	})

	t.Run("Config is the runtime image's", func(t *testing.T) {
		if diff := cmp.Diff([]string{"/provider"}, cf.Config.Entrypoint); diff != "" {
			t.Errorf("entrypoint -want +got:\n%s", diff)
		}
		if cf.Config.User != "65532:65532" {
			t.Errorf("user %q, want 65532:65532", cf.Config.User)
		}
		if v := cf.Config.Labels["org.opencontainers.image.version"]; v != version {
			t.Errorf("version label %q, want %q", v, version)
		}
		if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
			t.Errorf("platform %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
		}
	})

	t.Run("Runtime layers are the runtime tarball's", func(t *testing.T) {
		rt, err := tarball.ImageFromPath(filepath.Join(out, "provider-microcloud-runtime.tar"), nil)
		if err != nil {
			t.Fatal(err)
		}
		want := layerDigests(t, rt)
		got := layerDigests(t, pkg)
		if len(got) < len(want) {
			t.Fatalf("xpkg has %d layers, runtime image %d", len(got), len(want))
		}
		if diff := cmp.Diff(want, got[:len(want)]); diff != "" {
			t.Errorf("xpkg's first layers -runtime +xpkg:\n%s", diff)
		}
	})

	t.Run("crossplane xpkg push stores its config and layers in a registry", func(t *testing.T) {
		// An in-memory OCI registry on loopback stands in for a real one (none is reachable here).
		reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		defer reg.Close()
		host := strings.TrimPrefix(reg.URL, "http://")
		ref := host + "/microcloud/provider-microcloud:" + version
		push := exec.Command(cli, "xpkg", "push", "-f", xpkg, ref) //nolint:gosec // test
		push.Env = append(os.Environ(), "HTTPS_PROXY=http://127.0.0.1:1", "HTTP_PROXY=http://127.0.0.1:1", "NO_PROXY=127.0.0.1",
			"https_proxy=http://127.0.0.1:1", "http_proxy=http://127.0.0.1:1", "no_proxy=127.0.0.1", "HOME="+t.TempDir())
		if out, err := push.CombinedOutput(); err != nil {
			t.Fatalf("crossplane xpkg push %s: %v: %s", ref, err, out)
		}
		// push re-annotates the layers (io.crossplane.xpkg: base on the package layer) into an OCI
		// manifest, so the manifest digest changes; config and layers must be the xpkg's.
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, reg.URL+"/v2/microcloud/provider-microcloud/manifests/"+version, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close() //nolint:errcheck // read side
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET manifest: HTTP %d", resp.StatusCode)
		}
		m, err := v1.ParseManifest(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		cfgName, err := pkg.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		if m.Config.Digest != cfgName {
			t.Errorf("pushed config %s, want the xpkg's %s", m.Config.Digest, cfgName)
		}
		var pushed []string
		annotated := 0
		for _, l := range m.Layers {
			pushed = append(pushed, l.Digest.String())
			if l.Annotations["io.crossplane.xpkg"] == "base" {
				annotated++
			}
		}
		if diff := cmp.Diff(layerDigests(t, pkg), pushed); diff != "" {
			t.Errorf("pushed layers -xpkg +registry:\n%s", diff)
		}
		if annotated != 1 {
			t.Errorf("%d pushed layers annotated io.crossplane.xpkg: base, want 1", annotated)
		}
	})

	t.Run("Provider runs from the package's own files", func(t *testing.T) {
		dir := t.TempDir()
		if err := image.Unpack(pkg, dir); err != nil {
			t.Fatal(err)
		}
		got, err := runIn(t, dir, "/provider", "--version")
		if err != nil {
			t.Fatalf("/provider --version: %v: %s", err, got)
		}
		if strings.TrimSpace(got) != version {
			t.Errorf("/provider --version printed %q, want %q", got, version)
		}
		// librados opens its compressor and crypto plugins with dlopen: their libraries must
		// resolve inside the image too.
		plugins, _ := filepath.Glob(filepath.Join(dir, "usr/lib/*/ceph/*/*.so"))
		if len(plugins) == 0 {
			t.Fatal("no Ceph plugins in the image")
		}
		interp, err := image.Interpreter(filepath.Join(dir, "provider"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range plugins {
			rel := "/" + strings.TrimPrefix(p, dir+"/")
			got, err := runIn(t, dir, interp, "--list", rel)
			if err != nil || strings.Contains(got, "not found") {
				t.Errorf("%s: libraries do not resolve in the image: %v: %s", rel, err, got)
			}
		}
	})
}

// packageYAML returns the YAML documents of package.yaml in the layer the config labels "base"
// (io.crossplane.xpkg:<layer digest>: base), as Crossplane's package manager reads it.
func packageYAML(t *testing.T, img v1.Image, cf *v1.ConfigFile) []string {
	t.Helper()
	var digest string
	for k, v := range cf.Config.Labels {
		if v == "base" && strings.HasPrefix(k, "io.crossplane.xpkg:") {
			digest = strings.TrimPrefix(k, "io.crossplane.xpkg:")
		}
	}
	if digest == "" {
		t.Fatalf("no io.crossplane.xpkg label for the package layer in %v", cf.Config.Labels)
	}
	h, err := v1.NewHash(digest)
	if err != nil {
		t.Fatal(err)
	}
	l, err := img.LayerByDigest(h)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close() //nolint:errcheck // read side
	tr := tar.NewReader(rc)
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatal("no package.yaml in the package layer")
		}
		if err != nil {
			t.Fatal(err)
		}
		if hd.Name != "package.yaml" {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		return splitYAML(b)
	}
}

// splitYAML splits a stream on "---" lines, dropping empty documents.
func splitYAML(b []byte) []string {
	var docs []string
	var cur strings.Builder
	flush := func() {
		if strings.TrimSpace(cur.String()) != "" {
			docs = append(docs, cur.String())
		}
		cur.Reset()
	}
	s := bufio.NewScanner(bytes.NewReader(b))
	s.Buffer(make([]byte, 1<<20), 16<<20)
	for s.Scan() {
		if strings.TrimSpace(s.Text()) == "---" {
			flush()
			continue
		}
		cur.WriteString(s.Text())
		cur.WriteByte('\n')
	}
	flush()
	return docs
}

func crdNames(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in %s: %v", dir, err)
	}
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f) //nolint:gosec // repo file
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range splitYAML(b) {
			var o object
			if err := yaml.Unmarshal([]byte(d), &o); err != nil {
				t.Fatal(err)
			}
			names = append(names, o.Metadata.Name)
		}
	}
	sort.Strings(names)
	return names
}

func layerDigests(t *testing.T, img v1.Image) []string {
	t.Helper()
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var ds []string
	for _, l := range ls {
		d, err := l.Digest()
		if err != nil {
			t.Fatal(err)
		}
		ds = append(ds, d.String())
	}
	return ds
}

// runIn runs a program of the unpacked image dir as the image's user: inside a chroot when root
// (nothing from the host is reachable), else through the image's loader with its library
// directories (which may still fall back to the host's default directories).
func runIn(t *testing.T, dir, prog string, args ...string) (string, error) {
	t.Helper()
	if c, err := exec.LookPath("chroot"); err == nil && os.Geteuid() == 0 {
		out, err := exec.Command(c, append([]string{"--userspec=65532:65532", dir, prog}, args...)...).CombinedOutput() //nolint:gosec // test
		return string(out), err
	}
	interp, err := image.Interpreter(filepath.Join(dir, "provider"))
	if err != nil {
		return "", err
	}
	var libs []string
	for _, d := range []string{"lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu/ceph", "lib64"} {
		libs = append(libs, filepath.Join(dir, d))
	}
	a := []string{"--inhibit-cache", "--library-path", strings.Join(libs, ":")}
	if prog != interp {
		a = append(a, filepath.Join(dir, prog))
	}
	for _, arg := range args {
		// Image paths become paths under dir.
		if _, err := os.Stat(filepath.Join(dir, arg)); filepath.IsAbs(arg) && err == nil {
			arg = filepath.Join(dir, arg)
		}
		a = append(a, arg)
	}
	out, err := exec.Command(filepath.Join(dir, interp), a...).CombinedOutput() //nolint:gosec // test
	return string(out), err
}
