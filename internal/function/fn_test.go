package function

import (
	"context"
	"fmt"
	"strings"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/structpb"
)

const validatorSetXR = `{
  "apiVersion": "platform.microcloud.dev/v1alpha1", "kind": "ValidatorSet",
  "metadata": {"name": "chain", "namespace": "team-a"},
  "spec": {
    "faultsTolerated": %d,
    "nodes": %s,
    "template": {"sourceVMID": 9000},
    "chainStorage": {"sizeGiB": 50},
    "p2pPort": 26656, "rpcPort": 26657, "rpcAllowedCIDRs": ["10.0.0.0/8", "192.168.1.0/24"]
  }
}`

func newRequest(xr string, observed map[string]string) *fnv1.RunFunctionRequest {
	req := &fnv1.RunFunctionRequest{Observed: &fnv1.State{
		Composite: &fnv1.Resource{Resource: resource.MustStructJSON(xr)},
		Resources: map[string]*fnv1.Resource{},
	}}
	for name, o := range observed {
		req.Observed.Resources[name] = &fnv1.Resource{Resource: resource.MustStructJSON(o)}
	}
	return req
}

func run(t *testing.T, req *fnv1.RunFunctionRequest) *fnv1.RunFunctionResponse {
	t.Helper()
	rsp, err := (&Function{}).RunFunction(context.Background(), req)
	require.NoError(t, err)
	return rsp
}

func fatal(rsp *fnv1.RunFunctionResponse) string {
	for _, r := range rsp.GetResults() {
		if r.GetSeverity() == fnv1.Severity_SEVERITY_FATAL {
			return r.GetMessage()
		}
	}
	return ""
}

func field(t *testing.T, s *structpb.Struct, path string) any {
	t.Helper()
	var v any = s.AsMap()
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		require.True(t, ok, "%s: %s is not an object", path, p)
		v = m[p]
	}
	return v
}

func fourNodes() string {
	return `[{"name":"pve1","rack":"r1"},{"name":"pve2","rack":"r1"},{"name":"pve3","rack":"r2"},{"name":"pve4","rack":"r2"},{"name":"pve5","rack":"r3"}]`
}

func TestValidatorSetComposes3fPlus1(t *testing.T) {
	for _, f := range []int{1, 2} {
		t.Run(fmt.Sprintf("f=%d", f), func(t *testing.T) {
			var ns []string
			for i := 1; i <= 3*f+2; i++ {
				ns = append(ns, fmt.Sprintf(`{"name":"pve%d","rack":"r%d"}`, i, i%3))
			}
			rsp := run(t, newRequest(fmt.Sprintf(validatorSetXR, f, "["+strings.Join(ns, ",")+"]"), nil))
			require.Empty(t, fatal(rsp))
			n := 3*f + 1
			res := rsp.GetDesired().GetResources()
			assert.Len(t, res, n+1, "n VMs and one security group; no HA resource before the VMs have ids")

			seen := map[string]bool{}
			for i := 0; i < n; i++ {
				vm := res[fmt.Sprintf("validator-%d", i)].GetResource()
				require.NotNil(t, vm, "validator-%d", i)
				assert.Equal(t, "VirtualMachine", field(t, vm, "kind"))
				assert.Equal(t, "team-a", field(t, vm, "metadata.namespace"))
				node := field(t, vm, "spec.forProvider.node").(string)
				assert.False(t, seen[node], "two validators on %s", node)
				seen[node] = true
				assert.Equal(t, 9000.0, field(t, vm, "spec.forProvider.clone.sourceVMID"))
				refs := field(t, vm, "spec.forProvider.firewall.securityGroupRefs").([]any)
				assert.Equal(t, securityGroupName("team-a", "chain", "validators"), refs[0].(map[string]any)["name"])

				disks := field(t, vm, "spec.forProvider.disks").([]any)
				require.Len(t, disks, 1)
				assert.Equal(t, map[string]any{"slot": "scsi1", "storage": "ceph-rbd", "sizeGiB": 50.0}, disks[0], "the chain-state disk")
			}
			st := rsp.GetDesired().GetComposite().GetResource()
			assert.Equal(t, float64(n), field(t, st, "status.validators"))
			assert.Equal(t, float64(f), field(t, st, "status.faultsTolerated"))
			assert.Len(t, field(t, st, "status.placement"), n)
		})
	}
}

