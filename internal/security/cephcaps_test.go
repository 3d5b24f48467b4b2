package security

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// cephSection is docs/security.md from its Ceph heading on.
func cephSection(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n## Ceph (cephx caps)\n")
	if !ok {
		t.Fatal("docs/security.md has no '## Ceph (cephx caps)' section")
	}
	return sec
}

// docCell renders grants as the table writes them: each in backticks, comma separated.
func docCell(grants []string) string {
	out := make([]string, len(grants))
	for i, g := range grants {
		out[i] = "`" + g + "`"
	}
	return strings.Join(out, ", ")
}

// The Ceph section's caps table and `ceph auth get-or-create` line are the caps defined here.
func TestSecurityDocMatchesCephCaps(t *testing.T) {
	sec := cephSection(t)
	row := regexp.MustCompile(`(?m)^\| (\*\*Total\*\*|every kind|[A-Za-z]+) \| (.*) \|$`)
	want := map[string]map[string][]string{"every kind": CephBaseCaps, "**Total**": CephCaps()}
	for k, caps := range CephKindCaps {
		want[k] = caps
	}
	seen := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(sec, -1) {
		name := m[1]
		caps, ok := want[name]
		if !ok {
			continue // another table (what a missing cap looks like)
		}
		cells := strings.Split(m[2], " | ")
		if len(cells) != len(CephServices) {
			t.Errorf("docs/security.md row %s has %d cap columns, want %d (%v)", name, len(cells), len(CephServices), CephServices)
			continue
		}
		for i, svc := range CephServices {
			gs := slices.Clone(caps[svc])
			SortGrants(gs)
			if got, w := strings.TrimSpace(cells[i]), docCell(gs); got != w {
				t.Errorf("docs/security.md %s %s:\n  %s\ncephcaps.go:\n  %s", name, svc, got, w)
			}
		}
		seen[name] = true
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("docs/security.md's Ceph table has no row for %s", name)
		}
	}
	cmd := CephAuthCommand(CephClientName, CephCaps())
	if !strings.Contains(sec, "\n"+cmd+"\n") {
		t.Errorf("docs/security.md's Ceph section lacks the line\n%s", cmd)
	}
	if rgw := `--caps="` + RGWAdminCaps + `"`; !strings.Contains(sec, rgw) {
		t.Errorf("docs/security.md's Ceph section does not give the RGW user %s", rgw)
	}
}

// Ceph 16 does not authenticate a client whose mon caps text is a multiple of 256 bytes long:
// neither the documented caps nor a single kind's (with the first row) may be.
func TestCephCapsAuthenticate(t *testing.T) {
	sets := map[string]map[string][]string{"all kinds": CephCaps()}
	for _, k := range CephKinds() {
		sets[k] = CephCaps(k)
	}
	for name, caps := range sets {
		for svc, gs := range caps {
			if n := len(CephCapString(gs)); n%256 == 0 {
				t.Errorf("%s: %s caps are %d bytes long, which Ceph 16 cannot authenticate", name, svc, n)
			}
		}
	}
}

// Every grant is an allow grant of a known service, and none repeats within a kind.
func TestCephCapsWellFormed(t *testing.T) {
	check := func(name string, caps map[string][]string) {
		for svc, gs := range caps {
			if !slices.Contains(CephServices, svc) {
				t.Errorf("%s: unknown service %q", name, svc)
			}
			sorted := slices.Clone(gs)
			SortGrants(sorted)
			for i := 1; i < len(sorted); i++ {
				if sorted[i] == sorted[i-1] {
					t.Errorf("%s %s: %q twice", name, svc, sorted[i])
				}
			}
			for _, g := range gs {
				if !strings.HasPrefix(g, "allow ") {
					t.Errorf("%s %s: %q is not an allow grant", name, svc, g)
				}
			}
		}
	}
	check("every kind", CephBaseCaps)
	for k, caps := range CephKindCaps {
		check(k, caps)
	}
	// allow * swallows the service's other grants in the total
	if got := CephCaps()["mds"]; !slices.Equal(got, []string{"allow *"}) {
		t.Errorf("total mds caps = %q, want only allow *", got)
	}
	if got := CephCaps("Subvolume")["mds"]; !slices.Equal(got, []string{"allow r"}) {
		t.Errorf("Subvolume's mds caps = %q, want allow r", got)
	}
}
