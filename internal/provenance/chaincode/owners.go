// The owner index: which resources had records under a composite or a claim.

package chaincode

import (
	"fmt"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// A Lister is a State that can also list the keys under a prefix (a range query: only
// the query functions use it, never PutBatch, so no write depends on a range read).
type Lister interface {
	State
	// Prefixed returns the values of every key that starts with prefix, in key order,
	// keyed by the rest of the key.
	Prefixed(prefix string) ([]KV, error)
}

// A KV is one result of Prefixed: the key without the prefix, and its value.
type KV struct {
	Key   string
	Value []byte
}

// Owner index: one key per (owner, resource) that had a record naming that owner, its
// value the resource key. Composite names, namespaces and claim names cannot hold "/"
// (Kubernetes names and label values), so the prefix ends where the resource key begins.
func compositePrefix(composite string) string { return "own/composite/" + composite + "/" }
func claimPrefix(namespace, name string) string {
	return "own/claim/" + namespace + "/" + name + "/"
}

// index files the resource under the composite and the claim its new head names, unless
// its current head names them already: in the common case (a resource keeps its owner)
// that is no state call at all, the head being read and written anyway. A resource that
// changes owner stays filed under the old one too: it had records there.
func index(st State, cur, next record.Head) error {
	if next.Composite != "" && next.Composite != cur.Composite {
		if err := st.PutState(compositePrefix(next.Composite)+next.ResourceKey, []byte(next.ResourceKey)); err != nil {
			return err
		}
	}
	if next.ClaimName != "" && (next.ClaimName != cur.ClaimName || next.ClaimNamespace != cur.ClaimNamespace) {
		return st.PutState(claimPrefix(next.ClaimNamespace, next.ClaimName)+next.ResourceKey, []byte(next.ResourceKey))
	}
	return nil
}

// ResourcesOfComposite returns the keys of the resources that have a record naming the
// composite (Crossplane's crossplane.io/composite label), sorted.
func ResourcesOfComposite(st Lister, composite string) ([]string, error) {
	if composite == "" || strings.Contains(composite, "/") {
		return nil, fmt.Errorf("not a composite name: %q", composite)
	}
	return indexed(st, compositePrefix(composite))
}

// ResourcesOfClaim returns the keys of the resources that have a record naming the claim
// (crossplane.io/claim-namespace and crossplane.io/claim-name), sorted.
func ResourcesOfClaim(st Lister, namespace, name string) ([]string, error) {
	if name == "" || strings.Contains(name, "/") || strings.Contains(namespace, "/") {
		return nil, fmt.Errorf("not a claim: %q/%q", namespace, name)
	}
	return indexed(st, claimPrefix(namespace, name))
}

func indexed(st Lister, prefix string) ([]string, error) {
	kvs, err := st.Prefixed(prefix)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(kvs))
	for _, kv := range kvs {
		// a record whose owner held a "/" (no Kubernetes object can) was filed under a
		// longer prefix that starts like this one: its key is not prefix + resource key
		if kv.Key == string(kv.Value) {
			out = append(out, kv.Key)
		}
	}
	return out, nil
}

// stubState is the stub as a Lister: Prefixed is a range query over [prefix, prefix
// with its last byte raised by one), which holds every key starting with prefix
// (prefixes end in "/", so the end is prefix up to "/" followed by "0").
type stubState struct{ shim.ChaincodeStubInterface }

func (s stubState) Prefixed(prefix string) ([]KV, error) {
	end := prefix[:len(prefix)-1] + string(prefix[len(prefix)-1]+1)
	it, err := s.GetStateByRange(prefix, end)
	if err != nil {
		return nil, err
	}
	defer it.Close() //nolint:errcheck // read-only iterator
	var out []KV
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			return nil, err
		}
		out = append(out, KV{Key: strings.TrimPrefix(kv.GetKey(), prefix), Value: kv.GetValue()})
	}
	return out, nil
}
