package function

import (
	"github.com/crossplane/function-sdk-go/resource"
	corev1 "k8s.io/api/core/v1"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// propagateReady marks each desired resource ready exactly when its observed counterpart has
// condition Ready=True (what function-auto-ready does; Crossplane counts Unspecified as not
// ready). Crossplane makes the XR Ready once every composed resource is. It returns how many
// desired resources are ready.
func propagateReady(observed map[resource.Name]resource.ObservedComposed, d desired) int {
	ready := 0
	for name, dc := range d {
		dc.Ready = resource.ReadyFalse
		oc, ok := observed[name]
		if !ok || oc.Resource == nil {
			continue
		}
		if oc.Resource.GetCondition(xpv2.TypeReady).Status == corev1.ConditionTrue {
			dc.Ready = resource.ReadyTrue
			ready++
		}
	}
	return ready
}

func isReady(d desired, name resource.Name) bool {
	dc, ok := d[name]
	return ok && dc.Ready == resource.ReadyTrue
}
