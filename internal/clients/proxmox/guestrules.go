package proxmox

import (
	"context"
	"sync"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// errGuestsHidden is why a use scan stops when PVE would hide guests from it.
const errGuestsHidden = "this token lacks VM.Audit on /vms: PVE hides the guests it may not audit, so their firewall rules cannot be checked for uses (grant VM.Audit, see docs/security.md)"

// guestScanParallel is how many guests' rule lists EachGuestRules reads at once.
const guestScanParallel = 8

// EachGuestRules reads the firewall rules of every guest of a fresh cluster
// view, guestScanParallel at a time, and hands each guest's rules to fn (one
// call at a time). A list that cannot be read is an error: a caller asking
// whether something is still used cannot rule the use out. Every guest is
// read even when one fails; the first error is returned.
func (c *Client) EachGuestRules(ctx context.Context, fn func(g *Guest, rules []Rule)) error {
	// PVE leaves out of /cluster/resources every guest the caller may not
	// audit: a scan that cannot see them all cannot rule a use out.
	lacks, err := c.Lacks(ctx, "/vms", "VM.Audit")
	if err != nil {
		return err
	}
	if len(lacks) > 0 {
		return errors.New(errGuestsHidden)
	}
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
