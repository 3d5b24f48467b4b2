package firewallalias

import (
	"context"
	"net/netip"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/site"
)

const (
	errNotOurs = "firewall alias %q exists and was made outside this resource: set the crossplane.io/external-name annotation to %q to manage it, or give this resource another name"
	errRead    = "cannot read firewall alias %q"
	errCreate  = "cannot create firewall alias %q"
	errUpdate  = "cannot update firewall alias %q"
	errDelete  = "cannot delete firewall alias %q"
	errScan    = "cannot check the site's firewall rules and IP sets for uses of alias %q, so it is kept"
	errInUse   = "firewall alias %q is still used by %s; remove it from there first (PVE would delete it and leave them dangling)"
	errGone    = "firewall alias %q does not exist"
)

type external struct {
	c *proxmox.Client
}

func (e *external) Disconnect(context.Context) error { return nil }

func (e *external) Observe(ctx context.Context, mg *v1alpha1.FirewallAlias) (managed.ExternalObservation, error) {
	n, known := site.NameOf(mg)
	if meta.WasDeleted(mg) && !known {
		return managed.ExternalObservation{}, nil // never created: nothing of ours
	}
	a, ok, err := e.c.FirewallAlias(ctx, n)
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrapf(err, errRead, n)
	}
	if !ok {
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	lateInit := false
	if !known {
		if lateInit, err = site.TakeFound(mg, n, errNotOurs); err != nil {
			return managed.ExternalObservation{}, err
		}
	}
	mg.Status.AtProvider = v1alpha1.FirewallAliasObservation{CIDR: a.CIDR, Comment: a.Comment, IPVersion: a.IPVersion, Digest: a.Digest}
	mg.SetConditions(xpv2.Available())
	d := diff(mg.Spec.ForProvider, a)
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: d == "", ResourceLateInitialized: lateInit, Diff: d}, nil
}

// Create creates the alias, its external name set first so that it is
// saved with the outcome; a lost answer is found by the next observe.
func (e *external) Create(ctx context.Context, mg *v1alpha1.FirewallAlias) (managed.ExternalCreation, error) {
	n, _ := site.NameOf(mg)
	p := mg.Spec.ForProvider
	meta.SetExternalName(mg, n)
	err := e.c.CreateFirewallAlias(ctx, n, p.CIDR, ptrOr(p.Comment, ""))
	if proxmox.IsAlreadyExists(err) {
		// Absent when observed a moment ago: our own earlier create whose
		// answer was lost. The next observe compares it.
		return managed.ExternalCreation{}, nil
	}
	return managed.ExternalCreation{}, errors.Wrapf(err, errCreate, n)
}

// Update sets cidr and comment back, guarded by the digest observed in
// this reconcile: PVE refuses it if the alias list changed since.
func (e *external) Update(ctx context.Context, mg *v1alpha1.FirewallAlias) (managed.ExternalUpdate, error) {
	n, _ := site.NameOf(mg)
	obs := mg.Status.AtProvider
	if obs.Digest == "" {
		return managed.ExternalUpdate{}, errors.Errorf(errGone, n)
	}
	p := mg.Spec.ForProvider
	err := e.c.UpdateFirewallAlias(ctx, n, p.CIDR, ptrOr(p.Comment, obs.Comment), obs.Digest)
	return managed.ExternalUpdate{}, errors.Wrapf(err, errUpdate, n)
}

// Delete deletes the alias, only one whose external name is set (one it
// created or was told to manage), and only while no firewall rule or
// cluster IP set entry of the site uses it: PVE itself deletes a used
// alias without a word.
func (e *external) Delete(ctx context.Context, mg *v1alpha1.FirewallAlias) (managed.ExternalDelete, error) {
	mg.SetConditions(xpv2.Deleting())
	n, known := site.NameOf(mg)
	if !known {
		return managed.ExternalDelete{}, nil
	}
	users, err := e.c.RulesUsing(ctx, proxmox.UsesAlias(n))
	if err != nil {
		return managed.ExternalDelete{}, errors.Wrapf(err, errScan, n)
	}
	entries, err := e.c.IPSetsUsing(ctx, n)
	if err != nil {
		return managed.ExternalDelete{}, errors.Wrapf(err, errScan, n)
	}
	users = append(users, entries...)
	if len(users) > 0 {
		return managed.ExternalDelete{}, errors.Errorf(errInUse, n, strings.Join(users, "; "))
	}
	return managed.ExternalDelete{}, errors.Wrapf(e.c.DeleteFirewallAlias(ctx, n, ""), errDelete, n)
}

// diff lists what differs between the spec and PVE ("" when nothing): the
// cidr always, the comment when the spec sets it.
func diff(p v1alpha1.FirewallAliasParameters, a proxmox.FirewallAlias) string {
	var d []string
	if !sameCIDR(p.CIDR, a.CIDR) {
		d = append(d, "cidr: "+a.CIDR+" -> "+p.CIDR)
	}
	if p.Comment != nil && strings.TrimSpace(*p.Comment) != strings.TrimSpace(a.Comment) {
		d = append(d, "comment differs")
	}
	return strings.Join(d, "; ")
}

// sameCIDR compares two addresses or networks in their canonical forms
// (2001:DB8::/32 is 2001:db8::/32).
func sameCIDR(a, b string) bool {
	return canonical(a) == canonical(b)
}

func canonical(s string) string {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.String()
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.String()
	}
	return s
}

func ptrOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}