func TestValidatorSetFirewall(t *testing.T) {
	rsp := run(t, newRequest(fmt.Sprintf(validatorSetXR, 1, fourNodes()), nil))
	sg := rsp.GetDesired().GetResources()["firewall"].GetResource()
	require.NotNil(t, sg)
	assert.Equal(t, "FirewallSecurityGroup", field(t, sg, "kind"))
	rules := field(t, sg, "spec.forProvider.rules").([]any)
	require.Len(t, rules, 3)
	p2p, rpc, drop := rules[0].(map[string]any), rules[1].(map[string]any), rules[2].(map[string]any)
	assert.Equal(t, "26656", p2p["dport"])
	assert.Nil(t, p2p["source"], "p2p is open to all peers")
	assert.Equal(t, "26657", rpc["dport"])
	assert.Equal(t, "10.0.0.0/8,192.168.1.0/24", rpc["source"])
	assert.Equal(t, "DROP", drop["action"])
	assert.Equal(t, "26657", drop["dport"])
}

func TestValidatorSetRefusals(t *testing.T) {
	cases := map[string]struct {
		xr   string
		want string
	}{
		"TooFewNodes": {xr: fmt.Sprintf(validatorSetXR, 1, `[{"name":"pve1"},{"name":"pve2"},{"name":"pve3"}]`),
			want: "spec.nodes lists 3 distinct node(s) but spec.faultsTolerated=1 needs n=3f+1=4 validators"},
		"TooFewForF2": {xr: fmt.Sprintf(validatorSetXR, 2, fourNodes()), want: "needs n=3f+1=7"},
		"ZeroFaults":  {xr: fmt.Sprintf(validatorSetXR, 0, fourNodes()), want: "spec.faultsTolerated must be at least 1"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rsp := run(t, newRequest(tc.xr, nil))
			assert.Contains(t, fatal(rsp), tc.want)
			assert.Empty(t, rsp.GetDesired().GetResources(), "a refused XR composes nothing")
		})
	}
}

func TestValidatorSetRackWarning(t *testing.T) {
	oneRack := `[{"name":"a","rack":"r1"},{"name":"b","rack":"r1"},{"name":"c","rack":"r1"},{"name":"d","rack":"r2"}]`
	rsp := run(t, newRequest(fmt.Sprintf(validatorSetXR, 1, oneRack), nil))
	require.Empty(t, fatal(rsp))
	var warned bool
	for _, r := range rsp.GetResults() {
		warned = warned || (r.GetSeverity() == fnv1.Severity_SEVERITY_WARNING && strings.Contains(r.GetMessage(), "one rack holds 3 validators"))
	}
	assert.True(t, warned, "results: %v", rsp.GetResults())

	fourRacks := `[{"name":"a","rack":"r1"},{"name":"b","rack":"r2"},{"name":"c","rack":"r3"},{"name":"d","rack":"r4"},{"name":"e","rack":"r1"}]`
	rsp = run(t, newRequest(fmt.Sprintf(validatorSetXR, 1, fourRacks), nil))
	assert.Empty(t, rsp.GetResults(), "one validator per rack survives a rack failure")

	noRacks := `[{"name":"a"},{"name":"b"},{"name":"c"},{"name":"d"}]`
	rsp = run(t, newRequest(fmt.Sprintf(validatorSetXR, 1, noRacks), nil))
	assert.Empty(t, rsp.GetResults(), "without rack labels there is nothing to warn about")
}

