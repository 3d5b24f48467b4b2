package jsonstr

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzJSONString: both variants give encoding/json's bytes for any string.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c", "\x00\x1f\x7f<>&", "\b\f\n\r\t", "\u2028\u2029", "\xff\xfe", "a\xed\xa0\x80b",
		"\uFFFD", "ünï©ødé🙂"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := Append(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("Append(%q): got %s want %s", s, got, want)
		}
		var decoded string
		if err := json.Unmarshal(want, &decoded); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(decoded); err != nil {
			t.Fatal(err)
		}
		if got, want := AppendDecoded(nil, s), bytes.TrimSuffix(buf.Bytes(), []byte("\n")); !bytes.Equal(got, want) {
			t.Fatalf("AppendDecoded(%q): got %s want %s", s, got, want)
		}
	})
}
