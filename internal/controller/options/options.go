// Package options carries the settings every controller of the provider shares.
package options

import (
	"context"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
)

// Operation names an external change a controller is about to make.
type Operation string

// The external operations a controller announces before it makes them.
const (
	OperationCreate Operation = "create"
	OperationUpdate Operation = "update"
	OperationDelete Operation = "delete"
)

// An IntentRecorder is told about an external change before it is made. When it
// returns an error the change must not be made (e.g. provenance is required and
// the ledger connector did not durably accept the intent).
type IntentRecorder interface {
	RecordIntent(ctx context.Context, mg resource.Managed, op Operation) error
}

// Options are crossplane-runtime's controller options plus the provider's own.
type Options struct {
	controller.Options

	// Intent, when set, is called before every external create, update and
	// delete; nil means no intent is recorded.
	Intent IntentRecorder
}
