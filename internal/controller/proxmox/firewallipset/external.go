package firewallipset

import (
	"context"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/ipsetplan"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/site"
)

const (
	errNotOurs = "firewall IP set %q exists and was made outside this resource: set the crossplane.io/external-name annotation to %q to manage it, or give this resource another name"
	errRead    = "cannot read firewall IP set %q"
	errCreate  = "cannot create firewall IP set %q"
	errEntries = "cannot change the entries of firewall IP set %q"
	errComment = "cannot set the comment of firewall IP set %q"
	errDelete  = "cannot delete firewall IP set %q"
	errScan    = "cannot check the site's firewall rules for uses of IP set %q, so it is kept"
	errInUse   = "firewall IP set %q is still used by %s; remove it from those rules first (PVE would delete it and leave the rules dangling)"
)

type external struct {
	c *proxmox.Client
}

func (e *external) Disconnect(context.Context) error { return nil }

func (e *external) Observe(ctx context.Context, mg *v1alpha1.FirewallIPSet) (managed.ExternalObservation, error) {
	n, known := site.NameOf(mg)
	if meta.WasDeleted(mg) && !known {
		return managed.ExternalObservation{}, nil // never created: nothing of ours
	}
	set, ok, err := e.c.FirewallIPSet(ctx, proxmox.ClusterIPSets(), n)
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
	observe(set, &mg.Status.AtProvider)
	mg.SetConditions(xpv2.Available())
	d := ipsetplan.Describe(ipsetplan.Plan(ipsetplan.Want(mg.Spec.ForProvider.Entries), set.Entries))
	if c := mg.Spec.ForProvider.Comment; c != nil && strings.TrimSpace(*c) != strings.TrimSpace(set.Comment) {
		d = strings.TrimPrefix(d+"; comment differs", "; ")
	}
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: d == "", ResourceLateInitialized: lateInit, Diff: d}, nil
}

// Create creates the set, its external name set first so that it is saved
// with the outcome, then adds its entries. A lost answer is found by the
// next observe, whose update adds what is missing.
func (e *external) Create(ctx context.Context, mg *v1alpha1.FirewallIPSet) (managed.ExternalCreation, error) {
	n, _ := site.NameOf(mg)
	p := mg.Spec.ForProvider
	meta.SetExternalName(mg, n)
	err := e.c.CreateFirewallIPSet(ctx, proxmox.ClusterIPSets(), n, ptrOr(p.Comment, ""))
	if proxmox.IsAlreadyExists(err) {
		// Absent when observed a moment ago: our own earlier create.
		return managed.ExternalCreation{}, nil
	}
	if err != nil {
		return managed.ExternalCreation{}, errors.Wrapf(err, errCreate, n)
	}
	for _, en := range ipsetplan.Want(p.Entries) {
		if err := e.c.AddIPSetEntry(ctx, proxmox.ClusterIPSets(), n, en); err != nil {
			return managed.ExternalCreation{}, errors.Wrapf(errors.Wrap(err, "add "+en.CIDR), errEntries, n)
		}
	}
	return managed.ExternalCreation{}, nil
}

// Update brings the entries to the spec (the first call guarded by the
// digest observed in this reconcile), then sets the comment.
func (e *external) Update(ctx context.Context, mg *v1alpha1.FirewallIPSet) (managed.ExternalUpdate, error) {
	n, _ := site.NameOf(mg)
	obs := mg.Status.AtProvider
	have := make([]proxmox.IPSetEntry, 0, len(obs.Entries))
	for _, o := range obs.Entries {
		have = append(have, proxmox.IPSetEntry{CIDR: o.CIDR, NoMatch: o.NoMatch, Comment: o.Comment})
	}
	ops := ipsetplan.Plan(ipsetplan.Want(mg.Spec.ForProvider.Entries), have)
	if err := ipsetplan.Apply(ctx, e.c, proxmox.ClusterIPSets(), n, ops, obs.Digest); err != nil {
		return managed.ExternalUpdate{}, errors.Wrapf(err, errEntries, n)
	}
	if c := mg.Spec.ForProvider.Comment; c != nil && strings.TrimSpace(*c) != strings.TrimSpace(obs.Comment) {
		if err := e.c.SetFirewallIPSetComment(ctx, proxmox.ClusterIPSets(), n, *c); err != nil {
			return managed.ExternalUpdate{}, errors.Wrapf(err, errComment, n)
		}
	}
	return managed.ExternalUpdate{}, nil
}

// Delete deletes the set and its entries, only one whose external name is
// set (one it created or was told to manage), and only while no firewall
// rule of the site uses it: PVE itself deletes a used set without a word.
func (e *external) Delete(ctx context.Context, mg *v1alpha1.FirewallIPSet) (managed.ExternalDelete, error) {
	mg.SetConditions(xpv2.Deleting())
	n, known := site.NameOf(mg)
	if !known {
		return managed.ExternalDelete{}, nil
	}
	users, err := e.c.RulesUsing(ctx, proxmox.UsesIPSet(n))
	if err != nil {
		return managed.ExternalDelete{}, errors.Wrapf(err, errScan, n)
	}
	if len(users) > 0 {
		return managed.ExternalDelete{}, errors.Errorf(errInUse, n, strings.Join(users, "; "))
	}
	err = e.c.DeleteFirewallIPSet(ctx, proxmox.ClusterIPSets(), n, true)
	if proxmox.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	return managed.ExternalDelete{}, errors.Wrapf(err, errDelete, n)
}

func observe(set proxmox.FirewallIPSet, obs *v1alpha1.FirewallIPSetObservation) {
	obs.Comment, obs.EntryCount, obs.Digest = set.Comment, len(set.Entries), set.Digest
	obs.Entries = make([]v1alpha1.FirewallIPSetEntryObservation, 0, len(set.Entries))
	for _, en := range set.Entries {
		obs.Entries = append(obs.Entries, v1alpha1.FirewallIPSetEntryObservation{CIDR: en.CIDR, NoMatch: en.NoMatch, Comment: en.Comment})
	}
}

func ptrOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}
