package pvesim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// errAdditional is PVE's message for a parameter the schema does not know.
const errAdditional = "property is not defined in schema and the schema does not allow additional properties"

var (
	reInteger = regexp.MustCompile(`^[+-]?\d+$`)
	reNumber  = regexp.MustCompile(`^[+-]?(\d+\.\d+|\d+\.|\.\d+|\d+)([eE][+-]?\d+)?$`)
)

// validate checks raw request parameters against a route spec the way
// PVE::JSONSchema does (type, format, pattern, length, range, enum) and
// returns them as strings, booleans normalised to "1"/"0".
func validate(spec *RouteSpec, raw map[string]any) (map[string]string, map[string]string) {
	errs := map[string]string{}
	out := make(map[string]string, len(raw))
	seen := map[string]bool{}
	for name, v := range raw {
		p, fam := spec.lookup(name)
		if p == nil {
			if !spec.Additional {
				errs[name] = errAdditional
			} else if s, ok := scalarString(v); ok {
				out[name] = s
			}
			continue
		}
		seen[fam] = true
		if p.Alias != "" {
			continue
		}
		if v == nil {
			if p.Type != "null" && !p.Optional {
				errs[name] = "property is missing and it is not optional"
			}
			continue
		}
		if s, msg := checkValue(name, p, v); msg != "" {
			errs[name] = msg
		} else {
			out[name] = s
		}
	}
	for name, p := range spec.Params {
		if !p.Optional && !seen[name] && !strings.HasSuffix(name, "[n]") {
			errs[name] = "property is missing and it is not optional"
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return out, nil
}

// scalarString renders a JSON or form value the way Perl sees the scalar.
func scalarString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case json.Number:
		// Perl's JSON decoder keeps integer literals and turns the rest into
		// doubles, which stringify like %.15g ("1.0" -> "1", "1e3" -> "1000").
		lit := t.String()
		if strings.ContainsAny(lit, ".eE") {
			if f, err := strconv.ParseFloat(lit, 64); err == nil {
				return strconv.FormatFloat(f, 'g', 15, 64), true
			}
		}
		return lit, true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	}
	return "", false
}

// checkValue validates one present value; it returns the normalised string
// or PVE's error text for this parameter.
func checkValue(path string, p *Param, v any) (string, string) {
	var s string
	switch t := v.(type) {
	case bool:
		if p.Type == "boolean" {
			if t {
				return "1", ""
			}
			return "0", ""
		}
		if p.Type == "string" || p.Type == "integer" || p.Type == "number" {
			return "", fmt.Sprintf("type check ('%s') failed - got JSON::PP::Boolean", p.Type)
		}
		s = fmt.Sprint(t)
	case []any:
		if p.Type == "array" {
			b, _ := json.Marshal(t)
			return string(b), ""
		}
		return "", fmt.Sprintf("type check ('%s') failed - got ARRAY", p.Type)
	case map[string]any:
		if p.Type == "object" {
			b, _ := json.Marshal(t)
			return string(b), ""
		}
		return "", fmt.Sprintf("type check ('%s') failed - got HASH", p.Type)
	default:
		s, _ = scalarString(v)
	}
	switch p.Type {
	case "boolean":
		if s != "1" && s != "0" {
			return "", fmt.Sprintf("type check ('boolean') failed - got '%s'", s)
		}
	case "integer":
		if !reInteger.MatchString(s) {
			return "", fmt.Sprintf("type check ('integer') failed - got '%s'", s)
		}
	case "number":
		if !reNumber.MatchString(s) {
			return "", fmt.Sprintf("type check ('number') failed - got '%s'", s)
		}
	case "array", "object":
		return "", fmt.Sprintf("type check ('%s') failed", p.Type)
	}
	return s, checkScalar(path, p, s)
}

