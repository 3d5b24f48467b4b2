package pvesim

import (
	"fmt"
	"strings"
)

// handlers maps every implemented "METHOD /template" to its handler; it
// must list exactly the routes of routes.txt.
func (s *Simulator) handlers() map[string]handlerFunc {
	h := map[string]handlerFunc{
		"POST /access/ticket":                                     createTicket,
		"GET /version":                                            getVersion,
		"GET /cluster/status":                                     getClusterStatus,
		"GET /cluster/resources":                                  getResources,
		"GET /cluster/nextid":                                     getNextID,
		"GET /cluster/tasks":                                      getClusterTasks,
		"GET /nodes":                                              getNodes,
		"GET /nodes/{node}/status":                                getNodeStatus,
		"GET /nodes/{node}/tasks/{upid}/status":                   getTaskStatus,
		"GET /nodes/{node}/tasks":                                 listNodeTasks,
		"DELETE /nodes/{node}/tasks/{upid}":                       stopTask,
		"GET /nodes/{node}/tasks/{upid}/log":                      getTaskLog,
		"GET /nodes/{node}/storage":                               getNodeStorages,
		"GET /nodes/{node}/storage/{storage}/status":              getStorageStatus,
		"GET /nodes/{node}/storage/{storage}/content":             getStorageContent,
		"DELETE /nodes/{node}/storage/{storage}/content/{volume}": deleteStorageContent,
		"GET /nodes/{node}/storage/{storage}/content/{volume}":    getVolumeInfo,
		"POST /nodes/{node}/storage/{storage}/download-url":       downloadURL,
		"POST /nodes/{node}/storage/{storage}/upload":             uploadStorageFile,
		"GET /nodes/{node}/aplinfo":                               getAplinfo,
		"POST /nodes/{node}/aplinfo":                              downloadAppliance,
		"GET /cluster/firewall/options":                           clusterFW(getFWOptions),
		"PUT /cluster/firewall/options":                           clusterFW(putFWOptions),
		"GET /cluster/firewall/rules":                             clusterFW(listRules),
		"POST /cluster/firewall/rules":                            clusterFW(addRule),
		"GET /cluster/firewall/rules/{pos}":                       clusterFW(getRule),
		"PUT /cluster/firewall/rules/{pos}":                       clusterFW(updateRule),
		"DELETE /cluster/firewall/rules/{pos}":                    clusterFW(deleteRule),
		"GET /nodes/{node}/firewall/options":                      hostFW(getFWOptions),
		"PUT /nodes/{node}/firewall/options":                      hostFW(putFWOptions),
		"GET /nodes/{node}/firewall/rules":                        hostFW(listRules),
		"POST /nodes/{node}/firewall/rules":                       hostFW(addRule),
		"GET /nodes/{node}/firewall/rules/{pos}":                  hostFW(getRule),
		"PUT /nodes/{node}/firewall/rules/{pos}":                  hostFW(updateRule),
		"DELETE /nodes/{node}/firewall/rules/{pos}":               hostFW(deleteRule),
		"GET /cluster/firewall/groups":                            listGroups,
		"POST /cluster/firewall/groups":                           createGroup,
		"GET /cluster/firewall/groups/{group}":                    groupRules,
		"POST /cluster/firewall/groups/{group}":                   groupAddRule,
		"DELETE /cluster/firewall/groups/{group}":                 deleteGroup,
		"GET /cluster/firewall/groups/{group}/{pos}":              groupGetRule,
		"PUT /cluster/firewall/groups/{group}/{pos}":              groupUpdateRule,
		"DELETE /cluster/firewall/groups/{group}/{pos}":           groupDeleteRule,
		"GET /cluster/firewall/ipset":                             clusterIPSets(listIPSets),
		"POST /cluster/firewall/ipset":                            clusterIPSets(createIPSet),
		"GET /cluster/firewall/ipset/{name}":                      clusterIPSets(ipsetEntries),
		"POST /cluster/firewall/ipset/{name}":                     clusterIPSets(ipsetAdd),
		"DELETE /cluster/firewall/ipset/{name}":                   clusterIPSets(deleteIPSet),
		"GET /cluster/firewall/ipset/{name}/{cidr}":               clusterIPSets(ipsetGetEntry),
		"PUT /cluster/firewall/ipset/{name}/{cidr}":               clusterIPSets(ipsetUpdateEntry),
		"DELETE /cluster/firewall/ipset/{name}/{cidr}":            clusterIPSets(ipsetDeleteEntry),
		"GET /cluster/firewall/aliases":                           listAliases,
		"POST /cluster/firewall/aliases":                          createAlias,
		"GET /cluster/firewall/aliases/{name}":                    getAlias,
		"PUT /cluster/firewall/aliases/{name}":                    updateAlias,
		"DELETE /cluster/firewall/aliases/{name}":                 deleteAlias,
		"GET /pools":                            listPools,
		"POST /pools":                           createPool,
		"PUT /pools":                            updatePool,
		"DELETE /pools":                         deletePool,
		"GET /pools/{poolid}":                   getPool,
		"PUT /pools/{poolid}":                   updatePool,
		"DELETE /pools/{poolid}":                deletePool,
		"GET /cluster/ha/resources":             listHAResources,
		"POST /cluster/ha/resources":            createHAResource,
		"GET /cluster/ha/resources/{sid}":       getHAResource,
		"PUT /cluster/ha/resources/{sid}":       updateHAResource,
		"DELETE /cluster/ha/resources/{sid}":    deleteHAResource,
		"GET /cluster/ha/rules":                 listHARules,
		"POST /cluster/ha/rules":                createHARule,
		"GET /cluster/ha/rules/{rule}":          getHARule,
		"PUT /cluster/ha/rules/{rule}":          updateHARule,
		"DELETE /cluster/ha/rules/{rule}":       deleteHARule,
		"POST /nodes/{node}/qemu":               createQemu,
		"POST /nodes/{node}/lxc":                createLXC,
		"POST /nodes/{node}/qemu/{vmid}/config": postQemuConfig,
		"GET /nodes/{node}/qemu/{vmid}/agent/network-get-interfaces": agentInterfaces,
		"GET /nodes/{node}/qemu/{vmid}/agent/get-osinfo":             agentOSInfo,
		"POST /nodes/{node}/qemu/{vmid}/agent/ping":                  agentPing,
		"POST /cluster/ha/resources/{sid}/migrate":                   haMove,
		"POST /cluster/ha/resources/{sid}/relocate":                  haMove,
		"GET /nodes/{node}/lxc/{vmid}/interfaces":                    lxcInterfaces,
		"POST /nodes/{node}/qemu/{vmid}/status/suspend":              suspendVM,
		"POST /nodes/{node}/qemu/{vmid}/status/resume":               resumeVM,
		"GET /access/users":                                          listUsers,
		"POST /access/users":                                         createUser,
		"GET /access/users/{userid}":                                 getUser,
		"PUT /access/users/{userid}":                                 updateUser,
		"DELETE /access/users/{userid}":                              deleteUser,
		"POST /access/users/{userid}/token/{tokenid}":                generateToken,
		"GET /access/users/{userid}/token/{tokenid}":                 readToken,
		"DELETE /access/users/{userid}/token/{tokenid}":              removeToken,
		"GET /access/roles":                                          listRoles,
		"POST /access/roles":                                         createRole,
		"GET /access/roles/{roleid}":                                 readRole,
		"PUT /access/roles/{roleid}":                                 updateRole,
		"DELETE /access/roles/{roleid}":                              deleteRole,
		"GET /access/acl":                                            listACL,
		"PUT /access/acl":                                            updateACL,
		"GET /access/permissions":                                    getPermissions,
	}
	// Both guest kinds share the lifecycle handlers; the kind comes from the path.
	for _, kind := range []string{kindQemu, kindLXC} {
		p := "/nodes/{node}/" + kind
		h["GET "+p] = listGuests(kind)
		h["DELETE "+p+"/{vmid}"] = deleteGuest(kind)
		h["GET "+p+"/{vmid}/config"] = getConfig(kind)
		h["PUT "+p+"/{vmid}/config"] = putConfig(kind)
		h["GET "+p+"/{vmid}/pending"] = getPending(kind)
		h["GET "+p+"/{vmid}/status/current"] = statusCurrent(kind)
		for _, action := range []string{"start", "stop", "shutdown", "reboot"} {
			h["POST "+p+"/{vmid}/status/"+action] = statusAction(kind, action)
		}
		h["POST "+p+"/{vmid}/clone"] = cloneGuest(kind)
		h["POST "+p+"/{vmid}/template"] = templateGuest(kind)
		h["PUT "+p+"/{vmid}/resize"] = resizeGuest(kind)
		fw := p + "/{vmid}/firewall"
		h["GET "+fw+"/options"] = guestFW(kind, getFWOptions)
		h["PUT "+fw+"/options"] = guestFW(kind, putFWOptions)
		h["GET "+fw+"/rules"] = guestFW(kind, listRules)
		h["POST "+fw+"/rules"] = guestFW(kind, addRule)
		h["GET "+fw+"/rules/{pos}"] = guestFW(kind, getRule)
		h["PUT "+fw+"/rules/{pos}"] = guestFW(kind, updateRule)
		h["DELETE "+fw+"/rules/{pos}"] = guestFW(kind, deleteRule)
		h["GET "+fw+"/ipset"] = guestIPSets(kind, listIPSets)
		h["POST "+fw+"/ipset"] = guestIPSets(kind, createIPSet)
		h["GET "+fw+"/ipset/{name}"] = guestIPSets(kind, ipsetEntries)
		h["POST "+fw+"/ipset/{name}"] = guestIPSets(kind, ipsetAdd)
		h["DELETE "+fw+"/ipset/{name}"] = guestIPSets(kind, deleteIPSet)
		h["GET "+fw+"/ipset/{name}/{cidr}"] = guestIPSets(kind, ipsetGetEntry)
		h["PUT "+fw+"/ipset/{name}/{cidr}"] = guestIPSets(kind, ipsetUpdateEntry)
		h["DELETE "+fw+"/ipset/{name}/{cidr}"] = guestIPSets(kind, ipsetDeleteEntry)
	}
	return h
}

// routes registers the handlers with their specs and checks that handlers,
// routes.txt and specs.json agree.
func (s *Simulator) routes() error {
	sp, err := Specs()
	if err != nil {
		return err
	}
	h := s.handlers()
	listed := map[string]bool{}
	for _, r := range RouteList() {
		listed[r] = true
		fn, ok := h[r]
		if !ok {
			return fmt.Errorf("route %q in routes.txt has no handler", r)
		}
		spec, ok := sp[r]
		if !ok {
			return fmt.Errorf("route %q has no spec; run go generate", r)
		}
		method, tmpl, _ := strings.Cut(r, " ")
		if s.opts.PVEMajor == 8 && strings.HasPrefix(tmpl, "/cluster/ha/rules") {
			continue // HA rules arrived with PVE 9
		}
		s.router.add(method, tmpl, fn, spec)
	}
	for r := range h {
		if !listed[r] {
			return fmt.Errorf("handler for %q is not listed in routes.txt", r)
		}
	}
	return nil
}
