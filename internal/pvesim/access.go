package pvesim

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// PVE's permission model (pve-access-control src/PVE/AccessControl.pm and
// src/PVE/RPCEnvironment.pm): users with API tokens, roles made of
// privileges, ACL entries on paths, and the privileges a caller holds on a
// path as RPCEnvironment::permissions computes them.

// privGroups is AccessControl.pm's $privgroups: per category the
// privileges only root should hold, and those of admins, users and
// auditors. The built-in roles are cut from it as create_roles does.
var privGroups = []struct {
	cat                      string
	root, admin, user, audit []string
}{
	{"VM", nil,
		[]string{"VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory", "VM.Config.Network", "VM.Config.HWType",
			"VM.Config.Options", "VM.Allocate", "VM.Clone", "VM.GuestAgent.Unrestricted", "VM.Migrate",
			"VM.Replicate", "VM.Snapshot", "VM.Snapshot.Rollback"},
		[]string{"VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console", "VM.Backup", "VM.GuestAgent.FileRead",
			"VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite", "VM.PowerMgmt"},
		[]string{"VM.Audit", "VM.GuestAgent.Audit"}},
	{"Sys", []string{"Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming", "Sys.AccessNetwork"},
		[]string{"Sys.Console", "Sys.Syslog"}, nil, []string{"Sys.Audit"}},
	{"Datastore", nil, []string{"Datastore.Allocate", "Datastore.AllocateTemplate"},
		[]string{"Datastore.AllocateSpace"}, []string{"Datastore.Audit"}},
	{"SDN", nil, []string{"SDN.Allocate", "SDN.Audit"}, []string{"SDN.Use"}, []string{"SDN.Audit"}},
	{"User", []string{"Realm.Allocate"}, []string{"User.Modify", "Group.Allocate", "Realm.AllocateUser"}, nil, nil},
	{"Pool", nil, []string{"Pool.Allocate"}, []string{"Pool.Audit"}, []string{"Pool.Audit"}},
	{"Mapping", nil, []string{"Mapping.Modify"}, []string{"Mapping.Use"}, []string{"Mapping.Audit"}},
}

// validPrivs and builtinRoles are AccessControl.pm's $valid_privs and
// $special_roles after create_roles.
var validPrivs, builtinRoles = makeBuiltinRoles()

func makeBuiltinRoles() (map[string]bool, map[string]map[string]bool) {
	valid := map[string]bool{"Permissions.Modify": true} // in no group
	roles := map[string]map[string]bool{"NoAccess": {}, "PVEAdmin": {}, "PVEAuditor": {}}
	add := func(role string, privs ...[]string) {
		if roles[role] == nil {
			roles[role] = map[string]bool{}
		}
		for _, ps := range privs {
			for _, p := range ps {
				roles[role][p] = true
			}
		}
	}
	for _, g := range privGroups {
		for _, ps := range [][]string{g.root, g.admin, g.user, g.audit} {
			for _, p := range ps {
				valid[p] = true
			}
		}
		add("PVE"+g.cat+"Admin", g.admin, g.user, g.audit)
		add("PVEAdmin", g.admin, g.user, g.audit)
		if len(g.user) > 0 {
			add("PVE"+g.cat+"User", g.user, g.audit)
		}
		add("PVEAuditor", g.audit)
	}
	delete(roles["PVEAdmin"], "Mapping.Modify") // only Administrator and PVEMappingAdmin
	add("PVETemplateUser", []string{"VM.Clone", "VM.Audit"})
	roles["Administrator"] = valid // all privileges
	return valid, roles
}

// BuiltinRole returns the privileges of one of PVE's built-in roles, sorted
// (nil for a name that is not built in).
func BuiltinRole(name string) []string {
	r, ok := builtinRoles[name]
	if !ok {
		return nil
	}
	return sortedKeys(r)
}

// ValidPrivilege reports whether PVE knows the privilege.
func ValidPrivilege(p string) bool { return validPrivs[p] }

