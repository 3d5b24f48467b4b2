package ipsetplan

import (
	"strings"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
)

func TestPlan(t *testing.T) {
	e := func(cidr string, nomatch bool, comment string) proxmox.IPSetEntry {
		return proxmox.IPSetEntry{CIDR: cidr, NoMatch: nomatch, Comment: comment}
	}
	cases := map[string]struct {
		want, have []proxmox.IPSetEntry
		ops        string
	}{
		"equal, in another order": {[]proxmox.IPSetEntry{e("10.0.0.0/8", false, "a"), e("10.1.1.1", true, "")},
			[]proxmox.IPSetEntry{e("10.1.1.1", true, ""), e("10.0.0.0/8", false, " a ")}, ""},
		"IPv6 written differently": {[]proxmox.IPSetEntry{e("2001:DB8::/32", false, "")}, []proxmox.IPSetEntry{e("2001:db8::/32", false, "")}, ""},
		"create all":               {[]proxmox.IPSetEntry{e("10.0.0.0/8", false, ""), e("10.1.1.1", false, "")}, nil, "add 10.0.0.0/8, add 10.1.1.1"},
		"empty the set":            {nil, []proxmox.IPSetEntry{e("10.0.0.0/8", false, "")}, "remove 10.0.0.0/8"},
		"removes before adds and sets": {[]proxmox.IPSetEntry{e("10.2.0.0/16", false, ""), e("10.1.1.1", false, "x")},
			[]proxmox.IPSetEntry{e("10.1.1.1", true, ""), e("10.3.0.0/16", false, "")},
			`remove 10.3.0.0/16, set 10.1.1.1 nomatch=false comment="x", add 10.2.0.0/16`},
		"updates address PVE's cidr": {[]proxmox.IPSetEntry{e("2001:db8::1", true, "")}, []proxmox.IPSetEntry{e("2001:DB8::1", false, "")},
			`set 2001:DB8::1 nomatch=true comment=""`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			var got []string
			for _, o := range Plan(c.want, c.have) {
				got = append(got, o.String())
			}
			if g := strings.Join(got, ", "); g != c.ops {
				t.Errorf("plan = %q, want %q", g, c.ops)
			}
		})
	}
}
