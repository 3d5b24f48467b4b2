package pvesim

import (
	"bufio"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
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
	// A "before" fault answers in place of pveproxy: the handler never runs.
	if st := s.faults.strike(PhaseBefore, method, label); st != nil {
		s.applyStrike(w, r, st, done)
		return
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
	if terr := checkBody(r, rt); terr != nil {
		// pveproxy's own answers, before any handler: the message as
		// reason phrase and as a plain body.
		done(terr.Code)
		writeStatusType(w, r, terr.Code, terr.Msg, "", []byte(terr.Msg))
		return
	}
	if rt == nil {
		aerr = httpErr(http.StatusNotImplemented, "Method '%s %s' not implemented", method, rel)
		done(aerr.Code)
		writeError(w, aerr)
		return
	}
	data, err := s.call(r, rt, vars, user)
	// An "after" fault strikes once the handler ran and applied its change.
	if st := s.faults.strike(PhaseAfter, method, label); st != nil {
		s.applyStrike(w, r, st, done)
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

// maxPost is pveproxy's limit on a request body ($limit_max_post in
// pve-http-server AnyEvent.pm); uploads are streamed and not limited.
const maxPost = 512 * 1024

// lingerTimeout bounds how long an error answer's connection keeps reading
// the unread rest of a request body before it closes.
const lingerTimeout = 5 * time.Second

// checkBody makes the checks pveproxy makes on a request body before it
// reads it (pve-http-server AnyEvent.pm unshift_read_header), in its order:
// no chunked encoding, content only with POST/PUT, multipart only for
// uploads, at most $limit_max_post bytes and a form or JSON content type.
func checkBody(r *http.Request, rt *route) *apiError {
	if len(r.TransferEncoding) > 0 {
		return httpErr(http.StatusNotImplemented, "chunked transfer encoding not supported")
	}
	if r.ContentLength <= 0 {
		return nil
	}
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		return httpErr(http.StatusNotImplemented, "Unexpected content for method '%s'", r.Method)
	}
	ctype := r.Header.Get("Content-Type")
	ct, params, _ := mime.ParseMediaType(ctype)
	if rt != nil && rt.template == uploadTemplate {
		if ct != "multipart/form-data" || params["boundary"] == "" {
			return fail("upload 'Content-Type '%s' not implemented", ctype)
		}
		return nil
	}
	if r.ContentLength > maxPost {
		return httpErr(http.StatusNotImplemented, "for data too large")
	}
	if ctype != "" && ct != "application/x-www-form-urlencoded" && ct != "application/json" {
		return httpErr(506, "upload 'Content-Type '%s' not implemented", ctype)
	}
	return nil
}

func (s *Simulator) call(r *http.Request, rt *route, vars map[string]string, user string) (any, error) {
	if rt.template == uploadTemplate {
		return s.callUpload(r, rt, vars, user)
	}
	var body []byte
	if r.ContentLength > 0 {
		var err error
		body, err = io.ReadAll(io.LimitReader(r.Body, maxPost))
		if err != nil || int64(len(body)) != r.ContentLength {
			return nil, httpErr(http.StatusBadRequest, "unable to read request body")
		}
	}
	raw, err := ParseParams(r.Header.Get("Content-Type"), r.URL.RawQuery, body)
	if err != nil {
		return nil, httpErr(http.StatusBadRequest, "unable to parse parameters - %s", firstLine(err.Error()))
	}
	for k, v := range vars {
		raw[k] = v
	}
	// pve-manager's rest_handler checks the schema's permissions with the
	// raw parameters, before the handler verifies them.
	perm, err := s.authorize(rt, user, raw)
	if err != nil {
		return nil, err
	}
	params, errs := validate(rt.spec, raw)
	if errs != nil {
		return nil, paramError(errs)
	}
	req := &request{s: s, method: r.Method, path: r.URL.Path, route: rt, params: params, user: user, perm: perm}
	if err := req.handlerChecks(); err != nil {
		return nil, err
	}
	return rt.handler(req)
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
func writeStatus(w http.ResponseWriter, code int, msg string, body []byte) {
	ct := ""
	if len(body) > 0 {
		ct = "application/json;charset=UTF-8"
	}
	writeStatusType(w, nil, code, msg, ct, body)
}

// writeStatusType writes a response with PVE's message as reason phrase
// and the given content type ("" for none). net/http always writes the
// standard phrase, so the connection is taken over; pveproxy closes
// connections after errors as well (keep_alive = 0 for codes >= 400). The
// connection then reads what is left of the request body before closing,
// so a client still sending it gets the answer rather than a reset.
func writeStatusType(w http.ResponseWriter, _ *http.Request, code int, msg, ctype string, body []byte) {
	phrase := firstLine(strings.TrimSpace(msg))
	if strings.ContainsAny(phrase, "\r") || phrase == "" {
		phrase = http.StatusText(code)
	}
	if phrase == "" {
		phrase = "Error"
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		if ctype != "" {
			w.Header().Set("Content-Type", ctype)
		}
		w.WriteHeader(code)
		_, _ = w.Write(body)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	writeRaw(buf.Writer, code, phrase, ctype, body)
	_ = buf.Flush()
	go lingeringClose(conn, buf.Reader)
}

// lingeringClose ends the server's side, then discards what the client
// still sends for a while before closing.
func lingeringClose(conn net.Conn, rd *bufio.Reader) {
	defer conn.Close()
	type closeWriter interface{ CloseWrite() error }
	if cw, ok := conn.(closeWriter); ok {
		_ = cw.CloseWrite()
	}
	_ = conn.SetReadDeadline(time.Now().Add(lingerTimeout))
	_, _ = io.Copy(io.Discard, io.LimitReader(rd, 64<<20))
}

func writeRaw(bw *bufio.Writer, code int, phrase, ctype string, body []byte) {
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", code, phrase)
	fmt.Fprintf(bw, "Date: %s\r\n", time.Now().UTC().Format(http.TimeFormat))
	bw.WriteString("Connection: close\r\nCache-Control: max-age=0\r\nPragma: no-cache\r\nServer: pve-api-daemon/3.0\r\n")
	if ctype != "" {
		bw.WriteString("Content-Type: " + ctype + "\r\n")
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
