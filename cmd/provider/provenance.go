package main

import (
	"context"
	"fmt"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"

	"github.com/microcloud-dev/provider-microcloud/apis"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/changelog"
	"github.com/microcloud-dev/provider-microcloud/internal/version"
	"k8s.io/apimachinery/pkg/runtime"
)

// setupProvenance connects the change log and intent records to the
// provenance connector when --enable-changelogs or --provenance ask for it.
func setupProvenance(ctx context.Context, f *flags, log logging.Logger, o *options.Options) (func(), error) {
	mode, err := changelog.ParseMode(f.provenance)
	if err != nil {
		return nil, err
	}
	if !f.changeLogs && mode == changelog.ModeOff {
		return func() {}, nil
	}
	conn, err := changelog.Dial("unix://" + f.changeLogSocket)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to the provenance connector at %s: %w", f.changeLogSocket, err)
	}
	s := runtime.NewScheme()
	if err := apis.AddToScheme(s); err != nil {
		return nil, err
	}
	if mode == changelog.ModeOff {
		mode = changelog.ModeBestEffort // change logs alone: entries are queued and retried, never block.
	}
	lo := []changelog.Option{changelog.WithProviderVersion(version.Version), changelog.WithScheme(s), changelog.WithLogger(log)}
	if f.provenanceSpool != "" {
		// records the connector has not acknowledged survive a restart of the provider
		sp, err := changelog.OpenSpool(f.provenanceSpool)
		if err != nil {
			_ = conn.Close()
			return nil, err
		}
		lo = append(lo, changelog.WithSpool(sp))
	}
	l := changelog.New(v1alpha1.NewChangeLogServiceClient(conn), mode, lo...)
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
	log.Info("Provenance enabled", "socket", f.changeLogSocket, "mode", string(mode), "spool", f.provenanceSpool, "queued", l.Queued())
	return func() {
		stop()
		<-done
		if err := l.Close(); err != nil {
			log.Info("Cannot close the provenance spool", "error", err)
		}
		_ = conn.Close()
	}, nil
}
