package chaincode

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	pb "github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

// State is the part of the chaincode stub the logic needs; a map fakes it in tests.
type State interface {
	GetState(key string) ([]byte, error)
	PutState(key string, value []byte) error
}

// Ledger keys. A record is stored once under its id, with the id of the record before it
// in its chain (stored.PrevID); a resource's chain is walked from its head, newest first,
// with no range query and no index key per record. Records stored before PrevID existed
// have a history entry instead (hist/<key>/<index> → id), which the walk falls back to.
func recordKey(id string) string        { return "rec/" + id }
func headKey(resourceKey string) string { return "head/" + resourceKey }
func histKey(resourceKey string, i int64) string {
	return fmt.Sprintf("hist/%s/%012d", resourceKey, i)
}

// stored is a record as the ledger holds it: the record and the id of the previous record
// of its chain ("" for the first, and in records stored before the field existed). Get
// answers the record alone.
type stored struct {
	record.Record
	PrevID string `json:"prevId,omitempty"`
}

// PutResult is what PutBatch returns.
type PutResult struct {
	Stored  int `json:"stored"`
	Skipped int `json:"skipped"`
}

// Provenance is the chaincode (shim.Chaincode).
type Provenance struct {
	// Writers are the MSP IDs whose identities may call PutBatch (the operator's);
	// anyone who can read the channel may call the other functions. Empty: anyone may
	// write (the unit tests' stub has no creator).
	Writers []string
}

// unchecked is set only in the test-only build (-tags provenancetamper, see tamper.go):
// PutBatch then stores records without checking id, hash or link, and Verify always
// answers OK, so tests can show that a client-side verify does not trust the chaincode.
var unchecked bool

// Init does nothing: the chaincode needs no initial state.
func (Provenance) Init(shim.ChaincodeStubInterface) *pb.Response { return shim.Success(nil) }

// Invoke dispatches PutBatch, Get, History, Head, Verify, ResourcesOfComposite and
// ResourcesOfClaim.
func (p Provenance) Invoke(stub shim.ChaincodeStubInterface) *pb.Response {
	fn, args := stub.GetFunctionAndParameters()
	if fn == "PutBatch" && len(p.Writers) > 0 {
		msp, err := cid.GetMSPID(stub)
		if err != nil {
			return shim.Error("cannot read the caller's MSP ID: " + err.Error())
		}
		if !slices.Contains(p.Writers, msp) {
			return shim.Error(fmt.Sprintf("%s may not write: PutBatch is for %s only", msp, strings.Join(p.Writers, ", ")))
		}
	}
	out, err := Dispatch(stubState{stub}, fn, args)
	if err != nil {
		return shim.Error(err.Error())
	}
	return shim.Success(out)
}

