// Package options carries the settings every controller of the provider shares.
package options

import (
	"context"
	"time"

	changelogs "github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
)

// An IntentRecorder is told about an external change before it is made. When it
// returns an error the change must not be made (e.g. provenance is required and
// the ledger connector did not durably accept the intent).
type IntentRecorder interface {
	RecordIntent(ctx context.Context, mg resource.Managed, op changelogs.OperationType) error
}

// Options are crossplane-runtime's controller options plus the provider's own.
type Options struct {
	controller.Options

	// Intent, when set, is called before every external create, update and
	// delete; nil means no intent is recorded.
	Intent IntentRecorder

	// RetryBase and RetryMax are the backoff of a failing resource: the
	// first retry after RetryBase, doubling up to RetryMax (defaults 1s
	// and 2m).
	RetryBase, RetryMax time.Duration

	// DriftInterval is how often each guest's whole config and firewall are
	// read from PVE even when the cluster view shows no change (default 5m).
	DriftInterval time.Duration

	// PollEveryGuest turns the sites' guest watch off: every guest resource
	// is then reconciled every poll, as a stock poller's are, instead of
	// only when the cluster view shows its guest change and at its drift
	// re-read. Only for the scale benchmark's comparison.
	PollEveryGuest bool

	// Waker, when set, is the controller's wake-up source: Setup adds it to
	// the controller's watches. Set by a kind's Setup for its own controller.
	Waker *Waker

	// Proxmox is the registry of Proxmox site clients every Proxmox kind
	// shares (one client, cluster view and memo per site). Built once by the
	// process (cmd/provider); when nil, the Proxmox backend's Setup builds
	// one for the manager it sets up.
	Proxmox *proxmox.Registry

	// Ceph is the registry of Ceph site clients every Ceph kind shares (one
	// connection and observation snapshot per cluster). Built once by the
	// process; when nil, the Ceph backend's Setup builds one.
	Ceph *ceph.Clients

	// RGW is the registry of RADOS Gateway clients the RGW kinds share (one per
	// gateway and admin key); when nil, the Ceph backend's Setup builds one.
	RGW *rgw.Clients
}
