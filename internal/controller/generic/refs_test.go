package generic

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

// refFixture is a VM referencing security group "web" (external name
// "sg-web") and a client that counts the resolvers' writes.
func refFixture(t testing.TB) (client.Client, *v1alpha1.VirtualMachine, *int) {
	t.Helper()
	s := runtime.NewScheme()
	if err := v1alpha1.SchemeBuilder.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	sg := &v1alpha1.FirewallSecurityGroup{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web"}}
	meta.SetExternalName(sg, "sg-web")
	vm := &v1alpha1.VirtualMachine{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "vm", Generation: 3}}
	vm.Spec.ForProvider = v1alpha1.VirtualMachineParameters{Node: "pve1", Name: ptr.To("vm"), Cores: 2, MemoryMiB: 2048,
		Clone:    &v1alpha1.CloneSource{SourceVMID: 9000},
		Networks: []v1alpha1.NetworkInterface{{Bridge: "vmbr0", Firewall: ptr.To(true)}},
		Firewall: &v1alpha1.GuestFirewall{PolicyIn: ptr.To("DROP"), SecurityGroupRefs: []xpv2.NamespacedReference{{Name: "web"}}}}
	vm.Status.AtProvider = v1alpha1.VirtualMachineObservation{VMID: 142, Node: "pve1", Status: "running", IPAddresses: []string{"10.0.0.5"},
		LastVerified: &metav1.Time{Time: time.Now().Truncate(time.Second)}, Disks: map[string]string{"scsi0": "ceph-rbd:vm-142-disk-0"}}
	vm.SetConditions(xpv2.Available(), xpv2.ReconcileSuccess())
	writes := 0
	count := func(context.Context, client.WithWatch, client.Object, client.Patch, ...client.PatchOption) error {
		writes++
		return nil
	}
	kube := fake.NewClientBuilder().WithScheme(s).WithObjects(sg, vm).
		WithInterceptorFuncs(interceptor.Funcs{Patch: count}).Build()
	return kube, vm, &writes
}

func TestReferencesResolvedWithoutAWriteWhenNothingChanges(t *testing.T) {
	kube, vm, writes := refFixture(t)
	r := newRefResolver(kube)
	ctx := context.Background()

	// The first resolution fills in the group's name: written, as
	// crossplane's resolver writes it.
	if err := r.ResolveReferences(ctx, vm); err != nil {
		t.Fatal(err)
	}
	if got := vm.Spec.ForProvider.Firewall.SecurityGroups; len(got) != 1 || got[0] != "sg-web" {
		t.Fatalf("security groups %v after resolution, want [sg-web]", got)
	}
	if *writes != 1 {
		t.Fatalf("%d writes for a reference resolved for the first time, want 1", *writes)
	}

	// Resolved already: nothing changes, nothing is written.
	before := vm.DeepCopy()
	if err := r.ResolveReferences(ctx, vm); err != nil {
		t.Fatal(err)
	}
	if *writes != 1 {
		t.Fatalf("%d writes after resolving references that were resolved already, want still 1", *writes)
	}
	if vm.Spec.ForProvider.Firewall.SecurityGroups[0] != before.Spec.ForProvider.Firewall.SecurityGroups[0] {
		t.Fatal("the resource changed although nothing was to resolve")
	}

	// A reference to a group that does not exist is crossplane's error.
	vm.Spec.ForProvider.Firewall.SecurityGroups = nil
	vm.Spec.ForProvider.Firewall.SecurityGroupRefs = []xpv2.NamespacedReference{{Name: "missing"}}
	err := r.ResolveReferences(ctx, vm)
	if err == nil || !strings.HasPrefix(err.Error(), errResolveReferences) || !strings.Contains(err.Error(), "SecurityGroups") {
		t.Fatalf("error %v, want %q naming the field", err, errResolveReferences)
	}
}

// BenchmarkResolveReferences compares crossplane-runtime's resolver with
// ours on a VM whose reference is resolved already: the case of every poll.
func BenchmarkResolveReferences(b *testing.B) {
	for _, c := range []struct {
		name string
		new  func(client.Client) managed.ReferenceResolver
	}{
		{"crossplane-runtime", func(k client.Client) managed.ReferenceResolver { return managed.NewAPISimpleReferenceResolver(k) }},
		{"microcloud", func(k client.Client) managed.ReferenceResolver { return newRefResolver(k) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			kube, vm, _ := refFixture(b)
			r := c.new(kube)
			ctx := context.Background()
			if err := r.ResolveReferences(ctx, vm); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := r.ResolveReferences(ctx, vm); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
