package pvesim

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// officialRoutes indexes the official API schema by "METHOD /path".
func officialRoutes(t *testing.T) map[string]map[string]any {
	t.Helper()
	b, err := os.ReadFile(schemaFile(t))
	if err != nil {
		t.Fatal(err)
	}
	var roots []map[string]any
	if err := json.Unmarshal(b, &roots); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		if info, ok := n["info"].(map[string]any); ok {
			for m, v := range info {
				out[m+" "+n["path"].(string)] = v.(map[string]any)
			}
		}
		if kids, ok := n["children"].([]any); ok {
			for _, k := range kids {
				walk(k.(map[string]any))
			}
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return out
}

// TestSpecsMatchOfficialSchema fails listing every difference between the
// parameter specs the simulator validates with and PVE's official schema,
// for every route the simulator implements.
func TestSpecsMatchOfficialSchema(t *testing.T) {
	official := officialRoutes(t)
	specs, err := Specs()
	if err != nil {
		t.Fatal(err)
	}
	var diffs []string
	for _, route := range RouteList() {
		info, ok := official[route]
		if !ok {
			diffs = append(diffs, route+": not in the official schema")
			continue
		}
		spec, ok := specs[route]
		if !ok {
			diffs = append(diffs, route+": simulator has no spec")
			continue
		}
		params, _ := info["parameters"].(map[string]any)
		props, _ := params["properties"].(map[string]any)
		if add := truthyAny(params["additionalProperties"]); add != spec.Additional {
			diffs = append(diffs, fmt.Sprintf("%s: additionalProperties official=%v sim=%v", route, add, spec.Additional))
		}
		for name, raw := range props {
			p, ok := spec.Params[name]
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s: parameter %q missing in simulator", route, name))
				continue
			}
			diffs = append(diffs, compareParam(route+" "+name, raw.(map[string]any), p)...)
		}
		for name := range spec.Params {
			if _, ok := props[name]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s: parameter %q not in official schema", route, name))
			}
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		t.Fatalf("%d mismatches between simulator specs and the official schema:\n%s", len(diffs), strings.Join(diffs, "\n"))
	}
}

func truthyAny(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != "" && x != "0"
	}
	return true
}

func numAny(v any) *float64 {
	switch x := v.(type) {
	case float64:
		return &x
	case string:
		if f, err := strconv.ParseFloat(x, 64); err == nil {
			return &f
		}
	}
	return nil
}

func compareParam(where string, off map[string]any, p *Param) []string {
	var d []string
	diff := func(attr string, o, s any) {
		if !reflect.DeepEqual(o, s) {
			d = append(d, fmt.Sprintf("%s: %s official=%v sim=%v", where, attr, o, s))
		}
	}
	ot, _ := off["type"].(string)
	diff("type", ot, p.Type)
	diff("optional", truthyAny(off["optional"]), p.Optional)
	diff("default_key", truthyAny(off["default_key"]), p.DefaultKey)
	oa, _ := off["alias"].(string)
	diff("alias", oa, p.Alias)
	op, _ := off["pattern"].(string)
	diff("pattern", op, p.Pattern)
	var oe []string
	if e, ok := off["enum"].([]any); ok {
		for _, v := range e {
			oe = append(oe, fmt.Sprint(v))
		}
	}
	diff("enum", oe, p.Enum)
	diff("minimum", deref(numAny(off["minimum"])), deref(p.Minimum))
	diff("maximum", deref(numAny(off["maximum"])), deref(p.Maximum))
	diff("maxLength", deref(numAny(off["maxLength"])), derefInt(p.MaxLength))
	diff("minLength", deref(numAny(off["minLength"])), derefInt(p.MinLength))
	switch f := off["format"].(type) {
	case string:
		diff("format", f, p.Format)
	case map[string]any:
		if p.Sub == nil {
			d = append(d, where+": format is a property string officially, not in simulator")
			break
		}
		for k, sv := range f {
			sp, ok := p.Sub[k]
			if !ok {
				d = append(d, fmt.Sprintf("%s: property-string key %q missing in simulator", where, k))
				continue
			}
			d = append(d, compareParam(where+"."+k, sv.(map[string]any), &sp)...)
		}
		for k := range p.Sub {
			if _, ok := f[k]; !ok {
				d = append(d, fmt.Sprintf("%s: property-string key %q not in official schema", where, k))
			}
		}
	case nil:
		diff("format", "", p.Format)
		if p.Sub != nil {
			d = append(d, where+": simulator has a property-string format the schema lacks")
		}
	}
	return d
}

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

func derefInt(i *int) any {
	if i == nil {
		return nil
	}
	return float64(*i)
}

// TestRoutesHaveHandlers checks routes.txt, specs.json and the handlers agree.
func TestRoutesHaveHandlers(t *testing.T) {
	sim, err := New(Options{NoDefaultSeed: true})
	if err != nil {
		t.Fatal(err)
	}
	got := sim.router.templates()
	sort.Strings(got)
	if !reflect.DeepEqual(got, RouteList()) {
		t.Fatalf("registered routes differ from routes.txt:\n%v\n%v", got, RouteList())
	}
}

// TestSchemaComparisonSkipsWithoutReference proves a clone without the
// upstream schema skips (never fails) the comparison, also when
// MICROCLOUD_REQUIRE_INTEGRATION=1 would make missing parts fail.
func TestSchemaComparisonSkipsWithoutReference(t *testing.T) {
	missing := t.TempDir() + "/absent/pve-api-schema.json"
	t.Setenv("PVE_API_SCHEMA", missing)
	t.Setenv("MICROCLOUD_REQUIRE_INTEGRATION", "1")
	// Keep this deliberate skip out of make test's report of skipped
	// comparisons: the real comparison may well have run.
	t.Setenv("MICROCLOUD_REPORT_DIR", "")
	var sub *testing.T
	t.Run("compare", func(t *testing.T) {
		sub = t
		schemaFile(t)
		t.Error("schemaFile returned for an absent schema")
	})
	if !sub.Skipped() || sub.Failed() {
		t.Fatalf("skipped=%v failed=%v; want a skip", sub.Skipped(), sub.Failed())
	}
	if p, _ := schemaPath(); p != missing {
		t.Fatalf("PVE_API_SCHEMA not honoured: %s", p)
	}
}
