// Package crushrule reconciles CrushRule managed resources with Ceph CRUSH rules.
package crushrule

import (
	"context"

	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/generic"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/providerconfig"
)

// Setup adds the CrushRule controller to mgr.
func Setup(mgr ctrl.Manager, o options.Options) error {
	clients := site.Clients(o.PollInterval)
	return generic.Setup(mgr, o, v1alpha1.CrushRuleGroupVersionKind,
		func() *v1alpha1.CrushRule { return &v1alpha1.CrushRule{} },
		func(ctx context.Context, _ *v1alpha1.CrushRule, s *providerconfig.Site) (managed.TypedExternalClient[*v1alpha1.CrushRule], error) {
			c, err := site.Connect(ctx, clients, s)
			if err != nil {
				return nil, err
			}
			return &external{c: c}, nil
		}, site.ReconcilerOptions()...)
}
