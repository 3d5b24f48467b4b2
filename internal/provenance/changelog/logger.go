package changelog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
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
	// ModeBestEffort queues records (in memory, or in a spool) and retries; changes go on
	// meanwhile.
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
	errBehind       = "the connector has entries queued before this one"
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
	spool           *Spool

	// q holds entries the connector did not take yet (best-effort, and change records in
	// either mode: the change is already made, so its record must not be lost): in memory,
	// or in the spool when one is set. qmu guards it; sendMu makes one flush at a time, so
	// the queue reaches the connector in order.
	qmu    sync.Mutex
	q      queue
	sendMu sync.Mutex
	kick   chan struct{}
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

// WithQueueMax bounds the queue (default 10000 in memory, 100000 in a spool); the
// oldest entry is dropped (and logged) beyond it.
func WithQueueMax(n int) Option { return func(l *Logger) { l.queueMax = n } }

// WithSpool keeps the queue in s instead of memory, so entries the connector has not
// acknowledged survive a provider restart; the Logger owns s from then on (Close).
func WithSpool(s *Spool) Option { return func(l *Logger) { l.spool = s } }

// New returns a Logger sending to client in the given mode.
func New(client v1alpha1.ChangeLogServiceClient, mode Mode, o ...Option) *Logger {
	l := &Logger{client: client, mode: mode, timeout: defaultTimeout, log: logging.NewNopLogger(), kick: make(chan struct{}, 1)}
	for _, fn := range o {
		fn(l)
	}
	l.q = &memQueue{}
	if l.spool != nil {
		l.spool.log = l.log
		l.q = l.spool
	}
	if l.queueMax <= 0 { // the default depends on where the queue lives
		l.queueMax = defaultQueueMax
		if l.spool != nil {
			l.queueMax = defaultSpoolMax
		}
	}
	return l
}

// Close closes the spool, if any, once no flush is running. Entries still in it are
// sent by the next Logger opened on the same file.
func (l *Logger) Close() error {
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	l.qmu.Lock()
	defer l.qmu.Unlock()
	return l.q.close()
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
	if err == nil {
		err = l.deliver(ctx, e, l.mode == ModeRequired)
	}
	if err == nil {
		return nil
	}
	if l.mode == ModeRequired {
		return &IntentNotAcceptedError{Err: err}
	}
	l.log.Info("Cannot record provenance intent", "name", mg.GetName(), "error", err)
	return nil
}

// deliver hands e to the connector, behind anything queued. If mustAck, e is not queued:
// the queue is flushed, e sent, and any failure returned. Otherwise e is sent at once
// when nothing is queued, else (or when that send fails) queued for Run, and only a
// failure to queue it is returned; with a spool it is then on disk (fsynced).
//
// Order per resource is kept because a resource's entries come from its reconciles,
// which never run concurrently: an entry queued for a resource is still queued (it leaves
// only once acknowledged) when the resource's next entry is delivered, so that one
// queues too, or flushes it first.
func (l *Logger) deliver(ctx context.Context, e *v1alpha1.ChangeLogEntry, mustAck bool) error {
	if mustAck {
		l.sendMu.Lock()
		defer l.sendMu.Unlock()
		if err := l.flushLocked(ctx); err != nil {
			return err
		}
		return l.send(ctx, e)
	}
	if l.Queued() == 0 {
		err := l.send(ctx, e)
		if err == nil || permanent(err) {
			return err
		}
		l.log.Debug("Queueing provenance record for retry", "name", e.GetName(), "error", err)
	}
	return l.enqueue(e)
}

// offer sends e if nothing is queued for this connector and tells whether it was
// acknowledged; e is never queued. A connector that is behind (entries queued) is not
// asked: e must not overtake them.
func (l *Logger) offer(ctx context.Context, e *v1alpha1.ChangeLogEntry) (bool, error) {
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	if l.Queued() > 0 {
		return false, errors.New(errBehind)
	}
	err := l.send(ctx, e)
	return err == nil, err
}

// enqueue queues e behind anything queued.
func (l *Logger) enqueue(e *v1alpha1.ChangeLogEntry) error {
	l.qmu.Lock()
	err := l.pushLocked(e)
	l.qmu.Unlock()
	l.wake()
	return err
}

func (l *Logger) pushLocked(e *v1alpha1.ChangeLogEntry) error {
	for l.q.len() >= l.queueMax {
		old, err := l.q.dropOldest()
		if err != nil {
			return err
		}
		if old == nil {
			break
		}
		l.log.Info("Provenance queue full, dropping the oldest entry", "name", old.GetName(), "kind", old.GetKind())
	}
	return l.q.push(e)
}

// wake tells Run there is something to flush.
func (l *Logger) wake() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Queued is the number of entries waiting for the connector.
func (l *Logger) Queued() int {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	return l.q.len()
}

// Flush sends queued entries, oldest first, until one fails.
func (l *Logger) Flush(ctx context.Context) error {
	l.sendMu.Lock()
	defer l.sendMu.Unlock()
	return l.flushLocked(ctx)
}

// flushLocked sends the queue oldest first; an entry is removed only after the
// connector acknowledged it, so a crash in between re-sends it (the connector
// recognises the record id and stores it once). An entry the connector refuses as
// invalid can never be taken; it is dropped and logged rather than holding up the rest.
func (l *Logger) flushLocked(ctx context.Context) error {
	for {
		l.qmu.Lock()
		key, e, ok, err := l.q.peek()
		l.qmu.Unlock()
		if err != nil || !ok {
			return err
		}
		if err := l.send(ctx, e); err != nil {
			if !permanent(err) {
				return err
			}
			l.log.Info("Dropping a provenance record the connector refuses", "name", e.GetName(), "kind", e.GetKind(), "error", err)
		}
		l.qmu.Lock()
		err = l.q.remove(key)
		l.qmu.Unlock()
		if err != nil {
			return err
		}
	}
}

// permanent tells whether the connector refused the entry itself (it will never take
// it), as opposed to not being reachable.
func permanent(err error) bool {
	return status.Code(err) == codes.InvalidArgument
}

// Run sends queued entries when told there are some, and retries them every interval,
// until ctx is done (add it to the manager with manager.RunnableFunc). Entries left in a
// spool by a previous run are sent at once.
func (l *Logger) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	l.wake()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-l.kick:
		}
		if l.Queued() == 0 {
			continue
		}
		if err := l.Flush(ctx); err != nil && ctx.Err() == nil {
			l.log.Debug("Provenance connector still unavailable", "queued", l.Queued(), "error", err)
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
	// A nonce of this write, next to the timestamp: together they name the write, so the
	// connector stores each external call once, however often its entry is re-sent (the
	// entry is queued and spooled as it is, nonce included), and two calls twice.
	details := make(map[string]string, len(ad)+1)
	for k, v := range ad {
		details[k] = v
	}
	details[record.DetailWrite] = nonce()
	e := &v1alpha1.ChangeLogEntry{
		Timestamp:         timestamppb.Now(),
		Provider:          l.providerVersion,
		ApiVersion:        gvk.GroupVersion().String(),
		Kind:              gvk.Kind,
		Name:              mg.GetName(),
		ExternalName:      meta.GetExternalName(mg),
		Operation:         op,
		Snapshot:          snap,
		AdditionalDetails: details,
	}
	if changeErr != nil {
		msg := changeErr.Error()
		e.ErrorMessage = &msg
	}
	return e, nil
}

// nonce is 96 random bits, hex.
func nonce() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return hex.EncodeToString(b)
}
