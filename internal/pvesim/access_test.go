package pvesim

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// The built-in roles, written out from pve-access-control
// src/PVE/AccessControl.pm ($privgroups and create_roles).
func TestBuiltinRolesAsAccessControlPm(t *testing.T) {
	want := map[string]string{
		"NoAccess":         "",
		"PVETemplateUser":  "VM.Audit,VM.Clone",
		"PVEAuditor":       "Datastore.Audit,Mapping.Audit,Pool.Audit,SDN.Audit,Sys.Audit,VM.Audit,VM.GuestAgent.Audit",
		"PVEDatastoreUser": "Datastore.AllocateSpace,Datastore.Audit",
		"PVEPoolAdmin":     "Pool.Allocate,Pool.Audit",
		"PVEPoolUser":      "Pool.Audit",
		"PVESDNUser":       "SDN.Audit,SDN.Use",
		"PVEUserAdmin":     "Group.Allocate,Realm.AllocateUser,User.Modify",
		"PVESysAdmin":      "Sys.Audit,Sys.Console,Sys.Syslog",
		"PVEVMUser": "VM.Audit,VM.Backup,VM.Config.CDROM,VM.Config.Cloudinit,VM.Console,VM.GuestAgent.Audit," +
			"VM.GuestAgent.FileRead,VM.GuestAgent.FileSystemMgmt,VM.GuestAgent.FileWrite,VM.PowerMgmt",
		"PVEVMAdmin": "VM.Allocate,VM.Audit,VM.Backup,VM.Clone,VM.Config.CDROM,VM.Config.CPU,VM.Config.Cloudinit," +
			"VM.Config.Disk,VM.Config.HWType,VM.Config.Memory,VM.Config.Network,VM.Config.Options,VM.Console," +
			"VM.GuestAgent.Audit,VM.GuestAgent.FileRead,VM.GuestAgent.FileSystemMgmt,VM.GuestAgent.FileWrite," +
			"VM.GuestAgent.Unrestricted,VM.Migrate,VM.PowerMgmt,VM.Replicate,VM.Snapshot,VM.Snapshot.Rollback",
	}
	for role, privs := range want {
		if got := strings.Join(BuiltinRole(role), ","); got != privs {
			t.Errorf("%s = %s, want %s", role, got, privs)
		}
	}
	admin := BuiltinRole("Administrator")
	for _, p := range []string{"Permissions.Modify", "Sys.PowerMgmt", "Realm.Allocate", "Mapping.Modify"} {
		if !ValidPrivilege(p) || sort.SearchStrings(admin, p) == len(admin) || admin[sort.SearchStrings(admin, p)] != p {
			t.Errorf("Administrator lacks %s", p)
		}
	}
	pveAdmin := "," + strings.Join(BuiltinRole("PVEAdmin"), ",") + ","
	for _, p := range []string{"Mapping.Modify", "Sys.Modify", "Permissions.Modify", "Realm.Allocate"} {
		if strings.Contains(pveAdmin, ","+p+",") {
			t.Errorf("PVEAdmin holds %s", p)
		}
	}
}

// accessAdmin drives the access API as root, the way pveum does.
type accessAdmin struct {
	t   *testing.T
	srv *Server
}

func (a accessAdmin) call(method, path string, params url.Values) rawResp {
	a.t.Helper()
	return a.as("token", method, path, params)
}

func (a accessAdmin) as(auth, method, path string, params url.Values) rawResp {
	a.t.Helper()
	if method == "GET" || method == "DELETE" {
		if len(params) > 0 {
			path += "?" + params.Encode()
		}
		return raw(a.t, a.srv, method, path, "", "", auth)
	}
	return raw(a.t, a.srv, method, path, "application/x-www-form-urlencoded", params.Encode(), auth)
}

func (a accessAdmin) ok(method, path string, params url.Values) any {
	a.t.Helper()
	res := a.call(method, path, params)
	if res.Code != 200 {
		a.t.Fatalf("%s %s %v: %s %s", method, path, params, res.Status, res.Body)
	}
	var env struct{ Data any }
	if err := json.Unmarshal(res.Body, &env); err != nil {
		a.t.Fatal(err)
	}
	return env.Data
}

