package pkgruntime

import (
	"io"
	"log"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// A revision's image is pulled once: later passes use the unpacked copy, even with the registry
// gone; another revision pulls its own.
func TestRevisionImagePulledOnce(t *testing.T) {
	reg, err := ServeRegistry("127.0.0.1:0", log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config.Entrypoint = []string{"/provider"}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	ref := reg.Addr + "/microcloud-dev/provider-microcloud:v0.1.0"
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
	rt := &Runtime{o: Options{Dir: t.TempDir()}, images: map[string]*unpacked{}}
	first, err := rt.image("rev-a", ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := rt.image("rev-a", ref)
	if err != nil || again != first {
		t.Fatalf("second pass pulled again or failed: %v", err)
	}
	if _, err := rt.image("rev-b", ref); err == nil {
		t.Fatal("another revision's image came from the cache, not its own pull")
	}
}
