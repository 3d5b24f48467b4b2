package guest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
)

const (
	errExternal        = "external name %q is not a guest id"
	errWrongType       = "guest %d is a %s, not a %s"
	errConfig          = "cannot read the config of guest %d"
	errNextID          = "cannot get a free guest id"
	errReserve         = "cannot save the guest id before creating it"
	errCreate          = "cannot create guest %d"
	errTooManyIDs      = "guest ids %v were all taken by other writers"
	maxIDAttempts      = 3
	reasonLocked       = "guest is locked (%s)"
	reasonNodeSilent   = "node %s does not report: PVE shows guest %d's status as unknown (the node is offline or its pvestatd is down); waiting for it to come back"
	errPower           = "cannot %s guest %d"
	errNotOursToDelete = "guest %d (name %q, lock %q) is not known to be this resource's, so it is not destroyed"
	reasonQueued       = "waiting to be created: %d ahead in the site's queue (spec.proxmox.maxParallelCreates creates run at once)"
)

// StatusUnknown is a guest's status in /cluster/resources when its node
// sends no statistics (pve-manager PVE/API2Tools.pm extract_vm_stats): the
// node is offline or its pvestatd is down.
const StatusUnknown = "unknown"

// Status is what the shared lifecycle keeps in a kind's status.atProvider.
type Status struct {
	PendingTask   *string
	LastTaskError *string
	LastVerified  **metav1.Time
	Lock          *string // PVE's lock on the guest, as last seen
}

// A Kind is what one guest kind (VMs, containers) supplies to the shared
// lifecycle: its PVE type, names, status fields, its create call, and the
// mapping between its spec and a guest's config.
type Kind[T resource.Managed] interface {
	// Type is the guest type in PVE: qemu or lxc.
	Type() string
	// Name is the guest's name (VMs) or hostname (containers).
	Name(mg T) string
	// SpecID is spec.forProvider.vmid (nil when PVE picks the id).
	SpecID(mg T) *int64
	// Status points at the status fields the lifecycle keeps.
	Status(mg T) Status
	// Seen records what the cluster view shows of the guest in mg's status.
	Seen(mg T, g *proxmox.Guest)
	// Create starts the create (or clone) task of guest id and returns its UPID.
	Create(ctx context.Context, c *proxmox.Client, mg T, id int) (string, error)
	// Compare observes an unlocked guest whose config was read (fresh says
	// now; the firewall is read only then): it sets mg's conditions and
	// returns whether it is up to date, the diff and connection details.
	Compare(ctx context.Context, c *proxmox.Client, mg T, g *proxmox.Guest, cfg map[string]any, fresh bool) (managed.ExternalObservation, error)
	// Update makes the guest match the spec from its config cfg; a task it
	// started (resize, power, template) is returned to wait for.
	Update(ctx context.Context, c *proxmox.Client, mg T, g *proxmox.Guest, cfg map[string]any) (string, error)
}

// External is the lifecycle every guest kind shares: pending tasks checked
// without blocking, the guest located by saved id or adopted by owner tag,
// exactly-once create (the id saved before the create call), update from
// the config read with its digest, power and delete.
type External[T resource.Managed] struct {
	c     *proxmox.Client
	kube  client.Client
	kind  Kind[T]
	waker *options.Waker
}

// NewExternal returns the lifecycle of kind on the site client c; waker
// (nil in unit tests) reconciles a resource again when its task ends or its
// turn to be created comes.
func NewExternal[T resource.Managed](c *proxmox.Client, kube client.Client, kind Kind[T], waker *options.Waker) *External[T] {
	return &External[T]{c: c, kube: kube, kind: kind, waker: waker}
}

// wake is the call that reconciles mg again.
func (e *External[T]) wake(mg T) proxmox.Wake {
	if e.waker == nil {
		return nil
	}
	key := types.NamespacedName{Namespace: mg.GetNamespace(), Name: mg.GetName()}
	return func(urgent bool) {
		if urgent {
			e.waker.WakeUrgently(key)
			return
		}
		e.waker.Wake(key)
	}
}

// watch has mg woken when its task upid ends.
func (e *External[T]) watch(mg T, upid string) {
	if w := e.wake(mg); w != nil {
		e.c.WatchTask(upid, func() { w(false) })
	}
}

// Disconnect does nothing: the site client is shared.
func (e *External[T]) Disconnect(context.Context) error { return nil }

// ID is mg's guest id from the external name, or 0 when none is set yet.
func ID(mg resource.Managed) (int, error) {
	en := meta.GetExternalName(mg)
	if en == "" || en == mg.GetName() {
		return 0, nil
	}
	id, err := strconv.Atoi(en)
	if err != nil || id < 100 {
		return 0, errors.Errorf(errExternal, en)
	}
	return id, nil
}