// token creates user (if new) and a token, returning its Authorization
// header.
func (a accessAdmin) token(user, name string, privsep bool) string {
	a.t.Helper()
	if a.call("GET", "/access/users/"+user, nil).Code != 200 {
		a.ok("POST", "/access/users", url.Values{"userid": {user}})
	}
	ps := "0"
	if privsep {
		ps = "1"
	}
	d := a.ok("POST", "/access/users/"+user+"/token/"+name, url.Values{"privsep": {ps}}).(map[string]any)
	if d["full-tokenid"] != user+"!"+name {
		a.t.Fatalf("full-tokenid %v", d["full-tokenid"])
	}
	return "PVEAPIToken=" + user + "!" + name + "=" + d["value"].(string)
}

// grant gives ugids (users=, tokens=) a new role with privs on path.
func (a accessAdmin) grant(role, privs, path string, propagate bool, ugids url.Values) {
	a.t.Helper()
	if a.call("GET", "/access/roles/"+role, nil).Code != 200 {
		a.ok("POST", "/access/roles", url.Values{"roleid": {role}, "privs": {privs}})
	}
	p := url.Values{"path": {path}, "roles": {role}, "propagate": {map[bool]string{true: "1", false: "0"}[propagate]}}
	for k, v := range ugids {
		p[k] = v
	}
	a.ok("PUT", "/access/acl", p)
}

