package proxmox

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

// TestNodeFirewallAdmission checks that the API server accepts the node
// names PVE's pve-node format accepts (^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$,
// a host name label), rejects the others naming spec.forProvider.node, and
// refuses moving a NodeFirewall to another node while other changes pass.
func TestNodeFirewallAdmission(t *testing.T) {
	env := envtest.Start(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	n := 0
	nodeFW := func(p v1alpha1.NodeFirewallParameters) *v1alpha1.NodeFirewall {
		n++
		fw := &v1alpha1.NodeFirewall{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("nodefw-%d", n)}}
		fw.Spec.ForProvider = p
		fw.Spec.ProviderConfigReference = &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
		return fw
	}

	for _, node := range []string{"pve1", "a", "7", "1node", "PVE-Node-2", "a--b", strings.Repeat("n", 63)} {
		t.Run("accept node "+node, func(t *testing.T) {
			if err := env.Client.Create(ctx, nodeFW(v1alpha1.NodeFirewallParameters{Node: node})); err != nil {
				t.Errorf("rejected: %v", err)
			}
		})
	}

	bad := map[string]struct {
		p    v1alpha1.NodeFirewallParameters
		want string // what the error must say after naming the field
	}{
		"empty node":             {v1alpha1.NodeFirewallParameters{Node: ""}, "should match"},
		"leading hyphen":         {v1alpha1.NodeFirewallParameters{Node: "-pve1"}, "should match"},
		"trailing hyphen":        {v1alpha1.NodeFirewallParameters{Node: "pve1-"}, "should match"},
		"underscore":             {v1alpha1.NodeFirewallParameters{Node: "pve_1"}, "should match"},
		"fully qualified":        {v1alpha1.NodeFirewallParameters{Node: "pve1.example.org"}, "should match"},
		"space":                  {v1alpha1.NodeFirewallParameters{Node: "pve 1"}, "should match"},
		"longer than a label":    {v1alpha1.NodeFirewallParameters{Node: strings.Repeat("n", 64)}, "may not be more than 63"},
		"log level not syslog's": {v1alpha1.NodeFirewallParameters{Node: "pve1", LogLevelIn: ptr.To("verbose")}, "spec.forProvider.logLevelIn"},
	}
	for name, c := range bad {
		t.Run("reject "+name, func(t *testing.T) {
			err := env.Client.Create(ctx, nodeFW(c.p))
			if err == nil {
				t.Fatalf("accepted; want %q", c.want)
			}
			field := "spec.forProvider.node"
			if c.p.LogLevelIn != nil {
				field = "spec.forProvider.logLevelIn"
			}
			if !strings.Contains(err.Error(), field+":") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %s with %q", err, field, c.want)
			}
		})
	}

	// Changes: the node is fixed, the firewall's settings are not.
	fw := nodeFW(v1alpha1.NodeFirewallParameters{Node: "pve1", Enabled: ptr.To(true)})
	mustCreate(t, env.Client, fw)
	t.Run("change settings", func(t *testing.T) {
		fw.Spec.ForProvider.Enabled = ptr.To(false)
		fw.Spec.ForProvider.Rules = &[]v1alpha1.FirewallRule{{Type: "in", Action: "ACCEPT", Proto: ptr.To("tcp"), DPort: ptr.To("8006")}}
		if err := env.Client.Update(ctx, fw); err != nil {
			t.Errorf("rejected: %v", err)
		}
	})
	t.Run("move node", func(t *testing.T) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(fw), fw); err != nil {
			t.Fatal(err)
		}
		fw.Spec.ForProvider.Node = "pve2"
		err := env.Client.Update(ctx, fw)
		if err == nil {
			t.Fatal("updated; want spec.forProvider.node is immutable")
		}
		if !strings.Contains(err.Error(), "spec.forProvider.node is immutable") {
			t.Errorf("error %q does not say spec.forProvider.node is immutable", err)
		}
	})
}