// Observe implements the managed external client.
func (e *External[T]) Observe(ctx context.Context, mg T) (managed.ExternalObservation, error) {
	var seen observed
	obs, err := e.observe(ctx, mg, &seen)
	e.settle(mg, seen, obs, err)
	return obs, err
}

// observed is what observe compared with the spec: the guest, and when its
// config was read from PVE.
type observed struct {
	g     *proxmox.Guest
	read  time.Time
	every time.Duration // how often it is re-read (rereadEvery)
}

// VerifiedKept is how old status.atProvider.lastVerified may grow while
// re-reads find the guest as the spec says: moving it at every re-read
// would be a status write per guest per drift interval (2,000 a minute at
// 10,000 guests) that says nothing new.
const VerifiedKept = time.Hour

// ObserveOnlyReread is how often an observe-only guest's whole config is
// re-read when the cluster view shows no change: there is no drift to set
// back, only a status to refresh (NICs, disks), and at 10,000 imports a
// re-read every --drift-interval would be 2,000 PVE requests a minute.
const ObserveOnlyReread = time.Hour

// rereadEvery is how often mg's whole config is re-read when the view
// shows no change: the drift interval, or ObserveOnlyReread for an
// observe-only resource.
func (e *External[T]) rereadEvery(mg T) time.Duration {
	if d := e.c.DriftInterval(); mayUpdate(mg) || d >= ObserveOnlyReread {
		return d
	}
	return ObserveOnlyReread
}

// observe is Observe; it fills seen when it compared the guest's config
// with the spec.
func (e *External[T]) observe(ctx context.Context, mg T, seen *observed) (managed.ExternalObservation, error) {
	st := e.kind.Status(mg)
	// A task of ours still running (clone, start, delete, ...): wait for it
	// without blocking a worker; the next poll checks again.
	done, lateInit, waiting, err := CheckPending(ctx, e.c, mg, st.PendingTask, st.LastTaskError)
	if !done || err != nil {
		if upid := PendingTask(mg, *st.PendingTask); upid != "" && err == nil {
			e.watch(mg, upid)
		}
		return waiting, err
	}
	id, err := ID(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	g, adopted, end, err := Locate(ctx, e.c, mg, id, ExplicitID(e.kind.SpecID(mg), id), e.kind.Name(mg), reasonLocked)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	if end != nil {
		end.ResourceLateInitialized = end.ResourceLateInitialized || lateInit
		return *end, nil
	}
	lateInit = lateInit || adopted
	if g == nil {
		if queued, ok := e.queue(ctx, mg); ok {
			queued.ResourceLateInitialized = lateInit
			return queued, nil
		}
		if err := e.prepareCreate(ctx, mg); err != nil {
			return managed.ExternalObservation{}, err
		}
		return managed.ExternalObservation{ResourceExists: false, ResourceLateInitialized: lateInit}, nil
	}
	e.c.ReleaseCreate(string(mg.GetUID()))
	if g.Type != e.kind.Type() {
		return managed.ExternalObservation{}, errors.Errorf(errWrongType, int(g.VMID), g.Type, e.kind.Type())
	}
	e.kind.Seen(mg, g)
	if g.Status == StatusUnknown {
		// Its node does not report: nothing can be read or done there, and
		// nothing is created elsewhere (the guest still exists).
		mg.SetConditions(xpv2.Unavailable().WithMessage(fmt.Sprintf(reasonNodeSilent, g.Node, int(g.VMID))))
		return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ResourceLateInitialized: lateInit}, nil
	}
	if g.Lock != "" {
		// Proxmox is working on the guest (clone, migrate, backup): don't fight it.
		mg.SetConditions(xpv2.Unavailable().WithMessage(fmt.Sprintf(reasonLocked, g.Lock)))
		return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ResourceLateInitialized: lateInit}, nil
	}
	every := e.rereadEvery(mg)
	cfg, fresh, read, err := e.c.GuestConfigEvery(ctx, g, mg.GetGeneration(), every)
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrapf(err, errConfig, int(g.VMID))
	}
	obs, err := e.kind.Compare(ctx, e.c, mg, g, cfg, fresh)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	// A difference moves it at once (an Update follows) unless the resource
	// may not update: an observe-only import differs from its spec for good,
	// and moving it at every read of one would be a status write per read.
	if prev := *st.LastVerified; prev == nil || read.Sub(prev.Time) >= VerifiedKept || !obs.ResourceUpToDate && mayUpdate(mg) {
		*st.LastVerified = &metav1.Time{Time: read.Truncate(time.Second)}
	}
	obs.ResourceExists = true
	obs.ResourceLateInitialized = obs.ResourceLateInitialized || lateInit
	*seen = observed{g: g, read: read, every: every}
	return obs, nil
}

