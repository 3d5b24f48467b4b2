package changelog

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/timestamppb"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// Mode says what happens when the connector cannot take a record.
type Mode string

const (
	// ModeOff records nothing.
	ModeOff Mode = "off"
	// ModeBestEffort queues records in memory and retries; changes go on meanwhile.
	ModeBestEffort Mode = "best-effort"
	// ModeRequired refuses to let an external change start until the connector has
	// durably accepted its intent record.
	ModeRequired Mode = "required"
)

const (
	errMode         = "unknown provenance mode (want off, best-effort or required)"
	errSnapshot     = "cannot snapshot managed resource"
	errGVK          = "cannot determine the managed resource's kind"
	errSend         = "cannot send provenance record to the connector"
	errIntentNotAck = "provenance intent was not durably accepted by the connector"
	errDialConn     = "cannot create gRPC client for the provenance connector"
	defaultQueueMax = 10000
	defaultTimeout  = 5 * time.Second
)

// ParseMode parses the --provenance flag's value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeOff, ModeBestEffort, ModeRequired:
		return m, nil
	}
	return "", errors.Errorf("%s: %q", errMode, s)
}

// IntentNotAcceptedError is returned by RecordIntent in required mode; a controller
// shows it in the resource's conditions and does not call the external API.
type IntentNotAcceptedError struct{ Err error }

func (e *IntentNotAcceptedError) Error() string { return errIntentNotAck + ": " + e.Err.Error() }
func (e *IntentNotAcceptedError) Unwrap() error { return e.Err }

// IsIntentNotAccepted tells whether err (or an error it wraps) is an IntentNotAcceptedError.
func IsIntentNotAccepted(err error) bool {
	var e *IntentNotAcceptedError
	return errors.As(err, &e)
}

// IntentRecorder is what external clients depend on; Nop when provenance is off.
type IntentRecorder interface {
	RecordIntent(ctx context.Context, mg resource.Managed, op v1alpha1.OperationType) error
}

// Nop records nothing.
type Nop struct{}

// RecordIntent does nothing.
func (Nop) RecordIntent(context.Context, resource.Managed, v1alpha1.OperationType) error { return nil }

// Log does nothing.
func (Nop) Log(context.Context, resource.Managed, v1alpha1.OperationType, error, managed.AdditionalDetails) error {
	return nil
}

// Logger sends change-log entries and intents to the connector.
type Logger struct {
	client          v1alpha1.ChangeLogServiceClient
	mode            Mode
	providerVersion string
	timeout         time.Duration
	scheme          *runtime.Scheme
	log             logging.Logger
	queueMax        int

	// queue holds entries the connector did not take yet (best-effort, and change records
	// in either mode: the change is already made, so its record must not be lost). Sends
	// wait behind it so the connector sees a resource's entries in order.
	mu    sync.Mutex
	queue []*v1alpha1.ChangeLogEntry
}

// An Option configures a Logger.
type Option func(*Logger)

// WithProviderVersion sets the provider version put in every record.
func WithProviderVersion(v string) Option { return func(l *Logger) { l.providerVersion = v } }

// WithTimeout bounds each send to the connector (default 5s).
func WithTimeout(d time.Duration) Option { return func(l *Logger) { l.timeout = d } }

// WithScheme lets the logger find the kind of typed objects whose TypeMeta is empty.
func WithScheme(s *runtime.Scheme) Option { return func(l *Logger) { l.scheme = s } }

// WithLogger sets the logger for queued and retried sends.
func WithLogger(log logging.Logger) Option { return func(l *Logger) { l.log = log } }

// WithQueueMax bounds the in-memory queue (default 10000); the oldest entry is dropped
// (and logged) beyond it.
func WithQueueMax(n int) Option { return func(l *Logger) { l.queueMax = n } }

// New returns a Logger sending to client in the given mode.
func New(client v1alpha1.ChangeLogServiceClient, mode Mode, o ...Option) *Logger {
	l := &Logger{client: client, mode: mode, timeout: defaultTimeout, log: logging.NewNopLogger(), queueMax: defaultQueueMax}
	for _, fn := range o {
		fn(l)
	}
	return l
}

// Dial returns a gRPC connection to the connector at addr ("unix:///path" or
// "host:port"); the connector is local (same pod), so the connection is plaintext.
func Dial(addr string) (*grpc.ClientConn, error) {
	if p, ok := strings.CutPrefix(addr, "unix://"); ok {
		addr = "unix:" + p
	}
	// reconnect quickly: the connector is a sidecar that restarts in seconds
	bo := backoff.DefaultConfig
	bo.MaxDelay = 2 * time.Second
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bo, MinConnectTimeout: 2 * time.Second}))
	return conn, errors.Wrap(err, errDialConn)
}

var _ managed.ChangeLogger = &Logger{}