// TestGuestIPSetAdmission checks, for VMs and containers alike, that the API
// server accepts the guest IP set names PVE's ipset name accepts
// ([A-Za-z][A-Za-z0-9\-\_]+, 2-64 characters) and rejects the others,
// duplicate sets and bad entries, naming the set or entry.
func TestGuestIPSetAdmission(t *testing.T) {
	env := envtest.Start(t)
	ns := env.Namespace(t)
	ctx := context.Background()
	ref := &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"}
	n := 0
	kinds := map[string]func(fw *v1alpha1.GuestFirewall) client.Object{
		"VirtualMachine": func(fw *v1alpha1.GuestFirewall) client.Object {
			n++
			vm := &v1alpha1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("ipset-vm-%d", n)}}
			vm.Spec.ForProvider = cloneOf(pvesim.DefaultTemplateID)
			vm.Spec.ForProvider.Firewall = fw
			vm.Spec.ProviderConfigReference = ref
			return vm
		},
		"Container": func(fw *v1alpha1.GuestFirewall) client.Object {
			n++
			ct := &v1alpha1.Container{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("ipset-ct-%d", n)}}
			ct.Spec.ForProvider = debianCT()
			ct.Spec.ForProvider.Firewall = fw
			ct.Spec.ProviderConfigReference = ref
			return ct
		},
	}
	sets := func(s ...v1alpha1.GuestIPSet) *v1alpha1.GuestFirewall {
		return &v1alpha1.GuestFirewall{IPSets: &s}
	}
	named := func(names ...string) *v1alpha1.GuestFirewall {
		s := make([]v1alpha1.GuestIPSet, 0, len(names))
		for _, name := range names {
			s = append(s, v1alpha1.GuestIPSet{Name: name})
		}
		return sets(s...)
	}
	withEntries := func(cidrs ...string) *v1alpha1.GuestFirewall {
		s := v1alpha1.GuestIPSet{Name: "admins"}
		for _, c := range cidrs {
			s.Entries = append(s.Entries, v1alpha1.FirewallIPSetEntry{CIDR: c})
		}
		return sets(s)
	}
	many := func(k int) *v1alpha1.GuestFirewall {
		names := make([]string, k)
		for i := range names {
			names[i] = fmt.Sprintf("set%d", i)
		}
		return named(names...)
	}

	good := map[string]*v1alpha1.GuestFirewall{
		"none":                 sets(),
		"ipfilter of net0":     named("ipfilter-net0"),
		"two characters":       named("ab"),
		"underscore and digit": named("Lab_2", "web-1"),
		"64 characters":        named("s" + strings.Repeat("x", 63)),
		"32 sets":              many(32),
		"entries":              withEntries("10.0.0.5", "10.1.0.0/16", "2001:db8::/32"),
	}
	bad := map[string]struct {
		fw    *v1alpha1.GuestFirewall
		field string // the path the error must name
		want  string // what it must say
	}{
		"starts with a digit": {named("admins", "1set"), "spec.forProvider.firewall.ipSets[1].name", "should match"},
		"starts with hyphen":  {named("-set"), "spec.forProvider.firewall.ipSets[0].name", "should match"},
		"one character":       {named("a"), "spec.forProvider.firewall.ipSets[0].name", "should match"},
		"dot":                 {named("ip.set"), "spec.forProvider.firewall.ipSets[0].name", "should match"},
		"space":               {named("ip set"), "spec.forProvider.firewall.ipSets[0].name", "should match"},
		"plus prefix":         {named("+admins"), "spec.forProvider.firewall.ipSets[0].name", "should match"},
		"65 characters":       {named("s" + strings.Repeat("x", 64)), "spec.forProvider.firewall.ipSets[0].name", "may not be more than 64"},
		"a set twice":         {named("admins", "web", "admins"), "spec.forProvider.firewall.ipSets[2]", "Duplicate value"},
		"33 sets":             {many(33), "spec.forProvider.firewall.ipSets", "must have at most 32 items"},
		"entry not an address": {withEntries("10.0.0.5", "office"), "spec.forProvider.firewall.ipSets[0].entries[1].cidr",
			"must be an IP address or a CIDR network"},
		"entry prefix below /8": {withEntries("10.0.0.0/4"), "spec.forProvider.firewall.ipSets[0].entries[0].cidr",
			"must be an IP address or a CIDR network"},
		"entry twice": {withEntries("10.0.0.5", "10.0.0.5"), "spec.forProvider.firewall.ipSets[0].entries[1]", "Duplicate value"},
	}

	for kind, obj := range kinds {
		for name, fw := range good {
			t.Run(kind+" accept "+name, func(t *testing.T) {
				if err := env.Client.Create(ctx, obj(fw)); err != nil {
					t.Errorf("rejected: %v", err)
				}
			})
		}
		for name, c := range bad {
			t.Run(kind+" reject "+name, func(t *testing.T) {
				err := env.Client.Create(ctx, obj(c.fw))
				if err == nil {
					t.Fatalf("accepted; want %s: %q", c.field, c.want)
				}
				if !strings.Contains(err.Error(), c.field+":") || !strings.Contains(err.Error(), c.want) {
					t.Errorf("error %q does not name %s with %q", err, c.field, c.want)
				}
			})
		}
	}
}