// An Unsettled kind says when one of its guests, though Ready and up to
// date, still needs its poll: something it waits for does not show in the
// cluster view (a VM's guest-agent addresses).
type Unsettled[T resource.Managed] interface {
	Unsettled(mg T) bool
}

// settle puts mg under the site's guest watch when its guest g is Ready and
// up to date with nothing pending, or mg is observe-only: it is then
// reconciled when the cluster view shows g change and at its drift re-read
// (SettledPoll), not every poll. Anything else takes it out of the watch.
func (e *External[T]) settle(mg T, seen observed, obs managed.ExternalObservation, err error) {
	key := string(mg.GetUID())
	g := seen.g
	// Nothing for a reconcile to do: an observe-only resource just reports
	// what it sees; another is done when its guest is Ready and as the spec
	// says.
	idle := !mayUpdate(mg) || (obs.ResourceUpToDate && mg.GetCondition(xpv2.TypeReady).Status == corev1.ConditionTrue)
	// Without its finalizer yet, the reconciler adds it after this Observe
	// with an Update whose answer replaces the status observed here: the
	// resource needs one more poll to show it.
	if err == nil && g != nil && e.waker != nil && idle && !meta.WasDeleted(mg) && !unsettled(e.kind, mg) &&
		meta.FinalizerExists(mg, managed.FinalizerName) &&
		e.c.WatchGuest(g, key, e.wake(mg), e.waker.Done()) {
		settled.Store(key, settledGuest{id: int(g.VMID), read: seen.read, every: seen.every})
		return
	}
	if s, ok := settled.LoadAndDelete(key); ok {
		e.c.UnwatchGuest(s.(settledGuest).id, key)
	}
}

func unsettled[T resource.Managed](k Kind[T], mg T) bool {
	u, ok := k.(Unsettled[T])
	return ok && u.Unsettled(mg)
}

// settled holds the UIDs of the resources under their site's guest watch,
// with their guest's id and when its config was last read: their poll is
// SettledPoll.
var settled sync.Map

type settledGuest struct {
	id    int
	read  time.Time
	every time.Duration
}

// SettledPoll is the next poll of a resource under its site's guest watch:
// its next re-read, the last read + its re-read interval from now (never
// sooner than the poll d), spread by up to a tenth of the interval so
// resources made together do not come due together. ok is false for a
// resource not under the watch.
func SettledPoll(mg resource.Managed, d time.Duration) (time.Duration, bool) {
	v, ok := settled.Load(string(mg.GetUID()))
	if !ok {
		return 0, false
	}
	s := v.(settledGuest)
	next := max(d, time.Until(s.read.Add(s.every)))
	if spread := int64(s.every / 10); spread > 0 {
		next += time.Duration(rand.Int64N(spread)) //nolint:gosec // spreading polls, not a secret.
	}
	return next, true
}

// queue holds back the create of a guest that does not exist yet until the
// site's create gate admits it (spec.proxmox.maxParallelCreates): ok says
// it waits, and obs then reports it as existing and up to date, so the
// reconciler neither creates it nor asks again before its wake-up (or its
// poll). A resource being deleted, or not allowed to create, never waits.
func (e *External[T]) queue(ctx context.Context, mg T) (obs managed.ExternalObservation, ok bool) {
	key := string(mg.GetUID())
	if meta.WasDeleted(mg) || !mayCreate(mg) {
		e.c.ReleaseCreate(key)
		queued.Delete(key)
		return obs, false
	}
	admitted, ahead := e.c.AdmitCreate(key, e.wake(mg))
	if admitted {
		queued.Delete(key)
		return obs, false
	}
	queued.Store(key, struct{}{})
	if !meta.FinalizerExists(mg, managed.FinalizerName) && e.kube != nil {
		// The reconciler adds its finalizer to a resource it finds existing
		// with an Update whose answer replaces the status set here, so the
		// queue's condition would never show: add it first.
		// A failed write (a conflict: the resource changed, so it is
		// reconciled again anyway) leaves it queued all the same.
		meta.AddFinalizer(mg, managed.FinalizerName)
		_ = e.kube.Update(ctx, mg)
	}
	mg.SetConditions(xpv2.Creating().WithMessage(fmt.Sprintf(reasonQueued, ahead)))
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true}, true
}

// queued holds the UIDs of the resources waiting in a create queue: their
// poll is QueuedPoll, as the gate wakes them when their turn comes.
var queued sync.Map