func (a accessAdmin) privsOn(userid, path string) string {
	a.t.Helper()
	d := a.ok("GET", "/access/permissions", url.Values{"userid": {userid}, "path": {path}}).(map[string]any)
	var out []string
	for p := range d[path].(map[string]any) {
		out = append(out, p)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func deniedWith(t *testing.T, res rawResp, what string) {
	t.Helper()
	want := "Permission check failed"
	if what != "" {
		want += " (" + what + ")"
	}
	if res.Code != 403 || !strings.Contains(string(res.Body), want) {
		t.Fatalf("want 403 %q, got %s %s", want, res.Status, res.Body)
	}
}

// permLeaves lists the "perm" tests a check expression makes, the first
// alternative of an "or" only, and whether an "or" decides the denial.
func permLeaves(check []any) (leaves [][]any, viaOr bool) {
	switch check[0] {
	case "perm":
		return [][]any{check}, false
	case "and":
		for _, sub := range check[1:] {
			l, or := permLeaves(sub.([]any))
			leaves = append(leaves, l...)
			viaOr = viaOr || (len(leaves) == len(l) && or)
		}
		return leaves, viaOr
	case "or":
		l, _ := permLeaves(check[1].([]any))
		return l, true
	}
	return nil, false
}

// sampleParams are the values the route walk puts into path templates.
var sampleParams = map[string]string{"node": "pve1", "vmid": "9000", "storage": "local", "poolid": "tenant",
	"newid": "4242", "name": "ipsx", "cidr": "10.0.0.1", "pos": "0", "group": "grp1", "sid": "vm:9000",
	"rule": "rule1", "volume": "local:iso/x.iso", "roleid": "Probe", "path": "/vms/9000"}

// TestSchemaPermissionsPerRoute walks every served route whose schema
// permissions carry a check: a token of a user without any ACL is refused
// with PVE's message naming the path and privilege the check asks first;
// the same call with exactly the check's privileges granted (to user and
// privilege-separated token, on the check's paths) is not refused by it.
func TestSchemaPermissionsPerRoute(t *testing.T) {
	srv := startSim(t, Options{})
	a := accessAdmin{t, srv}
	specs, err := Specs()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for i, route := range RouteList() {
		check := specs[route].Perm.Check
		if len(check) == 0 || check[0] == "userid-param" || check[0] == "userid-group" ||
			(check[0] == "or" && len(check) > 1 && check[1].([]any)[0] == "userid-param") {
			continue // the access routes' user checks: TestAccessAPI
		}
		method, tmpl, _ := strings.Cut(route, " ")
		q := url.Values{}
		path := reTemplateVar.ReplaceAllStringFunc(tmpl, func(m string) string { return sampleParams[m[1:len(m)-1]] })
		var expect string
		leaves, viaOr := permLeaves(check)
		if len(leaves) == 0 && check[0] != "perm-modify" {
			continue // "and" of user checks: TestAccessAPI
		}
		if check[0] == "perm-modify" {
			p := templateReplace(check[1].(string), sampleParams)
			expect = p + ", Permissions.Modify|VM.Allocate"
			leaves = [][]any{{"perm", p, []any{"Permissions.Modify"}}}
			q.Set("path", p)
		}
		for _, l := range leaves {
			for _, v := range reTemplateVar.FindAllStringSubmatch(l[1].(string), -1) {
				if !strings.Contains(tmpl, v[0]) {
					q.Set(v[1], sampleParams[v[1]])
				}
			}
		}
		if expect == "" && !viaOr {
			l := leaves[0]
			privs := toStrings(l[2])
			what := privs[0]
			if len(l) > 4 && l[3] == "any" {
				what = strings.Join(privs, "|")
			}
			expect = templateReplace(l[1].(string), sampleParams) + ", " + what
		}
		user := fmt.Sprintf("probe%d@pve", i)
		auth := a.token(user, "tk", true)
		full := path
		if len(q) > 0 {
			full += "?" + q.Encode()
		}
		deniedWith(t, raw(t, srv, method, full, "", "", auth), expect)

		for j, l := range leaves {
			role := fmt.Sprintf("R%d-%d", i, j)
			a.grant(role, strings.Join(toStrings(l[2]), ","), templateReplace(l[1].(string), sampleParams), true,
				url.Values{"users": {user}, "tokens": {user + "!tk"}})
		}
		res := raw(t, srv, method, full, "", "", auth)
		if res.Code == 403 && strings.Contains(string(res.Body), "Permission check failed ("+expect+")") {
			t.Errorf("%s with its privileges granted: %s %s", route, res.Status, res.Body)
		}
		checked++
	}
	if checked < 100 {
		t.Fatalf("only %d routes carry a check", checked)
	}
}

// TestAccessAPI is the admin's path through users, tokens, roles and ACLs
// and the user-id checks of the access routes.
func TestAccessAPI(t *testing.T) {
	srv := startSim(t, Options{})
	a := accessAdmin{t, srv}
	a.ok("POST", "/access/users", url.Values{"userid": {"alice@pve"}, "comment": {"tenant a"}, "password": {"s3cret-pw"}})
	if res := a.call("POST", "/access/users", url.Values{"userid": {"alice@pve"}}); res.Code != 500 ||
		!strings.Contains(string(res.Body), "user 'alice@pve' already exists") {
		t.Fatalf("duplicate user: %s %s", res.Status, res.Body)
	}
	if res := a.call("POST", "/access/users", url.Values{"userid": {"no-realm"}}); res.Code != 400 ||
		!strings.Contains(string(res.Body), `"userid"`) {
		t.Fatalf("bad userid: %s %s", res.Status, res.Body)
	}
	a.ok("PUT", "/access/users/alice@pve", url.Values{"email": {"a@example.com"}})
	u := a.ok("GET", "/access/users/alice@pve", nil).(map[string]any)
	if u["email"] != "a@example.com" || u["comment"] != "tenant a" || u["enable"] != float64(1) {
		t.Fatalf("user %v", u)
	}
	auth := a.token("alice@pve", "ci", true)
	tok := a.ok("GET", "/access/users/alice@pve/token/ci", nil).(map[string]any)
	if tok["privsep"] != float64(1) {
		t.Fatalf("token %v", tok)
	}
	if res := a.call("POST", "/access/users/alice@pve/token/ci", nil); res.Code != 500 {
		t.Fatalf("duplicate token: %s", res.Status)
	}
	list := a.ok("GET", "/access/users", url.Values{"full": {"1"}}).([]any)
	if len(list) != 2 {
		t.Fatalf("users %v", list)
	}

	// Roles: custom ones are listed with their privileges, built-in ones
	// cannot change, invalid privileges are named.
	if res := a.call("POST", "/access/roles", url.Values{"roleid": {"Bad"}, "privs": {"VM.Fly"}}); res.Code != 400 ||
		!strings.Contains(string(res.Body), "invalid privilege 'VM.Fly'") {
		t.Fatalf("bad priv: %s %s", res.Status, res.Body)
	}
	a.ok("POST", "/access/roles", url.Values{"roleid": {"Watch"}, "privs": {"VM.Audit"}})
	a.ok("PUT", "/access/roles/Watch", url.Values{"privs": {"Sys.Audit"}, "append": {"1"}})
	if r := a.ok("GET", "/access/roles/Watch", nil).(map[string]any); !reflect.DeepEqual(r, map[string]any{"VM.Audit": float64(1), "Sys.Audit": float64(1)}) {
		t.Fatalf("role %v", r)
	}
	if res := a.call("PUT", "/access/roles/PVEVMAdmin", url.Values{"privs": {"Sys.Modify"}}); res.Code != 500 {
		t.Fatalf("built-in role changed: %s", res.Status)
	}
	found := false
	for _, r := range a.ok("GET", "/access/roles", nil).([]any) {
		m := r.(map[string]any)
		if m["roleid"] == "Watch" {
			found = m["privs"] == "Sys.Audit,VM.Audit" && m["special"] == float64(0)
		}
	}
	if !found {
		t.Fatal("custom role not listed")
	}

	// A privilege-separated token holds what both it and its user hold.
	a.grant("PVEVMAdmin", "", "/vms", true, url.Values{"tokens": {"alice@pve!ci"}})
	a.grant("Watch", "", "/", true, url.Values{"users": {"alice@pve"}})
	if got := a.privsOn("alice@pve!ci", "/vms/9000"); got != "VM.Audit" {
		t.Fatalf("token on /vms/9000: %s", got)
	}
	if got := a.privsOn("alice@pve", "/vms/9000"); got != "Sys.Audit,VM.Audit" {
		t.Fatalf("user on /vms/9000: %s", got)
	}
	acl := a.ok("GET", "/access/acl", nil).([]any)
	if len(acl) != 2 {
		t.Fatalf("acl %v", acl)
	}
	// The token sees its own permissions, not another user's.
	if res := a.as(auth, "GET", "/access/permissions", url.Values{"userid": {"root@pam"}}); res.Code != 403 {
		t.Fatalf("other user's permissions: %s", res.Status)
	}
	if res := a.as(auth, "GET", "/access/permissions", nil); res.Code != 200 || !strings.Contains(string(res.Body), `"/vms":{"VM.Audit":1}`) {
		t.Fatalf("own permissions: %s %s", res.Status, res.Body)
	}
	// userid-param self: a user's token may not make tokens for others;
	// userid-group: without User.Modify on /access/groups nothing changes.
	deniedWith(t, a.as(auth, "GET", "/access/users/root@pam/token/pvesim", nil), "")
	deniedWith(t, a.as(auth, "PUT", "/access/users/root@pam", url.Values{"comment": {"x"}}), "")
	deniedWith(t, a.as(auth, "POST", "/access/users", url.Values{"userid": {"mallory@pve"}}), "/access/realm/pve, Realm.AllocateUser")
	// perm-modify: setting ACLs needs Permissions.Modify (or the object's
	// allocation privilege) on the path.
	deniedWith(t, a.as(auth, "PUT", "/access/acl", url.Values{"path": {"/"}, "roles": {"Administrator"}, "users": {"alice@pve"}}),
		"/, Permissions.Modify")
	if res := a.as(auth, "GET", "/access/acl", nil); res.Code != 200 || len(decode(t, res.Body)["data"].([]any)) != 0 {
		t.Fatalf("acl as token: %s", res.Status)
	}
	// A ticket for the pve-realm user.
	res := raw(t, srv, "POST", "/access/ticket", "application/x-www-form-urlencoded",
		url.Values{"username": {"alice@pve"}, "password": {"s3cret-pw"}}.Encode(), "")
	if res.Code != 200 {
		t.Fatalf("ticket: %s", res.Status)
	}

	// Deleting the token revokes it and its ACL entries; deleting the
	// user and role removes theirs.
	a.ok("DELETE", "/access/users/alice@pve/token/ci", nil)
	if res := a.as(auth, "GET", "/version", nil); res.Code != 401 {
		t.Fatalf("deleted token: %s", res.Status)
	}
	a.ok("DELETE", "/access/roles/Watch", nil)
	a.ok("DELETE", "/access/users/alice@pve", nil)
	if acl := a.ok("GET", "/access/acl", nil).([]any); len(acl) != 0 {
		t.Fatalf("acl left %v", acl)
	}
	if res := a.call("PUT", "/access/acl", url.Values{"path": {"/nowhere"}, "roles": {"NoAccess"}, "users": {"root@pam"}}); res.Code != 400 {
		t.Fatalf("invalid ACL path: %s %s", res.Status, res.Body)
	}
}

// TestACLPropagationPoolsAndLists: propagation, the more specific path,
// NoAccess, pool membership lending the pool's roles to its guests, and
// lists leaving out what the caller may not see.
func TestACLPropagationPoolsAndLists(t *testing.T) {
	srv := startSim(t, Options{})
	a := accessAdmin{t, srv}
	for _, id := range []string{"101", "102"} {
		a.ok("POST", "/nodes/pve1/qemu", url.Values{"vmid": {id}, "memory": {"512"}})
	}
	srv.Wait()
	a.ok("POST", "/pools", url.Values{"poolid": {"tenant"}})
	a.ok("PUT", "/pools/tenant", url.Values{"vms": {"101"}})
	a.ok("POST", "/pools", url.Values{"poolid": {"other"}})
	auth := a.token("bob@pve", "tk", false)

	// Not propagated: /vms itself only.
	a.grant("PVEAuditor", "", "/vms", false, url.Values{"users": {"bob@pve"}})
	if got := a.privsOn("bob@pve", "/vms/102"); got != "" {
		t.Fatalf("unpropagated ACL reached /vms/102: %s", got)
	}
	// The pool's roles reach its member guest, not others.
	a.grant("PVEVMAdmin", "", "/pool/tenant", true, url.Values{"users": {"bob@pve"}})
	a.grant("PVEPoolUser", "", "/pool/tenant", true, url.Values{"users": {"bob@pve"}})
	if got := a.privsOn("bob@pve", "/vms/101"); !strings.Contains(got, "VM.Allocate") {
		t.Fatalf("pool member /vms/101: %s", got)
	}
	if got := a.privsOn("bob@pve", "/vms/102"); got != "" {
		t.Fatalf("non-member /vms/102: %s", got)
	}
	// A more specific entry replaces the inherited roles; NoAccess wins.
	a.grant("PVEAuditor", "", "/", true, url.Values{"users": {"bob@pve"}})
	a.grant("PVETemplateUser", "", "/vms/9000", true, url.Values{"users": {"bob@pve"}})
	if got := a.privsOn("bob@pve", "/vms/9000"); got != "VM.Audit,VM.Clone" {
		t.Fatalf("/vms/9000: %s", got)
	}
	a.grant("NoAccess", "", "/vms/102", true, url.Values{"users": {"bob@pve"}})
	if got := a.privsOn("bob@pve", "/vms/102"); got != "" {
		t.Fatalf("NoAccess /vms/102: %s", got)
	}

	// Lists: the guests with VM.Audit (9000 and 101), the pools with
	// Pool.Audit (all, from PVEAuditor on /), storages with Datastore.Audit.
	res := a.as(auth, "GET", "/cluster/resources", url.Values{"type": {"vm"}})
	var guests []string
	for _, e := range decode(t, res.Body)["data"].([]any) {
		guests = append(guests, fmt.Sprint(e.(map[string]any)["vmid"]))
	}
	sort.Strings(guests)
	if strings.Join(guests, ",") != "101,9000" {
		t.Fatalf("resources show %v", guests)
	}
	res = a.as(auth, "GET", "/nodes/pve1/qemu", nil)
	if n := len(decode(t, res.Body)["data"].([]any)); n != 2 {
		t.Fatalf("qemu list has %d", n)
	}
	a.ok("PUT", "/access/acl", url.Values{"path": {"/"}, "roles": {"PVEAuditor"}, "users": {"bob@pve"}, "delete": {"1"}})
	res = a.as(auth, "GET", "/pools", nil)
	pools := decode(t, res.Body)["data"].([]any)
	if len(pools) != 1 || pools[0].(map[string]any)["poolid"] != "tenant" {
		t.Fatalf("pools %v", pools)
	}
	res = a.as(auth, "GET", "/nodes/pve1/storage", nil)
	if n := len(decode(t, res.Body)["data"].([]any)); n != 0 {
		t.Fatalf("storages without Datastore.Audit: %d", n)
	}
}

// TestHandlerPermissionChecks: the checks the schema gives only in words
// (clone's storage, create's VM.Allocate, config's per-option privileges,
// bridges) name the missing privilege and change nothing.
func TestHandlerPermissionChecks(t *testing.T) {
	srv := startSim(t, Options{})
	a := accessAdmin{t, srv}
	auth := a.token("carol@pve", "tk", true)
	both := url.Values{"users": {"carol@pve"}, "tokens": {"carol@pve!tk"}}
	a.grant("Cloner", "VM.Clone,VM.Audit", "/vms/9000", true, both)
	a.grant("Maker", "VM.Allocate,VM.Audit,VM.Config.Options", "/vms/4242", true, both)
	clone := url.Values{"newid": {"4242"}, "name": {"c1"}, "full": {"1"}}
	deniedWith(t, a.as(auth, "POST", "/nodes/pve1/qemu/9000/clone", clone), "/storage/ceph-rbd, Datastore.AllocateSpace")
	a.grant("Space", "Datastore.AllocateSpace", "/storage", true, both)
	deniedWith(t, a.as(auth, "POST", "/nodes/pve1/qemu/9000/clone", clone), "/sdn/zones/localnetwork/vmbr0, SDN.Use")
	if n := len(a.ok("GET", "/cluster/resources", url.Values{"type": {"vm"}}).([]any)); n != 1 {
		t.Fatalf("a refused clone left %d guests", n)
	}
	a.grant("Net", "SDN.Use", "/sdn/zones/localnetwork", true, both)
	res := a.as(auth, "POST", "/nodes/pve1/qemu/9000/clone", clone)
	if res.Code != 200 {
		t.Fatalf("clone: %s %s", res.Status, res.Body)
	}
	srv.Wait()
	// Tasks: the token's own are visible to it on the node (Tasks.pm), not
	// in /cluster/tasks (Cluster.pm compares the task's user part with the
	// token id); another user's token sees neither and may not read it.
	upid := decode(t, res.Body)["data"].(string)
	listed := func(auth, path string) bool {
		for _, e := range decode(t, a.as(auth, "GET", path, nil).Body)["data"].([]any) {
			if e.(map[string]any)["upid"] == upid {
				return true
			}
		}
		return false
	}
	other := a.token("dave@pve", "tk", false)
	if !listed(auth, "/nodes/pve1/tasks") || listed(auth, "/cluster/tasks") || !listed("token", "/cluster/tasks") ||
		listed(other, "/nodes/pve1/tasks") {
		t.Fatal("task lists do not filter by owner")
	}
	if res := a.as(auth, "GET", "/nodes/pve1/tasks/"+upid+"/status", nil); res.Code != 200 {
		t.Fatalf("own task status: %s", res.Status)
	}
	deniedWith(t, a.as(other, "GET", "/nodes/pve1/tasks/"+upid+"/status", nil), "/nodes/pve1, Sys.Audit")
	// Config: each option its privilege.
	deniedWith(t, a.as(auth, "PUT", "/nodes/pve1/qemu/4242/config", url.Values{"memory": {"2048"}}), "/vms/4242, VM.Config.Memory")
	deniedWith(t, a.as(auth, "PUT", "/nodes/pve1/qemu/4242/config", url.Values{"cores": {"2"}}), "/vms/4242, VM.Config.CPU")
	deniedWith(t, a.as(auth, "PUT", "/nodes/pve1/qemu/4242/config", url.Values{"name": {"x"}, "ciuser": {"u"}}),
		"/vms/4242, VM.Config.Cloudinit|VM.Config.Network")
	if res := a.as(auth, "PUT", "/nodes/pve1/qemu/4242/config", url.Values{"name": {"renamed"}}); res.Code != 200 {
		t.Fatalf("rename: %s %s", res.Status, res.Body)
	}
	// Create needs VM.Allocate on the id (or its pool).
	deniedWith(t, a.as(auth, "POST", "/nodes/pve1/qemu", url.Values{"vmid": {"4343"}}), "")
	// Delete: VM.Allocate on the guest; another's guest is refused.
	deniedWith(t, a.as(auth, "DELETE", "/nodes/pve1/qemu/9000", nil), "/vms/9000, VM.Allocate")
}