func readyObj(kind string, ready bool) string {
	st := "False"
	if ready {
		st = "True"
	}
	return fmt.Sprintf(`{"apiVersion":"x/v1","kind":%q,"metadata":{"name":"o"},"status":{"conditions":[{"type":"Ready","status":%q,"reason":"r","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}`, kind, st)
}

// vmObj is an observed validator VM with its guest id, node, chain disk and readiness.
func vmObj(vmid int, node string, ready bool) string {
	st := "False"
	if ready {
		st = "True"
	}
	return fmt.Sprintf(`{"apiVersion":"proxmox.microcloud.dev/v1alpha1","kind":"VirtualMachine","metadata":{"name":"o"},
	  "status":{"atProvider":{"vmid":%d,"node":%q,"disks":{"scsi1":"ceph-rbd:vm-%d-disk-1"}},
	  "conditions":[{"type":"Ready","status":%q,"reason":"r","lastTransitionTime":"2026-01-01T00:00:00Z"}]}}`, vmid, node, vmid, st)
}

func haObj(state string, ready bool) string {
	o := readyObj("HAResource", ready)
	return strings.Replace(o, `"status":{`, fmt.Sprintf(`"status":{"atProvider":{"state":%q},`, state), 1)
}

func TestReadinessPropagation(t *testing.T) {
	observed := map[string]string{
		"firewall":    readyObj("FirewallSecurityGroup", true),
		"validator-0": vmObj(101, "pve1", true),
		"ha-0-101":    haObj("started", true),
		"validator-1": vmObj(102, "pve3", false),
		"validator-2": vmObj(103, "pve4", true),
		// validator-2's HA resource and validator-3 are not observed yet
	}
	rsp := run(t, newRequest(fmt.Sprintf(validatorSetXR, 1, fourNodes()), observed))
	res := rsp.GetDesired().GetResources()
	want := map[string]fnv1.Ready{
		"firewall": fnv1.Ready_READY_TRUE, "validator-0": fnv1.Ready_READY_TRUE, "ha-0-101": fnv1.Ready_READY_TRUE,
		"validator-1": fnv1.Ready_READY_FALSE, "ha-1-102": fnv1.Ready_READY_FALSE,
		"validator-2": fnv1.Ready_READY_TRUE, "ha-2-103": fnv1.Ready_READY_FALSE, "validator-3": fnv1.Ready_READY_FALSE,
	}
	for name, r := range want {
		require.NotNil(t, res[name], name)
		assert.Equal(t, r, res[name].GetReady(), name)
	}
	// validator-3 has no guest yet: no HA resource for it, and no rule until every validator has one.
	assert.Len(t, res, 8)
	ha := res["ha-0-101"].GetResource()
	assert.Equal(t, "vm:101", field(t, ha, "spec.forProvider.sid"))
	assert.Equal(t, "started", field(t, ha, "spec.forProvider.state"))

	st := rsp.GetDesired().GetComposite().GetResource()
	assert.Equal(t, 1.0, field(t, st, "status.readyValidators"), "validator-2's VM is Ready, its HA resource not yet")
	pl := field(t, st, "status.placement").([]any)
	p0 := pl[0].(map[string]any)
	assert.Equal(t, true, p0["ready"])
	assert.Equal(t, "started", p0["haState"])
	assert.Equal(t, "ceph-rbd:vm-101-disk-1", p0["chainDisk"])
	assert.Equal(t, 101.0, p0["vmid"])
	assert.Equal(t, false, pl[1].(map[string]any)["ready"])
	assert.Equal(t, "pve3", pl[1].(map[string]any)["node"])
}

