package image

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const (
	errUnpack  = "cannot unpack the image"
	errOutside = "image entry points outside the target directory"
)

// Unpack writes the flattened filesystem of img (every layer applied, as a runtime would) under
// dir: directories, regular files and symlinks with their permission bits. Ownership is not kept.
func Unpack(img v1.Image, dir string) error {
	rc := mutate.Extract(img)
	defer rc.Close() //nolint:errcheck // read side
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return errors.Wrap(err, errUnpack)
		}
		dst := filepath.Join(dir, filepath.FromSlash(h.Name))
		if dst != dir && !strings.HasPrefix(dst, dir+string(filepath.Separator)) {
			return errors.Errorf("%s: %s", errOutside, h.Name)
		}
		if err := unpackEntry(tr, h, dst); err != nil {
			return errors.Wrap(err, errUnpack)
		}
	}
}

func unpackEntry(r io.Reader, h *tar.Header, dst string) error {
	mode := os.FileMode(h.Mode).Perm()
	if h.Mode&0o1000 != 0 {
		mode |= os.ModeSticky
	}
	switch h.Typeflag {
	case tar.TypeDir:
		if err := os.MkdirAll(dst, 0o755); err != nil {
			return err
		}
		return os.Chmod(dst, mode)
	case tar.TypeReg:
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode) //nolint:gosec // inside dir
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, r); err != nil { // our own image
			_ = f.Close()
			return err
		}
		return f.Close()
	case tar.TypeSymlink:
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.Symlink(h.Linkname, dst)
	}
	return nil
}
