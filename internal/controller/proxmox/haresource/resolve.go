package haresource

import (
	"context"
	"strconv"

	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reference"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
)

const errSaveRefs = "cannot save the resolved guest reference"

// guestSID extracts the HA resource id of a referenced VirtualMachine
// (vm:<vmid>) or Container (ct:<vmid>): empty until the guest has its id,
// so a HAResource waits for its guest.
func guestSID() reference.ExtractValueFn {
	return func(mg resource.Managed) string {
		switch g := mg.(type) {
		case *v1alpha1.VirtualMachine:
			if g.Status.AtProvider.VMID > 0 {
				return "vm:" + strconv.FormatInt(g.Status.AtProvider.VMID, 10)
			}
		case *v1alpha1.Container:
			if g.Status.AtProvider.VMID > 0 {
				return "ct:" + strconv.FormatInt(g.Status.AtProvider.VMID, 10)
			}
		}
		return ""
	}
}

// resolver fills spec.forProvider.sid from the referenced VirtualMachine or
// Container. It is the controller's reference resolver rather than
// generated: angryjet resolves one kind of referent per field, and sid has
// two (admission lets only one of them be set).
type resolver struct{ kube client.Client }

func (r resolver) ResolveReferences(ctx context.Context, mg resource.Managed) error {
	ha, ok := mg.(*v1alpha1.HAResource)
	if !ok {
		return errors.New("not a HAResource")
	}
	existing := ha.DeepCopy()
	res := reference.NewAPINamespacedResolver(r.kube, ha)
	p := &ha.Spec.ForProvider
	for _, ref := range []struct {
		field    string
		ref      **xpv2.NamespacedReference
		selector **xpv2.NamespacedSelector
		to       reference.To
	}{
		{"virtualMachineRef", &p.VirtualMachineRef, &p.VirtualMachineSelector, reference.To{Managed: &v1alpha1.VirtualMachine{}, List: &v1alpha1.VirtualMachineList{}}},
		{"containerRef", &p.ContainerRef, &p.ContainerSelector, reference.To{Managed: &v1alpha1.Container{}, List: &v1alpha1.ContainerList{}}},
	} {
		if *ref.ref == nil && *ref.selector == nil {
			continue
		}
		rsp, err := res.Resolve(ctx, reference.NamespacedResolutionRequest{
			CurrentValue: reference.FromPtrValue(p.SID),
			Extract:      guestSID(),
			Namespace:    ha.GetNamespace(),
			Reference:    *ref.ref,
			Selector:     *ref.selector,
			To:           ref.to,
		})
		if err != nil {
			return errors.Wrap(err, "spec.forProvider."+ref.field)
		}
		p.SID = reference.ToPtrValue(rsp.ResolvedValue)
		*ref.ref = rsp.ResolvedReference
	}
	if equality.Semantic.DeepEqual(existing.Spec, ha.Spec) {
		return nil
	}
	return errors.Wrap(r.kube.Patch(ctx, ha, client.MergeFrom(existing)), errSaveRefs)
}
