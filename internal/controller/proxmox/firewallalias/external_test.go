package firewallalias

import (
	"testing"

	"k8s.io/utils/ptr"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
)

func TestDiff(t *testing.T) {
	cases := map[string]struct {
		spec v1alpha1.FirewallAliasParameters
		pve  proxmox.FirewallAlias
		want string
	}{
		"equal":                     {v1alpha1.FirewallAliasParameters{CIDR: "192.0.2.0/24", Comment: ptr.To("hq")}, proxmox.FirewallAlias{CIDR: "192.0.2.0/24", Comment: "hq"}, ""},
		"IPv6 written differently":  {v1alpha1.FirewallAliasParameters{CIDR: "2001:DB8::/64"}, proxmox.FirewallAlias{CIDR: "2001:db8::/64", Comment: "any"}, ""},
		"comment unset is left":     {v1alpha1.FirewallAliasParameters{CIDR: "192.0.2.1"}, proxmox.FirewallAlias{CIDR: "192.0.2.1", Comment: "by hand"}, ""},
		"another cidr":              {v1alpha1.FirewallAliasParameters{CIDR: "192.0.2.0/24"}, proxmox.FirewallAlias{CIDR: "192.0.2.0/25"}, "cidr: 192.0.2.0/25 -> 192.0.2.0/24"},
		"comment changed by hand":   {v1alpha1.FirewallAliasParameters{CIDR: "192.0.2.1", Comment: ptr.To("hq")}, proxmox.FirewallAlias{CIDR: "192.0.2.1", Comment: "x"}, "comment differs"},
		"comment emptied in spec":   {v1alpha1.FirewallAliasParameters{CIDR: "192.0.2.1", Comment: ptr.To("")}, proxmox.FirewallAlias{CIDR: "192.0.2.1", Comment: "x"}, "comment differs"},
		"address and network apart": {v1alpha1.FirewallAliasParameters{CIDR: "192.0.2.1"}, proxmox.FirewallAlias{CIDR: "192.0.2.1/32"}, "cidr: 192.0.2.1/32 -> 192.0.2.1"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			if got := diff(c.spec, c.pve); got != c.want {
				t.Errorf("diff = %q, want %q", got, c.want)
			}
		})
	}
}
