package image

import (
	"bufio"
	"bytes"
	"debug/elf"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const (
	errOpenELF   = "cannot read the binary as ELF"
	errInterp    = "cannot read the binary's program interpreter"
	errLdd       = "cannot list shared libraries with ldd"
	errNotFound  = "ldd cannot find a shared library the binary needs"
	errRelative  = "ldd printed a library path that is not absolute"
	errMultiArch = "binary is not a linux/amd64 or linux/arm64 ELF executable"
)

// Interpreter returns the dynamic loader a binary names in its PT_INTERP header (for example
// /lib64/ld-linux-x86-64.so.2), or "" for a static binary.
func Interpreter(binary string) (string, error) {
	f, err := elf.Open(binary)
	if err != nil {
		return "", errors.Wrap(err, errOpenELF)
	}
	defer f.Close() //nolint:errcheck // read-only file
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return "", errors.Wrap(err, errInterp)
		}
		return string(bytes.TrimRight(b, "\x00")), nil
	}
	return "", nil
}

// Arch returns the OCI architecture of an ELF binary.
func Arch(binary string) (string, error) {
	f, err := elf.Open(binary)
	if err != nil {
		return "", errors.Wrap(err, errOpenELF)
	}
	defer f.Close() //nolint:errcheck // read-only file
	switch f.Machine {
	case elf.EM_X86_64:
		return "amd64", nil
	case elf.EM_AARCH64:
		return "arm64", nil
	}
	return "", errors.New(errMultiArch)
}

// SharedLibraries returns the absolute paths of every shared object the host's dynamic loader
// maps for an ELF executable or shared object (the transitive closure ldd prints, the loader
// included), sorted. The paths are the names the loader looks up, which may be symlinks on the
// host: the image keeps those names and the content they point to. A static binary has none.
func SharedLibraries(path string) ([]string, error) {
	dynamic, err := isDynamic(path)
	if err != nil || !dynamic {
		return nil, err
	}
	interp, err := Interpreter(path)
	if err != nil {
		return nil, err
	}
	out, err := exec.Command("ldd", path).CombinedOutput() //nolint:gosec // the build's own inputs
	if err != nil {
		return nil, errors.Wrapf(err, "%s: %s", errLdd, strings.TrimSpace(string(out)))
	}
	return parseLdd(out, interp)
}

// isDynamic reports whether an ELF file has a dynamic section (links shared objects).
func isDynamic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, errors.Wrap(err, errOpenELF)
	}
	defer f.Close() //nolint:errcheck // read-only file
	for _, p := range f.Progs {
		if p.Type == elf.PT_DYNAMIC {
			return true, nil
		}
	}
	return false, nil
}

// parseLdd reads ldd's lines: "name => /path (0x...)", "/path (0x...)" (the loader) and
// "linux-vdso.so.1 (0x...)" (in the kernel, nothing to copy).
func parseLdd(out []byte, interp string) ([]string, error) {
	seen := map[string]bool{}
	if interp != "" {
		seen[interp] = true
	}
	s := bufio.NewScanner(bytes.NewReader(out))
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if line == "" {
			continue
		}
		if strings.Contains(line, "=> not found") {
			return nil, errors.Errorf("%s: %s", errNotFound, line)
		}
		p := line
		if _, after, ok := strings.Cut(line, "=>"); ok {
			p = strings.TrimSpace(after)
		}
		if i := strings.Index(p, " ("); i >= 0 {
			p = p[:i]
		}
		if p == "" || strings.HasPrefix(line, "linux-vdso") || strings.HasPrefix(line, "linux-gate") {
			continue
		}
		if !filepath.IsAbs(p) {
			return nil, errors.Errorf("%s: %s", errRelative, line)
		}
		seen[filepath.Clean(p)] = true
	}
	libs := make([]string, 0, len(seen))
	for p := range seen {
		libs = append(libs, p)
	}
	sort.Strings(libs)
	return libs, nil
}
