package pvesim

import (
	"bufio"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

const apiBase = "/api2/json"

// routeHook, when set (by tests), sees every answered route and status.
var routeHook func(route string, code int)

func newCertPool(pemData []byte) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemData)
	return pool
}

// ServeHTTP handles one API call the way pveproxy does: auth, parameter
// parsing and verification, the handler, then PVE's envelope.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	method := r.Method
	rel, ok := strings.CutPrefix(r.URL.Path, apiBase)
	if !ok || (rel != "" && rel[0] != '/') {
		s.metrics.observe("unmatched", method, http.StatusNotImplemented, start)
		writeError(w, httpErr(http.StatusNotImplemented, "no such uri"))
		return
	}
	rt, vars := s.router.match(method, rel)
	label := "unmatched"
	if rt != nil {
		label = rt.template
	}
	// done counts the answer before it is written, so a client that has
	// its answer can already see it in /metrics.
	done := func(code int) {
		s.metrics.observe(label, method, code, start)
		if routeHook != nil {
			routeHook(method+" "+label, code)
		}
	}

	if d := s.faults.latency(method, label); d > 0 {
		time.Sleep(d)
	}
	user, aerr := s.authenticate(r, method, rel)
	if aerr != nil {
		if s.opts.AuthFailureDelay > 0 {
			time.Sleep(s.opts.AuthFailureDelay)
		}
		done(aerr.Code)
		writeStatus(w, aerr.Code, aerr.Msg, nil)
		return
	}
	if rt == nil {
		aerr = httpErr(http.StatusNotImplemented, "Method '%s %s' not implemented", method, rel)
		done(aerr.Code)
		writeError(w, aerr)
		return
	}
	data, err := s.call(r, rt, vars, user)
	if err == nil {
		if ferr := s.faults.injectedError(method, label); ferr != nil {
			err = ferr
		}
	}
	if s.faults.dropResponse(method, label) {
		done(0)
		dropConnection(w)
		return
	}
	if err != nil {
		ae, ok := err.(*apiError)
		if !ok {
			ae = fail("%s", err.Error())
		}
		done(ae.Code)
		writeError(w, ae)
		return
	}
	var body []byte
	var jerr error
	switch d := data.(type) {
	case rawEnvelope:
		body = d
	case rawData:
		body = append(append(append(make([]byte, 0, len(d)+10), `{"data":`...), d...), '}')
	case totalData:
		body, jerr = json.Marshal(envelope{Data: d.data, Total: &d.total})
	default:
		body, jerr = json.Marshal(envelope{Data: data})
	}
	if jerr != nil {
		done(http.StatusInternalServerError)
		writeError(w, fail("%s", jerr.Error()))
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "max-age=0")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	done(http.StatusOK)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

type envelope struct {
	Data    any               `json:"data"`
	Errors  map[string]string `json:"errors,omitempty"`
	Message string            `json:"message,omitempty"`
	Total   *int              `json:"total,omitempty"`
}

// totalData lets a handler add PVE's "total" next to "data" (task logs).
type totalData struct {
	data  any
	total int
}

func (s *Simulator) call(r *http.Request, rt *route, vars map[string]string, user string) (any, error) {
	if r.ContentLength > 0 && r.Method != http.MethodPost && r.Method != http.MethodPut {
		return nil, httpErr(http.StatusNotImplemented, "Unexpected content for method '%s'", r.Method)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, httpErr(http.StatusBadRequest, "unable to read request body")
	}
	if len(body) > maxBody {
		return nil, httpErr(http.StatusRequestEntityTooLarge, "request too large")
	}
	raw, err := ParseParams(r.Header.Get("Content-Type"), r.URL.RawQuery, body)
	if err != nil {
		return nil, httpErr(http.StatusBadRequest, "unable to parse parameters - %s", firstLine(err.Error()))
	}
	for k, v := range vars {
		raw[k] = v
	}
	params, errs := validate(rt.spec, raw)
	if errs != nil {
		return nil, paramError(errs)
	}
	return rt.handler(&request{s: s, method: r.Method, path: r.URL.Path, route: rt, params: params, user: user})
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// writeError sends PVE's error answer: the message in the status line and
// the body, plus the per-parameter errors for verification failures.
func writeError(w http.ResponseWriter, e *apiError) {
	if e.noBody {
		writeStatus(w, e.Code, e.Msg, nil)
		return
	}
	msg := e.Msg
	if !strings.HasSuffix(msg, "\n") {
		msg += "\n"
	}
	body, _ := json.Marshal(struct {
		Data    any               `json:"data"`
		Errors  map[string]string `json:"errors,omitempty"`
		Message string            `json:"message"`
	}{nil, e.Errors, msg})
	writeStatus(w, e.Code, e.Msg, body)
}

// writeStatus writes a response whose reason phrase is PVE's message.
// net/http always writes the standard phrase, so the connection is taken
// over; pveproxy closes connections after errors as well.
func writeStatus(w http.ResponseWriter, code int, msg string, body []byte) {
	phrase := firstLine(strings.TrimSpace(msg))
	if strings.ContainsAny(phrase, "\r") || phrase == "" {
		phrase = http.StatusText(code)
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		w.WriteHeader(code)
		_, _ = w.Write(body)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	writeRaw(buf.Writer, code, phrase, body)
	_ = buf.Flush()
}

func writeRaw(bw *bufio.Writer, code int, phrase string, body []byte) {
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", code, phrase)
	fmt.Fprintf(bw, "Date: %s\r\n", time.Now().UTC().Format(http.TimeFormat))
	bw.WriteString("Connection: close\r\nCache-Control: max-age=0\r\nPragma: no-cache\r\n")
	if len(body) > 0 {
		bw.WriteString("Content-Type: application/json;charset=UTF-8\r\n")
	}
	fmt.Fprintf(bw, "Content-Length: %d\r\n\r\n", len(body))
	_, _ = bw.Write(body)
}

// dropConnection closes the connection without an answer, as a network
// failure after the server applied a change would.
func dropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
