// Package jsonstr writes JSON strings byte for byte as encoding/json does, without
// reflection, for hand-written encoders on hot paths (the PVE simulator's resource
// lists, the provenance record's canonical JSON).
package jsonstr

import "unicode/utf8"

// Append appends s quoted as json.Marshal writes it: HTML-safe (<, > and & escaped),
// U+2028 and U+2029 escaped, each invalid UTF-8 byte as \ufffd.
func Append(b []byte, s string) []byte { return appendString(b, s, true, `\ufffd`) }

// AppendDecoded appends s as encoding/json writes it after a round trip: json.Marshal,
// a decode, then an Encoder with SetEscapeHTML(false) (what record.CanonicalJSON does).
// <, > and & stay as they are; each invalid UTF-8 byte, which the decode turned into
// U+FFFD, is that character itself.
func AppendDecoded(b []byte, s string) []byte { return appendString(b, s, false, "\uFFFD") }

const hexDigits = "0123456789abcdef"

func appendString(b []byte, s string, html bool, invalid string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && (!html || c != '<' && c != '>' && c != '&') {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, invalid...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