// Dispatch runs function fn with args against st and returns its JSON result.
func Dispatch(st State, fn string, args []string) ([]byte, error) {
	if len(args) != 1 {
		return nil, fmt.Errorf("%s takes exactly one argument, got %d", fn, len(args))
	}
	var v any
	var err error
	switch fn {
	case "PutBatch":
		var rs []record.Record
		if err := json.Unmarshal([]byte(args[0]), &rs); err != nil {
			return nil, fmt.Errorf("PutBatch: argument is not a JSON array of records: %w", err)
		}
		v, err = PutBatch(st, rs)
	case "Get":
		v, err = Get(st, args[0])
	case "History":
		v, err = History(st, args[0])
	case "Head":
		v, err = GetHead(st, args[0])
	case "Verify":
		v, err = Verify(st, args[0])
	case "ResourcesOfComposite", "ResourcesOfClaim":
		lst, ok := st.(Lister)
		if !ok {
			return nil, fmt.Errorf("%s: this state cannot list keys", fn)
		}
		if fn == "ResourcesOfComposite" {
			v, err = ResourcesOfComposite(lst, args[0])
			break
		}
		ns, name, found := strings.Cut(args[0], "/")
		if !found {
			return nil, fmt.Errorf("ResourcesOfClaim takes <claim namespace>/<claim name>, got %q", args[0])
		}
		v, err = ResourcesOfClaim(lst, ns, name)
	default:
		return nil, fmt.Errorf("unknown function %q (want PutBatch, Get, History, Head, Verify, ResourcesOfComposite or ResourcesOfClaim)", fn)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

// PutBatch stores records in order, all or nothing. A record whose id is already stored
// (in the ledger or earlier in the batch) is skipped, so resubmitting a batch after an
// unknown commit outcome is harmless. Any other record must carry a correct id and hash
// and must link to its resource's current head.
func PutBatch(st State, rs []record.Record) (PutResult, error) {
	// Fabric does not show a transaction its own writes: read through an overlay so
	// later records of the batch see the heads and ids written by earlier ones.
	ov := newOverlay(st)
	var res PutResult
	for i, r := range rs {
		old, err := ov.GetState(recordKey(r.ID))
		if err != nil {
			return res, err
		}
		if r.ID != "" && old != nil {
			res.Skipped++
			continue
		}
		h, err := GetHead(ov, r.ResourceKey)
		if err != nil {
			return res, err
		}
		if !unchecked {
			if err := r.Check(); err != nil {
				return res, fmt.Errorf("record %d of batch rejected: %w", i, err)
			}
			if r.PrevHash != h.Hash {
				return res, fmt.Errorf("record %d of batch rejected: record %s of resource %s is out of order: prevHash must be the head hash %q, got %q",
					i, r.ID, r.ResourceKey, h.Hash, r.PrevHash)
			}
		}
		// one key per record: the link to the previous record replaces a history entry
		b, err := json.Marshal(stored{Record: r, PrevID: h.ID})
		if err != nil {
			return res, err
		}
		if err := ov.PutState(recordKey(r.ID), b); err != nil {
			return res, err
		}
		next := record.Head{ResourceKey: r.ResourceKey, Hash: r.Hash, ID: r.ID, Count: h.Count + 1,
			Composite: r.Composite, ClaimNamespace: r.ClaimNamespace, ClaimName: r.ClaimName}
		if err := index(ov, h, next); err != nil {
			return res, err
		}
		hb, err := json.Marshal(next)
		if err != nil {
			return res, err
		}
		ov.stage(headKey(r.ResourceKey), hb)
		res.Stored++
	}
	// each head once, however many of its records the batch carries: every state call is
	// a round trip between the chaincode server and the peer
	return res, ov.flushStaged()
}

// Get returns the record with the given id.
func Get(st State, id string) (record.Record, error) {
	s, err := getStored(st, id)
	return s.Record, err
}

func getStored(st State, id string) (stored, error) {
	var s stored
	b, err := st.GetState(recordKey(id))
	if err != nil {
		return s, err
	}
	if b == nil {
		return s, fmt.Errorf("record not found: %s", id)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("record %s is not valid JSON on the ledger: %w", id, err)
	}
	return s, nil
}

// GetHead returns a resource's head; a resource without records has an empty head.
func GetHead(st State, resourceKey string) (record.Head, error) {
	h := record.Head{ResourceKey: resourceKey}
	b, err := st.GetState(headKey(resourceKey))
	if err != nil || b == nil {
		return h, err
	}
	if err := json.Unmarshal(b, &h); err != nil {
		return h, fmt.Errorf("head of %s is not valid JSON on the ledger: %w", resourceKey, err)
	}
	return h, nil
}

// History returns a resource's records, oldest first.
func History(st State, resourceKey string) ([]record.Record, error) {
	h, err := GetHead(st, resourceKey)
	if err != nil {
		return nil, err
	}
	rs, missing, err := walk(st, h)
	if err != nil {
		return nil, err
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("history of %s: entry %d: %s", resourceKey, missing[0].Index, missing[0].Reason)
	}
	return rs, nil
}

// walk reads a chain from its head back to its first record, following each record's
// PrevID, then the history entries for records stored before PrevID existed; it returns
// the records found, oldest first, and a break for each that is missing (once a record
// is missing, the ones before it are reachable only through history entries).
func walk(st State, h record.Head) ([]record.Record, []record.Break, error) {
	found := make([]*record.Record, h.Count)
	var missing []record.Break
	id := h.ID
	i := h.Count - 1
	for ; i >= 0 && id != ""; i-- {
		s, err := getStored(st, id)
		if err != nil {
			missing = append(missing, record.Break{Index: i, ID: id, Reason: "record missing from the ledger"})
			i--
			break
		}
		found[i] = &s.Record
		id = s.PrevID
	}
	for ; i >= 0; i-- { // older records: through their history entries
		b, err := st.GetState(histKey(h.ResourceKey, i))
		if err != nil {
			return nil, nil, err
		}
		r, err := Get(st, string(b))
		if b == nil && len(missing) > 0 {
			missing = append(missing, record.Break{Index: i, Reason: "cannot be reached: a later record of the chain is missing"})
			continue
		}
		if b == nil || err != nil {
			missing = append(missing, record.Break{Index: i, ID: string(b), Reason: "record missing from the ledger"})
			continue
		}
		found[i] = &r
	}
	slices.Reverse(missing)
	rs := make([]record.Record, 0, h.Count)
	for _, r := range found {
		if r != nil {
			rs = append(rs, *r)
		}
	}
	return rs, missing, nil
}

// Verify walks a resource's chain on the ledger; see record.VerifyChain. A missing
// record is reported as a break rather than as an error.
func Verify(st State, resourceKey string) (record.Report, error) {
	h, err := GetHead(st, resourceKey)
	if err != nil {
		return record.Report{}, err
	}
	rs, missing, err := walk(st, h)
	if err != nil {
		return record.Report{}, err
	}
	if unchecked { // the test-only build lies: a client must not take the peer's word
		return record.Report{ResourceKey: resourceKey, Records: h.Count, HeadHash: h.Hash, OK: true}, nil
	}
	rep := record.VerifyChain(resourceKey, rs, h)
	if len(missing) > 0 {
		rep.Breaks = append(missing, rep.Breaks...)
		rep.OK = false
	}
	return rep, nil
}

// overlay reads its own writes first, then the underlying state. A staged write is
// seen by later reads at once but reaches the state only at flushStaged.
type overlay struct {
	st     State
	writes map[string][]byte
	staged []string // keys, in the order first staged
}

func newOverlay(st State) *overlay { return &overlay{st: st, writes: map[string][]byte{}} }

func (o *overlay) stage(key string, value []byte) {
	if _, ok := o.writes[key]; !ok {
		o.staged = append(o.staged, key)
	}
	o.writes[key] = value
}

func (o *overlay) flushStaged() error {
	for _, k := range o.staged {
		if err := o.st.PutState(k, o.writes[k]); err != nil {
			return err
		}
	}
	o.staged = nil
	return nil
}

func (o *overlay) GetState(key string) ([]byte, error) {
	if v, ok := o.writes[key]; ok {
		return v, nil
	}
	return o.st.GetState(key)
}

func (o *overlay) PutState(key string, value []byte) error {
	o.writes[key] = value
	return o.st.PutState(key, value)
}