// Once every validator has a guest, one negative resource-affinity rule names all their HA
// resources; a validator recreated under another id gets an HA resource named after the new id.
func TestValidatorSetHA(t *testing.T) {
	observed := map[string]string{}
	for i := range 4 {
		observed[fmt.Sprintf("validator-%d", i)] = vmObj(200+i, fmt.Sprintf("pve%d", i+1), true)
	}
	rsp := run(t, newRequest(fmt.Sprintf(validatorSetXR, 1, fourNodes()), observed))
	res := rsp.GetDesired().GetResources()
	rule := res["ha-apart"].GetResource()
	require.NotNil(t, rule)
	assert.Equal(t, "HARule", field(t, rule, "kind"))
	assert.Equal(t, "resource-affinity", field(t, rule, "spec.forProvider.type"))
	assert.Equal(t, "negative", field(t, rule, "spec.forProvider.affinity"))
	refs := field(t, rule, "spec.forProvider.resourceRefs").([]any)
	require.Len(t, refs, 4)
	assert.Equal(t, "chain-validator-0-ha-200", refs[0].(map[string]any)["name"])

	observed["validator-0"] = vmObj(250, "pve1", true)
	res = run(t, newRequest(fmt.Sprintf(validatorSetXR, 1, fourNodes()), observed)).GetDesired().GetResources()
	assert.Nil(t, res["ha-0-200"], "the HA resource of the old guest is no longer desired")
	require.NotNil(t, res["ha-0-250"])
	assert.Equal(t, "vm:250", field(t, res["ha-0-250"].GetResource(), "spec.forProvider.sid"))

	// ha.enabled false: no HA resources, no rule (a PVE 8 site has no HA rules).
	off := strings.Replace(fmt.Sprintf(validatorSetXR, 1, fourNodes()), `"p2pPort"`, `"ha": {"enabled": false}, "p2pPort"`, 1)
	res = run(t, newRequest(off, observed)).GetDesired().GetResources()
	assert.Len(t, res, 5, "4 VMs and the security group")
}

const tenantXR = `{"apiVersion":"platform.microcloud.dev/v1alpha1","kind":"Tenant",
  "metadata":{"name":"acme","namespace":"team-a"},
  "spec":{"storageQuotaGiB":500,"adminCIDRs":["10.1.0.0/16"]}}`

func TestTenant(t *testing.T) {
	rsp := run(t, newRequest(tenantXR, map[string]string{"ceph-pool": readyObj("Pool", true)}))
	require.Empty(t, fatal(rsp))
	res := rsp.GetDesired().GetResources()
	require.Len(t, res, 3)

	pvePool := res["proxmox-pool"].GetResource()
	assert.Equal(t, "proxmox.microcloud.dev/v1alpha1", field(t, pvePool, "apiVersion"))
	assert.Equal(t, "Pool", field(t, pvePool, "kind"))
	assert.Equal(t, "team-a-acme", field(t, pvePool, "metadata.name"))

	ceph := res["ceph-pool"].GetResource()
	assert.Equal(t, "ceph.microcloud.dev/v1alpha1", field(t, ceph, "apiVersion"))
	assert.Equal(t, "rbd", field(t, ceph, "spec.forProvider.application"))
	assert.Equal(t, float64(500*giB), field(t, ceph, "spec.forProvider.quotaMaxBytes"))
	assert.Equal(t, 3.0, field(t, ceph, "spec.forProvider.size"))
	assert.Equal(t, 2.0, field(t, ceph, "spec.forProvider.minSize"))
	assert.Equal(t, fnv1.Ready_READY_TRUE, res["ceph-pool"].GetReady())
	assert.Equal(t, fnv1.Ready_READY_FALSE, res["proxmox-pool"].GetReady())

	rules := field(t, res["baseline-firewall"].GetResource(), "spec.forProvider.rules").([]any)
	require.Len(t, rules, 2)
	assert.Equal(t, "SSH", rules[1].(map[string]any)["macro"])
	assert.Equal(t, "10.1.0.0/16", rules[1].(map[string]any)["source"])

	st := rsp.GetDesired().GetComposite().GetResource()
	assert.Equal(t, 1.0, field(t, st, "status.readyResources"))
}

