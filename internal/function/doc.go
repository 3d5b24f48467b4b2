// Package function is the composition function of the platform catalogue: it turns the
// ValidatorSet, Tenant and VPS composite resources (and the legacy XVPS of the VPS claim) into
// the provider's Proxmox and Ceph managed resources, places validators on distinct hosts and
// racks, and reports composed readiness back to the XR.
package function
