package proxmox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxAnswer bounds how much of an answer is read: the largest PVE answers
// (/cluster/resources of a big cluster, task logs) stay far below it.
const maxAnswer = 256 << 20

// An APIError is any answer that is not a 2xx carrying PVE's JSON envelope:
// PVE's own errors (their message in the status line and in the body's
// "message"), parameter errors (400 with "errors"), and whatever a proxy or
// load balancer in front of PVE answers (502/503/504 with an HTML or empty
// body, pveproxy's 595/596). Nothing in such an answer is ever taken as state.
type APIError struct {
	Method string
	Path   string
	// Status is the HTTP status code; a 2xx whose body is not PVE's envelope
	// keeps its code and sets NotEnvelope.
	Status int
	// Message is PVE's message (the body's "message", else the status line's
	// reason phrase), trimmed.
	Message string
	// Errors are PVE's per-parameter errors of a 400.
	Errors map[string]string
	// NotEnvelope says a 2xx answer was not PVE's {"data": ...} (an HTML page
	// of a proxy, an empty body) or carried null where a value was expected.
	NotEnvelope bool
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: ", e.Method, e.Path)
	if e.NotEnvelope {
		fmt.Fprintf(&b, "%d answer is not a Proxmox VE API answer", e.Status)
		if e.Message != "" {
			b.WriteString(": " + e.Message)
		}
		return b.String()
	}
	fmt.Fprintf(&b, "%d", e.Status)
	if e.Message != "" {
		b.WriteString(" " + e.Message)
	}
	if len(e.Errors) > 0 {
		errs, _ := json.Marshal(e.Errors)
		b.WriteString(" - " + string(errs))
	}
	return b.String()
}

// fromPVE tells whether the answer is PVE's own (its API handlers answer
// 400, 401, 403, 500 and 501), not a proxy's or a gateway's.
func (e *APIError) fromPVE() bool {
	switch e.Status {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden,
		http.StatusInternalServerError, http.StatusNotImplemented:
		return !e.NotEnvelope
	}
	return false
}

func (e *APIError) says(parts ...string) bool {
	text := strings.ToLower(e.Message)
	for _, v := range e.Errors {
		text += "\n" + strings.ToLower(v)
	}
	for _, p := range parts {
		if strings.Contains(text, p) {
			return true
		}
	}
	return false
}

// AsAPIError returns the APIError in err's chain.
func AsAPIError(err error) (*APIError, bool) {
	var e *APIError
	ok := errors.As(err, &e)
	return e, ok
}

func pveSays(err error, parts ...string) bool {
	e, ok := AsAPIError(err)
	return ok && e.fromPVE() && e.says(parts...)
}

// IsNotFound tells whether PVE itself said the object does not exist. A
// gateway's 404/502 or a dropped answer never counts: absence is only ever
// concluded from PVE's own words.
func IsNotFound(err error) bool {
	return pveSays(err, "does not exist", "no such ", "not found")
}

// IsAlreadyExists tells whether PVE refused a create because the id or name is taken.
func IsAlreadyExists(err error) bool { return pveSays(err, "already exists") }

// IsLocked tells whether PVE refused because the guest or a file is locked.
func IsLocked(err error) bool { return pveSays(err, "is locked", "got timeout", "can't lock file") }

// IsDigestMismatch tells whether PVE refused a write whose digest is stale.
func IsDigestMismatch(err error) bool {
	return pveSays(err, "detected modified configuration", "checksum mismatch", "digest")
}

// IsPermission tells whether PVE refused for lack of privileges or credentials.
func IsPermission(err error) bool {
	e, ok := AsAPIError(err)
	return ok && (e.Status == http.StatusForbidden || e.Status == http.StatusUnauthorized)
}

// IsTaskGone tells whether PVE no longer knows a task (or cannot parse its
// id): its outcome cannot be learnt any more, only what it left behind.
func IsTaskGone(err error) bool {
	e, ok := AsAPIError(err)
	return ok && e.Status == http.StatusBadRequest && !e.NotEnvelope && e.says("no such task", "unable to parse worker upid")
}

// do sends one request and decodes the answer's data into out (nil to
// ignore it). Params go as a JSON body on POST/PUT and as the query on
// GET/DELETE. Every answer that is not a 2xx with PVE's envelope is an
// *APIError; a null data is an error unless out is nil or a *any.
func (c *Client) do(ctx context.Context, method, path string, params map[string]any, out any) error {
	u := c.base + path
	var body io.Reader
	if len(params) > 0 {
		switch method {
		case http.MethodGet, http.MethodDelete:
			q := url.Values{}
			for k, v := range params {
				q.Set(k, fmt.Sprint(v))
			}
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			u += sep + q.Encode()
		default:
			b, err := json.Marshal(params)
			if err != nil {
				return err
			}
			body = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "PVEAPIToken="+c.token)
	req.Header.Set("User-Agent", "provider-microcloud")
	req.Header.Set("Accept", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(io.LimitReader(res.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	return decode(method, path, res, raw, out)
}

func decode(method, path string, res *http.Response, raw []byte, out any) error {
	apiErr := &APIError{Method: method, Path: path, Status: res.StatusCode, Message: reason(res)}
	var env map[string]json.RawMessage
	isJSON := bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) && json.Unmarshal(raw, &env) == nil
	if res.StatusCode < 200 || res.StatusCode > 299 {
		if isJSON {
			var m string
			if json.Unmarshal(env["message"], &m) == nil && strings.TrimSpace(m) != "" {
				apiErr.Message = strings.TrimSpace(m)
			}
			_ = json.Unmarshal(env["errors"], &apiErr.Errors)
		}
		return apiErr
	}
	data, hasData := env["data"]
	if !isJSON || !hasData {
		apiErr.NotEnvelope = true
		apiErr.Message = snippet(raw)
		return apiErr
	}
	if out == nil {
		return nil
	}
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		if _, anyOK := out.(*any); anyOK {
			return nil
		}
		apiErr.NotEnvelope = true
		apiErr.Message = "data is null"
		return apiErr
	}
	if err := json.Unmarshal(data, out); err != nil {
		apiErr.NotEnvelope = true
		apiErr.Message = "cannot decode data: " + err.Error()
		return apiErr
	}
	return nil
}

// reason is the status line's text after the code (PVE puts its message there).
func reason(res *http.Response) string {
	return strings.TrimSpace(strings.TrimPrefix(res.Status, fmt.Sprint(res.StatusCode)))
}

// snippet is the start of a body that is not PVE's, for the error message.
func snippet(raw []byte) string {
	s := strings.TrimSpace(string(raw))
	if s == "" {
		return "empty body"
	}
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return strings.Join(strings.Fields(s), " ")
}
