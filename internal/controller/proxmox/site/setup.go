// Package site connects the Proxmox controllers to the shared client of a
// resolved site: every Proxmox kind of a site shares one client, one cluster
// view and one request budget.
package site

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/generic"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/providerconfig"
)

const errNoRegistry = "no Proxmox client registry in the controller options"

// DefaultDriftInterval is the drift interval when options leave it unset.
const DefaultDriftInterval = 5 * time.Minute

// RegistryOptions are the client settings o implies: one cluster view serves
// a little less than a poll interval, so every poll of a site's guests
// costs one GET /cluster/resources, and the site's guest watch reads it
// every poll (unless o.PollEveryGuest).
func RegistryOptions(o options.Options) proxmox.Options {
	ttl := o.PollInterval * 9 / 10
	if ttl <= 0 {
		ttl = 10 * time.Second
	}
	drift := o.DriftInterval
	if drift <= 0 {
		drift = DefaultDriftInterval
	}
	ro := proxmox.Options{ViewTTL: ttl, DriftInterval: drift}
	if !o.PollEveryGuest {
		ro.WatchEvery = max(o.PollInterval, time.Second)
	}
	return ro
}

// Setup registers a Proxmox kind's controller: the kind supplies only how to
// build its external client from the site's shared client (and the API
// server client, for kinds that must persist something before a write).
func Setup[T resource.ModernManaged](mgr ctrl.Manager, o options.Options, gvk schema.GroupVersionKind, newFn func() T,
	external func(c *proxmox.Client, kube client.Client) managed.TypedExternalClient[T], ropts ...managed.ReconcilerOption) error {
	clients := o.Proxmox
	if clients == nil {
		return errors.New(errNoRegistry)
	}
	return generic.Setup(mgr, o, gvk, providerconfig.SectionProxmox, newFn,
		func(_ context.Context, _ T, s *providerconfig.Site, kube client.Client) (managed.TypedExternalClient[T], error) {
			// The resolver asked for the proxmox section: s.Proxmox is set.
			c, err := clients.Client(s)
			if err != nil {
				return nil, err
			}
			return answering[T]{TypedExternalClient: external(c, kube), site: c}, nil
		}, ropts...)
}

// answering is a kind's external client that tells when its site last
// answered (generic parks the resources of a site that does not answer,
// and only a real answer ends that).
type answering[T resource.ModernManaged] struct {
	managed.TypedExternalClient[T]
	site *proxmox.Client
}

func (a answering[T]) LastAnswer() time.Time { return a.site.LastAnswer() }
