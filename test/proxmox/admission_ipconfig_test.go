package proxmox

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

// The CEL messages of spec.forProvider.cloudInit.ipConfigs items.
const (
	msgIPConfigSyntax = "must be a comma-separated list of ip=, gw=, ip6= and gw6= settings"
	msgIPConfigDup    = "sets a key twice"
	msgIPConfigIP     = "ip= must be an IPv4 CIDR like 192.0.2.10/24 (prefix 8-32), or dhcp"
	msgIPConfigGW     = "gw= must be an IPv4 address like 192.0.2.1"
	msgIPConfigIP6    = "ip6= must be an IPv6 CIDR like 2001:db8::10/64 (prefix 8-128), or dhcp or auto"
	msgIPConfigGW6    = "gw6= must be an IPv6 address like 2001:db8::1"
	msgIPConfigGWIP   = "gw= needs a static ip= address in the same entry"
	msgIPConfigGW6IP6 = "gw6= needs a static ip6= address in the same entry"
)

var ipConfigMessages = []string{msgIPConfigSyntax, msgIPConfigDup, msgIPConfigIP, msgIPConfigGW,
	msgIPConfigIP6, msgIPConfigGW6, msgIPConfigGWIP, msgIPConfigGW6IP6}

// TestVirtualMachineIPConfigAdmission checks that the API server accepts the
// cloud-init ipconfig forms PVE's pve-qm-ipconfig format and parse_ipconfig
// accept, and rejects the others naming the entry and what is wrong with it.
func TestVirtualMachineIPConfigAdmission(t *testing.T) {
	env := envtest.Start(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	n := 0
	create := func(ipConfigs ...string) error {
		n++
		vm := &v1alpha1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("ipc-%d", n)}}
		vm.Spec.ForProvider = cloneOf(pvesim.DefaultTemplateID)
		vm.Spec.ForProvider.CloudInit = &v1alpha1.CloudInit{IPConfigs: ipConfigs}
		vm.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
		return env.Client.Create(ctx, vm)
	}

	good := [][]string{
		{"ip=dhcp"},
		{"ip=192.0.2.10/24,gw=192.0.2.1"},
		{"gw=192.0.2.1,ip=192.0.2.10/24"}, // order does not matter to PVE
		{"ip=10.1.2.3/8"},
		{"ip=192.0.2.10/32"},
		{"ip6=2001:db8::10/64,gw6=2001:db8::1"},
		{"ip6=fe80::1/128"},
		{"ip6=auto"},
		{"ip6=dhcp"},
		{"ip=dhcp,ip6=auto"},
		{"ip=192.0.2.10/24,gw=192.0.2.1,ip6=2001:db8::10/64,gw6=2001:db8::1"},
		{"ip=dhcp", "ip=198.51.100.7/24,gw=198.51.100.1", "ip6=auto"},
	}
	for _, c := range good {
		t.Run("accept "+strings.Join(c, " "), func(t *testing.T) {
			if err := create(c...); err != nil {
				t.Errorf("rejected: %v", err)
			}
		})
	}

	bad := []struct {
		ipConfigs []string
		index     int    // the entry the error must name
		want      string // the message it must carry
	}{
		{[]string{"ip=192.0.2.10"}, 0, msgIPConfigIP},         // address without prefix
		{[]string{"ip=192.0.2.10/33"}, 0, msgIPConfigIP},      // prefix too long
		{[]string{"ip=10.0.0.0/7"}, 0, msgIPConfigIP},         // PVE's CIDRv4 needs a prefix of 8-32
		{[]string{"ip=300.1.2.3/24"}, 0, msgIPConfigIP},       // not an address
		{[]string{"ip=192.168.01.1/24"}, 0, msgIPConfigIP},    // leading zero
		{[]string{"ip=2001:db8::10/64"}, 0, msgIPConfigIP},    // IPv6 in ip=
		{[]string{"ip=auto"}, 0, msgIPConfigIP},               // auto is for ip6= only
		{[]string{"ip6=192.0.2.10/24"}, 0, msgIPConfigIP6},    // IPv4 in ip6=
		{[]string{"ip6=2001:db8::10"}, 0, msgIPConfigIP6},     // address without prefix
		{[]string{"ip6=2001:db8::10/129"}, 0, msgIPConfigIP6}, // prefix too long
		{[]string{"ip=192.0.2.10/24,gw=2001:db8::1"}, 0, msgIPConfigGW},
		{[]string{"ip=192.0.2.10/24,gw=192.0.2.1/24"}, 0, msgIPConfigGW},
		{[]string{"ip6=2001:db8::10/64,gw6=192.0.2.1"}, 0, msgIPConfigGW6},
		{[]string{"gw=192.0.2.1"}, 0, msgIPConfigGWIP},                     // gw without ip
		{[]string{"ip=dhcp,gw=192.0.2.1"}, 0, msgIPConfigGWIP},             // gw with dhcp
		{[]string{"ip6=2001:db8::10/64,gw=192.0.2.1"}, 0, msgIPConfigGWIP}, // gw with only ip6
		{[]string{"gw6=2001:db8::1"}, 0, msgIPConfigGW6IP6},
		{[]string{"ip6=auto,gw6=2001:db8::1"}, 0, msgIPConfigGW6IP6},
		{[]string{"ip6=dhcp,gw6=2001:db8::1"}, 0, msgIPConfigGW6IP6},
		{[]string{"garbage"}, 0, msgIPConfigSyntax},
		{[]string{""}, 0, msgIPConfigSyntax},
		{[]string{"ip=dhcp,mtu=1500"}, 0, msgIPConfigSyntax},
		{[]string{"ip=dhcp,"}, 0, msgIPConfigSyntax},
		{[]string{"ip6=auto,,ip=dhcp"}, 0, msgIPConfigSyntax},
		{[]string{"IP=dhcp"}, 0, msgIPConfigSyntax},
		{[]string{"ip=dhcp,ip=192.0.2.10/24"}, 0, msgIPConfigDup},
		{[]string{"ip=dhcp", "ip=dhcp", "ip=198.51.100.7"}, 2, msgIPConfigIP},
		{[]string{"ip=dhcp", "ip6=auto,gw6=fe80::1"}, 1, msgIPConfigGW6IP6},
	}
	for _, c := range bad {
		t.Run("reject "+strings.Join(c.ipConfigs, " "), func(t *testing.T) {
			err := create(c.ipConfigs...)
			if err == nil {
				t.Fatalf("accepted; want %q on entry %d", c.want, c.index)
			}
			field := fmt.Sprintf("spec.forProvider.cloudInit.ipConfigs[%d]", c.index)
			if !strings.Contains(err.Error(), field) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %s with %q", err, field, c.want)
			}
			// Only what is wrong is reported: a valid part draws no message.
			for _, m := range ipConfigMessages {
				if m != c.want && strings.Contains(err.Error(), m) {
					t.Errorf("error %q also says %q", err, m)
				}
			}
		})
	}

	t.Run("reject an entry longer than 160 characters", func(t *testing.T) {
		long := "ip=dhcp" + strings.Repeat(",ip6=auto", 18)
		err := create(long)
		if err == nil || !strings.Contains(err.Error(), "spec.forProvider.cloudInit.ipConfigs[0]") || !strings.Contains(err.Error(), "160") {
			t.Errorf("error %v, want ipConfigs[0] too long (at most 160)", err)
		}
	})
}
