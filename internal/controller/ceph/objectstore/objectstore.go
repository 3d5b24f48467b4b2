// Package objectstore is what the RADOS Gateway kinds (ObjectStoreUser, Bucket) share: their
// controller setup on the site's shared RGW client, and quotas.
package objectstore

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/generic"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/providerconfig"
)

const (
	errClient     = "cannot connect to the RADOS Gateway"
	errNoRegistry = "no RADOS Gateway client registry in the controller options"
)

// Deps is what an RGW kind's external client is built from.
type Deps struct {
	// RGW is the site's shared gateway client.
	RGW *rgw.Client
	// Record emits kind-specific events (refused deletions).
	Record event.Recorder
}

// Setup registers an RGW kind's controller on the shared controller path, its gateway clients from
// o.RGW: the kind supplies only how to build its external client from the site's gateway client.
func Setup[T resource.ModernManaged](mgr ctrl.Manager, o options.Options, gvk schema.GroupVersionKind, newFn func() T,
	external func(d Deps) managed.TypedExternalClient[T]) error {
	clients := o.RGW
	if clients == nil {
		return errors.New(errNoRegistry)
	}
	rec := event.NewAPIRecorder(mgr.GetEventRecorderFor(managed.ControllerName(gvk.GroupKind().String()))) //nolint:staticcheck // crossplane-runtime's recorder takes the legacy interface.
	return generic.Setup(mgr, o, gvk, providerconfig.SectionObjectStore, newFn,
		func(_ context.Context, _ T, s *providerconfig.Site, _ client.Client) (managed.TypedExternalClient[T], error) {
			os := s.ObjectStore
			c, err := clients.Get(rgw.Config{Endpoint: os.Endpoint, AccessKey: os.AccessKey, SecretKey: os.SecretKey,
				CABundle: os.CABundle, InsecureSkipTLSVerify: os.InsecureSkipTLSVerify})
			if err != nil {
				return nil, errors.Wrap(err, errClient)
			}
			return external(Deps{RGW: c, Record: rec}), nil
		}, site.ReconcilerOptions()...)
}

// UserKeys returns the first S3 key of an RGW user, which the provider acts as for S3 calls.
func UserKeys(ctx context.Context, c *rgw.Client, uid string) (rgw.Keys, error) {
	u, err := c.GetUser(ctx, uid)
	if err != nil {
		return rgw.Keys{}, errors.Wrapf(err, "cannot read the keys of RGW user %q", uid)
	}
	if len(u.Keys) == 0 {
		return rgw.Keys{}, errors.Errorf("RGW user %q has no S3 key", uid)
	}
	return u.Keys[0], nil
}

// noLimit is how RGW spells an unlimited quota dimension.
const noLimit = -1

// WantQuota merges the spec's quota into what RGW has: the fields the spec sets win, and 0 in
// the spec ("no limit") is RGW's -1. It says whether RGW already has it, and the differences.
func WantQuota(field string, q *v1alpha1.ObjectStoreQuota, have rgw.Quota) (rgw.Quota, bool, []string) {
	if q == nil {
		return have, true, nil
	}
	want := have
	want.Enabled = q.Enabled == nil || *q.Enabled
	if q.MaxSizeMiB != nil {
		want.MaxSizeBytes = limit(*q.MaxSizeMiB << 20)
	}
	if q.MaxObjects != nil {
		want.MaxObjects = limit(*q.MaxObjects)
	}
	var diff []string
	if want.Enabled != have.Enabled {
		diff = append(diff, fmt.Sprintf("%s.enabled: want %t, RGW has %t", field, want.Enabled, have.Enabled))
	}
	if norm(want.MaxSizeBytes) != norm(have.MaxSizeBytes) {
		diff = append(diff, fmt.Sprintf("%s.maxSizeMiB: want %s, RGW has %s", field, show(want.MaxSizeBytes, 20), show(have.MaxSizeBytes, 20)))
	}
	if norm(want.MaxObjects) != norm(have.MaxObjects) {
		diff = append(diff, fmt.Sprintf("%s.maxObjects: want %s, RGW has %s", field, show(want.MaxObjects, 0), show(have.MaxObjects, 0)))
	}
	return want, len(diff) == 0, diff
}

// limit maps a spec's 0 and any negative value to RGW's "no limit".
func limit(n int64) int64 {
	if n <= 0 {
		return noLimit
	}
	return n
}

// norm maps every negative limit to -1: RGW means "no limit" by any of them (0 is a limit).
func norm(n int64) int64 {
	if n < 0 {
		return noLimit
	}
	return n
}

// show renders a limit for a diff, shifted down by shift bits (bytes to MiB).
func show(n int64, shift uint) string {
	if n < 0 {
		return "no limit"
	}
	if n == 0 {
		return "0 (nothing allowed)"
	}
	if n&(1<<shift-1) != 0 {
		return fmt.Sprintf("%d bytes", n)
	}
	return fmt.Sprint(n >> shift)
}

// Observation renders an RGW quota for status.
func Observation(q rgw.Quota) v1alpha1.ObjectStoreQuotaObservation {
	return v1alpha1.ObjectStoreQuotaObservation{Enabled: q.Enabled, MaxSizeBytes: q.MaxSizeBytes, MaxObjects: q.MaxObjects}
}
