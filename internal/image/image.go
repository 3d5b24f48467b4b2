// Package image builds the provider's runtime image without Docker: a scratch image holding the
// provider binary, the shared libraries the host's loader maps for it (go-ceph links librados and
// librbd through cgo, so the binary is not static), the loader itself and the few /etc files a
// non-root process needs. It is written as an image tarball that `crossplane xpkg build
// --embed-runtime-image-tarball` reads.
package image

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const (
	errReadFile  = "cannot read a file for the image"
	errTar       = "cannot write a layer"
	errLayer     = "cannot make a layer"
	errAppend    = "cannot append layers"
	errConfig    = "cannot set the image config"
	errDuplicate = "two different files for one path in the image"
)

// NonRoot is the user the provider runs as (distroless' "nonroot").
const NonRoot = 65532

// File is one regular file of the image.
type File struct {
	// Path in the image, absolute.
	Path string
	// Data is the content; Mode the permission bits.
	Data []byte
	Mode int64
	// Link, when set, makes the entry a symlink to this target instead of a file.
	Link string
}

// HostFile reads src from the host into a File at dst, keeping its permission bits. Symlinks
// are followed: the image gets the content under the name the loader asks for.
func HostFile(src, dst string) (File, error) {
	b, err := os.ReadFile(src) //nolint:gosec // the build's own inputs
	if err != nil {
		return File{}, errors.Wrap(err, errReadFile)
	}
	st, err := os.Stat(src)
	if err != nil {
		return File{}, errors.Wrap(err, errReadFile)
	}
	return File{Path: dst, Data: b, Mode: int64(st.Mode().Perm())}, nil
}

// Options say what goes into the image.
type Options struct {
	// Binary is the provider executable, placed at Entrypoint.
	Binary File
	// Runtime holds the loader, shared libraries and /etc files: a layer of its own, below the
	// binary's, so it is shared between builds that change only the provider.
	Runtime []File
	// Arch is the OCI architecture (amd64, arm64).
	Arch string
	// Labels of the image config (org.opencontainers.image.*).
	Labels map[string]string
	// Created is the creation time and every file's mtime: a fixed value makes the image
	// reproducible (same inputs, same digest).
	Created time.Time
}

// Build returns the runtime image: two layers (runtime files, then the binary), entrypoint the
// binary, user 65532.
func Build(o Options) (v1.Image, error) {
	rt, err := layer(o.Runtime, o.Created, true)
	if err != nil {
		return nil, err
	}
	bin, err := layer([]File{o.Binary}, o.Created, false)
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, rt, bin)
	if err != nil {
		return nil, errors.Wrap(err, errAppend)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, errors.Wrap(err, errConfig)
	}
	cf = cf.DeepCopy()
	cf.OS = "linux"
	cf.Architecture = o.Arch
	cf.Created = v1.Time{Time: o.Created.UTC()}
	cf.Config.Entrypoint = []string{o.Binary.Path}
	cf.Config.User = "65532:65532"
	cf.Config.WorkingDir = "/home/nonroot"
	cf.Config.Env = []string{"PATH=/", "HOME=/home/nonroot"}
	cf.Config.Labels = o.Labels
	img, err = mutate.ConfigFile(img, cf)
	return img, errors.Wrap(err, errConfig)
}

// layer writes files, with every parent directory, as one tar layer in path order. base adds the
// directories a process expects: /tmp (sticky, world-writable) and the non-root home.
func layer(files []File, mtime time.Time, base bool) (v1.Layer, error) {
	byPath := map[string]File{}
	for _, f := range files {
		p := path.Clean(f.Path)
		if old, ok := byPath[p]; ok && (!bytes.Equal(old.Data, f.Data) || old.Link != f.Link) {
			return nil, errors.Errorf("%s: %s", errDuplicate, p)
		}
		f.Path = p
		byPath[p] = f
	}
	type dir struct {
		mode     int64
		uid, gid int
	}
	dirs := map[string]dir{}
	if base {
		dirs["/tmp"] = dir{mode: 0o1777}
		dirs["/home/nonroot"] = dir{mode: 0o755, uid: NonRoot, gid: NonRoot}
	}
	for p := range byPath {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := dirs[d]; !ok {
				dirs[d] = dir{mode: 0o755}
			}
		}
	}
	// Also the parents of the base directories (/home).
	for d := range dirs {
		for p := path.Dir(d); p != "/"; p = path.Dir(p) {
			if _, ok := dirs[p]; !ok {
				dirs[p] = dir{mode: 0o755}
			}
		}
	}
	names := make([]string, 0, len(dirs)+len(byPath))
	for d := range dirs {
		names = append(names, d)
	}
	for p := range byPath {
		names = append(names, p)
	}
	// Sorted paths put a directory before what it holds ("/a" < "/a/b").
	sort.Strings(names)

	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		h := &tar.Header{Name: n[1:], ModTime: mtime, Format: tar.FormatPAX}
		if d, ok := dirs[n]; ok {
			h.Typeflag, h.Name, h.Mode, h.Uid, h.Gid = tar.TypeDir, h.Name+"/", d.mode, d.uid, d.gid
			if err := tw.WriteHeader(h); err != nil {
				return nil, errors.Wrap(err, errTar)
			}
			continue
		}
		f := byPath[n]
		if f.Link != "" {
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, f.Link, 0o777
			if err := tw.WriteHeader(h); err != nil {
				return nil, errors.Wrap(err, errTar)
			}
			continue
		}
		h.Typeflag, h.Mode, h.Size = tar.TypeReg, f.Mode, int64(len(f.Data))
		if err := tw.WriteHeader(h); err != nil {
			return nil, errors.Wrap(err, errTar)
		}
		if _, err := tw.Write(f.Data); err != nil {
			return nil, errors.Wrap(err, errTar)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, errors.Wrap(err, errTar)
	}
	data := buf.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	return l, errors.Wrap(err, errLayer)
}
