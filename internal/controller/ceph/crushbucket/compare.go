package crushbucket

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
)

// observe turns Ceph's bucket into the MR's status.
func observe(b *ceph.CrushBucket, cm *ceph.CrushMap) v1alpha1.CrushBucketObservation {
	return v1alpha1.CrushBucketObservation{
		ID:      int32(b.ID),
		Type:    b.TypeName,
		Parents: cm.Parents(b.Name),
		Items:   int32(len(b.Items)),
		// CRUSH weights are 16.16 fixed point
		Weight: strconv.FormatFloat(float64(b.Weight)/65536, 'f', 5, 64),
	}
}

// upToDate compares the type and the parent: exactly one parent, the wanted one (none for a root).
func upToDate(p v1alpha1.CrushBucketParameters, o v1alpha1.CrushBucketObservation) (bool, string) {
	var diff []string
	if p.Type != o.Type {
		diff = append(diff, fmt.Sprintf("type: want %q, Ceph has %q", p.Type, o.Type))
	}
	if p.Parent != nil && (len(o.Parents) != 1 || o.Parents[0] != *p.Parent) {
		diff = append(diff, fmt.Sprintf("parent: want %q, Ceph has [%s]", *p.Parent, strings.Join(o.Parents, ", ")))
	}
	return len(diff) == 0, strings.Join(diff, "; ")
}
