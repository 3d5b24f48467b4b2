package subvolume

import (
	"strings"
	"testing"
)

func TestWhyNamesWhatTheSubvolumeHolds(t *testing.T) {
	if got := (usage{}).why("fs", "", "sv"); got != "" {
		t.Fatalf("empty subvolume: %q", got)
	}
	got := usage{entries: []string{"a", "b", "c", "d", "e", "f"}, bytesUsed: 4096, snapshots: []string{"s1"}}.why("fs", "", "sv")
	for _, want := range []string{"CephFS subvolume fs/_nogroup/sv is not deleted", "6 file(s) or directories (a, b, c, d, e and 1 more (6 in all))",
		"4096 bytes used", "1 snapshot(s): s1"} {
		if !strings.Contains(got, want) {
			t.Errorf("why = %q, want it to contain %q", got, want)
		}
	}
	many := make([]string, counted)
	for i := range many {
		many[i] = "x"
	}
	if got := (usage{entries: many}).why("fs", "g", "sv"); !strings.Contains(got, "at least 1000 file(s)") || !strings.Contains(got, "fs/g/sv") {
		t.Errorf("why = %q", got)
	}
}
