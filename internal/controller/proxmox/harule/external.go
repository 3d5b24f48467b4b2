package harule

import (
	"context"
	"fmt"
	"sort"
	"strconv"
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
	errNoRules    = "the cluster's Proxmox VE has no HA rules (they came with PVE 9; this cluster answers that the API method does not exist): upgrade to PVE 9 or use HA groups"
	errNotOurs    = "HA rule %q exists and was made outside this resource: set the crossplane.io/external-name annotation to %q to manage it, or give this resource another name"
	errOtherType  = "HA rule %q is a %s rule in Proxmox, not %s; a rule's type cannot change"
	errTooFew     = "spec.forProvider.resources: a %s rule needs at least %d resources, it has %d (resolved: %v)"
	errRead       = "cannot read HA rule %q"
	errCreate     = "cannot create HA rule %q"
	errUpdate     = "cannot update HA rule %q"
	errDelete     = "cannot delete HA rule %q"
	errGone       = "HA rule %q does not exist"
	nodeAffinity  = "node-affinity"
	resAffinity   = "resource-affinity"
	minResources  = 1
	minAffinities = 2
)

type external struct {
	c    *proxmox.Client
	refs *site.Refs
}

func (e *external) Disconnect(context.Context) error { return nil }

// id is the rule's id: its external name once set, else metadata.name;
// known says the external name was set.
func id(mg *v1alpha1.HARule) (string, bool) {
	if en := meta.GetExternalName(mg); en != "" {
		return en, true
	}
	return mg.GetName(), false
}

// read reads the rule, turning PVE 8's 501 into the condition users see.
func (e *external) read(ctx context.Context, rid string) (proxmox.HARule, bool, error) {
	r, ok, err := e.c.HARule(ctx, rid)
	if proxmox.IsNotImplemented(err) {
		return r, false, errors.Wrap(err, errNoRules)
	}
	return r, ok, errors.Wrapf(err, errRead, rid)
}

func (e *external) Observe(ctx context.Context, mg *v1alpha1.HARule) (managed.ExternalObservation, error) {
	if err := e.refs.Err(mg); err != nil {
		return managed.ExternalObservation{}, err
	}
	rid, known := id(mg)
	if meta.WasDeleted(mg) && !known {
		return managed.ExternalObservation{}, nil // never created: nothing of ours
	}
	r, ok, err := e.read(ctx, rid)
	if err != nil {
		if meta.WasDeleted(mg) && proxmox.IsNotImplemented(err) {
			return managed.ExternalObservation{}, nil // no rules API, so no rule of ours
		}
		return managed.ExternalObservation{}, err
	}
	if !ok {
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	lateInit := false
	if !known {
		if lateInit, err = site.TakeFound(mg, rid, errNotOurs); err != nil {
			return managed.ExternalObservation{}, err
		}
	}
	if r.Type != mg.Spec.ForProvider.Type {
		return managed.ExternalObservation{}, errors.Errorf(errOtherType, rid, r.Type, mg.Spec.ForProvider.Type)
	}
	observe(r, &mg.Status.AtProvider)
	mg.SetConditions(xpv2.Available())
	if d := diff(mg.Spec.ForProvider, r); d != "" {
		return managed.ExternalObservation{ResourceExists: true, ResourceLateInitialized: lateInit, Diff: d}, nil
	}
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ResourceLateInitialized: lateInit}, nil
}

// checkResources refuses a rule with too few resources (a selector may
// select fewer than admission could count).
func checkResources(p v1alpha1.HARuleParameters) error {
	n := minResources
	if p.Type == resAffinity {
		n = minAffinities
	}
	if have := len(resources(p)); have < n {
		return errors.Errorf(errTooFew, p.Type, n, have, resources(p))
	}
	return nil
}

// Create creates the rule, its external name set first so that it is saved
// with the outcome; a lost answer is found by the next observe.
func (e *external) Create(ctx context.Context, mg *v1alpha1.HARule) (managed.ExternalCreation, error) {
	rid, _ := id(mg)
	p := mg.Spec.ForProvider
	if err := checkResources(p); err != nil {
		return managed.ExternalCreation{}, err
	}
	meta.SetExternalName(mg, rid)
	err := e.c.CreateHARule(ctx, rid, p.Type, settings(p))
	switch {
	case proxmox.IsAlreadyDefined(err):
		// Absent when observed a moment ago: our own earlier create whose
		// answer was lost. The next observe compares it.
		return managed.ExternalCreation{}, nil
	case proxmox.IsNotImplemented(err):
		return managed.ExternalCreation{}, errors.Wrap(err, errNoRules)
	}
	return managed.ExternalCreation{}, errors.Wrapf(err, errCreate, rid)
}

func (e *external) Update(ctx context.Context, mg *v1alpha1.HARule) (managed.ExternalUpdate, error) {
	rid, _ := id(mg)
	p := mg.Spec.ForProvider
	if err := checkResources(p); err != nil {
		return managed.ExternalUpdate{}, err
	}
	r, ok, err := e.read(ctx, rid)
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	if !ok {
		return managed.ExternalUpdate{}, errors.Errorf(errGone, rid)
	}
	change := changes(p, r)
	if len(change) == 0 {
		return managed.ExternalUpdate{}, nil
	}
	return managed.ExternalUpdate{}, errors.Wrapf(e.c.UpdateHARule(ctx, rid, p.Type, change, r.Digest), errUpdate, rid)
}

