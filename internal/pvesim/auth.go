package pvesim

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ticketLifetime is PVE's two-hour ticket validity.
const ticketLifetime = 2 * time.Hour

var authRes = map[string]*regexp.Regexp{
	"PVEAuthCookie": regexp.MustCompile(`(?:^|\s)PVEAuthCookie(?:=| )([^;]*)`),
	"PVEAPIToken":   regexp.MustCompile(`(?:^|\s)PVEAPIToken(?:=| )([^;]*)`),
}

// authValue extracts "key=value" from a Cookie or Authorization header the
// way pve-http-server's extract_auth_value does.
func authValue(header, key string) string {
	if header == "" {
		return ""
	}
	re, ok := authRes[key]
	if !ok {
		return ""
	}
	m := re.FindStringSubmatch(header)
	if m == nil {
		return ""
	}
	v, err := url.PathUnescape(m[1]) // uri_unescape: %XX only, "+" stays
	if err != nil {
		return m[1]
	}
	return v
}

// authenticate returns the user (or token id) of a request, or PVE's 401.
// Writes with a ticket need the CSRF token; API tokens are exempt.
func (s *Simulator) authenticate(r *http.Request, method, relPath string) (string, *apiError) {
	if relPath == "/access/ticket" && (method == http.MethodPost || method == http.MethodGet) {
		return "", nil
	}
	cookie := r.Header.Get("Cookie")
	authz := r.Header.Get("Authorization")
	ticket := authValue(cookie, "PVEAuthCookie")
	if ticket == "" {
		ticket = authValue(authz, "PVEAuthCookie")
	}
	if ticket == "" {
		if tok := authValue(authz, "PVEAPIToken"); tok != "" {
			id, secret, ok := strings.Cut(tok, "=")
			if !ok || !s.tokenAuth(id, secret) {
				return "", httpErr(http.StatusUnauthorized, "Authentication failed!")
			}
			return id, nil
		}
		return "", httpErr(http.StatusUnauthorized, "No ticket")
	}
	user, ok := s.verifyTicket(ticket)
	if !ok {
		return "", httpErr(http.StatusUnauthorized, "Authentication failed!")
	}
	if method != http.MethodGet && !s.verifyCSRF(user, r.Header.Get("CSRFPreventionToken")) {
		return "", httpErr(http.StatusUnauthorized, "Permission denied - invalid csrf token")
	}
	return user, nil
}

func (s *Simulator) sign(data string) string {
	m := hmac.New(sha256.New, s.authKey)
	m.Write([]byte(data))
	return base64.RawStdEncoding.EncodeToString(m.Sum(nil))
}

// ticket has PVE's shape: PVE:<user>:<hex time>::<signature>.
func (s *Simulator) ticket(user string, now time.Time) string {
	data := fmt.Sprintf("PVE:%s:%08X", user, now.Unix())
	return data + "::" + s.sign(data)
}

func (s *Simulator) verifyTicket(t string) (string, bool) {
	data, sig, ok := strings.Cut(t, "::")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.sign(data))) {
		return "", false
	}
	parts := strings.Split(data, ":")
	if len(parts) != 3 || parts[0] != "PVE" {
		return "", false
	}
	ts, err := strconv.ParseInt(parts[2], 16, 64)
	if err != nil || time.Since(time.Unix(ts, 0)) > ticketLifetime {
		return "", false
	}
	return parts[1], true
}

func (s *Simulator) csrf(user string, now time.Time) string {
	ts := fmt.Sprintf("%08X", now.Unix())
	return ts + ":" + s.sign("csrf:"+ts+":"+user)
}

func (s *Simulator) verifyCSRF(user, token string) bool {
	ts, sig, ok := strings.Cut(token, ":")
	if !ok || !hmac.Equal([]byte(sig), []byte(s.sign("csrf:"+ts+":"+user))) {
		return false
	}
	t, err := strconv.ParseInt(ts, 16, 64)
	return err == nil && time.Since(time.Unix(t, 0)) <= ticketLifetime
}

// createTicket is POST /access/ticket: a password, or a valid ticket as the
// password (PVE's renewal), buys a new ticket and CSRF token.
func createTicket(r *request) (any, error) {
	s := r.s
	user := r.str("username")
	if realm := r.str("realm"); realm != "" && !strings.Contains(user, "@") {
		user += "@" + realm
	}
	pw := r.str("password")
	ok := (user == s.opts.User && subtle.ConstantTimeCompare([]byte(pw), []byte(s.opts.Password)) == 1) ||
		s.passwordAuth(user, pw)
	if !ok {
		if tu, valid := s.verifyTicket(pw); valid && tu == user {
			ok = true
		}
	}
	if !ok {
		return nil, httpErr(http.StatusUnauthorized, "authentication failure")
	}
	now := time.Now()
	return map[string]any{
		"username":            user,
		"ticket":              s.ticket(user, now),
		"CSRFPreventionToken": s.csrf(user, now),
		"clustername":         s.opts.ClusterName,
		"cap":                 map[string]map[string]int{"vms": {"VM.Allocate": 1}, "storage": {"Datastore.Allocate": 1}},
	}, nil
}
