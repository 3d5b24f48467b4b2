package guest

import (
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/site"
)

// Setup registers the controller of a guest kind: the shared lifecycle with
// the kind's mapping, on the site's shared client.
func Setup[T resource.ModernManaged](mgr ctrl.Manager, o options.Options, gvk schema.GroupVersionKind, newFn func() T, kind Kind[T]) error {
	waker := &options.Waker{}
	o.Waker = waker
	return site.Setup(mgr, o, gvk, newFn,
		func(c *proxmox.Client, kube client.Client) managed.TypedExternalClient[T] {
			return NewExternal[T](c, kube, kind, waker)
		},
		// Creation is safe to retry: the id is saved before the create and
		// an owner tag marks the guest, so a lost answer is adopted, not repeated.
		managed.WithDeterministicExternalName(true),
		managed.WithPollIntervalHook(func(mg resource.Managed, d time.Duration) time.Duration {
			x, ok := mg.(T)
			if !ok {
				return d
			}
			if _, waiting := queued.Load(string(x.GetUID())); waiting {
				return max(d, QueuedPoll)
			}
			if next, ok := SettledPoll(x, d); ok {
				return next
			}
			st := kind.Status(x)
			return BusyPoll(PendingTask(x, *st.PendingTask), *st.Lock, d)
		}),
		// No name-as-external-name: a guest's external name is its id, set
		// just before its create; writing metadata.name there first would
		// cost an API write and a reconcile per new resource for nothing.
		managed.WithInitializers(),
		// PVE writes a new guest's config (locked) as the create call
		// returns and the view is refreshed after every write, so a guest
		// not seen 1s after its create really is gone; the default 30s
		// would only delay deletes of fresh guests.
		managed.WithCreationGracePeriod(time.Second),
	)
}
