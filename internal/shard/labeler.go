package shard

import (
	"context"
	"fmt"
	"strings"
	"time"

	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/record"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
)

// Reasons of the labeler's events on a managed resource.
const (
	ReasonLabeled    = "ShardAssigned"
	ReasonUnassigned = "ShardUnassigned"
)

// SetupLabeler adds to mgr, for each managed kind, the controller that keeps
// the shard label of that kind's resources equal to their config's:
//   - a resource no shard has labeled yet (seen through a cache of its own,
//     selecting resources without the key) gets its config's value — any
//     shard's labeler may do it, the result is the same;
//   - a resource of this shard whose config left the shard (the config's
//     label changed: it disappears from this shard's config cache) gets the
//     config's new value, which hands it over to that shard.
//
// A config without the label is no shard's: its resources stay unlabeled,
// are reconciled by no replica, and get a ShardUnassigned event.
//
// Like every controller it runs only on the shard's elected leader.
// namespace limits it like --namespace (empty: all namespaces).
func SetupLabeler(mgr ctrl.Manager, s *Shard, kinds []schema.GroupVersionKind, namespace string, log logging.Logger) error {
	if s == nil {
		return nil
	}
	missing, err := labels.NewRequirement(s.Key, selection.DoesNotExist, nil)
	if err != nil {
		return err
	}
	co := cache.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(), DefaultLabelSelector: labels.NewSelector().Add(*missing)}
	if namespace != "" {
		co.DefaultNamespaces = map[string]cache.Config{namespace: {}}
	}
	unlabeled, err := cache.New(mgr.GetConfig(), co)
	if err != nil {
		return errors.Wrap(err, "cannot create the cache of managed resources without a shard label")
	}
	if err := mgr.Add(unlabeled); err != nil {
		return err
	}
	for _, gvk := range kinds {
		l := &labeler{shard: s, gvk: gvk, kube: mgr.GetClient(), reader: mgr.GetAPIReader(), unlabeled: unlabeled,
			rec: mgr.GetEventRecorderFor("shard-labeler"), log: log.WithValues("controller", "shard-labeler", "kind", gvk.Kind)} //nolint:staticcheck // the legacy recorder is what crossplane-runtime uses too
		if err := l.setup(mgr); err != nil {
			return errors.Wrapf(err, "cannot set up the shard labeler of %s", gvk.Kind)
		}
	}
	return nil
}

type labeler struct {
	shard     *Shard
	gvk       schema.GroupVersionKind
	kube      client.Client // the shard's cache
	reader    client.Reader // the API server, uncached
	unlabeled cache.Cache
	rec       record.EventRecorder
	log       logging.Logger
}

func (l *labeler) newMR() (resource.ModernManaged, error) {
	obj, err := l.kube.Scheme().New(l.gvk)
	if err != nil {
		return nil, err
	}
	mg, ok := obj.(resource.ModernManaged)
	if !ok {
		return nil, fmt.Errorf("%s is not a namespaced managed resource", l.gvk)
	}
	return mg, nil
}

func (l *labeler) setup(mgr ctrl.Manager) error {
	mg, err := l.newMR()
	if err != nil {
		return err
	}
	mine, err := l.newMR()
	if err != nil {
		return err
	}
	onCreate := predicate.Funcs{
		UpdateFunc:  func(event.UpdateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
	left := predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		UpdateFunc:  func(event.UpdateEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("shard-labeler/"+strings.ToLower(l.gvk.GroupKind().String())).
		WithOptions(controller.Options{MaxConcurrentReconciles: 2, NewQueue: options.NewQueue}).
		// Resources no shard has labeled yet.
		WatchesRawSource(source.Kind(l.unlabeled, client.Object(mg), &handler.EnqueueRequestForObject{})).
		// This shard's resources when first seen (also after a restart, when
		// their config may have moved while no leader ran).
		WatchesRawSource(source.Kind(mgr.GetCache(), client.Object(mine), &handler.EnqueueRequestForObject{}, onCreate)).
		// A config leaving this shard's cache: its resources follow it.
		Watches(&v1alpha1.ProviderConfig{}, handler.EnqueueRequestsFromMapFunc(l.usersOf), builder.WithPredicates(left)).
		Watches(&v1alpha1.ClusterProviderConfig{}, handler.EnqueueRequestsFromMapFunc(l.usersOf), builder.WithPredicates(left)).
		Complete(reconcile.Func(l.reconcile))
}

// usersOf lists this shard's resources of the kind that use the config.
func (l *labeler) usersOf(ctx context.Context, cfg client.Object) []reconcile.Request {
	list, err := l.kube.Scheme().New(l.gvk.GroupVersion().WithKind(l.gvk.Kind + "List"))
	if err != nil {
		return nil
	}
	ol := list.(client.ObjectList)
	var opts []client.ListOption
	kind := v1alpha1.ClusterProviderConfigKind
	if _, ok := cfg.(*v1alpha1.ProviderConfig); ok {
		kind = v1alpha1.ProviderConfigKind
		opts = append(opts, client.InNamespace(cfg.GetNamespace()))
	}
	if err := l.kube.List(ctx, ol, opts...); err != nil {
		l.log.Info("Cannot list the resources of a config that left the shard", "config", cfg.GetName(), "error", err)
		return nil
	}
	var out []reconcile.Request
	_ = meta.EachListItem(ol, func(o runtime.Object) error {
		mg, ok := o.(resource.ModernManaged)
		if !ok {
			return nil
		}
		if ref := mg.GetProviderConfigReference(); ref != nil && ref.Kind == kind && ref.Name == cfg.GetName() {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: mg.GetNamespace(), Name: mg.GetName()}})
		}
		return nil
	})
	return out
}

