package function

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/crossplane/function-sdk-go/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	pvev1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

// ValidatorSetResult is what composing a ValidatorSet yields besides its resources.
type ValidatorSetResult struct {
	Placement []Placement
	// Warning is set when one failure domain holds more than f validators.
	Warning string
}

// Pipeline resource names of a ValidatorSet's composed resources.
func validatorName(i int) resource.Name { return resource.Name("validator-" + strconv.Itoa(i)) }
func chainName(i int) resource.Name     { return resource.Name("chain-" + strconv.Itoa(i)) }

const firewallName resource.Name = "firewall"

// composeValidatorSet builds n = 3f+1 validator VMs on distinct nodes, one chain-state RBD image
// each and one security group that every validator links.
func composeValidatorSet(namespace, xr string, s ValidatorSetSpec, d desired) (ValidatorSetResult, error) {
	s.defaults()
	if s.FaultsTolerated < 1 {
		return ValidatorSetResult{}, fmt.Errorf("spec.faultsTolerated must be at least 1, got %d", s.FaultsTolerated)
	}
	if s.ChainStorage.Pool == "" {
		return ValidatorSetResult{}, fmt.Errorf("spec.chainStorage.pool is required")
	}
	n := ValidatorCount(s.FaultsTolerated)
	placement, err := Place(s.Nodes, n)
	if err != nil {
		return ValidatorSetResult{}, err
	}
	res := ValidatorSetResult{Placement: placement}
	if m := MaxPerDomain(placement); m > s.FaultsTolerated && hasDomains(s.Nodes) {
		res.Warning = fmt.Sprintf("one rack holds %d validators, more than spec.faultsTolerated=%d: losing that rack halts the set; add nodes in other racks to spec.nodes", m, s.FaultsTolerated)
	}

	sg := securityGroupName(namespace, xr, "validators")
	if err := d.add(firewallName, validatorFirewall(namespace, xr, sg, s)); err != nil {
		return res, err
	}
	for _, p := range placement {
		if err := d.add(validatorName(p.Validator), validatorVM(namespace, xr, sg, s, p)); err != nil {
			return res, err
		}
		img := &cephv1alpha1.RBDImage{
			ObjectMeta: metav1.ObjectMeta{
				Namespace: namespace,
				Name:      globalName(namespace, fmt.Sprintf("%s-chain-%d", xr, p.Validator)),
				Labels:    map[string]string{labelValidator: strconv.Itoa(p.Validator)},
			},
			Spec: cephv1alpha1.RBDImageSpec{
				ManagedResourceSpec: managedSpec(s.ProviderConfigRef),
				ForProvider: cephv1alpha1.RBDImageParameters{
					Pool:    ptr(s.ChainStorage.Pool),
					SizeMiB: s.ChainStorage.SizeGiB * 1024,
				},
			},
		}
		if err := d.add(chainName(p.Validator), img); err != nil {
			return res, err
		}
	}
	return res, nil
}

const labelValidator = "platform.microcloud.dev/validator"

func hasDomains(nodes []Node) bool {
	for _, n := range nodes {
		if n.Rack != "" || n.Datacenter != "" {
			return true
		}
	}
	return false
}

func validatorVM(namespace, xr, sg string, s ValidatorSetSpec, p Placement) *pvev1alpha1.VirtualMachine {
	name := fmt.Sprintf("%s-validator-%d", xr, p.Validator)
	tags := []string{"validator", "f" + strconv.Itoa(s.FaultsTolerated)}
	if p.Rack != "" {
		tags = append(tags, tag("rack-"+p.Rack))
	}
	return &pvev1alpha1.VirtualMachine{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace,
			Name:      name,
			Labels:    map[string]string{labelValidator: strconv.Itoa(p.Validator)},
		},
		Spec: pvev1alpha1.VirtualMachineSpec{
			ManagedResourceSpec: managedSpec(s.ProviderConfigRef),
			ForProvider: pvev1alpha1.VirtualMachineParameters{
				Node:      p.Node,
				Name:      ptr(name),
				Clone:     cloneSource(s.Template),
				Cores:     s.Cores,
				Sockets:   1, // set: the SDK's JSON encoder writes a zero int despite omitempty
				MemoryMiB: s.MemoryMiB,
				Tags:      tags,
				OnBoot:    ptr(true),
				Networks:  []pvev1alpha1.NetworkInterface{{Bridge: s.Bridge, Firewall: ptr(true)}},
				Firewall: &pvev1alpha1.GuestFirewall{
					Enabled:  ptr(true),
					PolicyIn: ptr("DROP"),
					// A reference (not a bare name) so the VM waits for its group to exist.
					SecurityGroupRefs: []xpv2.NamespacedReference{{Name: sg}},
				},
			},
		},
	}
}

func validatorFirewall(namespace, xr, sg string, s ValidatorSetSpec) *pvev1alpha1.FirewallSecurityGroup {
	rules := []pvev1alpha1.FirewallRule{{
		Type: "in", Action: "ACCEPT", Proto: ptr("tcp"), DPort: ptr(strconv.FormatInt(s.P2PPort, 10)),
		Comment: ptr("validator p2p"),
	}}
	if len(s.RPCAllowedCIDRs) > 0 {
		rules = append(rules, pvev1alpha1.FirewallRule{
			Type: "in", Action: "ACCEPT", Proto: ptr("tcp"), DPort: ptr(strconv.FormatInt(s.RPCPort, 10)),
			Source: ptr(strings.Join(s.RPCAllowedCIDRs, ",")), Comment: ptr("validator RPC from spec.rpcAllowedCIDRs"),
		})
	}
	// RPC from anywhere else is dropped explicitly, whatever the VM's input policy.
	rules = append(rules, pvev1alpha1.FirewallRule{
		Type: "in", Action: "DROP", Proto: ptr("tcp"), DPort: ptr(strconv.FormatInt(s.RPCPort, 10)),
		Comment: ptr("validator RPC from elsewhere"),
	})
	return &pvev1alpha1.FirewallSecurityGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: sg},
		Spec: pvev1alpha1.FirewallSecurityGroupSpec{
			ManagedResourceSpec: managedSpec(s.ProviderConfigRef),
			ForProvider: pvev1alpha1.FirewallSecurityGroupParameters{
				Comment: ptr(fmt.Sprintf("validators of %s/%s", namespace, xr)),
				Rules:   rules,
			},
		},
	}
}

func cloneSource(t Template) *pvev1alpha1.CloneSource {
	return &pvev1alpha1.CloneSource{SourceVMID: t.SourceVMID, Full: t.Full, Storage: t.Storage}
}

// tag makes a PVE tag (lower case letters, digits, _+.-) out of a label value.
func tag(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	for _, r := range s {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || strings.ContainsRune("_+.-", r) {
			b.WriteRune(r)
		} else {
			b.WriteRune('-')
		}
	}
	if b.Len() > 64 {
		return b.String()[:64]
	}
	return b.String()
}
