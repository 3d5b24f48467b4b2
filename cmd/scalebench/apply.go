package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

type object struct {
	gvr schema.GroupVersionResource
	u   *unstructured.Unstructured
}

// applyAll creates the run's managed resources, 8 at a time, one site's
// after another's in turn (so every site has work in flight when some go
// down), recording when each was applied. Objects of site i are named s<i>-....
func applyAll(ctx context.Context, k *kube, ns string, p plan, sites []*site, pcOf func(int) string, rd *readiness) error {
	perSite := make([][]object, len(sites))
	nodes := []string{"pve1", "pve2", "pve3"}
	for i, s := range sites {
		objs := &perSite[i]
		if p.seed > 0 {
			for _, id := range s.srv.GuestIDs() {
				g, ok := s.srv.Guest(id)
				if !ok || g.Config["template"] == "1" { // the default seed's template is not imported
					continue
				}
				gvr, u := importGuest(g.Kind, id, g.Node, pcOf(i))
				u.SetName(fmt.Sprintf("s%d-%s", i, u.GetName()))
				*objs = append(*objs, object{gvr, u})
			}
			continue
		}
		for j := range p.perSite {
			*objs = append(*objs, object{gvrVM, newVM(fmt.Sprintf("s%d-vm-%d", i, j), pcOf(i), nodes[j%len(nodes)])})
		}
	}
	return parallel(ctx, interleave(perSite), func(o object) error {
		rd.apply(o.u.GetKind() + "/" + o.u.GetName())
		if _, err := k.dyn.Resource(o.gvr).Namespace(ns).Create(ctx, o.u, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create %s: %w", o.u.GetName(), err)
		}
		return nil
	})
}

