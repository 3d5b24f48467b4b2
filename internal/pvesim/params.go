package pvesim

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/url"
	"strconv"
	"strings"
)

// ParseParams decodes an API request's parameters from its query string and
// body the way pveproxy does: a JSON object (go-proxmox's encoding) or a
// form-encoded body; repeated form keys are joined with NUL like PVE does.
// Values are strings, or JSON values (json.Number, bool, nil, ...) from JSON.
func ParseParams(contentType, rawQuery string, body []byte) (map[string]any, error) {
	out := map[string]any{}
	if err := addForm(out, rawQuery); err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return out, nil
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return nil, err
		}
		if obj == nil {
			return out, nil
		}
		for k, v := range obj {
			out[k] = v
		}
		return out, nil
	}
	return out, addForm(out, string(body))
}

func addForm(out map[string]any, raw string) error {
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return err
	}
	for k, vs := range vals {
		out[k] = strings.Join(vs, "\x00")
	}
	return nil
}

// request is one validated API call as a handler sees it.
type request struct {
	s      *Simulator
	method string
	path   string
	route  *route
	params map[string]string
	user   string
	perm   *perms // the caller's permissions
}

func (r *request) str(name string) string { return r.params[name] }

func (r *request) has(name string) bool {
	_, ok := r.params[name]
	return ok
}

func (r *request) int(name string, def int) int {
	v, ok := r.params[name]
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimPrefix(v, "+"))
	if err != nil {
		return def
	}
	return n
}

func (r *request) bool(name string, def bool) bool {
	v, ok := r.params[name]
	if !ok {
		return def
	}
	return v == "1"
}
