package crushrule

import (
	"fmt"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

// Ceph's defaults for replicated rules and erasure-code profiles.
const (
	defaultRoot          = "default"
	defaultFailureDomain = "host"
)

// observe turns Ceph's rule into the MR's status.
func observe(r *ceph.CrushRule, cm *ceph.CrushMap) v1alpha1.CrushRuleObservation {
	o := v1alpha1.CrushRuleObservation{ID: int32(r.ID), Type: "replicated"}
	if r.Type == 3 {
		o.Type = "erasure"
	}
	if s, ok := r.Shape(); ok {
		o.Root, o.DeviceClass, o.FailureDomain = s.Root, s.DeviceClass, s.FailureDomain
	}
	if n, ok := cm.FailureDomains(r); ok {
		o.FailureDomains = int32(n)
	}
	return o
}

// want is the shape the spec asks for; erasure rules take theirs from the profile (nil when the
// profile is not known yet).
func want(p v1alpha1.CrushRuleParameters, profiles map[string]map[string]string) (v1alpha1.CrushRuleObservation, bool) {
	w := v1alpha1.CrushRuleObservation{Type: p.Type, Root: defaultRoot, FailureDomain: defaultFailureDomain}
	if w.Type == "" {
		w.Type = "replicated"
	}
	if w.Type == "erasure" {
		prof, ok := profiles[deref(p.ErasureCodeProfile)]
		if !ok {
			return w, false
		}
		w.Root = or(prof["crush-root"], defaultRoot)
		w.FailureDomain = or(prof["crush-failure-domain"], defaultFailureDomain)
		w.DeviceClass = prof["crush-device-class"]
		return w, true
	}
	w.Root = or(deref(p.Root), defaultRoot)
	w.FailureDomain = or(deref(p.FailureDomain), defaultFailureDomain)
	w.DeviceClass = deref(p.DeviceClass)
	return w, true
}

// upToDate compares type, root, failure domain and device class.
func upToDate(p v1alpha1.CrushRuleParameters, o v1alpha1.CrushRuleObservation, profiles map[string]map[string]string) (bool, string) {
	w, ok := want(p, profiles)
	if !ok {
		// the profile is gone: nothing to compare against, keep the rule as it is
		return true, ""
	}
	var diff []string
	cmp := func(field, want, got string) {
		if want != got {
			diff = append(diff, fmt.Sprintf("%s: want %q, Ceph has %q", field, want, got))
		}
	}
	cmp("type", w.Type, o.Type)
	cmp("root", w.Root, o.Root)
	cmp("failureDomain", w.FailureDomain, o.FailureDomain)
	cmp("deviceClass", w.DeviceClass, o.DeviceClass)
	return len(diff) == 0, strings.Join(diff, "; ")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func or(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
