// Package v1alpha1 holds the Proxmox VE managed resources (group
// proxmox.microcloud.dev): virtual machines, firewall security groups and
// resource pools.
// +kubebuilder:object:generate=true
// +groupName=proxmox.microcloud.dev
// +versionName=v1alpha1
package v1alpha1
