package pvesim

import (
	"crypto/subtle"
	"regexp"
	"sort"
	"strings"
	"time"
)

// The access API an admin uses (pve-access-control src/PVE/API2/User.pm,
// Role.pm, ACL.pm and AccessControl.pm's permissions call), over the
// simulator's user.cfg.

var (
	reUserID = regexp.MustCompile(`^[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+$`)
	reRoleID = regexp.MustCompile(`^[A-Za-z0-9.\-_]+$`)
)

// checkUserID is verify_username.
func checkUserID(field, id string) error {
	if len(id) > 64 {
		return paramErr(field, "%s", "user name '"+id+"' is too long (64 > 64)")
	}
	if !reUserID.MatchString(id) {
		return paramErr(field, "%s", "value '"+id+"' does not look like a valid user name")
	}
	return nil
}

// tokenAuth checks "user@realm!token=secret" against the tokens of
// user.cfg, the user's and token's enable and expiry.
func (s *Simulator) tokenAuth(id, secret string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	user, tok, ok := splitTokenID(id)
	if !ok || s.st.Access == nil {
		return false
	}
	u := s.st.Access.Users[user]
	if u == nil || u.Tokens[tok] == nil || !u.Enable {
		return false
	}
	t := u.Tokens[tok]
	now := time.Now().Unix()
	if (u.Expire > 0 && u.Expire < now) || (t.Expire > 0 && t.Expire < now) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(secret), []byte(t.Secret)) == 1
}

// passwordAuth checks a pve-realm user's password.
func (s *Simulator) passwordAuth(user, pw string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.Access
	if a == nil || a.Users[user] == nil || !a.Users[user].Enable {
		return false
	}
	want, ok := a.Pass[user]
	return ok && subtle.ConstantTimeCompare([]byte(pw), []byte(want)) == 1
}

func userEntry(id string, u *pveUser, full bool) map[string]any {
	_, realm, _ := strings.Cut(id, "@")
	e := map[string]any{"userid": id, "enable": b2i(u.Enable), "expire": u.Expire, "realm-type": realm}
	for k, v := range map[string]string{"comment": u.Comment, "email": u.Email, "firstname": u.Firstname, "lastname": u.Lastname} {
		if v != "" {
			e[k] = v
		}
	}
	if len(u.Groups) > 0 {
		e["groups"] = strings.Join(u.Groups, ",")
	}
	if full {
		toks := []map[string]any{}
		for _, name := range sortedKeys(u.Tokens) {
			t := tokenInfo(u.Tokens[name])
			t["tokenid"] = name
			toks = append(toks, t)
		}
		e["tokens"] = toks
	}
	return e
}

func tokenInfo(t *pveToken) map[string]any {
	m := map[string]any{"privsep": b2i(t.Privsep), "expire": t.Expire}
	if t.Comment != "" {
		m["comment"] = t.Comment
	}
	return m
}

// listUsers is User.pm index: users the caller may administer (User.Modify
// or Sys.Audit on /access/groups), always including the caller.
func listUsers(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	self, _, _ := strings.Cut(r.user, "!")
	all := r.may("/access/groups", "User.Modify", "Sys.Audit")
	out := []map[string]any{}
	for _, id := range sortedKeys(s.st.Access.Users) {
		u := s.st.Access.Users[id]
		if !all && id != self {
			continue
		}
		if r.has("enabled") && r.bool("enabled", false) != u.Enable {
			continue
		}
		out = append(out, userEntry(id, u, r.bool("full", false)))
	}
	return out, nil
}

// applyUserFields sets the optional user fields a create or update passes.
func (s *Simulator) applyUserFields(r *request, u *pveUser) error {
	if r.has("enable") {
		u.Enable = r.bool("enable", true)
	}
	if r.has("expire") {
		u.Expire = int64(r.int("expire", 0))
	}
	for k, dst := range map[string]*string{"comment": &u.Comment, "email": &u.Email, "firstname": &u.Firstname, "lastname": &u.Lastname} {
		if r.has(k) {
			*dst = r.str(k)
		}
	}
	if r.has("groups") {
		groups := splitList(r.str("groups"))
		for _, g := range groups {
			if s.st.Access.Group[g] == nil {
				return fail("group '%s' does not exist", g)
			}
		}
		if r.bool("append", false) {
			groups = append(append([]string{}, u.Groups...), groups...)
		}
		u.Groups = dedupe(groups)
	}
	return nil
}

