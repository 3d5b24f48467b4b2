package firewallsecuritygroup

import (
	"context"
	"regexp"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/proxmox/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/proxmox/fwrules"
)

const (
	errBadName = "external name %q is not a Proxmox security group name: 2-18 characters, a letter first, then letters, digits, '-' or '_'"
	errRules   = "cannot read the rules of security group %q"
	errList    = "cannot list security groups"
	errCreate  = "cannot create security group %q"
	errAddRule = "cannot add rule %d to security group %q"
	errComment = "cannot set the comment of security group %q"
	errRewrite = "cannot rewrite the rules of security group %q"
	errDelete  = "cannot delete security group %q"
)

// groupName is PVE's pve-security-group-name.
var groupName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{1,17}$`)

type external struct {
	c    *proxmox.Client
	kube client.Reader
}

func (e *external) Disconnect(context.Context) error { return nil }

func name(mg *v1alpha1.FirewallSecurityGroup) (string, error) {
	n := meta.GetExternalName(mg)
	if n == "" {
		n = mg.GetName()
	}
	if !groupName.MatchString(n) {
		return "", errors.Errorf(errBadName, n)
	}
	return n, nil
}

// rules reads a group's rules in order with their digest; ok is false when
// PVE says the group does not exist.
func (e *external) rules(ctx context.Context, n string) (rs []fwrules.Rule, digest string, ok bool, err error) {
	rs, digest, err = fwrules.Read(ctx, e.c, proxmox.GroupRules(n))
	if err != nil {
		if proxmox.IsNotFound(err) {
			return nil, "", false, nil
		}
		return nil, "", false, errors.Wrapf(err, errRules, n)
	}
	return rs, digest, true, nil
}

// comment reads the group's comment from the group list.
func (e *external) comment(ctx context.Context, n string) (string, error) {
	groups, err := e.c.SecurityGroups(ctx)
	if err != nil {
		return "", errors.Wrap(err, errList)
	}
	for _, g := range groups {
		if g.Name == n {
			return g.Comment, nil
		}
	}
	return "", nil
}

func (e *external) Observe(ctx context.Context, mg *v1alpha1.FirewallSecurityGroup) (managed.ExternalObservation, error) {
	n, err := name(mg)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	got, digest, ok, err := e.rules(ctx, n)
	if err != nil || !ok {
		return managed.ExternalObservation{ResourceExists: false}, err
	}
	comment, err := e.comment(ctx, n)
	if err != nil {
		return managed.ExternalObservation{}, err
	}
	obs := &mg.Status.AtProvider
	obs.Comment, obs.RuleCount, obs.Rules, obs.Digest = comment, len(got), fwrules.Observed(got), digest
	mg.SetConditions(xpv2.Available())

	want := fwrules.WantAll(mg.Spec.ForProvider.Rules)
	diff := fwrules.Describe(want, got)
	if c := mg.Spec.ForProvider.Comment; c != nil && strings.TrimSpace(*c) != strings.TrimSpace(comment) {
		diff = strings.TrimPrefix(diff+"; comment differs", "; ")
	}
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: diff == "", Diff: diff}, nil
}

// Create makes the group and its rules. PVE puts each new rule at the top,
// so the rules are sent last to first.
func (e *external) Create(ctx context.Context, mg *v1alpha1.FirewallSecurityGroup) (managed.ExternalCreation, error) {
	n, err := name(mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	comment := ""
	if c := mg.Spec.ForProvider.Comment; c != nil {
		comment = *c
	}
	if err := e.c.CreateSecurityGroup(ctx, n, comment); err != nil {
		return managed.ExternalCreation{}, errors.Wrapf(err, errCreate, n)
	}
	want := fwrules.WantAll(mg.Spec.ForProvider.Rules)
	for i := len(want) - 1; i >= 0; i-- {
		if err := e.c.CreateRule(ctx, proxmox.GroupRules(n), want[i].Params()); err != nil {
			return managed.ExternalCreation{}, errors.Wrapf(err, errAddRule, i, n)
		}
	}
	return managed.ExternalCreation{}, nil
}

// Update rewrites the rule list from the first position that differs, then
// sets the comment.
func (e *external) Update(ctx context.Context, mg *v1alpha1.FirewallSecurityGroup) (managed.ExternalUpdate, error) {
	n, err := name(mg)
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	// Rules first: they are what filters traffic.
	got, digest, _, err := e.rules(ctx, n)
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	if err := fwrules.Rewrite(ctx, e.c, proxmox.GroupRules(n), fwrules.WantAll(mg.Spec.ForProvider.Rules), got, digest); err != nil {
		return managed.ExternalUpdate{}, errors.Wrapf(err, errRewrite, n)
	}
	if c := mg.Spec.ForProvider.Comment; c != nil {
		have, err := e.comment(ctx, n)
		if err != nil {
			return managed.ExternalUpdate{}, err
		}
		if strings.TrimSpace(*c) != strings.TrimSpace(have) {
			// rename = group updates the comment in place (PVE's documented way).
			if err := e.c.SetSecurityGroupComment(ctx, n, *c); err != nil {
				return managed.ExternalUpdate{}, errors.Wrapf(err, errComment, n)
			}
		}
	}
	return managed.ExternalUpdate{}, nil
}

// Delete removes the group's rules, last first, then the group. PVE deletes
// only empty groups and does not look for guests linking the group, so a
// group still linked by a VirtualMachine of the same site is refused here.
func (e *external) Delete(ctx context.Context, mg *v1alpha1.FirewallSecurityGroup) (managed.ExternalDelete, error) {
	n, err := name(mg)
	if err != nil {
		return managed.ExternalDelete{}, err
	}
	mg.SetConditions(xpv2.Deleting())
	if err := linkedBy(ctx, e.kube, mg, n); err != nil {
		return managed.ExternalDelete{}, err
	}
	if err := linkedInPVE(ctx, e.c, n); err != nil {
		return managed.ExternalDelete{}, err
	}
	got, digest, ok, err := e.rules(ctx, n)
	if err != nil || !ok {
		return managed.ExternalDelete{}, err
	}
	// Emptying the list is the rule plan towards no rules: deletes from the
	// last, the first carrying the digest read above.
	if err := fwrules.Rewrite(ctx, e.c, proxmox.GroupRules(n), nil, got, digest); err != nil {
		return managed.ExternalDelete{}, errors.Wrapf(err, errRewrite, n)
	}
	return managed.ExternalDelete{}, errors.Wrapf(e.c.DeleteSecurityGroup(ctx, n), errDelete, n)
}
