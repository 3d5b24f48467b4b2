package hostfirewall

import (
	"context"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
)

// A kind is what the two resource kinds tell the shared external client:
// which firewall, what the spec wants, where the observation goes.
type kind[T resource.ModernManaged] struct {
	scope   func(T) scope
	want    func(T) want
	observe func(T, v1alpha1.HostFirewallObservation)
}

type external[T resource.ModernManaged] struct {
	c *proxmox.Client
	k kind[T]
}

func (e *external[T]) Disconnect(context.Context) error { return nil }

// Observe reads the firewall. It always exists in PVE; a resource being
// deleted reports it gone once the rules it owns are removed.
func (e *external[T]) Observe(ctx context.Context, mg T) (managed.ExternalObservation, error) {
	sc, w := e.k.scope(mg), e.k.want(mg)
	st, err := read(ctx, e.c, sc)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	e.k.observe(mg, observation(sc, st))
	if meta.WasDeleted(mg) {
		return managed.ExternalObservation{ResourceExists: leftAfterDelete(w, st)}, nil
	}
	mg.SetConditions(xpv2.Available())
	d := diff(sc, w, st)
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: d == "", Diff: d}, nil
}

// Create is never needed (Observe always finds the firewall); it applies
// the spec like Update should a reconciler call it.
func (e *external[T]) Create(ctx context.Context, mg T) (managed.ExternalCreation, error) {
	return managed.ExternalCreation{}, apply(ctx, e.c, e.k.scope(mg), e.k.want(mg))
}

func (e *external[T]) Update(ctx context.Context, mg T) (managed.ExternalUpdate, error) {
	return managed.ExternalUpdate{}, apply(ctx, e.c, e.k.scope(mg), e.k.want(mg))
}

// Delete removes the rules the resource owns and leaves the options: the
// firewall keeps filtering (or not) with the policies it has.
func (e *external[T]) Delete(ctx context.Context, mg T) (managed.ExternalDelete, error) {
	mg.SetConditions(xpv2.Deleting())
	return managed.ExternalDelete{}, removeRules(ctx, e.c, e.k.scope(mg), e.k.want(mg))
}

func setIf(m map[string]string, k string, b *bool) {
	if b != nil {
		m[k] = flag(b)
	}
}

func setStr(m map[string]string, k string, s *string) {
	if s != nil {
		m[k] = *s
	}
}

var clusterKind = kind[*v1alpha1.ClusterFirewall]{
	scope: func(*v1alpha1.ClusterFirewall) scope { return clusterScope() },
	want: func(mg *v1alpha1.ClusterFirewall) want {
		p := mg.Spec.ForProvider
		o := map[string]string{}
		setIf(o, "enable", p.Enabled)
		setStr(o, "policy_in", p.PolicyIn)
		setStr(o, "policy_out", p.PolicyOut)
		setStr(o, "policy_forward", p.PolicyForward)
		setIf(o, "ebtables", p.Ebtables)
		return want{options: o, rateLimit: rateLimitWant(p.LogRateLimit), rules: p.Rules}
	},
	observe: func(mg *v1alpha1.ClusterFirewall, o v1alpha1.HostFirewallObservation) { mg.Status.AtProvider = o },
}

var nodeKind = kind[*v1alpha1.NodeFirewall]{
	scope: func(mg *v1alpha1.NodeFirewall) scope { return nodeScope(mg.Spec.ForProvider.Node) },
	want: func(mg *v1alpha1.NodeFirewall) want {
		p := mg.Spec.ForProvider
		o := map[string]string{}
		setIf(o, "enable", p.Enabled)
		setStr(o, "log_level_in", p.LogLevelIn)
		setStr(o, "log_level_out", p.LogLevelOut)
		setStr(o, "log_level_forward", p.LogLevelForward)
		setIf(o, "nosmurfs", p.NoSmurfs)
		setIf(o, "tcpflags", p.TCPFlags)
		setIf(o, "ndp", p.NDP)
		setIf(o, "nftables", p.NFTables)
		setIf(o, "protection_synflood", p.ProtectionSynflood)
		return want{options: o, rules: p.Rules}
	},
	observe: func(mg *v1alpha1.NodeFirewall, o v1alpha1.HostFirewallObservation) { mg.Status.AtProvider = o },
}
