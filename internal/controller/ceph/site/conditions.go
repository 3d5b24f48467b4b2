package site

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// Condition types and reasons the Ceph kinds add to crossplane's Ready and Synced.
const (
	// TypeDeletable is False while the provider refuses to delete the external object.
	TypeDeletable xpv2.ConditionType = "Deletable"
	// ReasonDeletionBlocked says the object holds data or is used, and nothing allows deleting it.
	ReasonDeletionBlocked xpv2.ConditionReason = "DeletionBlocked"

	// TypeSizeInSync is False while an RBD image is bigger in Ceph than its spec.
	TypeSizeInSync xpv2.ConditionType = "SizeInSync"
	// ReasonSizeDrift says the image grew beyond its spec; the provider never shrinks it.
	ReasonSizeDrift xpv2.ConditionReason = "SizeDrift"
	// ReasonSizeMatches says the image's size is the spec's.
	ReasonSizeMatches xpv2.ConditionReason = "SizeMatches"
)

// Event reasons of the Ceph kinds.
const (
	EventDeletionBlocked event.Reason = "DeletionBlocked"
	EventSizeDrift       event.Reason = "SizeDrift"
)

// conditioned is any MR.
type conditioned interface {
	GetCondition(xpv2.ConditionType) xpv2.Condition
	SetConditions(...xpv2.Condition)
}

// DeletionBlocked marks the MR as not deletable for why; the caller returns an error so the
// finalizer stays and the deletion is retried.
func DeletionBlocked(mg conditioned, why string) error {
	mg.SetConditions(xpv2.Condition{Type: TypeDeletable, Status: corev1.ConditionFalse, Reason: ReasonDeletionBlocked,
		Message: why, LastTransitionTime: metav1.Now()})
	return errors.New(why)
}

// Names lists up to n names and how many there are in all: "a, b, c and 7 more (10)".
func Names(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more (%d in all)", strings.Join(names[:n], ", "), len(names)-n, len(names))
}