// Log implements managed.ChangeLogger: the reconciler calls it after each external
// create/update/delete (with the error if it failed). The reconciler only logs what Log
// returns, so an entry the connector cannot take now is queued and retried instead.
//
// A change refused by RecordIntent (IntentNotAcceptedError) was never attempted, so it is
// not recorded: the ledger would otherwise hold a failed "change" that never happened.
func (l *Logger) Log(ctx context.Context, mg resource.Managed, op v1alpha1.OperationType, changeErr error, ad managed.AdditionalDetails) error {
	if l.mode == ModeOff || IsIntentNotAccepted(changeErr) {
		return nil
	}
	e, err := l.entry(mg, op, changeErr, ad)
	if err != nil {
		return err
	}
	return l.deliver(ctx, e, false)
}

// RecordIntent records that op is about to be made on mg's external resource. In
// required mode it returns an *IntentNotAcceptedError unless the connector answered that
// the record is on its disk; otherwise it never fails the caller.
func (l *Logger) RecordIntent(ctx context.Context, mg resource.Managed, op v1alpha1.OperationType) error {
	if l.mode == ModeOff {
		return nil
	}
	e, err := l.entry(mg, op, nil, managed.AdditionalDetails{record.DetailPhase: record.PhaseIntent})
	if err != nil {
		if l.mode == ModeRequired {
			return &IntentNotAcceptedError{Err: err}
		}
		l.log.Info("Cannot build provenance intent record", "error", err)
		return nil
	}
	if err := l.deliver(ctx, e, l.mode == ModeRequired); err != nil {
		return &IntentNotAcceptedError{Err: err}
	}
	return nil
}

// deliver sends e after anything queued; if mustAck, e is not queued on failure and the
// error is returned, else it is queued and nil returned.
func (l *Logger) deliver(ctx context.Context, e *v1alpha1.ChangeLogEntry, mustAck bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.flushLocked(ctx)
	if err == nil {
		if err = l.send(ctx, e); err == nil {
			return nil
		}
	}
	if mustAck {
		return err
	}
	if len(l.queue) >= l.queueMax {
		l.log.Info("Provenance queue full, dropping the oldest entry", "name", l.queue[0].GetName(), "kind", l.queue[0].GetKind())
		l.queue = l.queue[1:]
	}
	l.queue = append(l.queue, e)
	l.log.Debug("Queued provenance record for retry", "name", e.GetName(), "queued", len(l.queue), "error", err)
	return nil
}

// Queued is the number of entries waiting for the connector.
func (l *Logger) Queued() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.queue)
}

// Flush sends queued entries, oldest first, until one fails.
func (l *Logger) Flush(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.flushLocked(ctx)
}

func (l *Logger) flushLocked(ctx context.Context) error {
	for len(l.queue) > 0 {
		if err := l.send(ctx, l.queue[0]); err != nil {
			return err
		}
		l.queue = l.queue[1:]
	}
	return nil
}

// Run retries queued entries every interval until ctx is done (add it to the manager
// with manager.RunnableFunc).
func (l *Logger) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := l.Flush(ctx); err != nil && l.Queued() > 0 {
				l.log.Debug("Provenance connector still unavailable", "queued", l.Queued(), "error", err)
			}
		}
	}
}

// send waits up to the timeout for the connection to be ready, so a connector that has
// just come back is used at once rather than after the client's reconnect backoff.
func (l *Logger) send(ctx context.Context, e *v1alpha1.ChangeLogEntry) error {
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	_, err := l.client.SendChangeLog(ctx, &v1alpha1.SendChangeLogRequest{Entry: e}, grpc.WaitForReady(true))
	return errors.Wrap(err, errSend)
}

// entry builds the same entry crossplane-runtime's GRPCChangeLogger would, with the kind
// filled from the scheme when the object's TypeMeta is empty.
func (l *Logger) entry(mg resource.Managed, op v1alpha1.OperationType, changeErr error, ad managed.AdditionalDetails) (*v1alpha1.ChangeLogEntry, error) {
	gvk := mg.GetObjectKind().GroupVersionKind()
	if gvk.Kind == "" && l.scheme != nil {
		var err error
		if gvk, err = apiutil.GVKForObject(mg, l.scheme); err != nil {
			return nil, errors.Wrap(err, errGVK)
		}
	}
	if gvk.Kind == "" {
		return nil, errors.New(errGVK)
	}
	snap, err := resource.AsProtobufStruct(mg)
	if err != nil {
		return nil, errors.Wrap(err, errSnapshot)
	}
	e := &v1alpha1.ChangeLogEntry{
		Timestamp:         timestamppb.Now(),
		Provider:          l.providerVersion,
		ApiVersion:        gvk.GroupVersion().String(),
		Kind:              gvk.Kind,
		Name:              mg.GetName(),
		ExternalName:      meta.GetExternalName(mg),
		Operation:         op,
		Snapshot:          snap,
		AdditionalDetails: ad,
	}
	if changeErr != nil {
		msg := changeErr.Error()
		e.ErrorMessage = &msg
	}
	return e, nil
}
