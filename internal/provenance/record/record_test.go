package record

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanonicalJSON(t *testing.T) {
	a := map[string]any{"b": 1, "a": map[string]any{"z": "<x>", "y": []any{2, 1}}}
	got, err := CanonicalJSON(a)
	require.NoError(t, err)
	assert.Equal(t, `{"a":{"y":[2,1],"z":"<x>"},"b":1}`, string(got))

	// large integers survive (no float64 round trip)
	got, err = CanonicalJSON(map[string]any{"n": int64(9007199254740993)})
	require.NoError(t, err)
	assert.Equal(t, `{"n":9007199254740993}`, string(got))

	h1, err := SpecHash(map[string]any{"cores": 2, "memoryMiB": 1024})
	require.NoError(t, err)
	h2, err := SpecHash(map[string]any{"memoryMiB": 1024, "cores": 2})
	require.NoError(t, err)
	h3, err := SpecHash(map[string]any{"memoryMiB": 1024, "cores": 3})
	require.NoError(t, err)
	assert.Equal(t, h1, h2, "key order must not matter")
	assert.NotEqual(t, h1, h3)
}

func TestResourceKey(t *testing.T) {
	assert.Equal(t, "VirtualMachine.proxmox.microcloud.dev/team-a/vm1",
		ResourceKey("proxmox.microcloud.dev/v1alpha1", "VirtualMachine", "team-a", "vm1"))
	assert.Equal(t, "Pool.ceph.microcloud.dev/rbd", ResourceKey("ceph.microcloud.dev/v1alpha1", "Pool", "", "rbd"))
	assert.Equal(t, "ConfigMap.core/ns/x", ResourceKey("v1", "ConfigMap", "ns", "x"))
}

func sample() Record {
	return Record{
		ResourceKey: "VirtualMachine.proxmox.microcloud.dev/team-a/vm1", UID: "u-1", Generation: 3,
		APIVersion: "proxmox.microcloud.dev/v1alpha1", Kind: "VirtualMachine", Namespace: "team-a", Name: "vm1",
		Operation: OpCreate, Outcome: OutcomeSuccess, SpecHash: "abc", Time: "2026-01-01T00:00:00Z",
	}
}

func TestSealAndCheck(t *testing.T) {
	r := sample()
	require.NoError(t, r.Seal("prev"))
	require.NoError(t, r.Check())
	assert.Equal(t, "prev", r.PrevHash)
	assert.Len(t, r.Hash, 64)

	// the id depends on uid, generation, operation, failure and spec hash only
	f := sample()
	f.Outcome, f.Message = OutcomeFailure, "boom"
	require.NoError(t, f.Seal(""))
	assert.NotEqual(t, r.ID, f.ID, "a failed attempt must not share the success's id")
	s := sample()
	s.Time = "2027-01-01T00:00:00Z"
	require.NoError(t, s.Seal(""))
	assert.Equal(t, r.ID, s.ID)
	assert.NotEqual(t, r.Hash, s.Hash, "the hash covers every field")

	tampered := r
	tampered.Message = "edited"
	assert.ErrorContains(t, tampered.Check(), "hash does not match")
	relinked := r
	relinked.PrevHash = "other"
	assert.ErrorContains(t, relinked.Check(), "hash does not match")
	renamed := r
	renamed.Generation = 4
	assert.ErrorContains(t, renamed.Check(), "id does not match")
	empty := r
	empty.SpecHash = ""
	assert.ErrorContains(t, empty.Check(), "required")
}
