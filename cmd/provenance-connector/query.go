// verify and history: what they read (one resource, or every resource of a composite or a claim),
// how they re-check it, and what they print.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/ledger"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

func verify(args []string) (int, error) {
	fs := flag.NewFlagSet("verify", flag.ExitOnError)
	var ff fabricFlags
	ff.register(fs)
	var sel selector
	sel.register(fs)
	output := fs.String("output", "text", `"text" (a timeline with every break named) or "json" (the report; with --composite or --claim one per resource)`)
	lc, err := dialFromFlags(fs, args, &ff)
	if err != nil {
		return 0, err
	}
	defer lc.Close() //nolint:errcheck // exiting
	if *output != "text" && *output != "json" {
		return 0, fmt.Errorf("unknown --output %q (want text or json)", *output)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	title, keys, group, err := sel.resolve(ctx, lc)
	if err != nil {
		return 0, err
	}
	if len(keys) == 0 {
		return 0, fmt.Errorf("no resource has records naming %s", title)
	}
	// read head and chain, then re-check every record here: the chaincode's own Verify is
	// not asked, so a peer (or a chaincode) that lies is caught
	chains, err := readChains(ctx, lc, keys, true)
	if err != nil {
		return 0, err
	}
	gr := groupReport{Composite: sel.composite, Claim: sel.claim, OK: true}
	for _, c := range chains {
		gr.OK = gr.OK && c.rep.OK
		gr.Records += c.rep.Records
		gr.Resources = append(gr.Resources, *c.rep)
	}
	switch {
	case *output == "text":
		printChains(os.Stdout, heading(title, keys, group), chains, group)
	case group:
		printJSON(gr)
	default:
		printJSON(chains[0].rep)
	}
	if !gr.OK {
		for _, c := range chains {
			for _, b := range c.rep.Breaks {
				if group {
					fmt.Fprintf(os.Stderr, "BREAK in %s at record %d (%s): %s\n", c.key, b.Index, b.ID, b.Reason)
				} else {
					fmt.Fprintf(os.Stderr, "BREAK at record %d (%s): %s\n", b.Index, b.ID, b.Reason)
				}
			}
		}
		return 1, nil
	}
	if group {
		fmt.Fprintf(os.Stderr, "OK: %d resources, %d records\n", len(chains), gr.Records)
	} else {
		fmt.Fprintf(os.Stderr, "OK: %d records, head %s\n", chains[0].rep.Records, chains[0].rep.HeadHash)
	}
	return 0, nil
}

// groupReport is verify's JSON answer for a composite or a claim.
type groupReport struct {
	Composite string          `json:"composite,omitempty"`
	Claim     string          `json:"claim,omitempty"`
	OK        bool            `json:"ok"`
	Records   int64           `json:"records"`
	Resources []record.Report `json:"resources"`
}

// selector is what verify and history read: one resource, or every resource with
// records naming a composite or a claim (the chaincode's owner index).
type selector struct{ resource, composite, claim string }

func (s *selector) register(fs *flag.FlagSet) {
	fs.StringVar(&s.resource, "resource", "", "resource key, e.g. VirtualMachine.proxmox.microcloud.dev/team-a/vm1")
	fs.StringVar(&s.composite, "composite", "", "instead of --resource: every resource with records naming this composite (label crossplane.io/composite)")
	fs.StringVar(&s.claim, "claim", "", "instead of --resource: every resource with records naming this claim, NAMESPACE/NAME (labels crossplane.io/claim-namespace, -name)")
}

// resolve returns a title and the resource keys to read; group is false for --resource.
func (s selector) resolve(ctx context.Context, lc *ledger.Client) (title string, keys []string, group bool, err error) {
	n := 0
	for _, v := range []string{s.resource, s.composite, s.claim} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return "", nil, false, errors.New("give exactly one of --resource, --composite, --claim")
	}
	switch {
	case s.resource != "":
		return s.resource, []string{s.resource}, false, nil
	case s.composite != "":
		keys, err = lc.ResourcesOfComposite(ctx, s.composite)
		title = "composite " + s.composite
	default:
		ns, name, ok := strings.Cut(s.claim, "/")
		if !ok {
			return "", nil, false, fmt.Errorf("--claim wants NAMESPACE/NAME, got %q", s.claim)
		}
		keys, err = lc.ResourcesOfClaim(ctx, ns, name)
		title = "claim " + s.claim
	}
	if err != nil {
		return "", nil, false, err
	}
	return title, keys, true, nil
}

// heading is the first line of a timeline: the resource key, or what was selected and
// how many resources that is.
func heading(title string, keys []string, group bool) string {
	if !group {
		return title
	}
	return fmt.Sprintf("%s: %d resource(s)", title, len(keys))
}

// readChains reads each resource's records and, with check, its head, and re-checks the
// chain here.
func readChains(ctx context.Context, lc *ledger.Client, keys []string, check bool) ([]chain, error) {
	out := make([]chain, 0, len(keys))
	for _, k := range keys {
		c := chain{key: k}
		var h record.Head
		var err error
		if check {
			if h, err = lc.Head(ctx, k); err != nil {
				return nil, err
			}
		}
		if c.hist, err = lc.History(ctx, k); err != nil {
			return nil, err
		}
		if check {
			rep := record.VerifyChain(k, c.hist, h)
			c.rep = &rep
		}
		out = append(out, c)
	}
	return out, nil
}

func printJSON(v any) {
	out, _ := json.MarshalIndent(v, "", "  ")
	fmt.Println(string(out))
}

func query(cmd string, args []string) error {
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	var ff fabricFlags
	ff.register(fs)
	var sel selector
	sel.register(fs)
	id := fs.String("id", "", "record id (get)")
	output := fs.String("output", "text", `history: "text" (a timeline) or "json" (the records; with --composite or --claim all of them, ordered by time)`)
	lc, err := dialFromFlags(fs, args, &ff)
	if err != nil {
		return err
	}
	defer lc.Close() //nolint:errcheck // exiting
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if cmd == "get" {
		r, err := lc.Get(ctx, *id)
		if err != nil {
			return err
		}
		printJSON(r)
		return nil
	}
	if *output != "text" && *output != "json" {
		return fmt.Errorf("unknown --output %q (want text or json)", *output)
	}
	title, keys, group, err := sel.resolve(ctx, lc)
	if err != nil {
		return err
	}
	chains, err := readChains(ctx, lc, keys, false)
	if err != nil {
		return err
	}
	if *output == "text" {
		printChains(os.Stdout, heading(title, keys, group), chains, group)
		return nil
	}
	rs := []record.Record{}
	for _, at := range byTime(chains) {
		rs = append(rs, chains[at.chain].hist[at.index])
	}
	printJSON(rs)
	return nil
}
