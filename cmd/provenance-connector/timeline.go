package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// A chain is one resource's records as read from the ledger, oldest first, and, for
// verify, the report of re-checking them.
type chain struct {
	key  string
	hist []record.Record
	rep  *record.Report
}

// printTimeline writes a resource's records as an auditor reads them: one line per
// record, oldest first (when, generation, what was done and how it ended, on which
// external resource, for which composite / claim, by which provider, the record id),
// the error message under a failed change, and, when rep is set, every break of the
// chain under the record it concerns and a verdict at the end.
func printTimeline(w io.Writer, key string, hist []record.Record, rep *record.Report) {
	printChains(w, key, []chain{{key: key, hist: hist, rep: rep}}, false)
}

// printChains is printTimeline for several resources (merged: every resource of a
// composite or claim): one table of all their records ordered by time, each row naming
// its resource and its index in that resource's chain, breaks under the record they
// concern, then a verdict per chain and one for all of them.
func printChains(w io.Writer, title string, chains []chain, merged bool) {
	fmt.Fprintf(w, "%s\n", title)
	rows := [][]string{{"#", "TIME (UTC)", "GEN", "CHANGE", "RESULT", "EXTERNAL NAME", "COMPOSITE / CLAIM", "UID", "PROVIDER", "RECORD"}}
	if merged {
		rows[0] = append([]string{"TIME (UTC)", "RESOURCE", "#"}, rows[0][2:]...)
	}
	breaks := make([]map[int64][]record.Break, len(chains))
	for c, ch := range chains {
		breaks[c] = map[int64][]record.Break{}
		if ch.rep != nil {
			for _, b := range ch.rep.Breaks {
				breaks[c][b.Index] = append(breaks[c][b.Index], b)
			}
		}
	}
	// rows, then notes (error, breaks) printed under the row they belong to
	notes := map[int][]string{}
	uid := make([]string, len(chains))
	order := byTime(chains)
	if len(order) == 0 {
		fmt.Fprintln(w, "  no records")
	}
	for _, at := range order {
		r := chains[at.chain].hist[at.index]
		u := short(r.UID, 8)
		if r.UID != uid[at.chain] && uid[at.chain] != "" {
			u += " (new)" // the name was deleted and created again
		}
		uid[at.chain] = r.UID
		row := []string{fmt.Sprint(at.index), when(r.Time)}
		if merged {
			row = []string{when(r.Time), chains[at.chain].key, fmt.Sprint(at.index)}
		}
		rows = append(rows, append(row, fmt.Sprint(r.Generation), r.Operation, result(r.Outcome),
			dash(r.ExternalName), dash(owner(r)), u, dash(r.ProviderVersion), short(r.ID, 12)))
		if r.Message != "" {
			notes[len(rows)-1] = append(notes[len(rows)-1], "error: "+oneLine(r.Message))
		}
		for _, b := range breaks[at.chain][int64(at.index)] {
			notes[len(rows)-1] = append(notes[len(rows)-1], "BREAK: "+b.Reason)
		}
	}
	printTable(w, rows, notes)
	broken := 0
	for c, ch := range chains {
		if ch.rep == nil {
			continue
		}
		indent := "  "
		if merged {
			fmt.Fprintf(w, "  %s:\n", ch.key)
			indent = "    "
		}
		for _, b := range breaks[c][int64(len(ch.hist))] { // head problems
			fmt.Fprintf(w, "%sBREAK at the head: %s\n", indent, b.Reason)
		}
		if ch.rep.OK {
			fmt.Fprintf(w, "%schain OK: %d records, each id and hash re-computed here, each linked to the one before; head %s\n",
				indent, ch.rep.Records, short(ch.rep.HeadHash, 12))
		} else {
			broken++
			fmt.Fprintf(w, "%schain BROKEN: %d break(s) in %d records\n", indent, len(ch.rep.Breaks), ch.rep.Records)
		}
	}
	if merged && len(chains) > 0 && chains[0].rep != nil {
		if broken == 0 {
			fmt.Fprintf(w, "  all %d chains OK (%d records)\n", len(chains), len(order))
		} else {
			fmt.Fprintf(w, "  BROKEN: %d of %d chains\n", broken, len(chains))
		}
	}
}

// printTable writes rows in aligned columns (the last one unpadded), each row's notes
// under it.
func printTable(w io.Writer, rows [][]string, notes map[int][]string) {
	width := make([]int, len(rows[0]))
	for _, row := range rows {
		for c, v := range row {
			width[c] = max(width[c], len(v))
		}
	}
	for i, row := range rows {
		var b strings.Builder
		for c, v := range row {
			if c == len(row)-1 {
				b.WriteString(v)
			} else {
				fmt.Fprintf(&b, "%-*s  ", width[c], v)
			}
		}
		fmt.Fprintf(w, "  %s\n", b.String())
		for _, n := range notes[i] {
			fmt.Fprintf(w, "  %*s  %s\n", width[0], "", n)
		}
	}
}

// A position is a record's place: which chain, which index in it.
type position struct{ chain, index int }

// byTime merges the chains into one sequence ordered by the records' time, keeping each
// chain's own order (a chain is never reordered, even if its clock went back); records
// of equal time keep the order of the chains.
func byTime(chains []chain) []position {
	next := make([]int, len(chains))
	var out []position
	for {
		best := -1
		var first record.Record // the earliest next record so far, chains[best]'s
		for c, ch := range chains {
			if next[c] >= len(ch.hist) {
				continue
			}
			if r := ch.hist[next[c]]; best < 0 || earlier(r, first) {
				best, first = c, r
			}
		}
		if best < 0 {
			return out
		}
		out = append(out, position{best, next[best]})
		next[best]++
	}
}

func earlier(a, b record.Record) bool {
	ta, errA := time.Parse(time.RFC3339Nano, a.Time)
	tb, errB := time.Parse(time.RFC3339Nano, b.Time)
	if errA != nil || errB != nil {
		return a.Time < b.Time
	}
	return ta.Before(tb)
}

func result(outcome string) string {
	switch outcome {
	case record.OutcomeSuccess:
		return "done"
	case record.OutcomeFailure:
		return "FAILED"
	case record.OutcomeIntent:
		return "announced"
	}
	return outcome
}

func when(t string) string {
	ts, err := time.Parse(time.RFC3339Nano, t)
	if err != nil {
		return t
	}
	return ts.UTC().Format("2006-01-02 15:04:05.000")
}

func owner(r record.Record) string {
	claim := ""
	if r.ClaimName != "" {
		claim = r.ClaimName
		if r.ClaimNamespace != "" {
			claim = r.ClaimNamespace + "/" + claim
		}
	}
	switch {
	case r.Composite != "" && claim != "":
		return r.Composite + " / " + claim
	case r.Composite != "":
		return r.Composite
	}
	return claim
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
