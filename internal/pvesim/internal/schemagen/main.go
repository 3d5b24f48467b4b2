// Command schemagen extracts the parameter specs of the routes the simulator
// implements (routes.txt) from the official PVE API schema into specs.json,
// so the simulator embeds a few kilobytes instead of the 2 MB upstream file.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

type node struct {
	Path     string                     `json:"path"`
	Info     map[string]json.RawMessage `json:"info"`
	Children []node                     `json:"children"`
}

type method struct {
	Permissions map[string]any `json:"permissions"`
	Parameters  struct {
		Properties           map[string]map[string]any `json:"properties"`
		AdditionalProperties any                       `json:"additionalProperties"`
	} `json:"parameters"`
}

// kept lists the schema attributes that drive validation; descriptions and
// type texts are dropped to keep the embedded file small.
var kept = []string{"type", "format", "enum", "minimum", "maximum", "optional", "pattern",
	"maxLength", "minLength", "default_key", "alias"}

func main() {
	schema := flag.String("schema", "../../../shared/pve-api/pve-api-schema.json", "official schema file")
	routes := flag.String("routes", "routes.txt", "routes the simulator implements")
	out := flag.String("out", "specs.json", "output file")
	flag.Parse()
	if err := run(*schema, *routes, *out); err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

func run(schemaPath, routesPath, outPath string) error {
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		return err
	}
	var roots []node
	if err := json.Unmarshal(raw, &roots); err != nil {
		return err
	}
	index := map[string]json.RawMessage{}
	var walk func(n node)
	walk = func(n node) {
		for m, info := range n.Info {
			index[m+" "+n.Path] = info
		}
		for _, c := range n.Children {
			walk(c)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	f, err := os.Open(routesPath)
	if err != nil {
		return err
	}
	defer f.Close()
	result := map[string]any{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		info, ok := index[line]
		if !ok {
			return fmt.Errorf("route %q is not in the schema", line)
		}
		var m method
		if err := json.Unmarshal(info, &m); err != nil {
			return fmt.Errorf("%s: %w", line, err)
		}
		params := map[string]any{}
		for name, p := range m.Parameters.Properties {
			params[name] = reduce(p)
		}
		add := m.Parameters.AdditionalProperties
		entry := map[string]any{"params": params, "additionalProperties": add != nil && add != false && add != float64(0)}
		// The permission check as the schema states it; rules given only
		// in words (the description) are the handlers' business.
		perm := map[string]any{}
		for _, k := range []string{"check", "user"} {
			if v, ok := m.Permissions[k]; ok {
				perm[k] = v
			}
		}
		if len(perm) > 0 {
			entry["permissions"] = perm
		}
		result[line] = entry
	}
	if err := sc.Err(); err != nil {
		return err
	}
	keys := make([]string, 0, len(result))
	for k := range result {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// One route per line keeps diffs of the generated file readable.
	var b strings.Builder
	b.WriteString("{\n")
	for i, k := range keys {
		v, err := json.Marshal(result[k])
		if err != nil {
			return err
		}
		kj, _ := json.Marshal(k)
		fmt.Fprintf(&b, "%s:%s", kj, v)
		if i < len(keys)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return os.WriteFile(outPath, []byte(b.String()), 0o644)
}

func reduce(p map[string]any) map[string]any {
	r := map[string]any{}
	for _, k := range kept {
		v, ok := p[k]
		if !ok {
			continue
		}
		if k == "format" {
			if sub, isMap := v.(map[string]any); isMap {
				subs := map[string]any{}
				for sk, sv := range sub {
					if sm, ok := sv.(map[string]any); ok {
						subs[sk] = reduce(sm)
					}
				}
				r["format"] = subs
				continue
			}
		}
		r[k] = v
	}
	return r
}
