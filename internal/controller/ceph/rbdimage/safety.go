package rbdimage

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/generic"
)

// shown is how many watchers or snapshots a refusal names before "and N more".
const shown = 5

// inUse says why an image must not be deleted without allowDeleteWithData, or "".
func inUse(pool, image string, u ceph.ImageUsage) string {
	var why []string
	if len(u.Watchers) > 0 {
		why = append(why, fmt.Sprintf("%d watcher(s) (open or mapped by %s)", len(u.Watchers), site.Names(u.Watchers, shown)))
	}
	if len(u.Snapshots) > 0 {
		why = append(why, fmt.Sprintf("%d snapshot(s): %s", len(u.Snapshots), site.Names(u.Snapshots, shown)))
	}
	if len(why) == 0 {
		return ""
	}
	return fmt.Sprintf("RBD image %s/%s is not deleted: it has %s", pool, image, strings.Join(why, " and "))
}

// sizeDrift describes an image grown beyond its spec, or "". Shrinking destroys data, so the
// provider never does it and only reports the difference.
func sizeDrift(p v1alpha1.RBDImageParameters, o v1alpha1.RBDImageObservation) string {
	if uint64(o.SizeBytes) <= uint64(p.SizeMiB)*mib {
		return ""
	}
	have := float64(o.SizeBytes) / mib
	return fmt.Sprintf("RBD image %s is %s MiB in Ceph but spec.forProvider.sizeMiB is %d MiB; the provider never shrinks an image "+
		"(that destroys data): raise sizeMiB to match, or shrink the image by hand if its data allows", o.ImageSpec, trimFloat(have), p.SizeMiB)
}

func trimFloat(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", f), "0"), ".")
}

// reportSize sets the SizeInSync condition and, when the image newly drifted, a Warning event.
// The shared ExternalDrift condition says DriftUnrepairable meanwhile, since no Update can fix it.
func (e *external) reportSize(mg *v1alpha1.RBDImage) {
	why := sizeDrift(mg.Spec.ForProvider, mg.Status.AtProvider)
	if why == "" {
		mg.SetConditions(xpv2.Condition{Type: site.TypeSizeInSync, Status: corev1.ConditionTrue, Reason: site.ReasonSizeMatches, LastTransitionTime: metav1.Now()})
		if d := mg.GetCondition(generic.TypeExternalDrift); d.Status == corev1.ConditionTrue && d.Reason == generic.ReasonDriftUnrepairable {
			mg.SetConditions(xpv2.Condition{Type: generic.TypeExternalDrift, Status: corev1.ConditionFalse, Reason: generic.ReasonInSync,
				Message: "in sync with the spec; last: " + d.Message, LastTransitionTime: metav1.Now()})
		}
		return
	}
	prev := mg.GetCondition(site.TypeSizeInSync)
	if prev.Reason != site.ReasonSizeDrift || prev.Message != why {
		if e.d.Record != nil {
			e.d.Record.Event(mg, event.Warning(site.EventSizeDrift, errors.New(why)))
		}
	}
	mg.SetConditions(xpv2.Condition{Type: site.TypeSizeInSync, Status: corev1.ConditionFalse, Reason: site.ReasonSizeDrift, Message: why, LastTransitionTime: metav1.Now()},
		generic.DriftCondition(generic.ReasonDriftUnrepairable, why))
}
