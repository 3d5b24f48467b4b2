package function

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/crossplane/function-sdk-go/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	pvev1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

// ValidatorSetResult is what composing a ValidatorSet yields besides its resources.
type ValidatorSetResult struct {
	Placement []Placement
	// Warning is set when one failure domain holds more than f validators.
	Warning string
}

// Pipeline resource names of a ValidatorSet's composed resources. A validator's HA resource is
// named after its guest's id: a validator recreated under another id (its VM destroyed by hand)
// gets a new one, and the old one, whose guest is gone, is deleted.
func validatorName(i int) resource.Name { return resource.Name("validator-" + strconv.Itoa(i)) }
func haName(i, vmid int) resource.Name {
	return resource.Name(fmt.Sprintf("ha-%d-%d", i, vmid))
}

const (
	firewallName resource.Name = "firewall"
	apartName    resource.Name = "ha-apart"
	// chainSlot is the chain-state disk's slot on each validator VM.
	chainSlot = "scsi1"
)

// composeValidatorSet builds n = 3f+1 validator VMs on distinct nodes, each with a chain-state
// disk on Ceph RBD storage, one security group that every validator links and, with HA (the
// default), an HA resource per validator and one negative resource-affinity rule over them, so
// HA never places two validators on one node. vmids are the guest ids of the validators whose
// VMs are observed with one: a validator's HA resource is composed once its guest exists, the
// rule once every validator's is.
func composeValidatorSet(namespace, xr string, s ValidatorSetSpec, vmids map[int]int, d desired) (ValidatorSetResult, error) {
	s.defaults()
	if s.FaultsTolerated < 1 {
		return ValidatorSetResult{}, fmt.Errorf("spec.faultsTolerated must be at least 1, got %d", s.FaultsTolerated)
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
	}
	if !s.haEnabled() {
		return res, nil
	}
	var members []xpv2.NamespacedReference
	for _, p := range placement {
		id, ok := vmids[p.Validator]
		if !ok {
			continue
		}
		ha := validatorHA(namespace, xr, s, p, id)
		if err := d.add(haName(p.Validator, id), ha); err != nil {
			return res, err
		}
		members = append(members, xpv2.NamespacedReference{Name: ha.Name})
	}
	if len(members) == len(placement) {
		if err := d.add(apartName, validatorsApart(namespace, xr, s, members)); err != nil {
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
				Disks:     []pvev1alpha1.Disk{{Slot: chainSlot, Storage: s.ChainStorage.Storage, SizeGiB: s.ChainStorage.SizeGiB}},
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

// validatorHA puts one validator's guest under HA by its id (named after it, see haName).
func validatorHA(namespace, xr string, s ValidatorSetSpec, p Placement, vmid int) *pvev1alpha1.HAResource {
	return &pvev1alpha1.HAResource{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace,
			Name:      fmt.Sprintf("%s-validator-%d-ha-%d", xr, p.Validator, vmid),
			Labels:    map[string]string{labelValidator: strconv.Itoa(p.Validator)},
		},
		Spec: pvev1alpha1.HAResourceSpec{
			ManagedResourceSpec: managedSpec(s.ProviderConfigRef),
			ForProvider: pvev1alpha1.HAResourceParameters{
				SID:     ptr(fmt.Sprintf("vm:%d", vmid)),
				State:   "started",
				Comment: ptr(fmt.Sprintf("validator %d of %s/%s", p.Validator, namespace, xr)),
			},
		},
	}
}

// validatorsApart is the negative resource-affinity rule that keeps HA from ever placing two
// validators on one node (a node failure then costs at most one validator).
func validatorsApart(namespace, xr string, s ValidatorSetSpec, members []xpv2.NamespacedReference) *pvev1alpha1.HARule {
	return &pvev1alpha1.HARule{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: xr + "-validators-apart"},
		Spec: pvev1alpha1.HARuleSpec{
			ManagedResourceSpec: managedSpec(s.ProviderConfigRef),
			ForProvider: pvev1alpha1.HARuleParameters{
				Type:         "resource-affinity",
				Affinity:     ptr("negative"),
				ResourceRefs: members,
				Comment:      ptr(fmt.Sprintf("validators of %s/%s on distinct nodes", namespace, xr)),
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
