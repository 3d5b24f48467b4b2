package generic

import (
	"context"

	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
)

const errResolveReferences = "cannot resolve references"

// resolvable is a managed resource with references (angryjet's
// ResolveReferences).
type resolvable interface {
	ResolveReferences(ctx context.Context, r client.Reader) error
}

// refResolver is crossplane-runtime's APISimpleReferenceResolver with a
// cheaper test for the common case, nothing to write. Crossplane's compares
// the resource before and after resolution with go-cmp, which walks the
// whole object through reflection and option filters: profiled at steady
// state (1,000 guests, every one reconciled each poll) that comparison was
// two thirds of the provider's CPU. Here references are resolved on a copy
// and compared with the API machinery's semantic equality (nil and empty
// alike, as crossplane's EquateEmpty); only when resolution changes
// something does crossplane's resolver run, resolving again and applying
// the difference exactly as before.
type refResolver struct {
	kube  client.Reader
	inner managed.ReferenceResolver
}

func newRefResolver(c client.Client) *refResolver {
	return &refResolver{kube: c, inner: managed.NewAPISimpleReferenceResolver(c)}
}

func (r *refResolver) ResolveReferences(ctx context.Context, mg resource.Managed) error {
	if _, ok := mg.(resolvable); !ok {
		return nil
	}
	probe, ok := mg.DeepCopyObject().(resolvable)
	if !ok {
		return nil
	}
	if err := probe.ResolveReferences(ctx, r.kube); err != nil {
		return errors.Wrap(err, errResolveReferences)
	}
	if equality.Semantic.DeepEqual(probe, mg) {
		return nil
	}
	return r.inner.ResolveReferences(ctx, mg)
}
