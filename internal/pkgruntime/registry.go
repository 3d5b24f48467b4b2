package pkgruntime

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// xpkgAnnotation marks the layer holding package.yaml in an xpkg's manifest; Crossplane reads only
// that layer when it finds it (and flattens every layer otherwise).
const xpkgAnnotation = "io.crossplane.xpkg"

// Registry is an in-memory OCI registry (go-containerregistry's pkg/registry) on a loopback address.
type Registry struct {
	Addr string
	srv  *http.Server
	done chan error
}

// ServeRegistry starts the registry on addr, which must be a loopback address (port 0 picks one).
func ServeRegistry(addr string, logger *log.Logger) (*Registry, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("the registry serves on a loopback IP only, not %q", host)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	r := &Registry{Addr: l.Addr().String(), done: make(chan error, 1)}
	r.srv = &http.Server{Handler: registry.New(registry.Logger(logger)), ReadHeaderTimeout: 10 * time.Second}
	go func() { r.done <- r.srv.Serve(l) }()
	return r, nil
}

// Close stops the registry.
func (r *Registry) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := r.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// A client kept a connection busy past the grace period (seen under load with
		// go-containerregistry's keep-alive pulls): cut what is left.
		err = r.srv.Close()
	}
	if e := <-r.done; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// Push writes the xpkg file (an image tarball as `crossplane xpkg build` writes it) to ref, e.g.
// 127.0.0.1:5000/microcloud-dev/provider-microcloud:v0.1.0, as an OCI manifest whose package layer
// carries the io.crossplane.xpkg=base annotation (taken from the image config's labels, where the
// CLI records it). Loopback registries are spoken to over plain HTTP. Returns the manifest digest.
func Push(file, ref string) (string, error) {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return "", err
	}
	if !isLoopbackRegistry(r.Context().RegistryStr()) {
		return "", fmt.Errorf("push only to a loopback registry, not %s", r.Context().RegistryStr())
	}
	src, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", file, err)
	}
	img, err := annotated(src)
	if err != nil {
		return "", fmt.Errorf("cannot annotate %s: %w", file, err)
	}
	if err := remote.Write(r, img); err != nil {
		return "", fmt.Errorf("cannot push %s to %s: %w", file, ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return d.String(), nil
}

func isLoopbackRegistry(host string) bool {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = host
	}
	ip := net.ParseIP(h)
	return h == "localhost" || (ip != nil && ip.IsLoopback())
}

// annotated rebuilds src as an OCI image with the same config and layers, annotating the layers
// the config labels `io.crossplane.xpkg:<layer digest>` name (value "base" for package.yaml).
func annotated(src v1.Image) (v1.Image, error) {
	cf, err := src.ConfigFile()
	if err != nil {
		return nil, err
	}
	layers, err := src.Layers()
	if err != nil {
		return nil, err
	}
	adds := make([]mutate.Addendum, 0, len(layers))
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return nil, err
		}
		a := mutate.Addendum{Layer: l, MediaType: types.OCILayer}
		if v, ok := cf.Config.Labels[xpkgAnnotation+":"+d.String()]; ok {
			a.Annotations = map[string]string{xpkgAnnotation: v}
		}
		adds = append(adds, a)
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.Append(img, adds...)
	if err != nil {
		return nil, err
	}
	// The original config: same diff IDs and history as the layers appended above.
	return mutate.ConfigFile(img, cf)
}
