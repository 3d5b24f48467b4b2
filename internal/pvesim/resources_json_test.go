package pvesim

import (
	"encoding/json"
	"testing"
)

// TestResourceEncoderMatchesEncodingJSON keeps the hand-written encoder
// byte-identical to encoding/json for every field combination in use.
func TestResourceEncoderMatchesEncodingJSON(t *testing.T) {
	sim, err := New(Options{SeedGuests: 25})
	if err != nil {
		t.Fatal(err)
	}
	_ = sim.SetConfig(1000, map[string]string{"lock": "backup", "tags": "a;b<&>\"q\"\u2028", "name": "x\x01\xff"})
	_ = sim.MoveGuest(1001, "pve2")
	sim.mu.Lock()
	sim.st.Pools["p"] = &pool{ID: "p"}
	sim.st.Guests[1002].Pool = "p"
	sim.st.Guests[1003].Running = true
	sim.st.Guests[1003].Pool = "p" // pool totals from a running guest
	sim.st.Offline = map[string]bool{"pve3": true}
	sim.st.HAResources["vm:1003"] = &haResource{SID: "vm:1003", State: "started"}
	sim.mu.Unlock()
	for _, typ := range []string{"", "vm", "node", "storage"} {
		data, err := getResources(&request{s: sim, params: map[string]string{"type": typ}})
		if err != nil {
			t.Fatal(err)
		}
		got := []byte(data.(rawEnvelope))
		got = got[len(`{"data":`) : len(got)-1]
		sim.mu.RLock()
		want, _ := json.Marshal(sim.resourceList(typ))
		sim.mu.RUnlock()
		if string(got) != string(want) {
			t.Fatalf("type=%q:\n got %s\nwant %s", typ, got, want)
		}
	}
}
