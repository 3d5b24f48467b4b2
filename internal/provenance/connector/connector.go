package connector

import (
	"context"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/wal"
)

const (
	errListen = "cannot listen"
)

// Options configure a connector.
type Options struct {
	// Listen is "unix:///path/to.sock", "unix:path" or a TCP "host:port".
	Listen    string
	WALPath   string
	BatchSize int
	// Lanes is how many batches may be in flight at once (0: the batcher's default, 16).
	Lanes int
	// MinBackoff is the first retry delay after a failed submission (0: 20ms).
	MinBackoff time.Duration
	Submitter  Submitter
	// Registerer receives the metrics; nil registers nothing.
	Registerer prometheus.Registerer
	Log        logging.Logger
}

// Connector is a running connector: server, batcher and WAL.
type Connector struct {
	WAL     *wal.WAL
	Batcher *Batcher
	Addr    net.Addr

	srv    *grpc.Server
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Listen opens the listener an Options.Listen string names. A stale unix socket file
// (left by a killed connector) is removed first.
func Listen(addr string) (net.Listener, error) {
	if path, ok := unixPath(addr); ok {
		if fi, err := os.Stat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			_ = os.Remove(path)
		}
		l, err := net.Listen("unix", path)
		return l, errors.Wrap(err, errListen)
	}
	l, err := net.Listen("tcp", strings.TrimPrefix(addr, "tcp://"))
	return l, errors.Wrap(err, errListen)
}

func unixPath(addr string) (string, bool) {
	if p, ok := strings.CutPrefix(addr, "unix://"); ok {
		return p, true
	}
	return strings.CutPrefix(addr, "unix:")
}

// Start opens the WAL, starts the batcher and serves ChangeLogService.
func Start(o Options) (*Connector, error) {
	if o.Log == nil {
		o.Log = logging.NewNopLogger()
	}
	w, err := wal.Open(o.WALPath)
	if err != nil {
		return nil, err
	}
	lis, err := Listen(o.Listen)
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	m := NewMetrics(o.Registerer, w)
	b := NewBatcher(w, o.Submitter, o.BatchSize, m, o.Log)
	if o.Lanes > 0 {
		b.Lanes = o.Lanes
	}
	if o.MinBackoff > 0 {
		b.MinBackoff = o.MinBackoff
	}
	srv := grpc.NewServer()
	v1alpha1.RegisterChangeLogServiceServer(srv, &Server{WAL: w, Notify: b.Notify, Metrics: m, Log: o.Log})

	ctx, cancel := context.WithCancel(context.Background())
	c := &Connector{WAL: w, Batcher: b, Addr: lis.Addr(), srv: srv, cancel: cancel}
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		if err := b.Run(ctx); err != nil {
			o.Log.Info("Provenance batcher stopped", "error", err)
		}
	}()
	go func() {
		defer c.wg.Done()
		_ = srv.Serve(lis)
	}()
	b.Notify() // records left unsent by a previous run
	return c, nil
}

// Stop stops serving at once (in-flight calls are cut, as in a crash they would be),
// stops the batcher and closes the WAL.
func (c *Connector) Stop() error {
	c.srv.Stop()
	c.cancel()
	c.wg.Wait()
	return c.WAL.Close()
}

// GracefulStop lets in-flight calls finish before stopping.
func (c *Connector) GracefulStop() error {
	c.srv.GracefulStop()
	c.cancel()
	c.wg.Wait()
	return c.WAL.Close()
}
