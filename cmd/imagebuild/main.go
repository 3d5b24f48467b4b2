// Command imagebuild writes the provider's runtime image as an image tarball (the `docker save`
// layout that go-containerregistry's tarball package and `crossplane xpkg build
// --embed-runtime-image-tarball` read) without Docker: the binary, the shared libraries and loader
// the host maps for it, and minimal /etc files, entrypoint the binary, user 65532.
//
//	imagebuild --binary=_output/provider --output=_output/runtime.tar --version=v0.1.0
package main

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/microcloud-dev/provider-microcloud/internal/image"
)

const (
	errTag   = "cannot make the image tag"
	errWrite = "cannot write the image tarball"
	errSize  = "cannot measure the image"
)

// tagChars are the characters an OCI tag may hold; a git describe string may hold others.
var tagChars = regexp.MustCompile(`[^A-Za-z0-9_.-]`)

func main() {
	binary := flag.String("binary", "", "Executable to put at --entrypoint (required).")
	entrypoint := flag.String("entrypoint", "/provider", "Path of the executable in the image, its entrypoint (/function for a composition function).")
	title := flag.String("title", "provider-microcloud", "Image title label.")
	description := flag.String("description", "Crossplane provider for Proxmox VE and Ceph with a Fabric provenance ledger", "Image description label.")
	output := flag.String("output", "", "Image tarball to write (required).")
	version := flag.String("version", "v0.0.0-dev", "Provider version, for the tag and the version label.")
	repo := flag.String("repository", "xpkg.local/microcloud-dev/provider-microcloud", "Repository of the tag recorded in the tarball.")
	source := flag.String("source", "https://github.com/microcloud-dev/provider-microcloud", "Source label.")
	revision := flag.String("revision", "", "Source revision label (git commit).")
	created := flag.Int64("created", 0, "Creation time and file mtimes, Unix seconds (SOURCE_DATE_EPOCH); fixed for reproducible digests.")
	caBundle := flag.String("ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "Host CA bundle to include (empty: none).")
	var pluginDirs multi
	flag.Var(&pluginDirs, "plugin-dir", "Host directory of dlopen()ed shared objects to include with their libraries (repeatable).")
	flag.Parse()
	if *binary == "" || *output == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(params{binary: *binary, entrypoint: *entrypoint, title: *title, description: *description, output: *output, version: *version,
		repo: *repo, source: *source, revision: *revision, caBundle: *caBundle, pluginDirs: pluginDirs, created: time.Unix(*created, 0)}); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// params are the flags of one build.
type params struct {
	binary, entrypoint, title, description, output, version, repo, source, revision, caBundle string
	pluginDirs                                                                                []string
	created                                                                                   time.Time
}

func run(p params) error {
	binary, output, version, repo, source, revision, caBundle, pluginDirs, created :=
		p.binary, p.output, p.version, p.repo, p.source, p.revision, p.caBundle, p.pluginDirs, p.created
	if caBundle != "" {
		if _, err := os.Stat(caBundle); err != nil {
			fmt.Fprintf(os.Stderr, "imagebuild: no CA bundle at %s, the image gets none\n", caBundle)
			caBundle = ""
		}
	}
	rt, err := image.RuntimeFiles(binary, caBundle, pluginDirs...)
	if err != nil {
		return err
	}
	bin, err := image.HostFile(binary, p.entrypoint)
	if err != nil {
		return err
	}
	bin.Mode = 0o755
	arch, err := image.Arch(binary)
	if err != nil {
		return err
	}
	labels := map[string]string{
		"org.opencontainers.image.title":       p.title,
		"org.opencontainers.image.description": p.description,
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.source":      source,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.created":     created.UTC().Format(time.RFC3339),
	}
	if revision != "" {
		labels["org.opencontainers.image.revision"] = revision
	}
	img, err := image.Build(image.Options{Binary: bin, Runtime: rt, Arch: arch, Labels: labels, Created: created})
	if err != nil {
		return err
	}
	tag, err := name.NewTag(repo + ":" + tagChars.ReplaceAllString(version, "_"))
	if err != nil {
		return errors.Wrap(err, errTag)
	}
	if err := tarball.WriteToFile(output, tag, img); err != nil {
		return errors.Wrap(err, errWrite)
	}
	unpacked := int64(len(bin.Data))
	for _, f := range rt {
		unpacked += int64(len(f.Data))
	}
	return report(img, output, len(rt), unpacked)
}

// report prints the digest and sizes, for the build log and docs/package.md.
func report(img v1.Image, output string, runtimeFiles int, unpacked int64) error {
	d, err := img.Digest()
	if err != nil {
		return errors.Wrap(err, errSize)
	}
	ls, err := img.Layers()
	if err != nil {
		return errors.Wrap(err, errSize)
	}
	var packed int64
	for _, l := range ls {
		c, err := l.Size()
		if err != nil {
			return errors.Wrap(err, errSize)
		}
		packed += c
	}
	st, err := os.Stat(output)
	if err != nil {
		return errors.Wrap(err, errSize)
	}
	fmt.Fprintf(os.Stderr, "imagebuild: %s digest %s, %d runtime files, %.1f MB unpacked, layers %.1f MB compressed, tarball %.1f MB\n",
		output, d, runtimeFiles, float64(unpacked)/1e6, float64(packed)/1e6, float64(st.Size())/1e6)
	return nil
}
