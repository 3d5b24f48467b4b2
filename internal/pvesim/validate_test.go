package pvesim

import (
	"encoding/json"
	"strings"
	"testing"
)

func spec(t testing.TB, route string) *RouteSpec {
	t.Helper()
	sp, err := Specs()
	if err != nil {
		t.Fatal(err)
	}
	s, ok := sp[route]
	if !ok {
		t.Fatalf("no spec for %s", route)
	}
	return s
}

// TestValidateMessages pins PVE's messages and check order for one
// parameter at a time (type, format, pattern, length, range, enum).
func TestValidateMessages(t *testing.T) {
	create := spec(t, "POST /nodes/{node}/qemu")
	group := spec(t, "POST /cluster/firewall/groups")
	cases := []struct {
		name  string
		spec  *RouteSpec
		param string
		value any
		want  string
	}{
		{"integer type", create, "cores", "two", "type check ('integer') failed - got 'two'"},
		{"integer from JSON float", create, "cores", json.Number("1.5"), "type check ('integer') failed - got '1.5'"},
		{"boolean word", create, "onboot", "true", "type check ('boolean') failed - got 'true'"},
		{"JSON bool for string", create, "name", true, "type check ('string') failed - got JSON::PP::Boolean"},
		{"range", create, "cores", "0", "value must have a minimum value of 1"},
		{"vmid format before range", create, "vmid", "99", "invalid format - value does not look like a valid VM ID\n"},
		{"vmid range", create, "vmid", "1000000000", "invalid format - value does not look like a valid VM ID\n"},
		{"enum", create, "scsihw", "fast", "value 'fast' does not have a value in the enumeration 'lsi, lsi53c810, virtio-scsi-pci, virtio-scsi-single, megasas, pvscsi'"},
		{"format", create, "name", "a b", "invalid format - value does not look like a valid DNS name\n"},
		{"tag list", create, "tags", "ok;b@d", "invalid format - invalid characters in tag\n"},
		{"pattern", group, "group", "1abc", "value does not match the regex pattern"},
		{"maxLength after pattern", group, "group", "abcdefghijklmnopqrstuvwxyz", "value may only be 18 characters long"},
		{"minLength", group, "group", "a", "value does not match the regex pattern"},
		{"storage id", create, "storage", "x", "invalid format - storage ID 'x' cannot be shorter than 2 characters\n"},
		{"property string unknown key", create, "net0", "virtio,color=red", "invalid format - invalid key in comma-separated list property: color\n"},
		{"property string enum", create, "net0", "model=ne3000", "invalid format - format error\nnet0.model: value 'ne3000' does not have a value in the enumeration"},
		{"unknown index", create, "net99", "virtio", "property is not defined in schema and the schema does not allow additional properties"},
		{"missing", create, "node", nil, "property is missing and it is not optional"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := map[string]any{"node": "pve1", "vmid": "100", tc.param: tc.value}
			if tc.spec == group {
				raw = map[string]any{tc.param: tc.value}
			}
			if tc.value == nil {
				delete(raw, tc.param)
			}
			_, errs := validate(tc.spec, raw)
			if !strings.HasPrefix(errs[tc.param], tc.want) {
				t.Fatalf("errors[%s] = %q, want %q (all: %v)", tc.param, errs[tc.param], tc.want, errs)
			}
		})
	}
}

func TestValidateNormalises(t *testing.T) {
	out, errs := validate(spec(t, "POST /nodes/{node}/qemu/{vmid}/clone"),
		map[string]any{"node": "pve1", "vmid": "9000", "newid": float64(123), "full": true})
	if errs != nil {
		t.Fatal(errs)
	}
	if out["newid"] != "123" || out["full"] != "1" {
		t.Fatalf("normalised: %v", out)
	}
	// Perl reads JSON 1e3 and 2.0 as doubles that print as 1000 and 2.
	out, errs = validate(spec(t, "POST /nodes/{node}/qemu"),
		map[string]any{"node": "pve1", "vmid": json.Number("1e3"), "cores": json.Number("2.0")})
	if errs != nil || out["vmid"] != "1000" || out["cores"] != "2" {
		t.Fatalf("JSON numbers: %v %v", out, errs)
	}
}

// FuzzParseParams throws arbitrary bodies and query strings at the request
// parser and the validator: they must neither panic nor hang.
func FuzzParseParams(f *testing.F) {
	seeds := []struct{ ct, q, body string }{
		{"application/json", "", `{"vmid":100,"cores":2,"net0":"virtio,bridge=vmbr0"}`},
		{"application/json", "type=vm", `{"full":true,"newid":"101"}`},
		{"application/x-www-form-urlencoded", "a=1&a=2", "vmid=100&scsi0=ceph-rbd%3A8&delete=net0,ide2"},
		{"application/json", "", `[1,2,3]`},
		{"application/json", "", `{"net0":{"nested":[true,null]}}`},
		{"text/plain", "%zz", "%%%"},
		{"application/json; charset=utf-8", "", `{"memory":"current=1024,foo","tags":"a;b;;"}`},
		{"", "vmid=1e9", "cores=-0&sockets=+1&cpulimit=.5"},
	}
	for _, s := range seeds {
		f.Add(s.ct, s.q, []byte(s.body))
	}
	create := spec(f, "POST /nodes/{node}/qemu")
	rules := spec(f, "POST /cluster/firewall/groups/{group}")
	f.Fuzz(func(t *testing.T, ct, q string, body []byte) {
		params, err := ParseParams(ct, q, body)
		if err != nil {
			return
		}
		for _, s := range []*RouteSpec{create, rules} {
			out, errs := validate(s, params)
			if out == nil && errs == nil {
				t.Fatal("validate returned neither values nor errors")
			}
			for k := range out {
				if _, ok := params[k]; !ok {
					t.Fatalf("validated value %q came from nowhere", k)
				}
			}
		}
	})
}
