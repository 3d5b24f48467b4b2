package record

import "fmt"

// A Head is the tip of a resource's chain as the ledger stores it.
type Head struct {
	ResourceKey string `json:"resourceKey"`
	// Hash and ID of the newest record; empty for a resource with no records.
	Hash string `json:"hash"`
	ID   string `json:"id"`
	// Count is the number of records in the chain.
	Count int64 `json:"count"`
	// Composite, ClaimNamespace and ClaimName are the owner (Crossplane's composition
	// labels) the newest record names. The chaincode indexes a resource under an owner
	// when a record names an owner its head does not, so the index costs no state read
	// of its own; heads written before the index existed have none and read as before.
	Composite      string `json:"composite,omitempty"`
	ClaimNamespace string `json:"claimNamespace,omitempty"`
	ClaimName      string `json:"claimName,omitempty"`
}

// A Break is one problem found while walking a chain.
type Break struct {
	Index  int64  `json:"index"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
}

// A Report is the result of walking a resource's chain.
type Report struct {
	ResourceKey string  `json:"resourceKey"`
	Records     int64   `json:"records"`
	HeadHash    string  `json:"headHash"`
	OK          bool    `json:"ok"`
	Breaks      []Break `json:"breaks,omitempty"`
}

// VerifyChain walks records (oldest first) and checks that each one's id and hash match
// its content, that it belongs to the resource, that it links to its predecessor, and
// that the newest one is the head. Both the chaincode and `provenance-connector verify`
// use it, so a party that does not trust the peer can re-check what it reads.
func VerifyChain(resourceKey string, records []Record, head Head) Report {
	rep := Report{ResourceKey: resourceKey, Records: int64(len(records)), HeadHash: head.Hash}
	prev := ""
	for i, r := range records {
		idx := int64(i)
		if r.ResourceKey != resourceKey {
			rep.Breaks = append(rep.Breaks, Break{Index: idx, ID: r.ID, Reason: fmt.Sprintf("belongs to %q", r.ResourceKey)})
		}
		if err := r.Check(); err != nil {
			rep.Breaks = append(rep.Breaks, Break{Index: idx, ID: r.ID, Reason: err.Error()})
		}
		if r.PrevHash != prev {
			rep.Breaks = append(rep.Breaks, Break{Index: idx, ID: r.ID,
				Reason: fmt.Sprintf("link broken: prevHash %q, previous record's hash %q", r.PrevHash, prev)})
		}
		prev = r.Hash
	}
	if head.Count != int64(len(records)) {
		rep.Breaks = append(rep.Breaks, Break{Index: int64(len(records)),
			Reason: fmt.Sprintf("head counts %d records, chain has %d", head.Count, len(records))})
	}
	if prev != head.Hash {
		rep.Breaks = append(rep.Breaks, Break{Index: int64(len(records)),
			Reason: fmt.Sprintf("head hash %q is not the newest record's hash %q", head.Hash, prev)})
	}
	rep.OK = len(rep.Breaks) == 0
	return rep
}
