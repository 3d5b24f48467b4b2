package site

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/types"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
)

const errResolveRefs = "cannot resolve references"

// Refs resolves a kind's references and hands a failure to its Observe
// instead of failing the reconcile: a resolution failure then retries on the
// provider's backoff like any other (generic's guard), not on
// controller-runtime's per-item ladder, which keeps growing to 60 s over a
// referent's long wait and then delays the first poll after the create.
type Refs struct {
	resolve managed.ReferenceResolver
	mu      sync.Mutex
	errs    map[types.UID]error
}

// NewRefs wraps a reference resolver.
func NewRefs(r managed.ReferenceResolver) *Refs {
	return &Refs{resolve: r, errs: map[types.UID]error{}}
}

// ResolveReferences resolves mg's references and records the outcome.
func (r *Refs) ResolveReferences(ctx context.Context, mg resource.Managed) error {
	err := r.resolve.ResolveReferences(ctx, mg)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		delete(r.errs, mg.GetUID())
		return nil
	}
	r.errs[mg.GetUID()] = err
	return nil
}

// Err is mg's last resolution failure, nil once resolved or while mg is
// being deleted (references are not resolved then).
func (r *Refs) Err(mg resource.Managed) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if meta.WasDeleted(mg) {
		delete(r.errs, mg.GetUID())
		return nil
	}
	if err := r.errs[mg.GetUID()]; err != nil {
		return errors.Wrap(err, errResolveRefs)
	}
	return nil
}
