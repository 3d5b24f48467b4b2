package v1alpha1

import "github.com/crossplane/crossplane-runtime/v2/pkg/resource"

// The generated method sets make every kind a namespaced (modern) managed resource.
var (
	_ resource.ModernManaged = &VirtualMachine{}
	_ resource.ManagedList   = &VirtualMachineList{}
)