// parallel calls do for each item, 8 at a time, and returns the first error;
// once one has failed (or ctx is done) no further item is started.
func parallel[T any](ctx context.Context, items []T, do func(T) error) error {
	work := make(chan T)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				if err := do(it); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	var err error
feed:
	for _, it := range items {
		select {
		case work <- it:
		case err = <-errs:
			break feed
		case <-ctx.Done():
			err = ctx.Err()
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err == nil {
		select {
		case err = <-errs:
		default:
		}
	}
	return err
}

// outage is scenario 4's plan: sites taken down once half the resources
// are Ready, brought back once the healthy ones are all Ready and the dead
// ones have shown their condition.
type outage struct {
	due    func(ready, n int) bool // whether the sites go down now
	sites  []*site
	r      *deadSites
	downAt time.Time
	upAt   time.Time
	dead   func(key string) bool
}

func onSite(key string, sites []*site) bool {
	_, name, _ := strings.Cut(key, "/")
	for _, s := range sites {
		if strings.HasPrefix(name, "s"+strings.TrimPrefix(s.name, "site")+"-") {
			return true
		}
	}
	return false
}

func (o *outage) counts() (creates, deletes float64, guests int) {
	for _, s := range o.sites {
		_, c, d := total(s.counts())
		creates, deletes, guests = creates+c, deletes+d, guests+len(s.srv.GuestIDs())
	}
	return creates, deletes, guests
}

// waitReady waits until n resources are Ready, driving o and w (nil: none), and
// returns when the last became Ready.
func waitReady(ctx context.Context, c *config, rd *readiness, n int, all func(string) bool, o *outage, w *window) (time.Time, error) {
	deadline := time.Now().Add(c.timeout)
	for {
		_, ready, _ := rd.times(all)
		w.step(rd, ready, n)
		switch {
		case ready >= n && o == nil:
			return rd.last(), nil
		case ready >= n && o.recovered(rd):
			return time.Now(), nil
		}
		if o != nil {
			if err := o.step(c, rd, ready, n); err != nil {
				return time.Now(), err
			}
		}
		if time.Now().After(deadline) {
			return time.Now(), fmt.Errorf("%d of %d Ready after %s", ready, n, c.timeout)
		}
		select {
		case <-ctx.Done():
			return time.Now(), ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// step advances the outage: down at half Ready; once the healthy sites are
// all Ready and every dead-site resource names its endpoint (or 6 polls and
// a minute passed), the counts are taken and the sites come back.
func (o *outage) step(c *config, rd *readiness, ready, n int) error {
	if o.dead == nil {
		o.dead = func(k string) bool { return onSite(k, o.sites) }
	}
	switch {
	case o.downAt.IsZero():
		if o.due(ready, n) {
			for _, s := range o.sites {
				s.fwd.Down()
			}
			o.downAt = time.Now()
			o.r.ReadyBeforeOutage = ready
			fmt.Printf("  %d sites down with %d of %d Ready\n", len(o.sites), ready, n)
		}
	case o.upAt.IsZero():
		// Counted at every step, not only once the healthy sites are all
		// Ready: AllNamedAfter is when the last dead-site resource named
		// its endpoint, not when the bench first looked.
		named, total := o.naming(rd)
		healthy := func(k string) bool { return !o.dead(k) }
		ds, hr, ht := rd.times(healthy)
		if hr < ht {
			return nil
		}
		if o.r.HealthyMax == 0 {
			o.r.HealthyP50, o.r.HealthyP90, o.r.HealthyMax = secs(percentile(ds, 50)), secs(percentile(ds, 90)), secs(percentile(ds, 100))
			fmt.Printf("  healthy sites all Ready: p50 %.1fs p90 %.1fs max %.1fs\n", o.r.HealthyP50, o.r.HealthyP90, o.r.HealthyMax)
		}
		// A resource learns of the outage at its next reconcile, which may
		// queue behind the healthy sites' work: wait up to 6 polls + 1 min.
		if named < total && time.Since(o.downAt) < 6*c.poll+time.Minute {
			return nil
		}
		o.r.CreatesBefore, o.r.DeletesBefore, o.r.GuestsBefore = o.counts()
		for _, s := range o.sites {
			if err := s.fwd.Up(); err != nil {
				return err
			}
		}
		o.upAt = time.Now()
		fmt.Printf("  sites back: %d of %d dead-site resources named their endpoint (all %.1f s after the outage began; 0: not all)\n", named, total, o.r.AllNamedAfter)
	}
	return nil
}

// naming counts the dead sites' resources whose condition names their
// site's endpoint, keeps a sample message, and notes when all first did.
func (o *outage) naming(rd *readiness) (named, total int) {
	msgs := rd.messages(o.dead)
	for k, m := range msgs {
		if o.r.SampleMessage == "" && m != "" || strings.Contains(m, "127.0.0.1") && !strings.Contains(o.r.SampleMessage, "127.0.0.1") {
			o.r.SampleMessage = k + ": " + m
		}
		for _, s := range o.sites {
			if onSite(k, []*site{s}) && strings.Contains(m, s.fwd.Addr()) {
				named++
			}
		}
	}
	_, notReady, total := rd.times(o.dead)
	o.r.Resources, o.r.NamingEndpoint, o.r.NotReadyWhenHealthy = total, named, total-notReady
	if named == total && o.r.AllNamedAfter == 0 {
		o.r.AllNamedAfter = secs(time.Since(o.downAt))
	}
	return named, total
}

// recovered tells whether the sites are back and none of their resources
// shows a failing condition any more.
func (o *outage) recovered(rd *readiness) bool {
	if o.upAt.IsZero() {
		return false
	}
	for _, m := range rd.messages(o.dead) {
		if m != "" {
			return false
		}
	}
	return true
}

// interleave takes one item of each list in turn.
func interleave[T any](lists [][]T) []T {
	var out []T
	for j := 0; ; j++ {
		took := false
		for _, l := range lists {
			if j < len(l) {
				out = append(out, l[j])
				took = true
			}
		}
		if !took {
			return out
		}
	}
}
