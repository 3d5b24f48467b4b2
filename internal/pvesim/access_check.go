package pvesim

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// checkAPI2 is RPCEnvironment::check_api2_permissions for an
// authenticated caller: root@pam (and its unseparated tokens) pass, "user:
// all" passes, a "check" expression is evaluated, anything else is refused.
func (p *perms) checkAPI2(perm Permissions, params map[string]string) error {
	if p.super {
		return nil
	}
	if perm.User == "all" {
		return nil
	}
	if len(perm.Check) > 0 {
		_, err := p.exec(perm.Check, params, false)
		return err
	}
	if perm.User == "" && perm.Check == nil {
		return permErr("user != root@pam")
	}
	return permErr("")
}

// exec is exec_api2_perm_check: "and", "or", "perm" (with "any" and
// "require_param"), "userid-param", "userid-group" and "perm-modify".
// With noerr a failed check returns false instead of the error.
func (p *perms) exec(check []any, params map[string]string, noerr bool) (bool, error) {
	if len(check) == 0 {
		return false, fmt.Errorf("no permission test specified")
	}
	fail := func(err error) (bool, error) {
		if noerr {
			return false, nil
		}
		return false, err
	}
	test, _ := check[0].(string)
	switch test {
	case "and":
		for _, sub := range check[1:] {
			if _, err := p.exec(toList(sub), params, false); err != nil {
				return fail(err)
			}
		}
		return true, nil
	case "or":
		for _, sub := range check[1:] {
			if ok, _ := p.exec(toList(sub), params, true); ok {
				return true, nil
			}
		}
		return fail(permErr(""))
	case "perm":
		if len(check) < 3 {
			return false, fmt.Errorf("missing parameters")
		}
		opts := map[string]any{}
		for i := 3; i+1 < len(check); i += 2 {
			k, _ := check[i].(string)
			opts[k] = check[i+1]
		}
		if rp, ok := opts["require_param"].(string); ok {
			if _, has := params[rp]; !has {
				return fail(permErr(""))
			}
		}
		path := normalizePath(templateReplace(check[1].(string), params))
		privs := toStrings(check[2])
		var err error
		if truthyValue(opts["any"]) {
			err = p.checkAny(path, privs...)
		} else {
			err = p.check(path, privs...)
		}
		if err != nil {
			return fail(err)
		}
		return true, nil
	case "userid-param":
		sub, _ := check[1].(string)
		userid := params["userid"]
		switch sub {
		case "self":
			if p.acc.Users[userid] == nil {
				return fail(httpErr(500, "no such user ('%s')", userid))
			}
			if p.caller == userid {
				return true, nil
			}
			return fail(permErr(""))
		case "Realm.AllocateUser":
			_, realm, _ := strings.Cut(userid, "@")
			if err := p.check("/access/realm/"+realm, "Realm.AllocateUser"); err != nil {
				return fail(err)
			}
			return true, nil
		}
		return false, fmt.Errorf("unknown userid-param test")
	case "userid-group":
		// Without groups (the simulator serves no group API) the check
		// is the one on /access/groups.
		privs := toStrings(check[1])
		opts := map[string]any{}
		for i := 2; i+1 < len(check); i += 2 {
			k, _ := check[i].(string)
			opts[k] = check[i+1]
		}
		if opts["groups_param"] != "create" && p.acc.Users[params["userid"]] == nil {
			return fail(httpErr(500, "no such user ('%s')", params["userid"]))
		}
		if err := p.checkAny("/access/groups", privs...); err != nil {
			if opts["groups_param"] != nil && params["groups"] == "" {
				return fail(err)
			}
			return fail(permErr(""))
		}
		return true, nil
	case "perm-modify":
		path := normalizePath(templateReplace(check[1].(string), params))
		if path == "" {
			return false, nil // ACL.pm's own parameter check answers
		}
		if err := p.checkPermModify(path); err != nil {
			return fail(err)
		}
		return true, nil
	}
	return false, fmt.Errorf("unknown permission test")
}

// checkPermModify is check_perm_modify: Permissions.Modify on the path, or
// the allocation privilege of the object the path names.
func (p *perms) checkPermModify(path string) error {
	privs := []string{"Permissions.Modify"}
	switch {
	case strings.HasPrefix(path, "/storage/"):
		privs = append(privs, "Datastore.Allocate")
	case strings.HasPrefix(path, "/vms/"):
		privs = append(privs, "VM.Allocate")
	case strings.HasPrefix(path, "/pool/"):
		privs = append(privs, "Pool.Allocate")
	}
	return p.checkAny(path, privs...)
}

