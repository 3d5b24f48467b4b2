package main

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/changelog"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/provtest"
)

// TestProvenanceSpoolFlag: --provenance-spool puts the logger's queue in that file (one
// provider per file: a second one cannot open it), and the close function releases it.
func TestProvenanceSpoolFlag(t *testing.T) {
	dir := t.TempDir()
	spool := filepath.Join(dir, "spool.db")
	f, err := parseFlags([]string{"--provenance=best-effort", "--provenance-spool=" + spool,
		"--changelogs-socket-path=" + filepath.Join(dir, "none.sock")})
	if err != nil {
		t.Fatal(err)
	}
	var o options.Options
	closeFn, err := setupProvenance(context.Background(), f, logging.NewNopLogger(), &o)
	if err != nil {
		t.Fatal(err)
	}
	l, ok := o.Intent.(*changelog.Logger)
	if !ok || o.ChangeLogOptions == nil || o.ChangeLogOptions.ChangeLogger != l {
		t.Fatalf("the logger is not wired as both change logger and intent recorder: %+v", o)
	}
	if _, err := changelog.OpenSpool(spool); err == nil {
		t.Fatal("a second provider could open the spool in use")
	}
	closeFn()
	sp, err := changelog.OpenSpool(spool)
	if err != nil {
		t.Fatalf("the spool is not released on close: %v", err)
	}
	_ = sp.Close()

	f.provenanceSpool = filepath.Join(dir, "no-such-dir", "spool.db")
	if _, err := setupProvenance(context.Background(), f, logging.NewNopLogger(), &o); err == nil {
		t.Fatal("an unusable spool path was accepted")
	}
}

// TestProvenanceReplicaSocketFlag: with --provenance-replica-socket the provider's
// provenance wiring sends every intent and change record to both connectors' sockets,
// the same entry (same stamp) to each. While the replica is down, its records are queued
// (with --provenance-spool in <spool>.replica: they survive a provider restart, here the
// wiring is closed and set up again while the replica is still down) and delivered to it,
// in order, once it is back; the first connector gets nothing twice.
func TestProvenanceReplicaSocketFlag(t *testing.T) {
	for name, withSpool := range map[string]bool{"in memory": false, "spool": true} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			sockA, sockB := filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")
			args := []string{"--provenance=required", "--changelogs-socket-path=" + sockA, "--provenance-replica-socket=" + sockB}
			spool := filepath.Join(dir, "spool.db")
			if withSpool {
				args = append(args, "--provenance-spool="+spool)
			}
			f, err := parseFlags(args)
			if err != nil {
				t.Fatal(err)
			}
			a, b := serveChangeLogs(t, sockA), serveChangeLogs(t, sockB)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var o options.Options
			closeFn, err := setupProvenance(ctx, f, logging.NewNopLogger(), &o)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { closeFn() }()
			l, ok := o.Intent.(*changelog.Replicated)
			if !ok || o.ChangeLogOptions == nil || o.ChangeLogOptions.ChangeLogger != l {
				t.Fatalf("the replicated logger is not wired as both change logger and intent recorder: %+v", o)
			}
			write := func(gen int64) { // an intent and the change it announced
				vm := provtest.NewResource("ns", "vm", "uid-vm", gen, map[string]any{"gen": gen})
				if err := o.Intent.RecordIntent(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE); err != nil {
					t.Fatal(err)
				}
				if err := o.ChangeLogOptions.ChangeLogger.Log(ctx, vm, v1alpha1.OperationType_OPERATION_TYPE_UPDATE, nil, nil); err != nil {
					t.Fatal(err)
				}
			}
			write(1)
			write(2)
			requireSameEntries(t, a.received(), b.received(), 4)

			b.stop()
			write(3)
			write(4)
			if n := len(a.received()); n != 8 {
				t.Fatalf("the first connector received %d entries, want 8", n)
			}
			if n := len(b.received()); n != 4 {
				t.Fatalf("the stopped replica received %d entries, want 4", n)
			}
			if q := l.Queued(); q != 4 {
				t.Fatalf("%d entries queued for the stopped replica, want 4", q)
			}
			if withSpool { // the provider restarts while the replica is down
				if _, err := os.Stat(spool + ".replica"); err != nil {
					t.Fatalf("no replica spool: %v", err)
				}
				closeFn()
				closeFn, err = setupProvenance(ctx, f, logging.NewNopLogger(), &o)
				if err != nil {
					t.Fatal(err)
				}
				if l, ok = o.Intent.(*changelog.Replicated); !ok || l.Queued() != 4 {
					t.Fatalf("%d entries queued after a provider restart, want the 4 kept in %s.replica", l.Queued(), spool)
				}
			}

			b2 := serveChangeLogs(t, sockB) // the replica is back, with nothing received
			for len(b2.received()) < 4 {
				if ctx.Err() != nil {
					t.Fatalf("the replica got %d of its 4 queued entries", len(b2.received()))
				}
				time.Sleep(20 * time.Millisecond)
			}
			requireSameEntries(t, a.received()[4:], b2.received(), 4)
			if n := len(a.received()); n != 8 {
				t.Fatalf("the first connector received %d entries, want 8 (none twice)", n)
			}
		})
	}
}

// changeLogServer is a connector that keeps every entry it is sent.
type changeLogServer struct {
	v1alpha1.UnimplementedChangeLogServiceServer
	srv *grpc.Server

	mu      sync.Mutex
	entries []*v1alpha1.ChangeLogEntry
}

func serveChangeLogs(t *testing.T, socket string) *changeLogServer {
	t.Helper()
	lis, err := net.Listen("unix", socket)
	if err != nil {
		t.Fatal(err)
	}
	s := &changeLogServer{srv: grpc.NewServer()}
	v1alpha1.RegisterChangeLogServiceServer(s.srv, s)
	go func() { _ = s.srv.Serve(lis) }()
	t.Cleanup(s.stop)
	return s
}

func (s *changeLogServer) SendChangeLog(_ context.Context, r *v1alpha1.SendChangeLogRequest) (*v1alpha1.SendChangeLogResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.entries = append(s.entries, r.GetEntry())
	return &v1alpha1.SendChangeLogResponse{}, nil
}

func (s *changeLogServer) received() []*v1alpha1.ChangeLogEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*v1alpha1.ChangeLogEntry(nil), s.entries...)
}

func (s *changeLogServer) stop() { s.srv.Stop() }

// requireSameEntries: both connectors received the same n entries, in the same order.
func requireSameEntries(t *testing.T, a, b []*v1alpha1.ChangeLogEntry, n int) {
	t.Helper()
	if len(a) != n || len(b) != n {
		t.Fatalf("the connectors received %d and %d entries, want %d each", len(a), len(b), n)
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			t.Fatalf("entry %d differs between the connectors:\n%v\n%v", i, a[i], b[i])
		}
	}
}
