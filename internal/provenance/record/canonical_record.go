package record

import (
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/microcloud-dev/provider-microcloud/internal/jsonstr"
)

// appendCanonical appends to b exactly the bytes CanonicalJSON(r) gives, written field by
// field instead of marshal → generic maps → marshal (that round trip was ~a quarter of
// the chaincode server's CPU: Check hashes every record on both endorsing peers, and the
// connector hashes it once more when it seals it). FuzzCanonicalRecord compares the two.
//
// What the round trip does, and this function therefore does too: object keys in byte
// order (the JSON names below, Details' keys sorted), omitempty fields left out, no HTML
// escaping, and every string as json.Marshal leaves it after a decode: an invalid UTF-8
// byte becomes U+FFFD (written as the character itself, not as \ufffd), U+2028 and
// U+2029 are escaped, control characters too.
func (r *Record) appendCanonical(b []byte) []byte {
	// apiVersion sorts first and has no omitempty: every later field starts with ','
	b = append(b, `{"apiVersion":`...)
	b = jsonstr.AppendDecoded(b, r.APIVersion)
	b = appendOptional(b, `,"claimName":`, r.ClaimName)
	b = appendOptional(b, `,"claimNamespace":`, r.ClaimNamespace)
	b = appendOptional(b, `,"composite":`, r.Composite)
	if len(r.Details) > 0 {
		b = append(b, `,"details":`...)
		b = appendStringMap(b, r.Details)
	}
	b = appendOptional(b, `,"externalName":`, r.ExternalName)
	b = append(b, `,"generation":`...)
	b = strconv.AppendInt(b, r.Generation, 10)
	b = appendField(b, `,"hash":`, r.Hash)
	b = appendField(b, `,"id":`, r.ID)
	b = appendField(b, `,"kind":`, r.Kind)
	b = appendOptional(b, `,"message":`, r.Message)
	b = appendField(b, `,"name":`, r.Name)
	b = appendOptional(b, `,"namespace":`, r.Namespace)
	b = appendField(b, `,"operation":`, r.Operation)
	b = appendField(b, `,"outcome":`, r.Outcome)
	b = appendField(b, `,"prevHash":`, r.PrevHash)
	b = appendOptional(b, `,"providerConfig":`, r.ProviderConfig)
	b = appendOptional(b, `,"providerVersion":`, r.ProviderVersion)
	b = appendField(b, `,"resourceKey":`, r.ResourceKey)
	b = appendField(b, `,"specHash":`, r.SpecHash)
	b = appendField(b, `,"time":`, r.Time)
	b = appendField(b, `,"uid":`, r.UID)
	b = appendOptional(b, `,"write":`, r.Write)
	return append(b, '}')
}

func appendField(b []byte, key, s string) []byte {
	return jsonstr.AppendDecoded(append(b, key...), s)
}

func appendOptional(b []byte, key, s string) []byte {
	if s == "" {
		return b
	}
	return appendField(b, key, s)
}

// appendStringMap writes m with its keys as the round trip leaves them. json.Marshal
// writes the keys in byte order and the decode keeps the last of equal keys; two keys
// are equal after the decode when they differ only in invalid UTF-8 (both become U+FFFD),
// so such keys are merged first, the later one (in byte order) winning.
func appendStringMap(b []byte, m map[string]string) []byte {
	keys := make([]string, 0, len(m))
	valid := true
	for k := range m {
		keys = append(keys, k)
		valid = valid && utf8.ValidString(k)
	}
	slices.Sort(keys)
	value := func(k string) string { return m[k] }
	if !valid {
		winner := make(map[string]string, len(m)) // decoded key -> the original key whose value it keeps
		for _, k := range keys {
			winner[sanitize(k)] = k
		}
		keys = keys[:0]
		for d := range winner {
			keys = append(keys, d)
		}
		slices.Sort(keys)
		value = func(d string) string { return m[winner[d]] }
	}
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.AppendDecoded(b, k)
		b = append(b, ':')
		b = jsonstr.AppendDecoded(b, value(k))
	}
	return append(b, '}')
}

// sanitize is s with each invalid UTF-8 byte replaced by U+FFFD, as encoding/json's
// marshal and decode leave it (one replacement per byte, unlike strings.ToValidUTF8).
func sanitize(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			sb.WriteString("\uFFFD")
		} else {
			sb.WriteString(s[i : i+size])
		}
		i += size
	}
	return sb.String()
}
