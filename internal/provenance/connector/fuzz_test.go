package connector

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// FuzzFromEntry feeds arbitrary bytes, read as a change-log entry the
// provider (or any Crossplane provider) sent, to the connector's
// translation: no panic; a refusal says why; an entry with a write stamp
// (timestamp) translates to the same id and hash every time, which is what
// makes a re-sent entry the same record.
func FuzzFromEntry(f *testing.F) {
	snap, _ := structpb.NewStruct(map[string]any{
		"metadata": map[string]any{"uid": "u-1", "generation": 3, "namespace": "ns", "labels": map[string]any{"crossplane.io/composite": "x"}},
		"spec":     map[string]any{"forProvider": map[string]any{"cores": 2, "tags": []any{"a", "b"}}, "providerConfigRef": map[string]any{"kind": "ClusterProviderConfig", "name": "default"}},
	})
	for _, e := range []*v1alpha1.ChangeLogEntry{
		{Timestamp: timestamppb.New(time.Unix(1764633600, 123)), Provider: "p:v1", ApiVersion: "proxmox.microcloud.dev/v1alpha1", Kind: "VirtualMachine", Name: "vm", ExternalName: "100",
			Operation: v1alpha1.OperationType_OPERATION_TYPE_UPDATE, Snapshot: snap, AdditionalDetails: map[string]string{record.DetailWrite: "n1", record.DetailPhase: "intent", "k": "v"}},
		{Operation: v1alpha1.OperationType_OPERATION_TYPE_CREATE, Snapshot: snap},
		{Operation: v1alpha1.OperationType_OPERATION_TYPE_DELETE, ErrorMessage: proto.String("boom"), Snapshot: snap, Timestamp: timestamppb.Now()},
		{},
	} {
		b, err := proto.Marshal(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e := &v1alpha1.ChangeLogEntry{}
		if proto.Unmarshal(b, e) != nil {
			return
		}
		r, err := FromEntry(e)
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("a refusal without a reason")
			}
			return
		}
		if r.UID == "" || r.ResourceKey == "" {
			t.Fatalf("a record without UID or resource key: %+v", r)
		}
		if _, err := record.ComputeHash(r); err != nil {
			t.Fatalf("cannot hash a record FromEntry made: %v", err)
		}
		if e.GetTimestamp() == nil {
			return
		}
		again, err := FromEntry(e)
		if err != nil {
			t.Fatalf("the same entry refused the second time: %v", err)
		}
		if record.IDOf(r) != record.IDOf(again) {
			t.Fatalf("one entry, two ids: %s, %s", record.IDOf(r), record.IDOf(again))
		}
		h1, _ := record.ComputeHash(r)
		h2, _ := record.ComputeHash(again)
		if h1 != h2 {
			t.Fatalf("one entry, two hashes: %s, %s", h1, h2)
		}
	})
}