// Delete deletes the rule; only a rule whose external name is set (one it
// created or was told to manage) is ever deleted.
func (e *external) Delete(ctx context.Context, mg *v1alpha1.HARule) (managed.ExternalDelete, error) {
	mg.SetConditions(xpv2.Deleting())
	rid, known := id(mg)
	if !known {
		return managed.ExternalDelete{}, nil
	}
	err := e.c.DeleteHARule(ctx, rid)
	if proxmox.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	return managed.ExternalDelete{}, errors.Wrapf(err, errDelete, rid)
}

func observe(r proxmox.HARule, obs *v1alpha1.HARuleObservation) {
	obs.Type, obs.Resources, obs.Nodes, obs.Strict = r.Type, r.Resources, r.Nodes, r.Strict
	obs.Affinity, obs.Disabled, obs.Comment, obs.Order = r.Affinity, r.Disable, r.Comment, r.Order
}

// resources are the spec's resources, sorted and each once.
func resources(p v1alpha1.HARuleParameters) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range p.Resources {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	sort.Strings(out)
	return out
}

// nodes renders the spec's nodes as PVE's node list (node[:priority],...),
// sorted by node.
func nodes(p v1alpha1.HARuleParameters) string {
	m := map[string]int64{}
	for _, n := range p.Nodes {
		pri := int64(-1)
		if n.Priority != nil {
			pri = *n.Priority
		}
		m[n.Node] = pri
	}
	return renderNodes(m)
}

// parseNodes reads PVE's node list; a node without priority is -1.
func parseNodes(s string) map[string]int64 {
	m := map[string]int64{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		name, pri, ok := strings.Cut(f, ":")
		m[name] = -1
		if n, err := strconv.ParseInt(pri, 10, 64); ok && err == nil {
			m[name] = n
		}
	}
	return m
}

// sameNodes compares two node lists by node and priority, a node without
// priority counting as PVE's default 0.
func sameNodes(a, b string) bool {
	norm := func(s string) string {
		m := parseNodes(s)
		for n, p := range m {
			if p < 0 {
				m[n] = 0
			}
		}
		return renderNodes(m)
	}
	return norm(a) == norm(b)
}

func renderNodes(m map[string]int64) string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		if m[n] >= 0 {
			names[i] = fmt.Sprintf("%s:%d", n, m[n])
		}
	}
	return strings.Join(names, ",")
}

// diff lists what differs between the spec and PVE ("" when nothing):
// resources, nodes, affinity and disable always; strict and comment when
// the spec sets them.
func diff(p v1alpha1.HARuleParameters, r proxmox.HARule) string {
	var d []string
	if w, h := strings.Join(resources(p), ","), strings.Join(r.Resources, ","); w != h {
		d = append(d, "resources: "+h+" -> "+w)
	}
	if p.Type == nodeAffinity {
		if w, h := nodes(p), r.Nodes; !sameNodes(w, h) {
			d = append(d, "nodes: "+h+" -> "+w)
		}
		if p.Strict != nil && *p.Strict != r.Strict {
			d = append(d, fmt.Sprintf("strict: %v -> %v", r.Strict, *p.Strict))
		}
	}
	if p.Type == resAffinity && p.Affinity != nil && *p.Affinity != r.Affinity {
		d = append(d, "affinity: "+r.Affinity+" -> "+*p.Affinity)
	}
	if p.Disable != r.Disable {
		d = append(d, fmt.Sprintf("disable: %v -> %v", r.Disable, p.Disable))
	}
	if p.Comment != nil && strings.TrimSpace(*p.Comment) != strings.TrimSpace(r.Comment) {
		d = append(d, "comment differs")
	}
	return strings.Join(d, "; ")
}

// settings are the parameters of a create (rule and type aside).
func settings(p v1alpha1.HARuleParameters) proxmox.Params {
	out := proxmox.Params{"resources": strings.Join(resources(p), ",")}
	switch p.Type {
	case nodeAffinity:
		out["nodes"] = nodes(p)
		if p.Strict != nil {
			out["strict"] = proxmox.Bool(*p.Strict)
		}
	case resAffinity:
		if p.Affinity != nil {
			out["affinity"] = *p.Affinity
		}
	}
	if p.Disable {
		out["disable"] = "1"
	}
	if p.Comment != nil && *p.Comment != "" {
		out["comment"] = *p.Comment
	}
	return out
}

// changes are the parameters of an update setting back what diff found. A
// rule is enabled again with delete=disable: PVE drops disable=0.
func changes(p v1alpha1.HARuleParameters, r proxmox.HARule) proxmox.Params {
	out := proxmox.Params{}
	var del []string
	if w := strings.Join(resources(p), ","); w != strings.Join(r.Resources, ",") {
		out["resources"] = w
	}
	if p.Type == nodeAffinity {
		if w := nodes(p); !sameNodes(w, r.Nodes) {
			out["nodes"] = w
		}
		if p.Strict != nil && *p.Strict != r.Strict {
			out["strict"] = proxmox.Bool(*p.Strict)
		}
	}
	if p.Type == resAffinity && p.Affinity != nil && *p.Affinity != r.Affinity {
		out["affinity"] = *p.Affinity
	}
	switch {
	case p.Disable && !r.Disable:
		out["disable"] = "1"
	case !p.Disable && r.Disable:
		del = append(del, "disable")
	}
	if p.Comment != nil && strings.TrimSpace(*p.Comment) != strings.TrimSpace(r.Comment) {
		if *p.Comment == "" {
			del = append(del, "comment")
		} else {
			out["comment"] = *p.Comment
		}
	}
	if len(del) > 0 {
		out["delete"] = strings.Join(del, ",")
	}
	return out
}
