package function

import (
	"fmt"
	"strings"

	"github.com/crossplane/function-sdk-go/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	pvev1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

// Pipeline resource names of a Tenant's composed resources.
const (
	tenantProxmoxPool resource.Name = "proxmox-pool"
	tenantCephPool    resource.Name = "ceph-pool"
	tenantFirewall    resource.Name = "baseline-firewall"
)

// TenantResult names what a Tenant composed, for its status.
type TenantResult struct {
	ProxmoxPool   string
	CephPool      string
	SecurityGroup string
	Storage       StorageResult
}

// composeTenant builds a Proxmox resource pool, a quota-bound RBD Ceph pool and a baseline
// security group (ping, SSH from the admin networks) for the tenant's guests to link, and the
// storage bundle the spec asks for.
func composeTenant(namespace, xr string, s TenantSpec, d desired) (TenantResult, error) {
	s.defaults()
	if s.StorageQuotaGiB < 1 {
		return TenantResult{}, fmt.Errorf("spec.storageQuotaGiB must be at least 1, got %d", s.StorageQuotaGiB)
	}
	r := TenantResult{
		ProxmoxPool:   globalName(namespace, xr),
		CephPool:      globalName(namespace, xr),
		SecurityGroup: securityGroupName(namespace, xr, "baseline"),
	}
	desc := s.Description
	if desc == "" {
		desc = fmt.Sprintf("tenant %s/%s", namespace, xr)
	}
	mrs := managedSpec(s.ProviderConfigRef)
	if err := d.add(tenantProxmoxPool, &pvev1alpha1.Pool{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: r.ProxmoxPool},
		Spec: pvev1alpha1.PoolSpec{ManagedResourceSpec: mrs,
			ForProvider: pvev1alpha1.PoolParameters{Comment: ptr(desc)}},
	}); err != nil {
		return r, err
	}
	if err := d.add(tenantCephPool, &cephv1alpha1.Pool{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: r.CephPool},
		Spec: cephv1alpha1.PoolSpec{ManagedResourceSpec: mrs,
			ForProvider: cephv1alpha1.PoolParameters{
				Type:          "replicated",
				Size:          ptr(s.Replicas),
				MinSize:       ptr(min(s.Replicas, max(1, s.Replicas-1))),
				Application:   ptr("rbd"),
				QuotaMaxBytes: ptr(s.StorageQuotaGiB * giB),
			}},
	}); err != nil {
		return r, err
	}
	rules := []pvev1alpha1.FirewallRule{{Type: "in", Action: "ACCEPT", Macro: ptr("Ping"), Comment: ptr("ping")}}
	if len(s.AdminCIDRs) > 0 {
		rules = append(rules, pvev1alpha1.FirewallRule{Type: "in", Action: "ACCEPT", Macro: ptr("SSH"),
			Source: ptr(strings.Join(s.AdminCIDRs, ",")), Comment: ptr("SSH from spec.adminCIDRs")})
	}
	if err := d.add(tenantFirewall, &pvev1alpha1.FirewallSecurityGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: r.SecurityGroup},
		Spec: pvev1alpha1.FirewallSecurityGroupSpec{ManagedResourceSpec: mrs,
			ForProvider: pvev1alpha1.FirewallSecurityGroupParameters{
				Comment: ptr("baseline of " + desc), Rules: rules}},
	}); err != nil {
		return r, err
	}
	var err error
	r.Storage, err = composeTenantStorage(namespace, xr, r.CephPool, s, mrs, d)
	return r, err
}
