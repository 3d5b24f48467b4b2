package proxmox

import (
	"context"
	"sync"
)

// guestScanParallel is how many guests' rule lists EachGuestRules reads at once.
const guestScanParallel = 8

// EachGuestRules reads the firewall rules of every guest of a fresh cluster
// view, guestScanParallel at a time, and hands each guest's rules to fn (one
// call at a time). A list that cannot be read is an error: a caller asking
// whether something is still used cannot rule the use out. Every guest is
// read even when one fails; the first error is returned.
func (c *Client) EachGuestRules(ctx context.Context, fn func(g *Guest, rules []Rule)) error {
	c.InvalidateView()
	view, err := c.View(ctx)
	if err != nil {
		return err
	}
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, guestScanParallel)
	)
	for _, g := range view.Guests() {
		wg.Add(1)
		sem <- struct{}{}
		go func(g *Guest) {
			defer func() { <-sem; wg.Done() }()
			rules, _, err := c.Rules(ctx, GuestRules(g.Ref()))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = err
				}
				return
			}
			fn(g, rules)
		}(g)
	}
	wg.Wait()
	return first
}