// checkScalar runs the checks after the type check, in PVE's order.
func checkScalar(path string, p *Param, s string) string {
	if p.Sub != nil {
		if err := checkPropertyString(path, p.Sub, s); err != "" {
			return "invalid format - " + err
		}
	} else if p.Format != "" {
		if err := checkFormat(p.Format, s); err != "" {
			return "invalid format - " + err
		}
	}
	if p.re != nil && (!p.re.MatchString(s) || (p.reMax > 0 && len(s) > p.reMax)) {
		return "value does not match the regex pattern"
	}
	if p.MaxLength != nil && len([]rune(s)) > *p.MaxLength {
		return fmt.Sprintf("value may only be %d characters long", *p.MaxLength)
	}
	if p.MinLength != nil && len([]rune(s)) < *p.MinLength {
		return fmt.Sprintf("value must be at least %d characters long", *p.MinLength)
	}
	if reNumber.MatchString(s) {
		f, _ := strconv.ParseFloat(s, 64)
		if p.Maximum != nil && f > *p.Maximum {
			return fmt.Sprintf("value must have a maximum value of %s", num(*p.Maximum))
		}
		if p.Minimum != nil && f < *p.Minimum {
			return fmt.Sprintf("value must have a minimum value of %s", num(*p.Minimum))
		}
	}
	if len(p.Enum) > 0 {
		for _, e := range p.Enum {
			if e == s {
				return ""
			}
		}
		return fmt.Sprintf("value '%s' does not have a value in the enumeration '%s'", s, strings.Join(p.Enum, ", "))
	}
	return ""
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// parsePropertyString splits "k=v,k2=v2" with an optional default key, as
// PVE's parse_property_string does (without validating the values).
func parsePropertyString(sub map[string]Param, s string) (map[string]string, string) {
	res := map[string]string{}
	defaultUsed := false
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		k, v, hasEq := strings.Cut(part, "=")
		switch {
		case hasEq && k != "" && v != "":
			if _, dup := res[k]; dup {
				return nil, "duplicate key in comma-separated list property: " + k + "\n"
			}
			sp, ok := sub[k]
			if ok && sp.Alias != "" {
				// A key alias ("virtio=MAC" in a qemu net): the key names
				// the default key's value (model), its value the aliased key.
				if dk := defaultKeyOf(sub); dk != "" && slices.Contains(sub[dk].Enum, k) {
					if _, dup := res[dk]; dup {
						return nil, "key '" + dk + "' is already defined\n"
					}
					res[dk] = k
				}
				k = sp.Alias
				if _, dup := res[k]; dup {
					return nil, "key '" + k + "' is already defined (via alias)\n"
				}
				sp, ok = sub[k]
			}
			if !ok {
				return nil, "invalid key in comma-separated list property: " + k + "\n"
			}
			if sp.Type == "boolean" {
				v = parseBoolean(v)
			}
			res[k] = v
		case !hasEq:
			dk := ""
			for name, sp := range sub {
				if sp.DefaultKey {
					dk = name
				}
			}
			if dk == "" {
				return nil, "value without key, but schema does not define a default key\n"
			}
			if defaultUsed || res[dk] != "" {
				return nil, "duplicate key in comma-separated list property: " + dk + "\n"
			}
			defaultUsed = true
			if sub[dk].Type == "boolean" {
				part = parseBoolean(part)
			}
			res[dk] = part
		default:
			return nil, "missing key in comma-separated list property\n"
		}
	}
	return res, ""
}

// checkPropertyString validates a property string's values like
// check_object does for the nested schema.
func checkPropertyString(path string, sub map[string]Param, s string) string {
	res, perr := parsePropertyString(sub, s)
	if perr != "" {
		return perr
	}
	var msgs []string
	for _, k := range sortedKeys(sub) {
		sp := sub[k]
		v, ok := res[k]
		if sp.Alias != "" {
			continue
		}
		if !ok {
			if !sp.Optional {
				msgs = append(msgs, path+"."+k+": property is missing and it is not optional\n")
			}
			continue
		}
		if _, msg := checkValue(path+"."+k, &sp, v); msg != "" {
			msgs = append(msgs, path+"."+k+": "+msg+"\n")
		}
	}
	if len(msgs) > 0 {
		return "format error\n" + strings.Join(msgs, "")
	}
	return ""
}

func parseBoolean(v string) string {
	switch strings.ToLower(v) {
	case "1", "on", "yes", "true":
		return "1"
	case "0", "off", "no", "false":
		return "0"
	}
	return v
}

func defaultKeyOf(sub map[string]Param) string {
	for name, sp := range sub {
		if sp.DefaultKey {
			return name
		}
	}
	return ""
}

// printPropertyString is print_property_string (pve-common
// src/PVE/JSONSchema.pm): the default key first, as a bare value or, for a
// key alias, combined as "model=macaddr"; then the required keys, then the
// rest, each group sorted; disk sizes rendered like format_size.
func printPropertyString(sub map[string]Param, res map[string]string, skip ...string) string {
	done := map[string]bool{}
	for _, k := range skip {
		done[k] = true
	}
	var parts []string
	add := func(k string, isDefault bool) {
		if done[k] {
			return
		}
		done[k] = true
		v, ok := res[k]
		if !ok {
			return
		}
		sp := sub[k]
		if sp.Format == "disk-size" {
			if n, ok := parseSize(v); ok {
				v = formatSize(n)
			}
		}
		if isDefault {
			// keyAlias: the default key's value is itself a key aliasing
			// another one (qemu net "virtio" -> macaddr).
			if a := sub[v].Alias; a != "" {
				if av, ok := res[a]; ok {
					parts = append(parts, v+"="+av)
					done[a] = true
					return
				}
			}
			parts = append(parts, v)
			return
		}
		parts = append(parts, k+"="+v)
	}
	if dk := defaultKeyOf(sub); dk != "" {
		add(dk, true)
	}
	keys := sortedKeys(res)
	for _, k := range keys {
		if sp, ok := sub[k]; ok && !sp.Optional && sp.Alias == "" {
			add(k, false)
		}
	}
	for _, k := range keys {
		add(k, false)
	}
	return strings.Join(parts, ",")
}
