package function

import (
	"fmt"
	"strconv"

	"github.com/crossplane/function-sdk-go/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	pvev1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

// A Size is a VPS preset.
type Size struct {
	Cores     int64
	MemoryMiB int64
}

// Sizes are the VPS presets (spec.size).
var Sizes = map[string]Size{
	"small":  {Cores: 1, MemoryMiB: 2048},
	"medium": {Cores: 2, MemoryMiB: 4096},
	"large":  {Cores: 4, MemoryMiB: 8192},
}

// Pipeline resource names of a VPS's composed resources.
const (
	vpsVM       resource.Name = "vm"
	vpsFirewall resource.Name = "firewall"
	vpsData     resource.Name = "data"
)

// VPSResult is what a VPS composed, for its status.
type VPSResult struct {
	Size          Size
	SecurityGroup string
	DataImage     string
}

// composeVPS builds one VM of a size preset, its security group of open ports and an RBD data
// volume.
func composeVPS(namespace, xr string, s VPSSpec, d desired) (VPSResult, error) {
	s.defaults()
	size, ok := Sizes[s.Size]
	if !ok {
		return VPSResult{}, fmt.Errorf("spec.size must be small, medium or large, got %q", s.Size)
	}
	if s.Node == "" {
		return VPSResult{}, fmt.Errorf("spec.node is required")
	}
	if s.DataVolume.Pool == "" {
		return VPSResult{}, fmt.Errorf("spec.dataVolume.pool is required")
	}
	r := VPSResult{Size: size, SecurityGroup: securityGroupName(namespace, xr, "vps"),
		DataImage: globalName(namespace, xr+"-data")}
	mrs := managedSpec(s.ProviderConfigRef)

	rules := make([]pvev1alpha1.FirewallRule, 0, len(s.OpenPorts))
	for _, p := range s.OpenPorts {
		rule := pvev1alpha1.FirewallRule{Type: "in", Action: "ACCEPT", Proto: ptr(p.Protocol),
			DPort: ptr(strconv.FormatInt(p.Port, 10)), Comment: ptr("spec.openPorts")}
		if p.SourceCIDR != "" {
			rule.Source = ptr(p.SourceCIDR)
		}
		rules = append(rules, rule)
	}
	if err := d.add(vpsFirewall, &pvev1alpha1.FirewallSecurityGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: r.SecurityGroup},
		Spec: pvev1alpha1.FirewallSecurityGroupSpec{ManagedResourceSpec: mrs,
			ForProvider: pvev1alpha1.FirewallSecurityGroupParameters{
				Comment: ptr(fmt.Sprintf("open ports of VPS %s/%s", namespace, xr)), Rules: rules}},
	}); err != nil {
		return r, err
	}

	params := pvev1alpha1.VirtualMachineParameters{
		Node: s.Node, Name: ptr(xr), Clone: cloneSource(s.Template),
		// Sockets is set: the SDK's JSON encoder writes a zero int despite omitempty.
		Cores: size.Cores, Sockets: 1, MemoryMiB: size.MemoryMiB, Tags: []string{"vps", s.Size},
		Networks: []pvev1alpha1.NetworkInterface{{Bridge: s.Bridge, Firewall: ptr(true)}},
		Firewall: &pvev1alpha1.GuestFirewall{Enabled: ptr(true), PolicyIn: ptr("DROP"),
			SecurityGroupRefs: []xpv2.NamespacedReference{{Name: r.SecurityGroup}}},
	}
	if s.ProxmoxPool != "" {
		params.Pool = ptr(s.ProxmoxPool)
	}
	if len(s.SSHKeys) > 0 {
		params.CloudInit = &pvev1alpha1.CloudInit{SSHKeys: s.SSHKeys}
	}
	if err := d.add(vpsVM, &pvev1alpha1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: xr},
		Spec:       pvev1alpha1.VirtualMachineSpec{ManagedResourceSpec: mrs, ForProvider: params},
	}); err != nil {
		return r, err
	}
	return r, d.add(vpsData, &cephv1alpha1.RBDImage{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: r.DataImage},
		Spec: cephv1alpha1.RBDImageSpec{ManagedResourceSpec: mrs,
			ForProvider: cephv1alpha1.RBDImageParameters{Pool: ptr(s.DataVolume.Pool), SizeMiB: s.DataVolume.SizeGiB * 1024}},
	})
}