// QueuedPoll is how soon a resource waiting in a site's create queue is
// looked at again if its wake-up did not come: polling the queue would only
// spend the reconcile budget the creates ahead of it need.
const QueuedPoll = 2 * time.Minute

// mayCreate tells whether mg's management policies let it create.
func mayCreate(mg resource.Managed) bool { return mayDo(mg, xpv2.ManagementActionCreate) }

// mayUpdate tells whether mg's management policies let it update.
func mayUpdate(mg resource.Managed) bool { return mayDo(mg, xpv2.ManagementActionUpdate) }

func mayDo(mg resource.Managed, action xpv2.ManagementAction) bool {
	for _, p := range mg.GetManagementPolicies() {
		if p == xpv2.ManagementActionAll || p == action {
			return true
		}
	}
	return false
}

// prepareCreate readies mg, found without a guest, for the create that
// follows this Observe: the reconciler's finalizer and the id the guest
// will have (named by the spec, else allocated) are set on mg in memory, so
// the reconciler's write before the create (its create-pending annotation,
// refused whole on a conflict) saves them too. Each was a write of its own
// before the create (the finalizer, then the external name in Create):
// three object changes of the API server for one, at a new VM's busiest
// moment. Nothing is prepared for a resource being deleted or not allowed
// to create (the reconciler creates nothing then).
func (e *External[T]) prepareCreate(ctx context.Context, mg T) error {
	if meta.WasDeleted(mg) || !mayCreate(mg) {
		return nil
	}
	meta.AddFinalizer(mg, managed.FinalizerName)
	id, err := ID(mg)
	if err != nil || id != 0 {
		return err
	}
	if spec := e.kind.SpecID(mg); spec != nil {
		id = int(*spec)
	} else if id, err = e.c.AllocateID(ctx); err != nil {
		return errors.Wrap(err, errNextID)
	}
	meta.SetExternalName(mg, strconv.Itoa(id))
	return nil
}

