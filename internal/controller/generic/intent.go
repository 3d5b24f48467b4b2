package generic

import (
	"context"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
)

const errIntent = "provenance: the intent to %s was not recorded, so the change was not made"

// intentClient records the intent of every external write before making it,
// and refuses the write when the intent could not be recorded.
type intentClient[T resource.ModernManaged] struct {
	managed.TypedExternalClient[T]
	intent options.IntentRecorder
}

func (c *intentClient[T]) Create(ctx context.Context, mg T) (managed.ExternalCreation, error) {
	if err := c.intent.RecordIntent(ctx, mg, options.OperationCreate); err != nil {
		return managed.ExternalCreation{}, errors.Wrapf(err, errIntent, options.OperationCreate)
	}
	return c.TypedExternalClient.Create(ctx, mg)
}

func (c *intentClient[T]) Update(ctx context.Context, mg T) (managed.ExternalUpdate, error) {
	if err := c.intent.RecordIntent(ctx, mg, options.OperationUpdate); err != nil {
		return managed.ExternalUpdate{}, errors.Wrapf(err, errIntent, options.OperationUpdate)
	}
	return c.TypedExternalClient.Update(ctx, mg)
}

func (c *intentClient[T]) Delete(ctx context.Context, mg T) (managed.ExternalDelete, error) {
	if err := c.intent.RecordIntent(ctx, mg, options.OperationDelete); err != nil {
		return managed.ExternalDelete{}, errors.Wrapf(err, errIntent, options.OperationDelete)
	}
	return c.TypedExternalClient.Delete(ctx, mg)
}
