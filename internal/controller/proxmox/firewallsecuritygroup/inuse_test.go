package firewallsecuritygroup

import (
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

func TestLinkedByVMsAndContainers(t *testing.T) {
	s := runtime.NewScheme()
	if err := v1alpha1.SchemeBuilder.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	site := &xpv2.ProviderConfigReference{Kind: "ClusterProviderConfig", Name: "default"}
	other := &xpv2.ProviderConfigReference{Kind: "ClusterProviderConfig", Name: "other"}
	vm := func(name string, ref *xpv2.ProviderConfigReference, groups ...string) *v1alpha1.VirtualMachine {
		o := &v1alpha1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: name}}
		o.Spec.ProviderConfigReference = ref
		o.Spec.ForProvider.Firewall = &v1alpha1.GuestFirewall{SecurityGroups: groups}
		return o
	}
	ct := func(name string, ref *xpv2.ProviderConfigReference, groups ...string) *v1alpha1.Container {
		o := &v1alpha1.Container{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: name}}
		o.Spec.ProviderConfigReference = ref
		o.Spec.ForProvider.Firewall = &v1alpha1.GuestFirewall{SecurityGroups: groups}
		return o
	}
	kube := fake.NewClientBuilder().WithScheme(s).WithObjects(
		vm("web-1", site, "web", "ssh"), vm("elsewhere", other, "web"),
		ct("ct-1", site, "web"), ct("ct-2", site, "db"),
	).Build()
	mg := &v1alpha1.FirewallSecurityGroup{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "web"}}
	mg.Spec.ProviderConfigReference = site

	err := linkedBy(context.Background(), kube, mg, "web")
	if err == nil || !strings.Contains(err.Error(), "Container b/ct-1, VirtualMachine a/web-1") || strings.Contains(err.Error(), "elsewhere") {
		t.Fatalf("linkedBy(web) = %v; want the container and VM of this site named, not the other site's", err)
	}
	if err := linkedBy(context.Background(), kube, mg, "unused"); err != nil {
		t.Fatalf("linkedBy(unused) = %v, want nil", err)
	}
}
