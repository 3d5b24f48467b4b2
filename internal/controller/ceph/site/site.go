// Package site connects the Ceph controllers to the shared client of a resolved site and holds
// the few helpers every Ceph kind uses (names, readiness).
package site

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/providerconfig"
)

const (
	errClient  = "cannot connect to Ceph"
	errBadName = "invalid Ceph name %q: use letters, digits, '.', '_' and '-' only (at most 100 characters)"
)

// ReconcilerOptions are the managed-reconciler options every Ceph kind uses. Ceph writes are
// strongly consistent (a mon command returns after the osdmap changed, and the provider's snapshot
// is dropped after each write), so the creation grace period that protects eventually consistent
// APIs only delays deletions right after a create; one second is plenty.
func ReconcilerOptions() []managed.ReconcilerOption {
	return []managed.ReconcilerOption{managed.WithCreationGracePeriod(time.Second)}
}

// SnapshotAge is how long one observation snapshot of a cluster serves: a
// little less than one poll interval, so each poll of a site's resources
// triggers one fresh observation.
func SnapshotAge(pollInterval time.Duration) time.Duration {
	age := pollInterval * 9 / 10
	if age <= 0 {
		age = 30 * time.Second
	}
	return age
}

// Connect returns the shared client of the site's Ceph part (the resolver
// was asked for the ceph section, so s.Ceph is set).
func Connect(ctx context.Context, r *ceph.Clients, s *providerconfig.Site) (*ceph.Client, error) {
	c, err := r.Get(ctx, ceph.Config{Monitors: s.Ceph.Monitors, ClientName: s.Ceph.ClientName, Key: s.Ceph.Key})
	return c, errors.Wrap(err, errClient)
}

// Ceph accepts spaces, '/', unicode and 300-character pool names; '/' breaks pool/image specs
// and the rest breaks tooling, so the provider only manages plain names.
var validName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,100}$`)

// ExternalName is the Ceph name of a managed resource: its external-name annotation, else its
// metadata name. It fails for names Ceph would take but the provider refuses.
func ExternalName(mg resource.Managed) (string, error) {
	n := meta.GetExternalName(mg)
	if n == "" {
		n = mg.GetName()
	}
	if !validName.MatchString(n) || strings.HasPrefix(n, ".") {
		return "", errors.Errorf(errBadName, n)
	}
	return n, nil
}

// Deref returns *p or the zero value.
func Deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}
