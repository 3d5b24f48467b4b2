package security

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// docs/security.md's table and pveum line are the role defined here.
func TestSecurityDocMatchesRole(t *testing.T) {
	b, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	row := regexp.MustCompile("(?m)^\\| (\\*\\*Total\\*\\*|[A-Za-z]+) \\| (`[^|]*`) \\|$")
	seen := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(doc, -1) {
		kind := m[1]
		var privs []string
		for _, p := range strings.Split(m[2], ", ") {
			privs = append(privs, strings.Trim(p, "`"))
		}
		want := ProxmoxKindPrivileges[kind]
		if kind == "**Total**" {
			want = ProxmoxRole()
		} else if want == nil {
			t.Errorf("docs/security.md lists kind %s, which pverole.go does not define", kind)
			continue
		}
		if got := strings.Join(privs, ","); got != strings.Join(want, ",") {
			t.Errorf("docs/security.md %s: %s\n pverole.go: %s", kind, got, strings.Join(want, ","))
		}
		seen[kind] = true
	}
	for _, k := range append(ProxmoxKinds(), "**Total**") {
		if !seen[k] {
			t.Errorf("docs/security.md's table has no row for %s", k)
		}
	}
	m := regexp.MustCompile(`pveum role add (\S+) -privs "([^"]+)"`).FindStringSubmatch(doc)
	if m == nil || m[1] != ProxmoxRoleName || m[2] != strings.Join(ProxmoxRole(), ",") {
		t.Errorf("docs/security.md's pveum role add line %q, want role %s with %s", m, ProxmoxRoleName, strings.Join(ProxmoxRole(), ","))
	}
}

// Every privilege is one PVE knows, and the lists are sorted without
// repeats (so the table reads the same as the code).
func TestRolePrivilegesValid(t *testing.T) {
	for kind, privs := range ProxmoxKindPrivileges {
		for i, p := range privs {
			if !pvesim.ValidPrivilege(p) {
				t.Errorf("%s: %q is not a PVE privilege", kind, p)
			}
			if i > 0 && privs[i-1] >= p {
				t.Errorf("%s: %q after %q", kind, p, privs[i-1])
			}
		}
	}
}
