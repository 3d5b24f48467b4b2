package pool

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
)

const (
	// objectLimit bounds the object listing done before a deletion: one object is enough to
	// refuse, a thousand make a readable count.
	objectLimit = 1000
	// shown is how many names a refusal lists before "and N more".
	shown = 5

	errListImages = "cannot list the RBDImages that may use the pool"
)

// holdsData says why the pool must not be deleted, or "" when it holds nothing: RBD images
// (managed or not), any other RADOS object, or RBDImages of the same site naming the pool.
func (e *external) holdsData(ctx context.Context, mg *v1alpha1.Pool, name string) (string, error) {
	pc, err := e.c.PoolContents(name, objectLimit)
	if ceph.IsNotFound(err) {
		return "", nil // the pool is gone; deleting it again is harmless
	}
	if err != nil {
		return "", err
	}
	refs, err := e.referencingImages(ctx, mg, name)
	if err != nil {
		return "", errors.Wrap(err, errListImages)
	}
	why := dataReasons(pc, refs)
	if len(why) == 0 {
		return "", nil
	}
	return fmt.Sprintf("pool %q is not deleted because it holds data or is in use: %s; set spec.forProvider.allowDeleteWithData to true "+
		"to delete it with its data, or remove Delete from spec.managementPolicies to keep the pool", name, strings.Join(why, "; ")), nil
}

// dataReasons lists what keeps a pool from being deleted: its images, its objects (or, when the
// listing finds none, objects only the pool stats count) and the RBDImages naming it.
func dataReasons(pc ceph.PoolContents, refs []string) []string {
	var why []string
	if len(pc.Images) > 0 {
		why = append(why, fmt.Sprintf("%d RBD image(s): %s", len(pc.Images), site.Names(pc.Images, shown)))
	}
	switch {
	case pc.Objects > 0:
		more := ""
		if pc.Truncated {
			more = " or more"
		}
		why = append(why, fmt.Sprintf("%d%s RADOS object(s)", pc.Objects, more))
	case pc.StatsObjects > uint64(pc.Listed):
		// what the listing cannot see: snapshot clones, or removals the stats have not caught up with
		why = append(why, fmt.Sprintf("pool stats count %d object(s) where the listing finds %d (snapshot clones, or a removal not yet counted)",
			pc.StatsObjects, pc.Listed))
	}
	if len(refs) > 0 {
		why = append(why, fmt.Sprintf("RBDImage resource(s) naming it: %s", site.Names(refs, shown)))
	}
	return why
}

// referencingImages lists (as namespace/name) the RBDImages whose pool or data pool is this pool
// on the same Ceph cluster: their provider config resolves to a monitor this site also has. An
// RBDImage whose config cannot be resolved counts, to be safe.
func (e *external) referencingImages(ctx context.Context, mg *v1alpha1.Pool, name string) ([]string, error) {
	if e.d.Kube == nil {
		return nil, nil
	}
	var list v1alpha1.RBDImageList
	if err := e.d.Kube.List(ctx, &list); err != nil {
		return nil, err
	}
	var out []string
	for i := range list.Items {
		img := &list.Items[i]
		p := img.Spec.ForProvider
		byRef := p.PoolRef != nil && p.PoolRef.Name == mg.GetName() && img.GetNamespace() == mg.GetNamespace()
		if site.Deref(p.Pool) != name && site.Deref(p.DataPool) != name && !byRef {
			continue
		}
		if e.sameCluster(ctx, img) {
			out = append(out, img.GetNamespace()+"/"+img.GetName())
		}
	}
	sort.Strings(out)
	return out, nil
}

func (e *external) sameCluster(ctx context.Context, img *v1alpha1.RBDImage) bool {
	if e.d.Resolve == nil || e.d.Site == nil || e.d.Site.Ceph == nil {
		return true
	}
	s, err := e.d.Resolve(ctx, img)
	if err != nil || s == nil || s.Ceph == nil {
		return true
	}
	for _, a := range s.Ceph.Monitors {
		for _, b := range e.d.Site.Ceph.Monitors {
			if a == b {
				return true
			}
		}
	}
	return false
}
