package pkgruntime

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/microcloud-dev/provider-microcloud/internal/image"
)

// unpacked is a package's runtime image written to disk: its root filesystem and how to start it.
type unpacked struct {
	Digest     string
	Root       string
	Entrypoint []string
	Env        []string
}

// unpackImage pulls ref (a loopback registry over plain HTTP) and writes its flattened filesystem
// under dir/images/<digest>, once per digest: the package image is the runtime image, as
// `crossplane xpkg build --embed-runtime-image-tarball` makes it.
func unpackImage(dir, ref string) (*unpacked, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(r)
	if err != nil {
		return nil, fmt.Errorf("cannot pull %s: %w", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	if len(cf.Config.Entrypoint) == 0 {
		return nil, fmt.Errorf("image %s has no entrypoint: not a runtime image", ref)
	}
	u := &unpacked{Digest: d.String(), Root: filepath.Join(dir, "images", d.Hex), Entrypoint: cf.Config.Entrypoint, Env: cf.Config.Env}
	if _, err := os.Stat(u.Root); err == nil {
		return u, nil
	}
	tmp := u.Root + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, err
	}
	if err := image.Unpack(img, tmp); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("cannot unpack %s: %w", ref, err)
	}
	if err := os.Rename(tmp, u.Root); err != nil {
		return nil, err
	}
	return u, nil
}

// command is the entrypoint's path inside the unpacked root and its arguments.
func (u *unpacked) command() (string, []string) {
	return filepath.Join(u.Root, strings.TrimPrefix(u.Entrypoint[0], "/")), u.Entrypoint[1:]
}
