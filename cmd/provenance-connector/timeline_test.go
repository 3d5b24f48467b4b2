package main

import (
	"strings"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// TestTimeline: one line per record, oldest first, with the error under a failed change,
// each break under the record it concerns, head breaks and the verdict at the end.
func TestTimeline(t *testing.T) {
	key := "VirtualMachine.proxmox.microcloud.dev/team-a/vm1"
	mk := func(op, outcome, msg string, gen int64) record.Record {
		return record.Record{ResourceKey: key, UID: "0f42a7b5-1111", Generation: gen, Operation: op, Outcome: outcome,
			Message: msg, ExternalName: "104", Composite: "vps-x", ClaimName: "my-vps", ClaimNamespace: "team-a",
			ProviderVersion: "v0.1.0", SpecHash: "s", Time: "2026-11-25T14:32:11.502649012Z", Write: "w" + op + msg}
	}
	hist := []record.Record{mk(record.OpIntentCreate, record.OutcomeIntent, "", 1), mk(record.OpCreate, record.OutcomeFailure, "PVE said\n no", 1),
		mk(record.OpCreate, record.OutcomeSuccess, "", 1)}
	prev := ""
	for i := range hist {
		if err := hist[i].Seal(prev); err != nil {
			t.Fatal(err)
		}
		prev = hist[i].Hash
	}
	hist[2].Message = "edited"
	rep := record.VerifyChain(key, hist, record.Head{ResourceKey: key, Hash: hist[2].Hash, Count: 4})

	var b strings.Builder
	printTimeline(&b, key, hist, &rep)
	out := b.String()
	t.Log("\n" + out)
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	want := []string{
		key,
		"#  TIME (UTC)",
		"0  2026-11-25 14:32:11.502  1    intent-create  announced  104            vps-x / team-a/my-vps  0f42a7b5  v0.1.0    " + hist[0].ID[:12],
		"1  2026-11-25 14:32:11.502  1    create         FAILED     104",
		"error: PVE said no",
		"2  2026-11-25 14:32:11.502  1    create         done",
		"error: edited",
		"BREAK: record " + hist[2].ID + " of " + key + ": hash does not match its content",
		"BREAK at the head: head counts 4 records, chain has 3",
		"chain BROKEN: 2 break(s) in 3 records",
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %q, want it to contain %q", i, lines[i], w)
		}
	}
}
