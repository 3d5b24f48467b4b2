package image

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

func TestParseLdd(t *testing.T) {
	cases := map[string]struct {
		out     string
		want    []string
		wantErr bool
	}{
		"Libraries, loader and vdso": {
			out: "\tlinux-vdso.so.1 (0x00007ffd)\n" +
				"\tlibrados.so.2 => /lib/x86_64-linux-gnu/librados.so.2 (0x00007f1)\n" +
				"\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f2)\n" +
				"\t/lib64/ld-linux-x86-64.so.2 (0x00007f3)\n",
			want: []string{"/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/librados.so.2", "/lib64/ld-linux-x86-64.so.2"},
		},
		"A missing library fails the build": {
			out:     "\tlibrbd.so.1 => not found\n",
			wantErr: true,
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := parseLdd([]byte(tc.out), "/lib64/ld-linux-x86-64.so.2")
			if (err != nil) != tc.wantErr {
				t.Fatalf("parseLdd() error = %v, wantErr %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); !tc.wantErr && diff != "" {
				t.Errorf("parseLdd() -want +got:\n%s", diff)
			}
		})
	}
}

// build makes an image around a dynamically linked host binary (true(1)), dropping the runtime
// files whose path contains drop.
func build(t *testing.T, bin, drop string) v1.Image {
	t.Helper()
	rt, err := RuntimeFiles(bin, "")
	if err != nil {
		t.Fatal(err)
	}
	kept := rt[:0]
	for _, f := range rt {
		if drop == "" || !strings.Contains(f.Path, drop) {
			kept = append(kept, f)
		}
	}
	b, err := HostFile(bin, "/provider")
	if err != nil {
		t.Fatal(err)
	}
	img, err := Build(Options{Binary: b, Runtime: kept, Arch: "amd64", Labels: map[string]string{"a": "b"}, Created: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestBuild(t *testing.T) {
	bin, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true(1) on this host")
	}
	if interp, err := Interpreter(bin); err != nil || interp == "" {
		t.Skipf("true(1) is not dynamically linked here (%v)", err)
	}
	img := build(t, bin, "")

	t.Run("Round trip through a tarball is a valid image", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "img.tar")
		if err := tarball.WriteToFile(p, nil, img); err != nil {
			t.Fatal(err)
		}
		back, err := tarball.ImageFromPath(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := validate.Image(back); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Config", func(t *testing.T) {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		want := v1.Config{
			Entrypoint: []string{"/provider"}, User: "65532:65532", WorkingDir: "/home/nonroot",
			Env: []string{"PATH=/", "HOME=/home/nonroot"}, Labels: map[string]string{"a": "b"},
		}
		if diff := cmp.Diff(want, cf.Config); diff != "" {
			t.Errorf("config -want +got:\n%s", diff)
		}
		if cf.OS != "linux" || cf.Architecture != "amd64" {
			t.Errorf("platform %s/%s, want linux/amd64", cf.OS, cf.Architecture)
		}
	})

	t.Run("Same inputs, same digest", func(t *testing.T) {
		d1, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		d2, err := build(t, bin, "").Digest()
		if err != nil {
			t.Fatal(err)
		}
		if d1 != d2 {
			t.Errorf("digests differ: %s, %s", d1, d2)
		}
	})

	t.Run("Runs from its own files only", func(t *testing.T) {
		run, isolated := runner(t)
		dir := t.TempDir()
		if err := Unpack(img, dir); err != nil {
			t.Fatal(err)
		}
		if out, err := run(dir); err != nil {
			t.Fatalf("/provider in the unpacked image: %v: %s", err, out)
		}
		if !isolated {
			t.Log("not root: the loader may fall back to the host's libraries, no negative check")
			return
		}
		// Without libc the same image must not start: the check above used the image's files.
		broken := t.TempDir()
		if err := Unpack(build(t, bin, "libc.so"), broken); err != nil {
			t.Fatal(err)
		}
		if out, err := run(broken); err == nil {
			t.Fatalf("/provider started without libc in the image: %s", out)
		}
	})
}

// runner returns how to start /provider inside an unpacked image: chroot(8) when root, else the
// image's own loader with the library path pointed at the image (no host ld.so.cache), which may
// still fall back to the host's default library directories (not isolated).
func runner(t *testing.T) (func(dir string) ([]byte, error), bool) {
	t.Helper()
	if os.Geteuid() == 0 {
		if c, err := exec.LookPath("chroot"); err == nil {
			return func(dir string) ([]byte, error) {
				return exec.Command(c, dir, "/provider").CombinedOutput() //nolint:gosec // test
			}, true
		}
	}
	return func(dir string) ([]byte, error) {
		interp, err := Interpreter(filepath.Join(dir, "provider"))
		if err != nil {
			return nil, err
		}
		var dirs []string
		for _, d := range []string{"lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib", "usr/lib", "lib64"} {
			dirs = append(dirs, filepath.Join(dir, d))
		}
		return exec.Command(filepath.Join(dir, interp), "--inhibit-cache", "--library-path", strings.Join(dirs, ":"), //nolint:gosec // test
			filepath.Join(dir, "provider")).CombinedOutput()
	}, false
}