const tenantStorageXR = `{"apiVersion":"platform.microcloud.dev/v1alpha1","kind":"Tenant",
  "metadata":{"name":"acme","namespace":"team-a"},
  "spec":{"storageQuotaGiB":500,%s}}`

// The storage bundle: each part only when its field is set; the cephx client limited to the
// tenant's own pool and, with files, its own subvolume.
func TestTenantStorage(t *testing.T) {
	rsp := run(t, newRequest(fmt.Sprintf(tenantStorageXR, `"files":{"filesystem":"labfs","quotaGiB":10},"objects":{"quotaGiB":5},"cephClient":true`), nil))
	require.Empty(t, fatal(rsp))
	res := rsp.GetDesired().GetResources()
	require.Len(t, res, 7)

	sv := res["subvolume"].GetResource()
	assert.Equal(t, "Subvolume", field(t, sv, "kind"))
	assert.Equal(t, "team-a-acme", field(t, sv, "metadata.name"))
	assert.Equal(t, "team-a", field(t, sv, "metadata.namespace"))
	assert.Equal(t, "labfs", field(t, sv, "spec.forProvider.filesystem"))
	assert.Equal(t, 10240.0, field(t, sv, "spec.forProvider.quotaMiB"))
	assert.Equal(t, true, field(t, sv, "spec.forProvider.namespaceIsolated"))
	assert.Equal(t, "acme-cephfs", field(t, sv, "spec.writeConnectionSecretToRef.name"))

	user := res["object-store-user"].GetResource()
	assert.Equal(t, "ObjectStoreUser", field(t, user, "kind"))
	assert.Equal(t, 5120.0, field(t, user, "spec.forProvider.quota.maxSizeMiB"))
	assert.Equal(t, "acme-s3", field(t, user, "spec.writeConnectionSecretToRef.name"))
	b := res["bucket"].GetResource()
	assert.Equal(t, "team-a-acme", field(t, b, "metadata.name"))
	assert.Equal(t, "team-a-acme", field(t, b, "spec.forProvider.ownerRef.name"))

	cl := res["ceph-client"].GetResource()
	assert.Equal(t, "CephClient", field(t, cl, "kind"))
	assert.Equal(t, "acme-cephx", field(t, cl, "spec.writeConnectionSecretToRef.name"))
	grants := field(t, cl, "spec.forProvider.grants").([]any)
	require.Len(t, grants, 2)
	assert.Equal(t, map[string]any{"poolRef": map[string]any{"name": "team-a-acme"}, "profile": "rbd"}, grants[0])
	assert.Equal(t, map[string]any{"subvolumeRef": map[string]any{"name": "team-a-acme"}}, grants[1])

	st := rsp.GetDesired().GetComposite().GetResource()
	for _, k := range []string{"subvolume", "objectStoreUser", "bucket", "cephClient"} {
		assert.Equal(t, "team-a-acme", field(t, st, "status."+k), k)
	}

	// a client without files: its own pool only; no bundle fields, no bundle
	rsp = run(t, newRequest(fmt.Sprintf(tenantStorageXR, `"cephClient":true`), nil))
	res = rsp.GetDesired().GetResources()
	require.Len(t, res, 4)
	grants = field(t, res["ceph-client"].GetResource(), "spec.forProvider.grants").([]any)
	require.Len(t, grants, 1)
	assert.Equal(t, "team-a-acme", grants[0].(map[string]any)["poolRef"].(map[string]any)["name"])
	assert.Len(t, run(t, newRequest(fmt.Sprintf(tenantStorageXR, `"description":"none"`), nil)).GetDesired().GetResources(), 3)

	// a files field without a quota is refused
	rsp = run(t, newRequest(fmt.Sprintf(tenantStorageXR, `"files":{"filesystem":"labfs"}`), nil))
	assert.Contains(t, fatal(rsp), "spec.files needs a filesystem and a quotaGiB of at least 1")
}

