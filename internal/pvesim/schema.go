package pvesim

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// specs.json is generated from the official schema (see doc.go); routes.txt
// lists the routes the handlers implement, and a test keeps the two in step.
//
//go:embed specs.json
var specsJSON []byte

//go:embed routes.txt
var routesTxt string

// Param is one parameter's validation spec, with PVE's attribute names.
type Param struct {
	Type       string           `json:"type,omitempty"`
	Format     string           `json:"-"`
	Sub        map[string]Param `json:"-"` // property-string format
	Enum       []string         `json:"enum,omitempty"`
	Minimum    *float64         `json:"minimum,omitempty"`
	Maximum    *float64         `json:"maximum,omitempty"`
	Optional   bool             `json:"-"`
	Pattern    string           `json:"pattern,omitempty"`
	MaxLength  *int             `json:"maxLength,omitempty"`
	MinLength  *int             `json:"minLength,omitempty"`
	DefaultKey bool             `json:"-"`
	Alias      string           `json:"alias,omitempty"`

	re    *regexp.Regexp
	reMax int // the longest match a pattern allows, when RE2 cannot say it
}

var reLongRepeat = regexp.MustCompile(`^(\[[^\]]+\])\{0,(\d{4,})\}$`)

// RouteSpec holds a route's parameters; indexed families such as "net[n]"
// are stored once under the family name.
type RouteSpec struct {
	Params     map[string]*Param
	Additional bool
	// Perm is the schema's permissions: a "user" class ("all", "world")
	// and/or a "check" expression.
	Perm Permissions
}

// Permissions is a route's permissions entry of the official schema.
type Permissions struct {
	User  string `json:"user,omitempty"`
	Check []any  `json:"check,omitempty"`
}

// UnmarshalJSON reads PVE's loosely typed attributes (optional as 0/1,
// format as a name or a nested property map).
func (p *Param) UnmarshalJSON(b []byte) error {
	type plain Param
	var aux struct {
		plain
		Format     json.RawMessage `json:"format"`
		Optional   json.RawMessage `json:"optional"`
		DefaultKey json.RawMessage `json:"default_key"`
		Minimum    json.RawMessage `json:"minimum"`
		Maximum    json.RawMessage `json:"maximum"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*p = Param(aux.plain)
	p.Optional = truthy(aux.Optional)
	p.DefaultKey = truthy(aux.DefaultKey)
	p.Minimum, p.Maximum = looseNumber(aux.Minimum), looseNumber(aux.Maximum)
	if len(aux.Format) > 0 {
		if aux.Format[0] == '{' {
			if err := json.Unmarshal(aux.Format, &p.Sub); err != nil {
				return err
			}
		} else if err := json.Unmarshal(aux.Format, &p.Format); err != nil {
			return err
		}
	}
	return nil
}

// looseNumber reads a bound that the schema writes as a number or a string.
func looseNumber(raw json.RawMessage) *float64 {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	f, err := strconv.ParseFloat(strings.Trim(string(raw), `"`), 64)
	if err != nil {
		return nil
	}
	return &f
}

func truthy(raw json.RawMessage) bool {
	s := strings.Trim(string(raw), `"`)
	return s != "" && s != "0" && s != "false" && s != "null"
}

var (
	specsOnce sync.Once
	specs     map[string]*RouteSpec
	specsErr  error
)

// Specs returns the parameter specs of every implemented route, keyed by
// "METHOD /path/{template}".
func Specs() (map[string]*RouteSpec, error) {
	specsOnce.Do(func() {
		var raw map[string]struct {
			Params     map[string]*Param `json:"params"`
			Additional bool              `json:"additionalProperties"`
			Perm       Permissions       `json:"permissions"`
		}
		if specsErr = json.Unmarshal(specsJSON, &raw); specsErr != nil {
			return
		}
		specs = make(map[string]*RouteSpec, len(raw))
		for k, v := range raw {
			for name, p := range v.Params {
				if err := p.compile(); err != nil {
					specsErr = fmt.Errorf("%s %s: %w", k, name, err)
					return
				}
			}
			specs[k] = &RouteSpec{Params: v.Params, Additional: v.Additional, Perm: v.Perm}
		}
	})
	return specs, specsErr
}

func (p *Param) compile() error {
	if p.Pattern != "" {
		pat := perlToRE2(p.Pattern)
		// RE2 repeats at most 1000 times: "[class]{0,4096}" (User.pm's
		// keys) becomes "[class]*" plus a length bound.
		if m := reLongRepeat.FindStringSubmatch(pat); m != nil {
			n, _ := strconv.Atoi(m[2])
			pat, p.reMax = m[1]+"*", n
		}
		re, err := regexp.Compile("^(?:" + pat + ")$")
		if err != nil {
			return err
		}
		p.re = re
	}
	for k, s := range p.Sub {
		if err := s.compile(); err != nil {
			return err
		}
		p.Sub[k] = s
	}
	return nil
}

// perlToRE2 rewrites the Perl regex spellings the schema carries (qr//
// stringification "(?^:...)", "\0", "{,n}") into RE2 syntax.
func perlToRE2(p string) string {
	p = strings.ReplaceAll(p, "(?^i:", "(?i:")
	p = strings.ReplaceAll(p, "(?^:", "(?:")
	p = strings.ReplaceAll(p, `\0`, `\x00`)
	p = strings.ReplaceAll(p, "{,", "{0,")
	return p
}

// RouteList returns the implemented routes from routes.txt, sorted.
func RouteList() []string {
	var out []string
	for _, l := range strings.Split(routesTxt, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// lookup finds the spec of a parameter, mapping "net0" onto "net[n]".
func (r *RouteSpec) lookup(name string) (*Param, string) {
	if p, ok := r.Params[name]; ok {
		return p, name
	}
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	if i == len(name) || i == 0 {
		return nil, ""
	}
	fam := name[:i] + "[n]"
	p, ok := r.Params[fam]
	if !ok || (len(name)-i > 1 && name[i] == '0') {
		return nil, ""
	}
	var n int
	fmt.Sscanf(name[i:], "%d", &n)
	if n >= familyMax(name[:i]) {
		return nil, ""
	}
	return p, fam
}

// familyMax is PVE's number of slots per indexed option family.
func familyMax(prefix string) int {
	switch prefix {
	case "net", "ipconfig":
		return 32
	case "scsi":
		return 31
	case "sata":
		return 6
	case "ide", "serial", "numa":
		return 4
	case "virtio", "hostpci":
		return 16
	case "parallel":
		return 3
	case "usb":
		return 14
	default: // unused, mp, dev, virtiofs, link, acmedomain
		return 256
	}
}
