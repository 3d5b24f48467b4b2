package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"

	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/changelog"
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
