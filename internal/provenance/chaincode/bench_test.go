package chaincode

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// BenchmarkPutBatch is the chaincode's own work per record as an endorsing peer runs it
// (decode the argument, check each record, encode what it stores), on a fake state that
// hides a transaction's writes like Fabric: batches of 100 records over 50 resources, as
// the connector sends them. The state calls themselves (round trips to the peer) are not
// in it. ns/op is per batch; records/s is the figure to compare.
func BenchmarkPutBatch(b *testing.B) {
	const perBatch, resources = 100, 50
	batches := b.N
	heads := make([]string, resources)
	args := make([]string, 0, batches)
	for n := 0; n < batches; n++ {
		rs := make([]record.Record, 0, perBatch)
		for i := 0; i < perBatch; i++ {
			res := i % resources
			key := fmt.Sprintf("VirtualMachine.proxmox.microcloud.dev/team-a/vm-%d", res)
			r := record.Record{ResourceKey: key, UID: fmt.Sprintf("uid-%d", res), Generation: int64(n*perBatch + i),
				APIVersion: "proxmox.microcloud.dev/v1alpha1", Kind: "VirtualMachine", Namespace: "team-a",
				Name: fmt.Sprintf("vm-%d", res), ExternalName: "100", ProviderConfig: "ProviderConfig/default",
				Operation: record.OpUpdate, Outcome: record.OutcomeSuccess, ProviderVersion: "v0.1.0",
				SpecHash: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				Details:  map[string]string{"node": "pve1", "vmid": "100"}, Time: "2026-01-01T00:00:00Z",
				Write: fmt.Sprintf("2026-01-01T00:00:00.%09dZ/0123456789abcdef", n*perBatch+i)}
			if err := r.Seal(heads[res]); err != nil {
				b.Fatal(err)
			}
			heads[res] = r.Hash
			rs = append(rs, r)
		}
		j, err := json.Marshal(rs)
		if err != nil {
			b.Fatal(err)
		}
		args = append(args, string(j))
	}
	st := &fabricState{committed: fakeState{}, pending: map[string][]byte{}}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < batches; n++ {
		if _, err := Dispatch(st, "PutBatch", []string{args[n]}); err != nil {
			b.Fatal(err)
		}
		st.commit()
	}
	b.ReportMetric(float64(batches*perBatch)/b.Elapsed().Seconds(), "records/s")
}
