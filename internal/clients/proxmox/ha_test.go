package proxmox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim/pvesimtest"
)

// The HA calls against the simulator: create, read, digest-guarded update,
// delete, and the predicates the controllers decide with.
func TestHAResourcesAndRules(t *testing.T) {
	c, _ := simClient(t)
	ctx := context.Background()
	sid := fmt.Sprintf("vm:%d", pvesim.DefaultTemplateID)
	if _, ok, err := c.HAResource(ctx, sid); err != nil || ok {
		t.Fatalf("HAResource before create: ok %v err %v; want absent", ok, err)
	}
	if err := c.CreateHAResource(ctx, sid, Params{"state": "ignored", "max_restart": "2", "comment": "c"}); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateHAResource(ctx, sid, Params{"state": "ignored"}); !IsAlreadyDefined(err) {
		t.Errorf("second create: %v, want IsAlreadyDefined", err)
	}
	h, ok, err := c.HAResource(ctx, sid)
	if err != nil || !ok || h.State != "ignored" || h.MaxRestart != "2" || h.MaxRelocate != "" || h.Comment != "c" || h.Digest == "" {
		t.Fatalf("HAResource = %+v, %v, %v", h, ok, err)
	}
	if err := c.UpdateHAResource(ctx, sid, Params{"comment": "d"}, strings.Repeat("0", 40)); !IsDigestMismatch(err) {
		t.Errorf("update with a stale digest: %v, want IsDigestMismatch", err)
	}
	if err := c.UpdateHAResource(ctx, sid, Params{"comment": "d"}, h.Digest); err != nil {
		t.Fatal(err)
	}

	if err := c.CreateHARule(ctx, "pin", "node-affinity", Params{"resources": sid, "nodes": "pve1:2,pve2", "strict": "1"}); err != nil {
		t.Fatal(err)
	}
	r, ok, err := c.HARule(ctx, "pin")
	if err != nil || !ok || r.Type != "node-affinity" || strings.Join(r.Resources, ",") != sid || !r.Strict || r.Disable || r.Digest == "" {
		t.Fatalf("HARule = %+v, %v, %v", r, ok, err)
	}
	if err := c.UpdateHARule(ctx, "pin", "node-affinity", Params{"disable": "1"}, r.Digest); err != nil {
		t.Fatal(err)
	}
	if r, _, _ := c.HARule(ctx, "pin"); !r.Disable {
		t.Errorf("rule not disabled: %+v", r)
	}

	if err := c.DeleteHAResource(ctx, sid); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteHAResource(ctx, sid); !IsNotHAManaged(err) {
		t.Errorf("second delete: %v, want IsNotHAManaged", err)
	}
	// PVE's purge took the resource out of the rule, and the rule with it.
	if _, ok, err := c.HARule(ctx, "pin"); err != nil || ok {
		t.Errorf("rule after its only resource left HA: ok %v err %v", ok, err)
	}
	if err := c.DeleteHARule(ctx, "pin"); err != nil {
		t.Errorf("deleting a missing rule: %v (PVE answers success)", err)
	}
}

// A PVE 8 cluster answers 501 for the HA rules: IsNotImplemented, not absence.
func TestHARulesOnPVE8(t *testing.T) {
	srv := pvesimtest.Start(t, pvesim.Options{PVEMajor: 8, TaskDuration: 20 * time.Millisecond})
	c, err := newClient("test", pvesimtest.Site(srv, "test", 2*time.Second).Proxmox, Options{ViewTTL: time.Minute, DriftInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	_, ok, err := c.HARule(context.Background(), "pin")
	if !IsNotImplemented(err) || ok || IsNotFound(err) {
		t.Fatalf("HARule on PVE 8: ok %v err %v; want IsNotImplemented", ok, err)
	}
	if err := c.CreateHARule(context.Background(), "pin", "node-affinity", Params{"resources": "vm:100", "nodes": "pve1"}); !IsNotImplemented(err) {
		t.Errorf("CreateHARule on PVE 8: %v, want IsNotImplemented", err)
	}
}
