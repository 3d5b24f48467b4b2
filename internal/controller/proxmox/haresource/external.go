package haresource

import (
	"context"
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
	errNoSID      = "no guest yet: spec.forProvider.sid is unset (its reference is not resolved)"
	errSIDChanged = "spec.forProvider.sid is %q but this resource manages HA resource %q (its external name); the guest under HA cannot change: create another HAResource"
	errNotOurs    = "guest %s is already under HA, put there outside this resource: set the crossplane.io/external-name annotation to %q to manage it, or take it out of HA first"
	errRead       = "cannot read HA resource %q"
	errCreate     = "cannot put guest %s under HA"
	errUpdate     = "cannot update HA resource %q"
	errDelete     = "cannot take guest %s out of HA"
	errGone       = "HA resource %q does not exist"
)

// pveDefault is PVE's max_restart and max_relocate when none is set.
const pveDefault = 1

type external struct {
	c    *proxmox.Client
	refs *site.Refs
}

func (e *external) Disconnect(context.Context) error { return nil }

// sid is the HA resource the resource manages: its external name once it
// created one (or was told to manage one), else the sid of its spec; known
// says the external name was set.
func sid(mg *v1alpha1.HAResource) (id string, known bool, err error) {
	want := ptrStr(mg.Spec.ForProvider.SID)
	en := meta.GetExternalName(mg)
	switch {
	case en != "" && want != "" && en != want:
		return "", true, errors.Errorf(errSIDChanged, want, en)
	case en != "":
		return en, true, nil
	case want == "":
		return "", false, errors.New(errNoSID)
	}
	return want, false, nil
}

func ptrStr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func (e *external) Observe(ctx context.Context, mg *v1alpha1.HAResource) (managed.ExternalObservation, error) {
	if err := e.refs.Err(mg); err != nil {
		return managed.ExternalObservation{}, err
	}
	id, known, err := sid(mg)
	if err != nil {
		if meta.WasDeleted(mg) && !known {
			return managed.ExternalObservation{}, nil // nothing of ours to take out of HA
		}
		return managed.ExternalObservation{}, err
	}
	h, ok, err := e.c.HAResource(ctx, id)
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrapf(err, errRead, id)
	}
	if !ok {
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	lateInit := false
	if !known {
		switch {
		case meta.WasDeleted(mg):
			// Never ours: deleting the resource leaves it under HA.
			return managed.ExternalObservation{}, nil
		case meta.ExternalCreateIncomplete(mg), site.ObserveOnly(mg):
			// Our create may have been cut short before its external name was
			// saved (a crash), or this is an import: it is this resource's.
			meta.SetExternalName(mg, id)
			lateInit = true
		default:
			return managed.ExternalObservation{}, errors.Errorf(errNotOurs, id, id)
		}
	}
	observe(h, &mg.Status.AtProvider)
	mg.SetConditions(xpv2.Available())
	if d := diff(mg.Spec.ForProvider, h); d != "" {
		return managed.ExternalObservation{ResourceExists: true, ResourceLateInitialized: lateInit, Diff: d}, nil
	}
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ResourceLateInitialized: lateInit}, nil
}

// Create puts the guest under HA. The external name is set first, so it is
// saved with the outcome whatever it is: a lost answer is found by the next
// observe, never repeated into a second resource (PVE keys them by sid).
func (e *external) Create(ctx context.Context, mg *v1alpha1.HAResource) (managed.ExternalCreation, error) {
	id, _, err := sid(mg)
	if err != nil {
		return managed.ExternalCreation{}, err
	}
	meta.SetExternalName(mg, id)
	err = e.c.CreateHAResource(ctx, id, settings(mg.Spec.ForProvider))
	if proxmox.IsAlreadyDefined(err) {
		// Absent when observed a moment ago: our own earlier create, whose
		// answer was lost (a hung request). The next observe compares it.
		return managed.ExternalCreation{}, nil
	}
	return managed.ExternalCreation{}, errors.Wrapf(err, errCreate, id)
}

