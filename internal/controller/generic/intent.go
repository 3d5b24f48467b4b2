package generic

import (
	"context"

	changelogs "github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
)

const errIntent = "the intent record of this %s was not accepted, so the external change was not made"

// intentClient records the intent of every external write before making it,
// and refuses the write when the intent could not be recorded.
type intentClient[T resource.ModernManaged] struct {
	managed.TypedExternalClient[T]
	intent options.IntentRecorder
}

func (c *intentClient[T]) Create(ctx context.Context, mg T) (managed.ExternalCreation, error) {
	if err := c.intent.RecordIntent(ctx, mg, changelogs.OperationType_OPERATION_TYPE_CREATE); err != nil {
		return managed.ExternalCreation{}, errors.Wrapf(err, errIntent, "create")
	}
	return c.TypedExternalClient.Create(ctx, mg)
}

func (c *intentClient[T]) Update(ctx context.Context, mg T) (managed.ExternalUpdate, error) {
	if err := c.intent.RecordIntent(ctx, mg, changelogs.OperationType_OPERATION_TYPE_UPDATE); err != nil {
		return managed.ExternalUpdate{}, errors.Wrapf(err, errIntent, "update")
	}
	return c.TypedExternalClient.Update(ctx, mg)
}

func (c *intentClient[T]) Delete(ctx context.Context, mg T) (managed.ExternalDelete, error) {
	if err := c.intent.RecordIntent(ctx, mg, changelogs.OperationType_OPERATION_TYPE_DELETE); err != nil {
		return managed.ExternalDelete{}, errors.Wrapf(err, errIntent, "delete")
	}
	return c.TypedExternalClient.Delete(ctx, mg)
}
