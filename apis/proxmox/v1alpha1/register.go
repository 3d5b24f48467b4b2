package v1alpha1

import (
	"reflect"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

// Package type metadata.
const (
	Group   = "proxmox.microcloud.dev"
	Version = "v1alpha1"
)

var (
	// SchemeGroupVersion is the group version used to register these objects.
	SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: Version}

	// SchemeBuilder registers the types of this group with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: SchemeGroupVersion}
)

// Kind names and GroupVersionKinds of the Proxmox managed resources.
var (
	VirtualMachineKind             = reflect.TypeOf(VirtualMachine{}).Name()
	VirtualMachineGroupVersionKind = SchemeGroupVersion.WithKind(VirtualMachineKind)

	FirewallSecurityGroupKind             = reflect.TypeOf(FirewallSecurityGroup{}).Name()
	FirewallSecurityGroupGroupVersionKind = SchemeGroupVersion.WithKind(FirewallSecurityGroupKind)
	FirewallAliasKind                     = reflect.TypeOf(FirewallAlias{}).Name()
	FirewallAliasGroupVersionKind         = SchemeGroupVersion.WithKind(FirewallAliasKind)
	FirewallIPSetKind                     = reflect.TypeOf(FirewallIPSet{}).Name()
	FirewallIPSetGroupVersionKind         = SchemeGroupVersion.WithKind(FirewallIPSetKind)
	PoolKind                              = reflect.TypeOf(Pool{}).Name()
	PoolGroupVersionKind                  = SchemeGroupVersion.WithKind(PoolKind)

	ContainerKind                     = reflect.TypeOf(Container{}).Name()
	ContainerGroupVersionKind         = SchemeGroupVersion.WithKind(ContainerKind)
	ContainerTemplateKind             = reflect.TypeOf(ContainerTemplate{}).Name()
	ContainerTemplateGroupVersionKind = SchemeGroupVersion.WithKind(ContainerTemplateKind)

	HAResourceKind             = reflect.TypeOf(HAResource{}).Name()
	HAResourceGroupVersionKind = SchemeGroupVersion.WithKind(HAResourceKind)
	HARuleKind                 = reflect.TypeOf(HARule{}).Name()
	HARuleGroupVersionKind     = SchemeGroupVersion.WithKind(HARuleKind)

	ClusterFirewallKind             = reflect.TypeOf(ClusterFirewall{}).Name()
	ClusterFirewallGroupVersionKind = SchemeGroupVersion.WithKind(ClusterFirewallKind)
	NodeFirewallKind                = reflect.TypeOf(NodeFirewall{}).Name()
	NodeFirewallGroupVersionKind    = SchemeGroupVersion.WithKind(NodeFirewallKind)
)

func init() {
	SchemeBuilder.Register(&VirtualMachine{}, &VirtualMachineList{})
	SchemeBuilder.Register(&FirewallSecurityGroup{}, &FirewallSecurityGroupList{})
	SchemeBuilder.Register(&Pool{}, &PoolList{})
	SchemeBuilder.Register(&Container{}, &ContainerList{})
	// The guest kinds, whose specs link security groups.
	linkerLists = append(linkerLists,
		func() client.ObjectList { return &VirtualMachineList{} },
		func() client.ObjectList { return &ContainerList{} })
	SchemeBuilder.Register(&ContainerTemplate{}, &ContainerTemplateList{})
	SchemeBuilder.Register(&HAResource{}, &HAResourceList{})
	SchemeBuilder.Register(&HARule{}, &HARuleList{})
	SchemeBuilder.Register(&FirewallAlias{}, &FirewallAliasList{})
	SchemeBuilder.Register(&FirewallIPSet{}, &FirewallIPSetList{})
	SchemeBuilder.Register(&ClusterFirewall{}, &ClusterFirewallList{})
	SchemeBuilder.Register(&NodeFirewall{}, &NodeFirewallList{})
}