func (e *external) Update(ctx context.Context, mg *v1alpha1.HAResource) (managed.ExternalUpdate, error) {
	id, _, err := sid(mg)
	if err != nil {
		return managed.ExternalUpdate{}, err
	}
	h, ok, err := e.c.HAResource(ctx, id)
	if err != nil {
		return managed.ExternalUpdate{}, errors.Wrapf(err, errRead, id)
	}
	if !ok {
		return managed.ExternalUpdate{}, errors.Errorf(errGone, id)
	}
	change := changes(mg.Spec.ForProvider, h)
	if len(change) == 0 {
		return managed.ExternalUpdate{}, nil
	}
	err = e.c.UpdateHAResource(ctx, id, change, h.Digest)
	return managed.ExternalUpdate{}, errors.Wrapf(err, errUpdate, id)
}

// Delete takes the guest out of HA; only a resource whose external name is
// set (one it created or was told to manage) is ever deleted.
func (e *external) Delete(ctx context.Context, mg *v1alpha1.HAResource) (managed.ExternalDelete, error) {
	mg.SetConditions(xpv2.Deleting())
	id := meta.GetExternalName(mg)
	if id == "" {
		return managed.ExternalDelete{}, nil
	}
	err := e.c.DeleteHAResource(ctx, id)
	if proxmox.IsNotHAManaged(err) || proxmox.IsNotFound(err) {
		return managed.ExternalDelete{}, nil
	}
	return managed.ExternalDelete{}, errors.Wrapf(err, errDelete, id)
}

// observe fills the status from PVE's HA resource.
func observe(h proxmox.HAResource, obs *v1alpha1.HAResourceObservation) {
	obs.SID, obs.Type, obs.State, obs.Comment = h.SID, h.Type, state(h.State), h.Comment
	obs.MaxRestart, obs.MaxRelocate = count(h.MaxRestart), count(h.MaxRelocate)
}

// state is PVE's requested state, its alias enabled read as started.
func state(s string) string {
	if s == "enabled" || s == "" {
		return "started"
	}
	return s
}

// count is PVE's max_restart/max_relocate, its default when unset.
func count(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return pveDefault
	}
	return n
}

// diff lists what differs between the spec and PVE ("" when nothing):
// state always, the counts and comment only when the spec sets them.
func diff(p v1alpha1.HAResourceParameters, h proxmox.HAResource) string {
	var d []string
	if w := state(p.State); w != state(h.State) {
		d = append(d, "state: "+state(h.State)+" -> "+w)
	}
	if p.MaxRestart != nil && *p.MaxRestart != count(h.MaxRestart) {
		d = append(d, "max_restart: "+strconv.FormatInt(count(h.MaxRestart), 10)+" -> "+strconv.FormatInt(*p.MaxRestart, 10))
	}
	if p.MaxRelocate != nil && *p.MaxRelocate != count(h.MaxRelocate) {
		d = append(d, "max_relocate: "+strconv.FormatInt(count(h.MaxRelocate), 10)+" -> "+strconv.FormatInt(*p.MaxRelocate, 10))
	}
	if p.Comment != nil && strings.TrimSpace(*p.Comment) != strings.TrimSpace(h.Comment) {
		d = append(d, "comment differs")
	}
	return strings.Join(d, "; ")
}

// settings are the parameters of a create.
func settings(p v1alpha1.HAResourceParameters) proxmox.Params {
	out := proxmox.Params{"state": state(p.State)}
	if p.MaxRestart != nil {
		out["max_restart"] = strconv.FormatInt(*p.MaxRestart, 10)
	}
	if p.MaxRelocate != nil {
		out["max_relocate"] = strconv.FormatInt(*p.MaxRelocate, 10)
	}
	if p.Comment != nil && *p.Comment != "" {
		out["comment"] = *p.Comment
	}
	return out
}

// changes are the parameters of an update setting back what diff found.
func changes(p v1alpha1.HAResourceParameters, h proxmox.HAResource) proxmox.Params {
	out := proxmox.Params{}
	if w := state(p.State); w != state(h.State) {
		out["state"] = w
	}
	if p.MaxRestart != nil && *p.MaxRestart != count(h.MaxRestart) {
		out["max_restart"] = strconv.FormatInt(*p.MaxRestart, 10)
	}
	if p.MaxRelocate != nil && *p.MaxRelocate != count(h.MaxRelocate) {
		out["max_relocate"] = strconv.FormatInt(*p.MaxRelocate, 10)
	}
	if p.Comment != nil && strings.TrimSpace(*p.Comment) != strings.TrimSpace(h.Comment) {
		if *p.Comment == "" {
			out["delete"] = "comment"
		} else {
			out["comment"] = *p.Comment
		}
	}
	return out
}
