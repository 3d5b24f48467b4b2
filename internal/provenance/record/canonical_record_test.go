package record

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"testing"
)

// fuzzRecord builds a record from the fuzzer's values. details holds Details' keys and
// values one after the other, separated by 0x1e; emptyDetails asks for a non-nil empty
// map when there are none (omitempty leaves out both).
func fuzzRecord(s []string, generation int64, details []byte, emptyDetails bool) Record {
	r := Record{
		ID: s[0], ResourceKey: s[1], UID: s[2], Generation: generation, APIVersion: s[3], Kind: s[4],
		Namespace: s[5], Name: s[6], ExternalName: s[7], ProviderConfig: s[8], Composite: s[9],
		ClaimName: s[10], ClaimNamespace: s[11], Operation: s[12], Outcome: s[13], Message: s[14],
		SpecHash: s[15], ProviderVersion: s[16], Time: s[17], Write: s[18], PrevHash: s[19], Hash: s[20],
	}
	if emptyDetails {
		r.Details = map[string]string{}
	}
	if len(details) > 0 {
		parts := bytes.Split(details, []byte{0x1e})
		r.Details = map[string]string{}
		for i := 0; i < len(parts); i += 2 {
			v := ""
			if i+1 < len(parts) {
				v = string(parts[i+1])
			}
			r.Details[string(parts[i])] = v
		}
	}
	return r
}

// checkCanonical fails unless the record encoder gives exactly CanonicalJSON's bytes.
func checkCanonical(t *testing.T, r Record) {
	t.Helper()
	want, err := CanonicalJSON(r)
	if err != nil {
		t.Fatalf("CanonicalJSON: %v", err)
	}
	got := r.appendCanonical(nil)
	if !bytes.Equal(got, want) {
		t.Fatalf("record encoder differs from CanonicalJSON\n got: %q\nwant: %q", got, want)
	}
	if !json.Valid(got) {
		t.Fatalf("not valid JSON: %q", got)
	}
}

// FuzzCanonicalRecord: every record's hash is the SHA-256 of these bytes, on the connector
// and on both endorsing peers, and records already on ledgers must keep verifying, so the
// record encoder must give exactly CanonicalJSON's bytes for any field values. The seeds
// are the cases where encoding/json's round trip is not plain quoting.
func FuzzCanonicalRecord(f *testing.F) {
	s := sample()
	s.Details = map[string]string{"b": "2", "a": "1"}
	seeds := []struct {
		fields       [21]string
		generation   int64
		details      string
		emptyDetails bool
	}{
		{fields: [21]string{"id", s.ResourceKey, s.UID, s.APIVersion, s.Kind, s.Namespace, s.Name, "", "", "", "", "",
			s.Operation, s.Outcome, "", s.SpecHash, "", s.Time, "", "", ""}, generation: 3},
		{fields: [21]string{"<&>", "\u2028\u2029", "\x00\x01\x1f\x7f", "\b\f\n\r\t", `"\`, "é漢🙂", "\xff", "a\xffb\xfe",
			"\xed\xa0\x80", "\uFFFD", "ext", "pc", "op", "out", "msg", "spec", "pv", "time", "write", "prev", "hash"},
			generation: -9007199254740993, details: "z\x1e1\x1ea\x1e2\x1e<x>\x1e&"},
		// two keys equal after the round trip (both become U+FFFD): the later one wins
		{details: "\xfe\x1eB\x1e\xff\x1eA\x1e\uFFFD\x1eC", generation: 1},
		{details: "\xff\x1eA\x1e\xfe\x1eB", emptyDetails: true},
		{emptyDetails: true, generation: 1 << 62},
		{details: "only-key"},
	}
	for _, sd := range seeds {
		f.Add(sd.fields[0], sd.fields[1], sd.fields[2], sd.fields[3], sd.fields[4], sd.fields[5], sd.fields[6],
			sd.fields[7], sd.fields[8], sd.fields[9], sd.fields[10], sd.fields[11], sd.fields[12], sd.fields[13],
			sd.fields[14], sd.fields[15], sd.fields[16], sd.fields[17], sd.fields[18], sd.fields[19], sd.fields[20],
			sd.generation, []byte(sd.details), sd.emptyDetails)
	}
	f.Fuzz(func(t *testing.T, s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15, s16, s17, s18, s19, s20 string,
		generation int64, details []byte, emptyDetails bool) {
		checkCanonical(t, fuzzRecord([]string{s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10, s11, s12, s13, s14, s15,
			s16, s17, s18, s19, s20}, generation, details, emptyDetails))
	})
}

// TestComputeHashIsTheCanonicalJSONHash pins ComputeHash to CanonicalJSON's bytes for a
// sealed record (the hash leaves Hash empty), the way records were hashed before the
// record encoder existed.
func TestComputeHashIsTheCanonicalJSONHash(t *testing.T) {
	r := sample()
	r.Details = map[string]string{"vmid": "100", "node": "pve1"}
	r.Message, r.Write = "a <failed> call & more", "2026-01-01T00:00:00.000000001Z/n"
	if err := r.Seal("prev"); err != nil {
		t.Fatal(err)
	}
	unsealed := r
	unsealed.Hash = ""
	b, err := CanonicalJSON(unsealed)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	if want := hex.EncodeToString(sum[:]); r.Hash != want {
		t.Fatalf("ComputeHash = %s, want the SHA-256 of CanonicalJSON %s", r.Hash, want)
	}
	checkCanonical(t, r)
}

// BenchmarkCanonicalRecord: the record encoder against the generic round trip, for a
// record as the provider writes it.
func BenchmarkCanonicalRecord(b *testing.B) {
	r := sample()
	r.Details = map[string]string{"vmid": "100", "node": "pve1"}
	r.Write = "2026-01-01T00:00:00.000000001Z/0123456789abcdef"
	if err := r.Seal("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"); err != nil {
		b.Fatal(err)
	}
	b.Run("generic", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := CanonicalJSON(r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("record", func(b *testing.B) {
		b.ReportAllocs()
		var buf []byte
		for b.Loop() {
			buf = r.appendCanonical(buf[:0])
		}
	})
	b.Run("Check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Check(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