// Create implements the managed external client: the id (saved by an
// earlier attempt, named by the spec, or allocated) is saved as external
// name before the create call, so after a crash or a lost answer the next
// Observe finds the guest by it instead of creating another.
func (e *External[T]) Create(ctx context.Context, mg T) (managed.ExternalCreation, error) {
	id, err := ID(mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	spec := e.kind.SpecID(mg)
	if spec != nil {
		id = int(*spec)
	}
	// Whatever happens below (a lost answer included), the next Observe
	// must see the cluster as it is now, not a view from before the write;
	// a create slot not taken by a started task goes back to the queue.
	defer e.c.InvalidateView()
	key := string(mg.GetUID())
	defer e.c.ReleaseCreate(key)
	var taken []int
	for range maxIDAttempts {
		if id == 0 {
			if id, err = e.c.AllocateID(ctx); err != nil {
				return managed.ExternalCreation{}, errors.Wrap(err, errNextID)
			}
		}
		if meta.GetExternalName(mg) != strconv.Itoa(id) {
			meta.SetExternalName(mg, strconv.Itoa(id))
			if err := e.kube.Update(ctx, mg); err != nil {
				return managed.ExternalCreation{}, errors.Wrap(err, errReserve)
			}
		}
		upid, err := e.kind.Create(ctx, e.c, mg, id)
		if err == nil {
			e.c.CreateStarted(key, upid)
			e.watch(mg, upid)
			st := e.kind.Status(mg)
			meta.AddAnnotations(mg, map[string]string{AnnotationPendingTask: upid})
			*st.PendingTask, *st.LastTaskError = upid, ""
			return managed.ExternalCreation{}, nil
		}
		if !proxmox.IsAlreadyExists(err) {
			return managed.ExternalCreation{}, errors.Wrapf(err, errCreate, id)
		}
		// The id is in use: by our own earlier attempt whose answer was
		// lost (then it is ours to keep), or by another writer (nextid is
		// only a hint).
		if mine, err := e.ownsID(ctx, mg, id); err != nil || mine {
			return managed.ExternalCreation{}, err
		}
		if spec != nil {
			return managed.ExternalCreation{}, errors.Wrapf(err, errCreate, id)
		}
		taken = append(taken, id)
		id = 0
	}
	return managed.ExternalCreation{}, errors.Errorf(errTooManyIDs, taken)
}

// ownsID tells whether the guest that holds id, seen in a fresh view, is mg's.
func (e *External[T]) ownsID(ctx context.Context, mg T, id int) (bool, error) {
	e.c.InvalidateView()
	view, err := e.c.View(ctx)
	if err != nil {
		return false, errors.Wrap(err, errView)
	}
	g, ok := view.Guest(id)
	// Only a guest known to be ours is kept: one still locked by another
	// writer's create (Undecided) is theirs until it says otherwise, and
	// claiming it would make two resources share one guest.
	return ok && Owner(mg, g, e.kind.Name(mg)) == Ours, nil
}

// Update implements the managed external client.
func (e *External[T]) Update(ctx context.Context, mg T) (managed.ExternalUpdate, error) {
	g, err := e.guest(ctx, mg)
	if err != nil || g == nil {
		return managed.ExternalUpdate{}, err
	}
	id := int(g.VMID)
	defer func() { e.c.Forget(id); e.c.InvalidateView() }()
	cfg, _, _, err := e.c.GuestConfig(ctx, g, mg.GetGeneration())
	if err != nil {
		return managed.ExternalUpdate{}, errors.Wrapf(err, errConfig, id)
	}
	upid, err := e.kind.Update(ctx, e.c, mg, g, cfg)
	if upid != "" {
		*e.kind.Status(mg).PendingTask = upid
		e.watch(mg, upid)
		// Said in the status write that ends this reconcile: the next one
		// (the task still running) then finds nothing new to write.
		mg.SetConditions(TaskRunning(upid))
	}
	return managed.ExternalUpdate{}, err
}

// Delete implements the managed external client: the guest is stopped,
// then destroyed; Observe declares it gone only once PVE confirms it.
func (e *External[T]) Delete(ctx context.Context, mg T) (managed.ExternalDelete, error) {
	st := e.kind.Status(mg)
	if PendingTask(mg, *st.PendingTask) != "" {
		return managed.ExternalDelete{}, nil // Observe waits for it first.
	}
	g, err := e.guest(ctx, mg)
	if err != nil || g == nil {
		return managed.ExternalDelete{}, err
	}
	// Only our own guest is ever destroyed: the id may name another
	// writer's guest (a lost id race, a guest still locked by someone
	// else's create). Observe then forgets the id or waits.
	if o := Owner(mg, g, e.kind.Name(mg)); o != Ours {
		return managed.ExternalDelete{}, errors.Errorf(errNotOursToDelete, int(g.VMID), g.Name, g.Lock)
	}
	upid, err := Destroy(ctx, e.c, g)
	if err != nil {
		return managed.ExternalDelete{}, err
	}
	*st.PendingTask = upid
	e.watch(mg, upid)
	return managed.ExternalDelete{}, nil
}

// guest finds mg's guest in the cluster view; nil when it is gone.
func (e *External[T]) guest(ctx context.Context, mg T) (*proxmox.Guest, error) {
	id, err := ID(mg)
	if err != nil {
		return nil, err
	}
	return Find(ctx, e.c, id)
}

// Params turns a config diff into request parameters in PVE's string forms.
func Params(set map[string]any) proxmox.Params {
	out := make(proxmox.Params, len(set))
	for k, v := range set {
		out[k] = proxmox.String(v)
	}
	return out
}

// DiffText names what differs for the Synced condition: config keys, then
// the extra items the kind lists (a disk size, the power state).
func DiffText(set map[string]any, extra ...string) string {
	parts := make([]string, 0, len(set)+len(extra))
	for k := range set {
		parts = append(parts, k)
	}
	sort.Strings(parts)
	for _, x := range extra {
		if x != "" {
			parts = append(parts, x)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "differs from spec: " + strings.Join(parts, ", ")
}

// Connection details every guest kind publishes.
const (
	ConnIP   = "ipAddress"
	ConnVMID = "vmid"
	ConnNode = "node"
)

// Connection is a guest's connection details: its id, node and first IP.
func Connection(g *proxmox.Guest, ips []string) managed.ConnectionDetails {
	cd := managed.ConnectionDetails{ConnVMID: []byte(strconv.Itoa(int(g.VMID))), ConnNode: []byte(g.Node)}
	if len(ips) > 0 {
		cd[ConnIP] = []byte(ips[0])
	}
	return cd
}

// SetPower starts the power task that takes a guest from running to want
// (start, or a shutdown that stops it after 60s) and returns its UPID; ""
// when it already is in that state.
func SetPower(ctx context.Context, c *proxmox.Client, g *proxmox.Guest, want bool) (string, error) {
	running := g.Status == "running"
	action := proxmox.PowerStart
	switch {
	case want == running:
		return "", nil
	case running:
		action = proxmox.PowerShutdown
	}
	upid, err := c.SetPower(ctx, g.Ref(), action, 60)
	return upid, errors.Wrapf(err, errPower, action, int(g.VMID))
}
