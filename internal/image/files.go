package image

import (
	"os"
	"path/filepath"
	"sort"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const errPlugins = "cannot read a plugin directory"

// The /etc files of a scratch image: the non-root user for user lookups (glibc's getpwuid, used by
// librados for $HOME and by Go's os/user), and name resolution through /etc/hosts then DNS.
const (
	passwd = "root:x:0:0:root:/root:/sbin/nologin\n" +
		"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
	group        = "root:x:0:\nnonroot:x:65532:\n"
	nsswitch     = "passwd: files\ngroup: files\nhosts: files dns\n"
	hosts        = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
	caBundlePath = "/etc/ssl/certs/ca-certificates.crt"
)

// RuntimeFiles returns what the binary needs beside itself: the loader and every shared library
// the host's loader maps for it (kept at the paths ldd prints), the /etc files above and, when
// caBundle is not empty, that host file as the system CA bundle (Go's crypto/x509 reads
// /etc/ssl/certs/ca-certificates.crt, for a PVE endpoint with a publicly signed certificate).
//
// pluginDirs are host directories of shared objects loaded with dlopen, which ldd cannot see
// (librados' compressor and crypto plugins): copied as they are (symlinks kept), with the
// libraries they link.
func RuntimeFiles(binary, caBundle string, pluginDirs ...string) ([]File, error) {
	libs, err := SharedLibraries(binary)
	if err != nil {
		return nil, err
	}
	files := []File{
		{Path: "/etc/passwd", Data: []byte(passwd), Mode: 0o644},
		{Path: "/etc/group", Data: []byte(group), Mode: 0o644},
		{Path: "/etc/nsswitch.conf", Data: []byte(nsswitch), Mode: 0o644},
		{Path: "/etc/hosts", Data: []byte(hosts), Mode: 0o644},
	}
	for _, d := range pluginDirs {
		pf, pl, err := plugins(d)
		if err != nil {
			return nil, err
		}
		files = append(files, pf...)
		libs = append(libs, pl...)
	}
	seen := map[string]bool{}
	for _, l := range libs {
		if seen[l] {
			continue
		}
		seen[l] = true
		f, err := HostFile(l, l)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if caBundle != "" {
		f, err := HostFile(caBundle, caBundlePath)
		if err != nil {
			return nil, err
		}
		f.Mode = 0o644
		files = append(files, f)
	}
	return files, nil
}

// plugins returns the entries of dir (not recursive) and the libraries its shared objects link.
func plugins(dir string) ([]File, []string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, errors.Wrap(err, errPlugins)
	}
	var files []File
	var libs []string
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		if e.Type()&os.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			if err != nil {
				return nil, nil, errors.Wrap(err, errPlugins)
			}
			files = append(files, File{Path: p, Link: target})
			continue
		}
		if !e.Type().IsRegular() {
			continue
		}
		f, err := HostFile(p, p)
		if err != nil {
			return nil, nil, err
		}
		l, err := SharedLibraries(p)
		if err != nil {
			return nil, nil, err
		}
		files, libs = append(files, f), append(libs, l...)
	}
	sort.Strings(libs)
	return files, libs, nil
}
