package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// printTimeline writes a resource's records as an auditor reads them: one line per
// record, oldest first (when, generation, what was done and how it ended, on which
// external resource, for which composite / claim, by which provider, the record id),
// the error message under a failed change, and, when rep is set, every break of the
// chain under the record it concerns and a verdict at the end.
func printTimeline(w io.Writer, key string, hist []record.Record, rep *record.Report) {
	fmt.Fprintf(w, "%s\n", key)
	if len(hist) == 0 {
		fmt.Fprintln(w, "  no records")
	}
	breaks := map[int64][]record.Break{}
	if rep != nil {
		for _, b := range rep.Breaks {
			breaks[b.Index] = append(breaks[b.Index], b)
		}
	}
	// rows, then notes (error, breaks) printed under the row they belong to
	rows := [][]string{{"#", "TIME (UTC)", "GEN", "CHANGE", "RESULT", "EXTERNAL NAME", "COMPOSITE / CLAIM", "UID", "PROVIDER", "RECORD"}}
	notes := map[int][]string{}
	uid := ""
	for i, r := range hist {
		res := r.Outcome
		switch r.Outcome {
		case record.OutcomeSuccess:
			res = "done"
		case record.OutcomeFailure:
			res = "FAILED"
		case record.OutcomeIntent:
			res = "announced"
		}
		u := short(r.UID, 8)
		if r.UID != uid && uid != "" {
			u += " (new)" // the name was deleted and created again
		}
		uid = r.UID
		rows = append(rows, []string{fmt.Sprint(i), when(r.Time), fmt.Sprint(r.Generation), r.Operation, res,
			dash(r.ExternalName), dash(owner(r)), u, dash(r.ProviderVersion), short(r.ID, 12)})
		if r.Message != "" {
			notes[i+1] = append(notes[i+1], "error: "+oneLine(r.Message))
		}
		for _, b := range breaks[int64(i)] {
			notes[i+1] = append(notes[i+1], "BREAK: "+b.Reason)
		}
	}
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
	if rep == nil {
		return
	}
	for _, b := range breaks[int64(len(hist))] { // head problems
		fmt.Fprintf(w, "  BREAK at the head: %s\n", b.Reason)
	}
	if rep.OK {
		fmt.Fprintf(w, "  chain OK: %d records, each id and hash re-computed here, each linked to the one before; head %s\n",
			rep.Records, short(rep.HeadHash, 12))
	} else {
		fmt.Fprintf(w, "  chain BROKEN: %d break(s) in %d records\n", len(rep.Breaks), rep.Records)
	}
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