// accessState is user.cfg (users, tokens, custom roles, ACL) plus the
// token secrets of priv/token.cfg and pve-realm passwords.
type accessState struct {
	Users map[string]*pveUser        `json:"users"`
	Roles map[string]map[string]bool `json:"roles,omitempty"` // custom roles only
	ACL   []aclEntry                 `json:"acl,omitempty"`
	Group map[string]map[string]bool `json:"groups,omitempty"` // group -> members
	Pass  map[string]string          `json:"passwords,omitempty"`
}

type pveUser struct {
	Enable    bool                 `json:"enable"`
	Expire    int64                `json:"expire,omitempty"`
	Comment   string               `json:"comment,omitempty"`
	Email     string               `json:"email,omitempty"`
	Firstname string               `json:"firstname,omitempty"`
	Lastname  string               `json:"lastname,omitempty"`
	Groups    []string             `json:"groups,omitempty"`
	Tokens    map[string]*pveToken `json:"tokens,omitempty"`
}

type pveToken struct {
	Privsep bool   `json:"privsep"`
	Expire  int64  `json:"expire,omitempty"`
	Comment string `json:"comment,omitempty"`
	Secret  string `json:"secret"`
}

// aclEntry is one line of user.cfg's acl section for one user, token or
// group and one role.
type aclEntry struct {
	Path      string `json:"path"`
	Type      string `json:"type"` // user, token, group
	UGID      string `json:"ugid"`
	Role      string `json:"role"`
	Propagate bool   `json:"propagate"`
}

// seedAccess creates the configured superuser and its API token (not
// privilege separated, so it holds root@pam's powers). A user other than
// root@pam gets the Administrator role on /.
func (s *Simulator) seedAccess() {
	if s.st.Access == nil {
		s.st.Access = &accessState{}
	}
	a := s.st.Access
	if a.Users == nil {
		a.Users = map[string]*pveUser{}
	}
	u := a.Users[s.opts.User]
	if u == nil {
		u = &pveUser{Enable: true}
		a.Users[s.opts.User] = u
	}
	if u.Tokens == nil {
		u.Tokens = map[string]*pveToken{}
	}
	u.Tokens[s.opts.TokenName] = &pveToken{Secret: s.opts.TokenSecret}
	if s.opts.User != rootUser {
		a.setACL(aclEntry{Path: "/", Type: "user", UGID: s.opts.User, Role: "Administrator", Propagate: true})
	}
}

const rootUser = "root@pam"

func (a *accessState) setACL(e aclEntry) {
	for i, x := range a.ACL {
		if x.Path == e.Path && x.Type == e.Type && x.UGID == e.UGID && x.Role == e.Role {
			a.ACL[i] = e
			return
		}
	}
	a.ACL = append(a.ACL, e)
}

func (a *accessState) role(name string) (map[string]bool, bool) {
	if r, ok := builtinRoles[name]; ok {
		return r, true
	}
	r, ok := a.Roles[name]
	return r, ok
}

// splitTokenID splits "user@realm!token"; ok is false for a plain user.
func splitTokenID(id string) (user, token string, ok bool) {
	return strings.Cut(id, "!")
}

// perms answers permission questions for one request's caller against a
// snapshot of the access config and pool memberships taken when the
// request started.
type perms struct {
	caller string
	super  bool
	acc    accessState
	guest  map[int]string      // vmid -> pool
	store  map[string][]string // storage -> pools
	cache  map[string]map[string]bool
}

// permsFor returns the permission view of caller; root@pam and its
// tokens without privilege separation hold every privilege and need no
// snapshot.
func (s *Simulator) permsFor(caller string) *perms {
	s.mu.RLock()
	super := caller == rootUser
	if u, tok, ok := splitTokenID(caller); ok && u == rootUser {
		t := s.st.Access.Users[u].Tokens[tok]
		super = t != nil && !t.Privsep
	}
	s.mu.RUnlock()
	if super {
		return &perms{caller: caller, super: true}
	}
	return s.snapshotPerms(caller)
}