func TestBucketName(t *testing.T) {
	assert.Equal(t, "team-a-acme", bucketName("team-a-acme"))
	long := bucketName(strings.Repeat("n", 40) + "-" + strings.Repeat("x", 40))
	assert.LessOrEqual(t, len(long), 63)
	assert.NotEqual(t, long, bucketName(strings.Repeat("n", 40)+"-"+strings.Repeat("x", 41)))
}

const vpsXR = `{"apiVersion":"platform.microcloud.dev/v1alpha1","kind":"VPS",
  "metadata":{"name":"web","namespace":"team-a"},
  "spec":{"size":%q,"node":"pve2","template":{"sourceVMID":9001},
    "openPorts":[{"port":443},{"port":53,"protocol":"udp","sourceCIDR":"10.0.0.0/8"}],
    "dataVolume":{"pool":"team-a-acme","sizeGiB":40}}}`

func TestVPSSizes(t *testing.T) {
	cases := map[string]struct {
		cores, mem float64
		err        string
	}{
		"small": {1, 2048, ""}, "medium": {2, 4096, ""}, "large": {4, 8192, ""},
		"huge": {err: `spec.size must be small, medium or large, got "huge"`},
	}
	for size, tc := range cases {
		t.Run(size, func(t *testing.T) {
			rsp := run(t, newRequest(fmt.Sprintf(vpsXR, size), nil))
			if tc.err != "" {
				assert.Contains(t, fatal(rsp), tc.err)
				return
			}
			require.Empty(t, fatal(rsp))
			res := rsp.GetDesired().GetResources()
			require.Len(t, res, 3)
			vm := res["vm"].GetResource()
			assert.Equal(t, tc.cores, field(t, vm, "spec.forProvider.cores"))
			assert.Equal(t, tc.mem, field(t, vm, "spec.forProvider.memoryMiB"))
			assert.Equal(t, "pve2", field(t, vm, "spec.forProvider.node"))
			rules := field(t, res["firewall"].GetResource(), "spec.forProvider.rules").([]any)
			require.Len(t, rules, 2)
			assert.Equal(t, "tcp", rules[0].(map[string]any)["proto"])
			assert.Equal(t, "443", rules[0].(map[string]any)["dport"])
			assert.Equal(t, "udp", rules[1].(map[string]any)["proto"])
			assert.Equal(t, "10.0.0.0/8", rules[1].(map[string]any)["source"])
			assert.Equal(t, 40.0*1024, field(t, res["data"].GetResource(), "spec.forProvider.sizeMiB"))
		})
	}
}

func TestLegacyXVPSUsesClaimNamespace(t *testing.T) {
	xr := strings.Replace(fmt.Sprintf(vpsXR, "small"), `"kind":"VPS"`, `"kind":"XVPS"`, 1)
	xr = strings.Replace(xr, `"metadata":{"name":"web","namespace":"team-a"}`,
		`"metadata":{"name":"web-x7k2p","labels":{"crossplane.io/claim-namespace":"team-b","crossplane.io/claim-name":"web"}}`, 1)
	rsp := run(t, newRequest(xr, nil))
	require.Empty(t, fatal(rsp))
	vm := rsp.GetDesired().GetResources()["vm"].GetResource()
	assert.Equal(t, "team-b", field(t, vm, "metadata.namespace"))
	assert.Equal(t, "web", field(t, vm, "metadata.name"))

	noClaim := strings.Replace(xr, `"crossplane.io/claim-namespace":"team-b",`, "", 1)
	assert.Contains(t, fatal(run(t, newRequest(noClaim, nil))), "needs the namespace of its claim")
}

func TestUnknownKind(t *testing.T) {
	rsp := run(t, newRequest(`{"apiVersion":"x/v1","kind":"Other","metadata":{"name":"a","namespace":"b"},"spec":{}}`, nil))
	assert.Contains(t, fatal(rsp), "not Other")
}
