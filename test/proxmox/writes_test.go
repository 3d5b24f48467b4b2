package proxmox

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
)

// A new VM's finalizer, its id (external name) and the create-pending
// annotation reach the API server in one write, before the clone: each
// stored version of the VM is watched from its creation, and the versions
// before the create is recorded as succeeded must be the applied one and
// one more that carries all three, naming the id the guest got.
func TestVirtualMachineCreateSavesFinalizerAndIDInOneWrite(t *testing.T) {
	s := newSite(t, pvesim.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wc, err := client.NewWithWatch(s.env.Config, client.Options{Scheme: s.env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	// Watched once it exists (the watch starts with its applied version):
	// the API server's watch cache answers a watch only once it has seen
	// the kind's latest write.
	mustCreate(t, s.env.Client, s.vm("one-write", cloneOf(pvesim.DefaultTemplateID)))
	w, err := wc.Watch(ctx, &v1alpha1.VirtualMachineList{}, client.InNamespace(s.ns))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	s.startProvider(t, nil)

	type version struct {
		finalizer, pending, succeeded bool
		name                          string
	}
	var before []version // the versions stored before the create succeeded
	for done := false; !done; {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				t.Fatal("watch closed")
			}
			if ev.Type == watch.Error {
				t.Fatalf("watch: %v", ev.Object)
			}
			vm, isVM := ev.Object.(*v1alpha1.VirtualMachine)
			if !isVM || ev.Type == watch.Deleted || vm.GetName() != "one-write" {
				continue
			}
			v := version{
				finalizer: meta.FinalizerExists(vm, managed.FinalizerName),
				pending:   !meta.GetExternalCreatePending(vm).IsZero(),
				succeeded: !meta.GetExternalCreateSucceeded(vm).IsZero(),
				name:      meta.GetExternalName(vm),
			}
			if v.succeeded {
				done = true
				break
			}
			before = append(before, v)
		case <-ctx.Done():
			t.Fatalf("the create was not recorded as succeeded; versions seen: %+v", before)
		}
	}
	vm := s.waitReady(t, "one-write")
	id := fmt.Sprint(vm.Status.AtProvider.VMID)
	if len(before) != 2 {
		t.Fatalf("%d versions before the create succeeded, want 2 (applied, then one write): %+v", len(before), before)
	}
	if first := before[0]; first.finalizer || first.pending {
		t.Errorf("the applied version already has the provider's marks: %+v", first)
	}
	if w := before[1]; !w.finalizer || !w.pending || w.name != id {
		t.Errorf("the write before the clone = %+v, want the finalizer, create-pending and external name %s", w, id)
	}
}