// snapshotPerms copies what permission checks need (under s.mu).
func (s *Simulator) snapshotPerms(caller string) *perms {
	p := &perms{caller: caller}
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.st.Access
	p.acc = accessState{Roles: map[string]map[string]bool{}, ACL: append([]aclEntry(nil), a.ACL...)}
	for k, v := range a.Roles {
		m := make(map[string]bool, len(v))
		for priv := range v {
			m[priv] = true
		}
		p.acc.Roles[k] = m
	}
	p.guest, p.store = map[int]string{}, map[string][]string{}
	for _, pl := range s.st.Pools {
		for _, id := range pl.VMs {
			p.guest[id] = pl.ID
		}
		for _, sid := range pl.Storage {
			p.store[sid] = append(p.store[sid], pl.ID)
		}
	}
	for id, g := range s.st.Guests {
		if g.Pool != "" {
			p.guest[id] = g.Pool
		}
	}
	// Users and tokens are read without the lock later: copy them.
	users := make(map[string]*pveUser, len(a.Users))
	for k, u := range a.Users {
		cu := *u
		cu.Tokens = make(map[string]*pveToken, len(u.Tokens))
		for tk, tv := range u.Tokens {
			ct := *tv
			cu.Tokens[tk] = &ct
		}
		users[k] = &cu
	}
	p.acc.Users = users
	groups := make(map[string]map[string]bool, len(a.Group))
	for g, m := range a.Group {
		cm := make(map[string]bool, len(m))
		for k, v := range m {
			cm[k] = v
		}
		groups[g] = cm
	}
	p.acc.Group = groups
	return p
}

// roles is AccessControl::roles: the roles (with their propagate flag) id
// holds on path, walking from / to the path; at each level a token's own
// entries, else the user's, else its groups' replace what was inherited,
// and only propagating entries apply below their path. NoAccess wins.
func (p *perms) roles(id, path string) map[string]bool {
	if user, tok, ok := splitTokenID(id); ok {
		u := p.acc.Users[user]
		if u == nil || u.Tokens[tok] == nil {
			return nil
		}
		if !u.Tokens[tok].Privsep {
			return p.roles(user, path)
		}
	}
	levels := []string{"/"}
	if path != "/" {
		parts := strings.Split(strings.Trim(path, "/"), "/")
		for i := range parts {
			levels = append(levels, "/"+strings.Join(parts[:i+1], "/"))
		}
	}
	var roles map[string]bool
	for i, lvl := range levels {
		final := i == len(levels)-1
		pick := func(match func(e aclEntry) bool) map[string]bool {
			var n map[string]bool
			for _, e := range p.acc.ACL {
				if e.Path == lvl && match(e) && (final || e.Propagate) {
					if n == nil {
						n = map[string]bool{}
					}
					n[e.Role] = e.Propagate
				}
			}
			return n
		}
		if n := pick(func(e aclEntry) bool { return e.Type == "token" && e.UGID == id }); n != nil {
			roles = n
			continue
		}
		if n := pick(func(e aclEntry) bool { return e.Type == "user" && e.UGID == id }); n != nil {
			roles = n
			continue
		}
		if n := pick(func(e aclEntry) bool { return e.Type == "group" && p.acc.Group[e.UGID][id] }); n != nil {
			roles = n
		}
	}
	if v, ok := roles["NoAccess"]; ok {
		return map[string]bool{"NoAccess": v}
	}
	return roles
}

