package proxmox

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/microcloud-dev/provider-microcloud/internal/pvesim"
	"github.com/microcloud-dev/provider-microcloud/internal/pvesim/pvesimtest"
)

// simClient starts a simulator and returns a client of it.
func simClient(t *testing.T) (*Client, *pvesim.Server) {
	t.Helper()
	srv := pvesimtest.Start(t, pvesim.Options{TaskDuration: 20 * time.Millisecond})
	c, err := newClient("test", pvesimtest.Site(srv, "test", 2*time.Second).Proxmox, Options{ViewTTL: time.Minute, DriftInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return c, srv
}

func fault(srv *pvesim.Server, rf pvesim.RouteFault) {
	rf.Count = 1
	srv.Faults().Set(pvesim.FaultConfig{Routes: []pvesim.RouteFault{rf}})
}

// Every answer that is not a 2xx is an error, whatever its body, and never
// a view: go-proxmox v0.8.2 decodes 502/503/504/595 with a JSON body as
// success, which once made a provider read a gateway error as an empty
// cluster.
func TestEveryNon2xxAnswerIsAnError(t *testing.T) {
	c, srv := simClient(t)
	ctx := context.Background()
	for _, code := range []int{400, 404, 500, 502, 503, 504, 595, 596} {
		for _, body := range []string{pvesim.BodyJSON, pvesim.BodyHTML, pvesim.BodyEmpty} {
			for _, phase := range []string{pvesim.PhaseBefore, pvesim.PhaseAfter} {
				t.Run(fmt.Sprintf("%d/%s/%s", code, body, phase), func(t *testing.T) {
					c.InvalidateView()
					fault(srv, pvesim.RouteFault{Route: "GET /cluster/resources", Code: code, Body: body, Phase: phase,
						Message: "does not exist"})
					v, err := c.View(ctx)
					if err == nil {
						t.Fatalf("a %d answer (%s body) gave a view of %d guests, want an error", code, body, v.Len())
					}
					e, ok := AsAPIError(err)
					if !ok || e.Status != code {
						t.Fatalf("error %v is not an APIError with status %d", err, code)
					}
					// A proxy's answer never says a guest is gone, even in PVE's words.
					if code != 400 && code != 500 && IsNotFound(err) {
						t.Fatalf("a %d answer counted as PVE's 'not found': %v", code, err)
					}
					if v, err := c.View(ctx); err != nil || v.Len() == 0 {
						t.Fatalf("after the fault: view %v, %v; want the seeded guests", v, err)
					}
				})
			}
		}
	}
}

// A dropped answer and a hung request are errors too, and a config whose
// answer is lost is never taken as an empty config.
func TestDroppedAndHungAnswersAreErrors(t *testing.T) {
	c, srv := simClient(t)
	ctx := context.Background()
	v, err := c.View(ctx)
	if err != nil {
		t.Fatal(err)
	}
	g, ok := v.Guest(9000)
	if !ok {
		t.Fatal("the seeded template 9000 is not in the view")
	}
	// Go's transport re-sends a GET once when a reused connection closes
	// without an answer; the fault drops that one too.
	srv.Faults().Set(pvesim.FaultConfig{Routes: []pvesim.RouteFault{{Route: "GET /nodes/{node}/qemu/{vmid}/config", DropRate: 1, Count: 2}}})
	if cfg, _, _, err := c.GuestConfig(ctx, g, 1); err == nil {
		t.Fatalf("a dropped answer gave config %v", cfg)
	}
	fault(srv, pvesim.RouteFault{Route: "GET /nodes/{node}/qemu/{vmid}/config", Hang: pvesim.Duration(10 * time.Second)})
	start := time.Now()
	if cfg, _, _, err := c.GuestConfig(ctx, g, 1); err == nil {
		t.Fatalf("a hung request gave config %v", cfg)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the request timeout (2s) did not end a hung request: %s", d)
	}
	srv.Faults().Clear()
	cfg, fresh, _, err := c.GuestConfig(ctx, g, 1)
	if err != nil || !fresh || cfg["digest"] == nil {
		t.Fatalf("config after the faults: %v fresh=%v err=%v; want a fresh config with its digest", cfg, fresh, err)
	}
}

// A 2xx that is not PVE's envelope (a captive portal, a proxy's page) is an
// error, not data.
func TestA2xxThatIsNotPVEsEnvelopeIsAnError(t *testing.T) {
	c, srv := simClient(t)
	fault(srv, pvesim.RouteFault{Route: "GET /cluster/nextid", Code: 200, Body: pvesim.BodyHTML, Phase: pvesim.PhaseBefore})
	id, err := c.NextID(context.Background())
	e, ok := AsAPIError(err)
	if !ok || !e.NotEnvelope {
		t.Fatalf("NextID = %d, %v; want a not-an-envelope error", id, err)
	}
}

// PVE's own "does not exist" is the only way to learn that a guest is gone
// (pve-manager API2/Cluster.pm nextid: a taken id is a parameter error).
func TestIDFreeAndNotFoundFollowPVE(t *testing.T) {
	c, srv := simClient(t)
	ctx := context.Background()
	if free, err := c.IDFree(ctx, 9000); err != nil || free {
		t.Fatalf("IDFree(9000) = %v, %v; the seeded template has that id", free, err)
	}
	if free, err := c.IDFree(ctx, 4242); err != nil || !free {
		t.Fatalf("IDFree(4242) = %v, %v; want free", free, err)
	}
	fault(srv, pvesim.RouteFault{Route: "GET /cluster/nextid", Code: 503, Body: pvesim.BodyEmpty, Phase: pvesim.PhaseBefore})
	if free, err := c.IDFree(ctx, 4242); err == nil {
		t.Fatalf("IDFree during a 503 = %v, nil; want an error", free)
	}
	var cfg map[string]any
	err := c.Get(ctx, GuestPath("pve1", "qemu", 4242)+"/config", &cfg)
	if !IsNotFound(err) {
		t.Fatalf("config of a missing VM: %v; want PVE's 'does not exist'", err)
	}
	fault(srv, pvesim.RouteFault{Route: "GET /cluster/nextid", Code: 503, Phase: pvesim.PhaseBefore})
	if id, err := c.NextID(ctx); err == nil || id != 0 {
		t.Fatalf("NextID during a 503 = %d, %v; want 0 and an error", id, err)
	}
}

// A task PVE no longer knows is recognised as such, so a resource waiting
// for it observes what it left behind instead of failing for ever.
func TestTaskGoneIsRecognised(t *testing.T) {
	c, srv := simClient(t)
	_, err := c.Task(context.Background(), "UPID:pve1:00001234:00005678:65000000:qmclone:100:root@pam:")
	if !IsTaskGone(err) {
		t.Fatalf("status of an unknown task: %v; want IsTaskGone", err)
	}
	fault(srv, pvesim.RouteFault{Route: "GET /nodes/{node}/tasks/{upid}/status", Code: 502, Phase: pvesim.PhaseBefore})
	_, err = c.Task(context.Background(), "UPID:pve1:00001234:00005678:65000000:qmclone:100:root@pam:")
	if err == nil || IsTaskGone(err) {
		t.Fatalf("a 502 on task status: %v; want an error that is not IsTaskGone", err)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 502 {
		t.Fatalf("want a 502 APIError, got %v", err)
	}
}
