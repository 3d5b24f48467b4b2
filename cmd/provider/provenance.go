package main

import (
	"context"
	"fmt"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"

	"github.com/microcloud-dev/provider-microcloud/apis"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/changelog"
	"github.com/microcloud-dev/provider-microcloud/internal/version"
	"k8s.io/apimachinery/pkg/runtime"
)

// provenanceLogger is a changelog.Logger or, with a replica, a changelog.Replicated.
type provenanceLogger interface {
	managed.ChangeLogger
	options.IntentRecorder
	Run(ctx context.Context, interval time.Duration) error
	Queued() int
	Close() error
}

// setupProvenance connects the change log and intent records to the
// provenance connector (and its replica, if any) when --enable-changelogs or
// --provenance ask for it.
func setupProvenance(ctx context.Context, f *flags, log logging.Logger, o *options.Options) (func(), error) {
	mode, err := changelog.ParseMode(f.provenance)
	if err != nil {
		return nil, err
	}
	if !f.changeLogs && mode == changelog.ModeOff {
		return func() {}, nil
	}
	s := runtime.NewScheme()
	if err := apis.AddToScheme(s); err != nil {
		return nil, err
	}
	if mode == changelog.ModeOff {
		mode = changelog.ModeBestEffort // change logs alone: entries are queued and retried, never block.
	}
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	connect := func(socket, spool string) (*changelog.Logger, error) {
		conn, err := changelog.Dial("unix://" + socket)
		if err != nil {
			return nil, fmt.Errorf("cannot connect to the provenance connector at %s: %w", socket, err)
		}
		closers = append(closers, func() { _ = conn.Close() })
		lo := []changelog.Option{changelog.WithProviderVersion(version.Version), changelog.WithScheme(s), changelog.WithLogger(log)}
		if spool != "" {
			// records the connector has not acknowledged survive a restart of the provider
			sp, err := changelog.OpenSpool(spool)
			if err != nil {
				return nil, err
			}
			lo = append(lo, changelog.WithSpool(sp))
		}
		return changelog.New(v1alpha1.NewChangeLogServiceClient(conn), mode, lo...), nil
	}
	var l provenanceLogger
	first, err := connect(f.changeLogSocket, f.provenanceSpool)
	if err != nil {
		closeAll()
		return nil, err
	}
	l = first
	if f.replicaSocket != "" {
		spool := ""
		if f.provenanceSpool != "" {
			spool = f.provenanceSpool + ".replica"
		}
		second, err := connect(f.replicaSocket, spool)
		if err != nil {
			_ = first.Close()
			closeAll()
			return nil, err
		}
		l = changelog.NewReplicated(mode, first, second)
	}
	o.ChangeLogOptions = &controller.ChangeLogOptions{ChangeLogger: l}
	if f.provenance != string(changelog.ModeOff) {
		o.Intent = l
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = l.Run(runCtx, 5*time.Second)
	}()
	log.Info("Provenance enabled", "socket", f.changeLogSocket, "replicaSocket", f.replicaSocket, "mode", string(mode), "spool", f.provenanceSpool, "queued", l.Queued())
	return func() {
		stop()
		<-done
		if err := l.Close(); err != nil {
			log.Info("Cannot close the provenance spool", "error", err)
		}
		closeAll()
	}, nil
}