func dedupe(l []string) []string {
	seen := map[string]bool{}
	out := []string{}
	for _, x := range l {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	sort.Strings(out)
	return out
}

// syncGroups rebuilds group membership from the users' group lists.
func (a *accessState) syncGroups() {
	for g := range a.Group {
		a.Group[g] = map[string]bool{}
	}
	for id, u := range a.Users {
		for _, g := range u.Groups {
			if a.Group[g] != nil {
				a.Group[g][id] = true
			}
		}
	}
}

func createUser(r *request) (any, error) {
	s := r.s
	id := r.str("userid")
	if err := checkUserID("userid", id); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Access
	if a.Users[id] != nil {
		return nil, fail("create user failed: user '%s' already exists", id)
	}
	u := &pveUser{Enable: true}
	if err := s.applyUserFields(r, u); err != nil {
		return nil, fail("create user failed: %s", err.(*apiError).Msg)
	}
	if r.has("password") {
		if !strings.HasSuffix(id, "@pve") {
			return nil, fail("create user failed: can't set password on auth type '%s'", id[strings.LastIndex(id, "@")+1:])
		}
		if a.Pass == nil {
			a.Pass = map[string]string{}
		}
		a.Pass[id] = r.str("password")
	}
	a.Users[id] = u
	a.syncGroups()
	s.changed()
	return nil, nil
}

func (s *Simulator) userArg(r *request) (*pveUser, error) {
	id := r.str("userid")
	if err := checkUserID("userid", id); err != nil {
		return nil, err
	}
	u := s.st.Access.Users[id]
	if u == nil {
		return nil, fail("no such user ('%s')", id)
	}
	return u, nil
}

func getUser(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, err := s.userArg(r)
	if err != nil {
		return nil, err
	}
	e := userEntry(r.str("userid"), u, false)
	delete(e, "userid")
	delete(e, "realm-type")
	if len(u.Groups) > 0 {
		e["groups"] = u.Groups
	}
	toks := map[string]any{}
	for name, t := range u.Tokens {
		toks[name] = tokenInfo(t)
	}
	e["tokens"] = toks
	return e, nil
}

func updateUser(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userArg(r)
	if err != nil {
		return nil, err
	}
	if err := s.applyUserFields(r, u); err != nil {
		return nil, fail("update user failed: %s", err.(*apiError).Msg)
	}
	s.st.Access.syncGroups()
	s.changed()
	return nil, nil
}

// deleteUser removes the user, its tokens and their ACL entries
// (delete_user_acl, delete_token's ACL cleanup).
func deleteUser(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.userArg(r); err != nil {
		return nil, fail("delete user failed: %s", err.(*apiError).Msg)
	}
	id := r.str("userid")
	a := s.st.Access
	delete(a.Users, id)
	delete(a.Pass, id)
	a.dropACL(func(e aclEntry) bool {
		return (e.Type == "user" && e.UGID == id) || (e.Type == "token" && strings.HasPrefix(e.UGID, id+"!"))
	})
	a.syncGroups()
	s.changed()
	return nil, nil
}

func (a *accessState) dropACL(match func(aclEntry) bool) {
	kept := a.ACL[:0]
	for _, e := range a.ACL {
		if !match(e) {
			kept = append(kept, e)
		}
	}
	a.ACL = kept
}

// generateToken is User.pm generate_token: the secret is returned once.
func generateToken(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	u, err := s.userArg(r)
	if err != nil {
		return nil, err
	}
	name := r.str("tokenid")
	if u.Tokens[name] != nil {
		return nil, fail("Token already exists.")
	}
	t := &pveToken{Privsep: r.bool("privsep", true), Expire: u.Expire, Comment: r.str("comment")}
	if r.has("expire") {
		t.Expire = int64(r.int("expire", 0))
	}
	b := []byte(randomHex(16))
	t.Secret = string(b[0:8]) + "-" + string(b[8:12]) + "-" + string(b[12:16]) + "-" + string(b[16:20]) + "-" + string(b[20:32])
	if u.Tokens == nil {
		u.Tokens = map[string]*pveToken{}
	}
	u.Tokens[name] = t
	s.changed()
	return map[string]any{"full-tokenid": r.str("userid") + "!" + name, "info": tokenInfo(t), "value": t.Secret}, nil
}

func (s *Simulator) tokenArg(r *request) (*pveUser, *pveToken, error) {
	u, err := s.userArg(r)
	if err != nil {
		return nil, nil, err
	}
	t := u.Tokens[r.str("tokenid")]
	if t == nil {
		return nil, nil, fail("no such token '%s' for user '%s'", r.str("tokenid"), r.str("userid"))
	}
	return u, t, nil
}

func readToken(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, t, err := s.tokenArg(r)
	if err != nil {
		return nil, err
	}
	return tokenInfo(t), nil
}

func removeToken(r *request) (any, error) {
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	u, _, err := s.tokenArg(r)
	if err != nil {
		return nil, err
	}
	full := r.str("userid") + "!" + r.str("tokenid")
	delete(u.Tokens, r.str("tokenid"))
	s.st.Access.dropACL(func(e aclEntry) bool { return e.Type == "token" && e.UGID == full })
	s.changed()
	return nil, nil
}

func listRoles(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := sortedKeys(builtinRoles)
	names = append(names, sortedKeys(s.st.Access.Roles)...)
	sort.Strings(names)
	out := []map[string]any{}
	for _, n := range names {
		set, _ := s.st.Access.role(n)
		out = append(out, map[string]any{"roleid": n, "privs": strings.Join(sortedPrivs(set), ","),
			"special": b2i(builtinRoles[n] != nil)})
	}
	return out, nil
}

// parsePrivs is add_role_privs' check of a privilege list.
func parsePrivs(list string) (map[string]bool, error) {
	out := map[string]bool{}
	for _, p := range splitList(list) {
		if !validPrivs[p] {
			return nil, paramErr("privs", "%s", "invalid privilege '"+p+"'")
		}
		out[p] = true
	}
	return out, nil
}

func checkRoleID(id string) error {
	if !reRoleID.MatchString(id) {
		return paramErr("roleid", "%s", "role name '"+id+"' contains invalid characters")
	}
	return nil
}

func createRole(r *request) (any, error) {
	s := r.s
	id := r.str("roleid")
	if err := checkRoleID(id); err != nil {
		return nil, err
	}
	privs, err := parsePrivs(r.str("privs"))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Access
	if _, ok := a.role(id); ok {
		return nil, fail("create role failed: role '%s' already exists", id)
	}
	if a.Roles == nil {
		a.Roles = map[string]map[string]bool{}
	}
	a.Roles[id] = privs
	s.changed()
	return nil, nil
}

func readRole(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	defer s.mu.RUnlock()
	set, ok := s.st.Access.role(r.str("roleid"))
	if !ok {
		return nil, fail("role '%s' does not exist", r.str("roleid"))
	}
	out := map[string]int{}
	for p := range set {
		out[p] = 1
	}
	return out, nil
}

func updateRole(r *request) (any, error) {
	s := r.s
	id := r.str("roleid")
	privs, err := parsePrivs(r.str("privs"))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if builtinRoles[id] != nil {
		return nil, fail("update role failed: cannot modify predefined role '%s'", id)
	}
	cur, ok := s.st.Access.Roles[id]
	if !ok {
		return nil, fail("update role failed: role '%s' does not exist", id)
	}
	if r.bool("append", false) {
		for p := range cur {
			privs[p] = true
		}
	}
	s.st.Access.Roles[id] = privs
	s.changed()
	return nil, nil
}

func deleteRole(r *request) (any, error) {
	s := r.s
	id := r.str("roleid")
	s.mu.Lock()
	defer s.mu.Unlock()
	if builtinRoles[id] != nil {
		return nil, fail("delete role failed: cannot delete predefined role '%s'", id)
	}
	if _, ok := s.st.Access.Roles[id]; !ok {
		return nil, fail("delete role failed: role '%s' does not exist", id)
	}
	delete(s.st.Access.Roles, id)
	s.st.Access.dropACL(func(e aclEntry) bool { return e.Role == id })
	s.changed()
	return nil, nil
}

// listACL is ACL.pm read_acl: the entries on paths the caller may modify
// permissions of.
func listACL(r *request) (any, error) {
	s := r.s
	s.mu.RLock()
	acl := append([]aclEntry(nil), s.st.Access.ACL...)
	s.mu.RUnlock()
	sort.SliceStable(acl, func(i, j int) bool { return acl[i].Path < acl[j].Path })
	out := []map[string]any{}
	for _, e := range acl {
		if r.perm != nil && !r.perm.super && r.perm.checkPermModify(e.Path) != nil {
			continue
		}
		out = append(out, map[string]any{"path": e.Path, "type": e.Type, "ugid": e.UGID, "roleid": e.Role,
			"propagate": b2i(e.Propagate)})
	}
	return out, nil
}

// aclTopLevels are the first path components check_path accepts.
var aclTopLevels = map[string]bool{"access": true, "nodes": true, "pool": true, "sdn": true, "storage": true,
	"vms": true, "mapping": true}

// updateACL is ACL.pm update_acl: set or (with delete) remove each role
// for each user, group and token on the path.
func updateACL(r *request) (any, error) {
	s := r.s
	path := normalizePath(r.str("path"))
	top, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if path == "" || (path != "/" && !aclTopLevels[top]) {
		return nil, paramErr("path", "%s", "invalid ACL path '"+r.str("path")+"'")
	}
	if !r.has("users") && !r.has("groups") && !r.has("tokens") {
		return nil, fail("either 'users', 'groups' or 'tokens' is required.")
	}
	propagate := r.bool("propagate", true)
	del := r.bool("delete", false)
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.st.Access
	roles := splitList(r.str("roles"))
	for _, role := range roles {
		if _, ok := a.role(role); !ok {
			return nil, fail("role '%s' does not exist", role)
		}
	}
	var entries []aclEntry
	for _, g := range splitList(r.str("groups")) {
		if a.Group[g] == nil && !del {
			return nil, fail("group '%s' does not exist", g)
		}
		entries = append(entries, aclEntry{Type: "group", UGID: g})
	}
	for _, u := range splitList(r.str("users")) {
		if a.Users[u] == nil && !del {
			return nil, fail("user '%s' does not exist", u)
		}
		entries = append(entries, aclEntry{Type: "user", UGID: u})
	}
	for _, t := range splitList(r.str("tokens")) {
		user, tok, _ := splitTokenID(t)
		if !del && (a.Users[user] == nil || a.Users[user].Tokens[tok] == nil) {
			return nil, fail("no such token '%s' for user '%s'", tok, user)
		}
		entries = append(entries, aclEntry{Type: "token", UGID: t})
	}
	for _, e := range entries {
		for _, role := range roles {
			e.Path, e.Role, e.Propagate = path, role, propagate
			if del {
				x := e
				a.dropACL(func(o aclEntry) bool {
					return o.Path == x.Path && o.Type == x.Type && o.UGID == x.UGID && o.Role == x.Role
				})
				continue
			}
			a.setACL(e)
		}
	}
	s.changed()
	return nil, nil
}

// getPermissions is AccessControl.pm permissions: the caller's (or, with
// Sys.Audit on /access or for an own token, another's) privileges per
// path, or on one path.
func getPermissions(r *request) (any, error) {
	s := r.s
	target := r.user
	if r.has("userid") && r.str("userid") != r.user {
		target = r.str("userid")
		owner, _, isTok := splitTokenID(target)
		if !(isTok && owner == r.user) && !r.may("/access", "Sys.Audit") {
			return nil, permErr("/access, Sys.Audit")
		}
	}
	p := s.snapshotPerms(target)
	if r.has("path") {
		path := normalizePath(r.str("path"))
		out := map[string]int{}
		for priv := range p.privs(target, path) {
			out[priv] = 1
		}
		return map[string]any{path: out}, nil
	}
	return p.effective(target), nil
}