func (l *labeler) reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	mg, err := l.newMR()
	if err != nil {
		return reconcile.Result{}, err
	}
	// Where the resource is: this shard's cache, the unlabeled cache, or
	// (labeled for another shard, or just changed) only the API server.
	found := false
	for _, r := range []client.Reader{l.kube, l.unlabeled, l.reader} {
		if err := r.Get(ctx, req.NamespacedName, mg); err == nil {
			found = true
			break
		} else if !kerrors.IsNotFound(err) {
			return reconcile.Result{}, err
		}
	}
	if !found {
		return reconcile.Result{}, nil
	}
	ref := mg.GetProviderConfigReference()
	if ref == nil {
		return reconcile.Result{}, nil
	}
	cfg, err := l.config(ctx, mg.GetNamespace(), ref.Kind, ref.Name)
	if kerrors.IsNotFound(err) {
		// No such config (yet): the resource's own reconciler reports that
		// once it has a shard; an unlabeled one is looked at again later.
		return reconcile.Result{RequeueAfter: time.Minute}, nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	want, ok := cfg.GetLabels()[l.shard.Key]
	if !ok {
		if _, has := mg.GetLabels()[l.shard.Key]; !has {
			l.rec.Eventf(mg, "Warning", ReasonUnassigned, "%s %s has no label %s: no shard of the provider reconciles this resource", ref.Kind, ref.Name, l.shard.Key)
		}
		return reconcile.Result{}, nil
	}
	if have, has := mg.GetLabels()[l.shard.Key]; has && have == want {
		return reconcile.Result{}, nil
	}
	before := mg.GetLabels()[l.shard.Key]
	patch := client.MergeFrom(mg.DeepCopyObject().(client.Object))
	lb := mg.GetLabels()
	if lb == nil {
		lb = map[string]string{}
	}
	lb[l.shard.Key] = want
	mg.SetLabels(lb)
	if err := l.kube.Patch(ctx, mg, patch); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	l.log.Debug("Shard label set", "resource", req.String(), "from", before, "to", want)
	l.rec.Eventf(mg, "Normal", ReasonLabeled, "%s=%s copied from %s %s", l.shard.Key, want, ref.Kind, ref.Name)
	return reconcile.Result{}, nil
}

// config reads the resource's config, from this shard's cache when it is
// there, else from the API server.
func (l *labeler) config(ctx context.Context, ns, kind, name string) (client.Object, error) {
	var cfg client.Object
	key := types.NamespacedName{Name: name}
	switch kind {
	case v1alpha1.ProviderConfigKind:
		cfg, key.Namespace = &v1alpha1.ProviderConfig{}, ns
	case v1alpha1.ClusterProviderConfigKind:
		cfg = &v1alpha1.ClusterProviderConfig{}
	default:
		return nil, kerrors.NewNotFound(schema.GroupResource{Group: v1alpha1.Group, Resource: kind}, name)
	}
	err := l.kube.Get(ctx, key, cfg)
	if kerrors.IsNotFound(err) {
		err = l.reader.Get(ctx, key, cfg)
	}
	return cfg, err
}