func toList(v any) []any {
	l, _ := v.([]any)
	return l
}

func toStrings(v any) []string {
	var out []string
	for _, x := range toList(v) {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func truthyValue(v any) bool {
	switch x := v.(type) {
	case float64:
		return x != 0
	case string:
		return x != "" && x != "0"
	case bool:
		return x
	}
	return false
}

var reTemplateVar = regexp.MustCompile(`\{(\w+)\}`)

// templateReplace is PVE::Tools::template_replace: {name} becomes the
// parameter's value.
func templateReplace(tmpl string, params map[string]string) string {
	return reTemplateVar.ReplaceAllStringFunc(tmpl, func(m string) string {
		return params[m[1:len(m)-1]]
	})
}

var reACLPath = regexp.MustCompile(`^[[:alnum:]._\-/]+$`)

// normalizePath is AccessControl::normalize_path: one slash between
// components, none at the end, a leading one; "" for an invalid path.
func normalizePath(path string) string {
	if path == "" {
		return ""
	}
	for strings.Contains(path, "//") {
		path = strings.ReplaceAll(path, "//", "/")
	}
	path = strings.TrimSuffix(path, "/")
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if !reACLPath.MatchString(path) {
		return ""
	}
	return path
}

// routeChecks are the checks handlers make beyond the schema's
// permissions (rules the schema gives in words, and per-parameter ones).
// They run after the schema's check, for callers that are not root.
var routeChecks = map[string]func(r *request, p *perms) error{
	"POST /nodes/{node}/qemu":                                 createGuestPerm(kindQemu),
	"POST /nodes/{node}/lxc":                                  createGuestPerm(kindLXC),
	"PUT /nodes/{node}/qemu/{vmid}/config":                    modifyGuestPerm(kindQemu),
	"POST /nodes/{node}/qemu/{vmid}/config":                   modifyGuestPerm(kindQemu),
	"PUT /nodes/{node}/lxc/{vmid}/config":                     modifyGuestPerm(kindLXC),
	"POST /nodes/{node}/qemu/{vmid}/clone":                    clonePerm,
	"POST /nodes/{node}/lxc/{vmid}/clone":                     clonePerm,
	"PUT /nodes/{node}/qemu/{vmid}/resize":                    resizePerm,
	"PUT /nodes/{node}/lxc/{vmid}/resize":                     resizePerm,
	"DELETE /nodes/{node}/storage/{storage}/content/{volume}": deleteVolumePerm,
	"GET /nodes/{node}/storage/{storage}/content/{volume}":    volumeInfoPerm,
	"GET /nodes/{node}/tasks/{upid}/status":                   taskPerm("Sys.Audit"),
	"GET /nodes/{node}/tasks/{upid}/log":                      taskPerm("Sys.Audit"),
	"DELETE /nodes/{node}/tasks/{upid}":                       taskPerm("Sys.Modify"),
	"PUT /pools":                                              poolMembersPerm,
	"PUT /pools/{poolid}":                                     poolMembersPerm,
}

// qemu-server API2/Qemu.pm's option classes for check_vm_modify_config_perm.
var qemuOptionPriv = func() map[string][]string {
	m := map[string][]string{}
	set := func(privs []string, opts ...string) {
		for _, o := range opts {
			m[o] = privs
		}
	}
	set([]string{"VM.Config.CPU"}, "cores", "cpu", "runningcpu", "cpulimit", "cpuunits", "numa", "smp", "sockets", "vcpus")
	set([]string{"VM.Config.Memory"}, "memory", "balloon", "shares", "allow-ksm")
	set([]string{"VM.Config.HWType"}, "acpi", "hotplug", "kvm", "machine", "runningmachine", "scsihw", "smbios1",
		"tablet", "vga", "watchdog", "audio0", "rng0")
	set([]string{"VM.Config.Options"}, "agent", "autostart", "bios", "description", "keyboard", "localtime",
		"migrate_downtime", "migrate_speed", "name", "onboot", "ostype", "protection", "reboot", "startdate",
		"startup", "tdf", "template", "tags")
	set([]string{"VM.PowerMgmt"}, "freeze")
	set([]string{"VM.Config.Disk"}, "boot", "bootdisk", "vmstatestorage")
	set([]string{"VM.Config.Network"}, "running-nets-host-mtu")
	set([]string{"VM.Config.Cloudinit", "VM.Config.Network"}, "cicustom", "cipassword", "citype", "ciuser",
		"ciupgrade", "nameserver", "searchdomain", "sshkeys")
	set([]string{"VM.Config.Disk", "VM.PowerMgmt"}, "vmstate")
	return m
}()

var (
	reQemuDrive    = regexp.MustCompile(`^(ide[0-3]|sata[0-5]|scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5])|efidisk0|tpmstate0)$`)
	reNewDiskAlloc = regexp.MustCompile(`^(([^/:\s]+):)?(\d+(\.\d+)?)$`)
	reIndexed      = regexp.MustCompile(`^(net|ipconfig|numa|unused|serial|usb|hostpci|virtiofs|mp|dev)\d+$`)
)

// propValue returns the key of a property string ("volume" or the
// default key when unnamed, the first item).
func propValue(v, key string) string {
	for i, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(part, "=")
		if ok && k == key {
			return val
		}
		if !ok && i == 0 && (key == "file" || key == "volume") {
			return part
		}
	}
	return ""
}

// qemuOptionCheck is one option's check of check_vm_modify_config_perm
// and of update_vm_api's drive checks (a cdrom needs VM.Config.CDROM, a
// cloud-init drive VM.Config.Cloudinit and VM.Config.CDROM).
func (p *perms) qemuOptionCheck(vmid int, pool, opt, val string) error {
	if reQemuDrive.MatchString(opt) || opt == "cdrom" {
		if val == "" { // a deletion: the current value decides
			return p.checkVM(vmid, pool, "VM.Config.Disk")
		}
		vol := propValue(val, "file")
		switch {
		case strings.Contains(vol, "cloudinit"):
			return p.checkVM(vmid, pool, "VM.Config.Cloudinit", "VM.Config.CDROM")
		case opt == "cdrom" || propValue(val, "media") == "cdrom":
			return p.checkVM(vmid, pool, "VM.Config.CDROM")
		}
		return p.checkVM(vmid, pool, "VM.Config.Disk")
	}
	if m := reIndexed.FindStringSubmatch(opt); m != nil {
		switch m[1] {
		case "net":
			return p.checkVM(vmid, pool, "VM.Config.Network")
		case "ipconfig":
			return p.checkAnyVM(vmid, pool, "VM.Config.Cloudinit", "VM.Config.Network")
		case "numa":
			return p.checkVM(vmid, pool, "VM.Config.CPU")
		case "serial": // update_vm_api: a socket is hardware, a real device root's
			if val == "" || val == "socket" {
				return p.checkVM(vmid, pool, "VM.Config.HWType")
			}
			return httpErr(500, "only root can set '%s' config for real devices", opt)
		case "usb": // check_usb_perm: spice is hardware, host devices root's
			if err := p.checkVM(vmid, pool, "VM.Config.HWType"); err != nil || val == "" {
				return err
			}
			if host := propValue(val, "host"); host != "" && !strings.EqualFold(host, "spice") {
				return httpErr(500, "only root can set '%s' config for real devices", opt)
			}
			return nil
		case "hostpci", "virtiofs":
			return httpErr(500, "only root can set '%s' config for non-mapped devices", opt)
		}
		return nil // unused disks: checked with the storage
	}
	privs, ok := qemuOptionPriv[opt]
	if !ok {
		return httpErr(500, "only root can set '%s' config", opt)
	}
	if len(privs) == 2 && privs[0] == "VM.Config.Cloudinit" {
		return p.checkAnyVM(vmid, pool, privs...)
	}
	if err := p.checkVM(vmid, pool, privs...); err != nil {
		return err
	}
	if opt == "startup" {
		return p.check("/", "Sys.Modify")
	}
	return nil
}

// lxcOptionCheck is one option's check of pve-container's
// check_ct_modify_config_perm.
func (p *perms) lxcOptionCheck(vmid int, pool, opt, val string) error {
	switch {
	case opt == "cores" || opt == "cpuunits" || opt == "cpulimit":
		return p.checkVM(vmid, pool, "VM.Config.CPU")
	case opt == "rootfs" || strings.HasPrefix(opt, "mp") && reIndexed.MatchString(opt):
		if err := p.checkVM(vmid, pool, "VM.Config.Disk"); err != nil || val == "" {
			return err
		}
		vol := propValue(val, "volume")
		if m := reNewDiskAlloc.FindStringSubmatch(vol); m != nil {
			return p.check("/storage/"+m[2], "Datastore.AllocateSpace")
		}
		return nil
	case opt == "memory" || opt == "swap":
		return p.checkVM(vmid, pool, "VM.Config.Memory")
	case strings.HasPrefix(opt, "net") && reIndexed.MatchString(opt):
		if err := p.checkVM(vmid, pool, "VM.Config.Network"); err != nil {
			return err
		}
		if val != "" {
			return p.checkBridge(val)
		}
		return nil
	case strings.HasPrefix(opt, "dev") && reIndexed.MatchString(opt):
		return permErr("configuring device passthrough is only allowed for root@pam")
	case opt == "nameserver" || opt == "searchdomain" || opt == "hostname":
		return p.checkVM(vmid, pool, "VM.Config.Network")
	case opt == "hookscript":
		return permErr("changing the hookscript is only allowed for root@pam")
	}
	return p.checkVM(vmid, pool, "VM.Config.Options")
}

func (p *perms) checkAnyVM(vmid int, pool string, privs ...string) error {
	if pool != "" && p.checkAny("/pool/"+pool, privs...) == nil {
		return nil
	}
	return p.checkAny("/vms/"+strconv.Itoa(vmid), privs...)
}

// checkBridge is check_vnet_access for a network device value: SDN.Use on
// /sdn/zones/localnetwork/<bridge>, or on its VLAN when tagged.
func (p *perms) checkBridge(netval string) error {
	bridge := propValue(netval, "bridge")
	if bridge == "" {
		return nil
	}
	base := "/sdn/zones/localnetwork/" + bridge
	if tag := propValue(netval, "tag"); tag != "" {
		return p.check(base+"/"+tag, "SDN.Use")
	}
	return p.check(base, "SDN.Use")
}

// storageCheck is check_storage_access for the drives of a create or
// update: a new disk needs Datastore.AllocateSpace on its storage, an
// existing volume check_volume_access.
func (p *perms) storageCheck(s *Simulator, vmid int, params map[string]string, defStorage string) error {
	for _, opt := range sortedKeys(params) {
		if !reQemuDrive.MatchString(opt) {
			continue
		}
		val := params[opt]
		vol := propValue(val, "file")
		if vol == "" || vol == "none" || vol == "cloudinit" || strings.HasSuffix(vol, ":cloudinit") {
			continue
		}
		cdrom := propValue(val, "media") == "cdrom"
		if cdrom && vol == "cdrom" {
			if err := p.check("/", "Sys.Console"); err != nil {
				return err
			}
			continue
		}
		if m := reNewDiskAlloc.FindStringSubmatch(vol); m != nil && !cdrom {
			sid := m[2]
			if sid == "" {
				sid = defStorage
			}
			if err := p.check("/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
				return err
			}
			continue
		}
		if err := p.volumeAccess(s, vmid, vol); err != nil {
			return err
		}
	}
	return nil
}

// volumeAccess is pve-storage's check_volume_access: Datastore.Allocate on
// the storage, or read access for ISO images and templates, or the
// owning guest's disk privilege for its own images.
func (p *perms) volumeAccess(s *Simulator, vmid int, volid string) error {
	sid, name, ok := strings.Cut(volid, ":")
	if !ok {
		return httpErr(500, "Only root can pass arbitrary filesystem paths.")
	}
	if p.can("/storage/"+sid, "Datastore.Allocate") {
		return nil
	}
	vtype, owner := volumeKind(name)
	switch {
	case vtype == "iso" || vtype == "vztmpl" || vtype == "import":
		return p.checkAny("/storage/"+sid, "Datastore.AllocateSpace", "Datastore.Audit")
	case owner != 0 && owner == vmid:
		return nil
	case vtype == "backup" && owner != 0:
		if err := p.check("/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
			return err
		}
		return p.check("/vms/"+strconv.Itoa(owner), "VM.Backup")
	case (vtype == "images" || vtype == "rootdir") && owner != 0:
		if err := p.check("/storage/"+sid, "Datastore.Audit"); err != nil {
			return err
		}
		return p.check("/vms/"+strconv.Itoa(owner), "VM.Config.Disk")
	}
	return httpErr(500, "missing privileges to access %s", volid)
}

var reOwned = regexp.MustCompile(`^(?:\d+/)?(?:vm|base|subvol|basevol)-(\d+)-`)

// volumeKind reads a volume name's content type and owning guest.
func volumeKind(name string) (string, int) {
	switch {
	case strings.HasPrefix(name, "iso/"):
		return "iso", 0
	case strings.HasPrefix(name, "vztmpl/"):
		return "vztmpl", 0
	case strings.HasPrefix(name, "import/"):
		return "import", 0
	case strings.HasPrefix(name, "backup/"):
		if m := regexp.MustCompile(`vzdump-(?:qemu|lxc)-(\d+)-`).FindStringSubmatch(name); m != nil {
			id, _ := strconv.Atoi(m[1])
			return "backup", id
		}
		return "backup", 0
	}
	if m := reOwned.FindStringSubmatch(name); m != nil {
		id, _ := strconv.Atoi(m[1])
		return "images", id
	}
	return "", 0
}

// createGuestPerm is create_vm's checks: the pool exists, the storage
// parameter, VM.Allocate on the new id or its pool, then every option
// and drive (and for containers the template and root storage).
func createGuestPerm(kind string) func(r *request, p *perms) error {
	return func(r *request, p *perms) error {
		vmid, _ := strconv.Atoi(r.str("vmid"))
		pool := r.str("pool")
		if pool != "" {
			r.s.mu.RLock()
			exists := r.s.st.Pools[pool] != nil
			r.s.mu.RUnlock()
			if !exists {
				return permErr("pool '" + pool + "' does not exist")
			}
		}
		if kind == kindQemu && r.has("storage") {
			if err := p.check("/storage/"+r.str("storage"), "Datastore.AllocateSpace"); err != nil {
				return err
			}
		}
		if !p.can("/vms/"+strconv.Itoa(vmid), "VM.Allocate") && (pool == "" || !p.can("/pool/"+pool, "VM.Allocate")) {
			return permErr("")
		}
		if r.bool("start", false) {
			if err := p.checkVM(vmid, pool, "VM.PowerMgmt"); err != nil {
				return err
			}
		}
		skip := map[string]bool{"node": true, "vmid": true, "pool": true, "storage": true, "start": true,
			"unique": true, "force": true, "archive": true, "ostemplate": true, "password": true,
			"ssh-public-keys": true, "unprivileged": true, "restore": true, "ignore-unpack-errors": true,
			"live-restore": true, "bwlimit": true, "ha-managed": true}
		if kind == kindLXC {
			if !r.bool("unprivileged", false) {
				if err := p.check("/", "Sys.Modify"); err != nil {
					return err
				}
			}
			if t := r.str("ostemplate"); t != "" {
				if err := p.volumeAccess(r.s, vmid, t); err != nil {
					return err
				}
			}
			st := r.str("storage")
			if st == "" {
				st = "local"
			}
			if err := p.check("/storage/"+st, "Datastore.AllocateSpace"); err != nil {
				return err
			}
		} else if err := p.storageCheck(r.s, vmid, r.params, r.str("storage")); err != nil {
			return err
		}
		for _, opt := range sortedKeys(r.params) {
			if skip[opt] {
				continue
			}
			if err := p.optionCheck(kind, vmid, pool, opt, r.params[opt]); err != nil {
				return err
			}
		}
		return p.bridges(kind, r.params)
	}
}

func (p *perms) optionCheck(kind string, vmid int, pool, opt, val string) error {
	if kind == kindLXC {
		return p.lxcOptionCheck(vmid, pool, opt, val)
	}
	return p.qemuOptionCheck(vmid, pool, opt, val)
}

// bridges checks every network device's bridge (qemu's check_bridge_access;
// containers check theirs with the option).
func (p *perms) bridges(kind string, conf map[string]string) error {
	if kind == kindLXC {
		return nil
	}
	return p.netBridges(conf)
}

// netBridges checks the bridge of every network device of conf.
func (p *perms) netBridges(conf map[string]string) error {
	for _, opt := range sortedKeys(conf) {
		if strings.HasPrefix(opt, "net") && reIndexed.MatchString(opt) {
			if err := p.checkBridge(conf[opt]); err != nil {
				return err
			}
		}
	}
	return nil
}

// modifyGuestPerm is update_vm_api's checks (and pve-container's for
// containers): the deleted options, then the set ones, then their disks
// and bridges.
func modifyGuestPerm(kind string) func(r *request, p *perms) error {
	return func(r *request, p *perms) error {
		vmid, _ := strconv.Atoi(r.str("vmid"))
		skip := map[string]bool{"node": true, "vmid": true, "digest": true, "delete": true, "revert": true,
			"skiplock": true, "force": true, "background_delay": true}
		for _, opt := range splitList(r.str("delete")) {
			if err := p.optionCheck(kind, vmid, "", opt, ""); err != nil {
				return err
			}
		}
		for _, opt := range sortedKeys(r.params) {
			if skip[opt] {
				continue
			}
			if err := p.optionCheck(kind, vmid, "", opt, r.params[opt]); err != nil {
				return err
			}
		}
		if kind == kindQemu {
			if err := p.storageCheck(r.s, vmid, r.params, ""); err != nil {
				return err
			}
		}
		return p.bridges(kind, r.params)
	}
}

// clonePerm is clone_vm's checks beyond the schema's: the pool exists,
// Datastore.AllocateSpace for every disk on the target storage (or the
// disk's own) and SDN.Use on the bridges of the source's config.
func clonePerm(r *request, p *perms) error {
	s := r.s
	vmid, _ := strconv.Atoi(r.str("vmid"))
	s.mu.RLock()
	g := s.st.Guests[vmid]
	var conf map[string]string
	kind := ""
	if g != nil {
		conf = make(map[string]string, len(g.Conf))
		for k, v := range g.Conf {
			conf[k] = v
		}
		kind = g.Kind
	}
	poolMissing := r.has("pool") && s.st.Pools[r.str("pool")] == nil
	s.mu.RUnlock()
	if poolMissing {
		return permErr("pool '" + r.str("pool") + "' does not exist")
	}
	if g == nil {
		return nil // the handler answers for a missing guest
	}
	target := r.str("storage")
	for _, opt := range sortedKeys(conf) {
		isDisk := reQemuDrive.MatchString(opt) || (kind == kindLXC && (opt == "rootfs" || strings.HasPrefix(opt, "mp") && reIndexed.MatchString(opt)))
		if !isDisk {
			continue
		}
		key := "file"
		if kind == kindLXC {
			key = "volume"
		}
		vol := propValue(conf[opt], key)
		if vol == "" || vol == "none" || propValue(conf[opt], "media") == "cdrom" {
			continue
		}
		sid, _, _ := strings.Cut(vol, ":")
		if target != "" {
			sid = target
		}
		if err := p.check("/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
			return err
		}
	}
	return p.netBridges(conf)
}

// resizePerm adds Datastore.AllocateSpace on the disk's storage.
func resizePerm(r *request, p *perms) error {
	s := r.s
	vmid, _ := strconv.Atoi(r.str("vmid"))
	s.mu.RLock()
	val := ""
	if g := s.st.Guests[vmid]; g != nil {
		val = g.Conf[r.str("disk")]
	}
	s.mu.RUnlock()
	vol := propValue(val, "file")
	if strings.HasPrefix(val, "volume=") || r.str("disk") == "rootfs" || strings.HasPrefix(r.str("disk"), "mp") {
		vol = propValue(val, "volume")
	}
	if sid, _, ok := strings.Cut(vol, ":"); ok {
		return p.check("/storage/"+sid, "Datastore.AllocateSpace")
	}
	return nil
}

// deleteVolumePerm is pve-storage Content.pm delete's check: a backup of a
// guest needs Datastore.AllocateSpace and VM.Backup, anything else
// Datastore.Allocate.
func deleteVolumePerm(r *request, p *perms) error {
	sid := r.str("storage")
	vol := r.str("volume")
	name := vol
	if _, n, ok := strings.Cut(vol, ":"); ok {
		name = n
	}
	if vtype, owner := volumeKind(name); vtype == "backup" && owner != 0 {
		if err := p.check("/storage/"+sid, "Datastore.AllocateSpace"); err != nil {
			return err
		}
		return p.check("/vms/"+strconv.Itoa(owner), "VM.Backup")
	}
	return p.check("/storage/"+sid, "Datastore.Allocate")
}

func volumeInfoPerm(r *request, p *perms) error {
	vol := r.str("volume")
	if !strings.Contains(vol, ":") {
		vol = r.str("storage") + ":" + vol
	}
	return p.volumeAccess(r.s, 0, vol)
}

// taskPerm is the task API's rule: the task's owner (a token's tasks also
// belong to its user) or priv on /nodes/{node}.
func taskPerm(priv string) func(r *request, p *perms) error {
	return func(r *request, p *perms) error {
		if fields := strings.Split(r.str("upid"), ":"); len(fields) >= 8 && ownsTask(p.caller, fields[7]) {
			return nil
		}
		return p.check("/nodes/"+r.str("node"), priv)
	}
}

// ownsTask is Tasks.pm's check_task_user: a token sees its own tasks, a
// user its own and its tokens'.
func ownsTask(caller, owner string) bool {
	if u, _, ok := splitTokenID(owner); ok {
		return caller == owner || caller == u
	}
	return caller == owner
}

// seesTask filters the task indexes: /cluster/tasks shows every task to
// callers with Sys.Audit on /, else those whose user (a token's user part,
// as Cluster.pm compares it) is the caller; a node's task list shows
// every task to callers with Sys.Audit on the node, else the caller's own.
func (r *request) seesTask(t *task, node string) bool {
	if r.perm == nil || r.perm.super {
		return true
	}
	if node == "" {
		u, _, _ := splitTokenID(t.User)
		return u == r.user || r.may("/", "Sys.Audit")
	}
	return ownsTask(r.user, t.User) || r.may("/nodes/"+node, "Sys.Audit")
}

// poolMembersPerm is update_pool's check_perm_modify on every guest and
// storage added or removed.
func poolMembersPerm(r *request, p *perms) error {
	for _, id := range splitList(r.str("vms")) {
		if err := p.checkPermModify("/vms/" + id); err != nil {
			return err
		}
	}
	for _, sid := range splitList(r.str("storage")) {
		if err := p.checkPermModify("/storage/" + sid); err != nil {
			return err
		}
	}
	return nil
}

// authorize is check_api2_permissions for the route and caller; the
// caller's permissions it returns go with the request, for the handler's
// own checks and list filters.
func (s *Simulator) authorize(rt *route, user string, raw map[string]any) (*perms, error) {
	perm := rt.spec.Perm
	if user == "" && perm.User == "world" {
		return nil, nil
	}
	p := s.permsFor(user)
	if p.super {
		return p, nil
	}
	params := make(map[string]string, len(raw))
	for k, v := range raw {
		if str, ok := v.(string); ok {
			params[k] = str
		} else {
			params[k] = fmt.Sprint(v)
		}
	}
	return p, p.checkAPI2(perm, params)
}

// handlerChecks are the checks a handler makes itself once its parameters
// are verified (routeChecks).
func (r *request) handlerChecks() error {
	if f := routeChecks[r.method+" "+r.route.template]; f != nil && r.perm != nil && !r.perm.super {
		return f(r, r.perm)
	}
	return nil
}

// may reports whether the caller holds any of privs on path (lists use it
// to leave out what the caller may not see).
func (r *request) may(path string, privs ...string) bool {
	return r.perm == nil || r.perm.super || r.perm.can(path, privs...)
}

// visibleResources drops the /cluster/resources entries the caller may not
// see, as pve-manager's Cluster.pm resources does: pools need Pool.Audit,
// guests VM.Audit, storages Datastore.Audit; a guest's pool is shown only
// with Pool.Audit on it.
func (r *request) visibleResources(list []resource) []resource {
	if r.perm == nil || r.perm.super {
		return list
	}
	out := list[:0]
	for _, e := range list {
		switch e.Type {
		case "pool":
			if !r.may("/pool/"+e.Pool, "Pool.Audit") {
				continue
			}
		case kindQemu, kindLXC:
			if !r.may("/vms/"+strconv.Itoa(e.VMID), "VM.Audit") {
				continue
			}
			if e.Pool != "" && !r.may("/pool/"+e.Pool, "Pool.Audit") {
				e.Pool = ""
			}
		case "storage":
			if !r.may("/storage/"+e.Storage, "Datastore.Audit") {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}