// privs is RPCEnvironment::permissions: the privileges id holds on path,
// including roles inherited from the pool a guest or storage belongs to;
// a privilege-separated token holds only what both it and its user hold.
func (p *perms) privs(id, path string) map[string]bool {
	if p.super && id == p.caller || id == rootUser {
		return validPrivs
	}
	key := id + "\x00" + path
	if c, ok := p.cache[key]; ok {
		return c
	}
	var user string
	if u, tok, ok := splitTokenID(id); ok {
		pu := p.acc.Users[u]
		if pu == nil || pu.Tokens[tok] == nil {
			return nil
		}
		up := p.privs(u, path)
		if !pu.Tokens[tok].Privsep {
			return up
		}
		user = u
	} else if p.acc.Users[id] == nil {
		return nil
	}
	roles := p.roles(id, path)
	var pools []string
	if rest, ok := strings.CutPrefix(path, "/vms/"); ok {
		if vmid, err := strconv.Atoi(rest); err == nil {
			if pl, ok := p.guest[vmid]; ok {
				pools = []string{pl}
			}
		}
	} else if sid, ok := strings.CutPrefix(path, "/storage/"); ok {
		pools = p.store[sid]
	}
	if _, noAccess := roles["NoAccess"]; !noAccess && len(pools) > 0 {
		inherited := map[string]bool{}
		for _, pl := range pools {
			for r := range p.roles(id, "/pool/"+pl) {
				inherited[r] = true
			}
		}
		if inherited["NoAccess"] {
			roles = map[string]bool{"NoAccess": false} // a pool's NoAccess trumps the ACL
		} else if len(inherited) > 0 {
			merged := map[string]bool{}
			for r, v := range roles {
				merged[r] = v
			}
			for r := range inherited {
				if _, ok := merged[r]; !ok {
					merged[r] = false
				}
			}
			roles = merged
		}
	}
	out := map[string]bool{}
	for r := range roles {
		if set, ok := p.acc.role(r); ok {
			for priv := range set {
				out[priv] = true
			}
		}
	}
	if user != "" && user != rootUser {
		up := p.privs(user, path)
		for priv := range out {
			if !up[priv] {
				delete(out, priv)
			}
		}
	}
	if p.cache == nil {
		p.cache = map[string]map[string]bool{}
	}
	p.cache[key] = out
	return out
}

// permErr is raise_perm_exc: 403 "Permission check failed (what)".
func permErr(what string) *apiError {
	if what == "" {
		return httpErr(http.StatusForbidden, "Permission check failed")
	}
	return httpErr(http.StatusForbidden, "Permission check failed (%s)", what)
}

// check is RPCEnvironment::check: every privilege on path, naming the
// first one missing.
func (p *perms) check(path string, privs ...string) error {
	have := p.privs(p.caller, path)
	for _, priv := range privs {
		if !have[priv] {
			return permErr(path + ", " + priv)
		}
	}
	return nil
}

// checkAny is RPCEnvironment::check_any: one of the privileges on path.
func (p *perms) checkAny(path string, privs ...string) error {
	have := p.privs(p.caller, path)
	for _, priv := range privs {
		if have[priv] {
			return nil
		}
	}
	return permErr(path + ", " + strings.Join(privs, "|"))
}

// can reports whether the caller holds any of privs on path.
func (p *perms) can(path string, privs ...string) bool { return p.checkAny(path, privs...) == nil }

// checkVM is check_vm_perm: the privileges on the pool (when one is
// named) or on /vms/{vmid}.
func (p *perms) checkVM(vmid int, pool string, privs ...string) error {
	if pool != "" && p.check("/pool/"+pool, privs...) == nil {
		return nil
	}
	return p.check("/vms/"+strconv.Itoa(vmid), privs...)
}

// effective is get_effective_permissions: the privileges id holds on the
// top-level paths, every ACL path and every pool member's path.
func (p *perms) effective(id string) map[string]map[string]int {
	paths := map[string]bool{"/": true, "/access": true, "/access/groups": true, "/nodes": true,
		"/pool": true, "/sdn": true, "/storage": true, "/vms": true}
	for _, e := range p.acc.ACL {
		paths[e.Path] = true
	}
	for vmid := range p.guest {
		paths["/vms/"+strconv.Itoa(vmid)] = true
	}
	for sid := range p.store {
		paths["/storage/"+sid] = true
	}
	out := map[string]map[string]int{}
	for path := range paths {
		pr := p.privs(id, path)
		if len(pr) == 0 {
			continue
		}
		m := map[string]int{}
		for priv := range pr {
			m[priv] = 1
		}
		out[path] = m
	}
	return out
}

// sortedPrivs lists a privilege set sorted.
func sortedPrivs(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}
