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
	requireLines(t, out, want)
}

// requireLines checks that out has exactly len(want) lines, each containing its want.
func requireLines(t *testing.T, out string, want []string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %q, want it to contain %q", i, lines[i], w)
		}
	}
}

// TestMergedTimeline: the records of several resources in one table ordered by time,
// each row naming its resource and its index in that resource's chain, breaks under
// the record they concern, a verdict per chain and one for all.
func TestMergedTimeline(t *testing.T) {
	a, b := "Machine.test.dev/team-a/vm-a", "Machine.test.dev/team-a/vm-b"
	seal := func(key string, times ...string) []record.Record {
		var out []record.Record
		prev := ""
		for i, ts := range times {
			r := record.Record{ResourceKey: key, UID: "uid-" + key, Generation: int64(i + 1), Operation: record.OpUpdate,
				Outcome: record.OutcomeSuccess, SpecHash: "s", Time: ts, ClaimNamespace: "team-a", ClaimName: "blog"}
			if err := r.Seal(prev); err != nil {
				t.Fatal(err)
			}
			prev = r.Hash
			out = append(out, r)
		}
		return out
	}
	// b's clock went back at its record 2: a chain keeps its order all the same
	ha := seal(a, "2026-12-02T10:00:01Z", "2026-12-02T10:00:03Z", "2026-12-02T10:00:05Z")
	hb := seal(b, "2026-12-02T10:00:02Z", "2026-12-02T10:00:04Z", "2026-12-02T10:00:00Z")
	ra := record.VerifyChain(a, ha, record.Head{Hash: ha[2].Hash, Count: 3})
	hb[1].Message = "edited"
	rb := record.VerifyChain(b, hb, record.Head{Hash: hb[2].Hash, Count: 3})
	chains := []chain{{key: a, hist: ha, rep: &ra}, {key: b, hist: hb, rep: &rb}}

	var want []string
	for _, p := range byTime(chains) {
		want = append(want, chains[p.chain].key[len(chains[p.chain].key)-4:]+"#"+string(rune('0'+p.index)))
	}
	if got := strings.Join(want, " "); got != "vm-a#0 vm-b#0 vm-a#1 vm-b#1 vm-b#2 vm-a#2" {
		t.Errorf("order %s", got)
	}

	var w strings.Builder
	printChains(&w, "claim team-a/blog: 2 resource(s)", chains, true)
	out := w.String()
	t.Log("\n" + out)
	wantLines := []string{
		"claim team-a/blog: 2 resource(s)",
		"TIME (UTC)               RESOURCE",
		"2026-12-02 10:00:01.000  " + a + "  0  1    update  done    -              team-a/blog",
		"2026-12-02 10:00:02.000  " + b + "  0  1",
		"2026-12-02 10:00:03.000  " + a + "  1  2",
		"2026-12-02 10:00:04.000  " + b + "  1  2",
		"error: edited",
		"BREAK: record " + hb[1].ID + " of " + b + ": hash does not match its content",
		"2026-12-02 10:00:00.000  " + b + "  2  3",
		"2026-12-02 10:00:05.000  " + a + "  2  3",
		a + ":",
		"chain OK: 3 records",
		b + ":",
		"chain BROKEN: 1 break(s) in 3 records",
		"BROKEN: 1 of 2 chains",
	}
	requireLines(t, out, wantLines)
}
