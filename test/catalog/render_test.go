package catalog

import (
	"fmt"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// catalogue indexes examples/catalog: XRD and Composition files by the XR kind they serve, and
// the XR kind behind each claim kind.
type catalogue struct {
	xrd, composition map[string]string
	claimOf          map[string]*unstructured.Unstructured // claim kind -> its XRD
}

func loadCatalogue(t *testing.T) catalogue {
	t.Helper()
	c := catalogue{xrd: map[string]string{}, composition: map[string]string{}, claimOf: map[string]*unstructured.Unstructured{}}
	defs, _ := filepath.Glob(filepath.Join(catalogDir, "definitions", "*.yaml"))
	for _, p := range defs {
		x := readObjects(t, p)[0]
		kind, _, _ := unstructured.NestedString(x.Object, "spec", "names", "kind")
		c.xrd[kind] = p
		if claim, ok, _ := unstructured.NestedString(x.Object, "spec", "claimNames", "kind"); ok {
			c.claimOf[claim] = x
		}
	}
	comps, _ := filepath.Glob(filepath.Join(catalogDir, "compositions", "*.yaml"))
	for _, p := range comps {
		kind, _, _ := unstructured.NestedString(readObjects(t, p)[0].Object, "spec", "compositeTypeRef", "kind")
		c.composition[kind] = p
	}
	if len(c.xrd) == 0 || len(c.composition) == 0 {
		t.Fatal("examples/catalog has no XRDs or Compositions")
	}
	return c
}

// asXR returns the XR file to render for an example: the file itself for an XR, or for a claim
// the cluster-scoped XR Crossplane would bind to it (crossplane render does not take claims).
func (c catalogue) asXR(t *testing.T, path string) (xrPath, kind string) {
	t.Helper()
	o := readObjects(t, path)[0]
	xrd, isClaim := c.claimOf[o.GetKind()]
	if !isClaim {
		return path, o.GetKind()
	}
	kind, _, _ = unstructured.NestedString(xrd.Object, "spec", "names", "kind")
	xr := &unstructured.Unstructured{Object: map[string]any{"spec": o.Object["spec"]}}
	xr.SetAPIVersion(o.GetAPIVersion())
	xr.SetKind(kind)
	xr.SetName(o.GetName() + "-x7k2p")
	xr.SetLabels(map[string]string{"crossplane.io/claim-name": o.GetName(), "crossplane.io/claim-namespace": o.GetNamespace()})
	_ = unstructured.SetNestedMap(xr.Object, map[string]any{
		"apiVersion": o.GetAPIVersion(), "kind": o.GetKind(), "name": o.GetName(), "namespace": o.GetNamespace(),
	}, "spec", "claimRef")
	return writeObjects(t, "xr-of-"+filepath.Base(path), xr), kind
}

// rendered is the output of one crossplane render.
type rendered struct {
	xr       *unstructured.Unstructured
	composed []*unstructured.Unstructured
	results  []*unstructured.Unstructured
	file     string // XR + composed resources, for beta validate
}

func (r rendered) ofKind(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range r.composed {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

func render(t *testing.T, cli string, c catalogue, xrPath, kind string, extra ...string) (rendered, string, error) {
	t.Helper()
	args := append([]string{"render", xrPath, c.composition[kind], functionsFile(t, functionAddress(t)),
		"--xrd=" + c.xrd[kind], "--include-function-results", "--include-full-xr"}, extra...)
	stdout, stderr, err := run(t, cli, args...)
	if err != nil {
		return rendered{}, stderr, err
	}
	objs, perr := parseObjects([]byte(stdout))
	if perr != nil || len(objs) == 0 {
		t.Fatalf("cannot parse render output (%v):\n%s", perr, stdout)
	}
	r := rendered{xr: objs[0]}
	for _, o := range objs[1:] {
		if o.GetKind() == "Result" {
			r.results = append(r.results, o)
			continue
		}
		r.composed = append(r.composed, o)
	}
	r.file = writeObjects(t, "rendered.yaml", append([]*unstructured.Unstructured{r.xr}, r.composed...)...)
	return r, stderr, nil
}

// validate runs beta validate offline against the provider's CRDs and the catalogue's XRDs.
func validate(t *testing.T, cli, resources string) (string, error) {
	t.Helper()
	ext := filepath.Join(repoRoot, "package", "crds") + "," + filepath.Join(catalogDir, "definitions")
	stdout, stderr, err := run(t, cli, "beta", "validate", ext, resources,
		"--cache-dir="+validateCache(t, cli), "--crossplane-image=xpkg.crossplane.io/crossplane/crossplane:v2.2.0",
		"--error-on-missing-schemas")
	return stdout + stderr, err
}

func TestRenderAndValidateExamples(t *testing.T) {
	cli := crossplaneCLI(t)
	c := loadCatalogue(t)
	files, _ := filepath.Glob(filepath.Join(catalogDir, "xrs", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no examples in examples/catalog/xrs")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			xrPath, kind := c.asXR(t, f)
			r, stderr, err := render(t, cli, c, xrPath, kind)
			if err != nil {
				t.Fatalf("render: %v\n%s", err, stderr)
			}
			example := readObjects(t, f)[0]
			switch kind {
			case "ValidatorSet":
				checkValidatorSet(t, example, r)
			case "Tenant":
				checkTenant(t, example, r)
			case "VPS", "XVPS":
				checkVPS(t, example, r)
			default:
				t.Fatalf("no expectations for kind %s", kind)
			}
			out, err := validate(t, cli, r.file)
			if err != nil || strings.Contains(out, "[x]") {
				t.Fatalf("beta validate of the rendered output failed (%v):\n%s", err, out)
			}
			if !strings.Contains(out, fmt.Sprintf("Total %d resources: 0 missing schemas, %d success cases, 0 failure cases", len(r.composed)+1, len(r.composed)+1)) {
				t.Errorf("unexpected validate summary:\n%s", out)
			}
		})
	}
}

func checkValidatorSet(t *testing.T, example *unstructured.Unstructured, r rendered) {
	f, _, _ := unstructured.NestedInt64(example.Object, "spec", "faultsTolerated")
	n := int(3*f + 1)
	specNodes, _, _ := unstructured.NestedSlice(example.Object, "spec", "nodes")
	rackOf := map[string]string{}
	for _, sn := range specNodes {
		m := sn.(map[string]any)
		rackOf[m["name"].(string)] = fmt.Sprint(m["datacenter"], "/", m["rack"])
	}

	vms := r.ofKind("VirtualMachine")
	if len(vms) != n {
		t.Fatalf("f=%d: %d VirtualMachines, want n=3f+1=%d", f, len(vms), n)
	}
	sgs := r.ofKind("FirewallSecurityGroup")
	if len(sgs) != 1 {
		t.Fatalf("%d FirewallSecurityGroups, want 1", len(sgs))
	}
	for _, vm := range vms {
		disks, _, _ := unstructured.NestedSlice(vm.Object, "spec", "forProvider", "disks")
		if len(disks) != 1 || disks[0].(map[string]any)["slot"] != "scsi1" || disks[0].(map[string]any)["storage"] != "ceph-rbd" {
			t.Errorf("validator %s disks %v, want its chain-state disk scsi1 on ceph-rbd", vm.GetName(), disks)
		}
	}
	perRack := map[string]int{}
	seen := map[string]bool{}
	for _, vm := range vms {
		node, _, _ := unstructured.NestedString(vm.Object, "spec", "forProvider", "node")
		if seen[node] {
			t.Errorf("two validators on node %s", node)
		}
		seen[node] = true
		rack, ok := rackOf[node]
		if !ok {
			t.Errorf("validator on %s, which spec.nodes does not list", node)
		}
		perRack[rack]++
		refs, _, _ := unstructured.NestedSlice(vm.Object, "spec", "forProvider", "firewall", "securityGroupRefs")
		if len(refs) != 1 || refs[0].(map[string]any)["name"] != sgs[0].GetName() {
			t.Errorf("%s links %v, want the set's group %s", vm.GetName(), refs, sgs[0].GetName())
		}
		if vm.GetNamespace() != example.GetNamespace() {
			t.Errorf("%s in namespace %q, want %q", vm.GetName(), vm.GetNamespace(), example.GetNamespace())
		}
	}
	// As even as the racks' sizes allow: a rack may hold more than another only if the other is full.
	capacity := map[string]int{}
	for _, rk := range rackOf {
		capacity[rk]++
	}
	for r1, c1 := range perRack {
		for r2, cap2 := range capacity {
			if perRack[r2] < cap2 && c1-perRack[r2] > 1 {
				t.Errorf("rack %s holds %d validators while %s holds %d and has room", r1, c1, r2, perRack[r2])
			}
		}
	}

	// A rack holding more than f validators is a single point of failure: the XR is warned.
	most := 0
	for _, c := range perRack {
		most = max(most, c)
	}
	warned := false
	for _, res := range r.results {
		msg, _, _ := unstructured.NestedString(res.Object, "message")
		warned = warned || strings.Contains(msg, fmt.Sprintf("one rack holds %d validators", most))
	}
	if warned != (most > int(f)) {
		t.Errorf("max %d validators per rack with f=%d, warning result given: %v (results %v)", most, f, warned, r.results)
	}

	st := r.xr.Object["status"].(map[string]any)
	if fmt.Sprint(st["validators"]) != fmt.Sprint(n) || fmt.Sprint(st["faultsTolerated"]) != fmt.Sprint(f) {
		t.Errorf("status validators=%v faultsTolerated=%v, want %d and %d", st["validators"], st["faultsTolerated"], n, f)
	}
	placement, _ := st["placement"].([]any)
	if len(placement) != n {
		t.Errorf("status.placement has %d entries, want %d", len(placement), n)
	}
	for _, p := range placement {
		node := p.(map[string]any)["node"].(string)
		if !seen[node] {
			t.Errorf("status.placement names %s, where no validator VM is", node)
		}
	}
	rules, _, _ := unstructured.NestedSlice(sgs[0].Object, "spec", "forProvider", "rules")
	p2p, _, _ := unstructured.NestedInt64(example.Object, "spec", "p2pPort")
	if p2p == 0 {
		p2p = 26656 // the XRD default
	}
	if len(rules) < 2 || rules[0].(map[string]any)["dport"] != fmt.Sprint(p2p) {
		t.Errorf("security group rules %v do not open the p2p port %d first", rules, p2p)
	}
}

func checkTenant(t *testing.T, example *unstructured.Unstructured, r rendered) {
	quota, _, _ := unstructured.NestedInt64(example.Object, "spec", "storageQuotaGiB")
	var pvePools, cephPools int
	for _, o := range r.ofKind("Pool") {
		switch o.GetAPIVersion() {
		case "proxmox.microcloud.dev/v1alpha1":
			pvePools++
		case "ceph.microcloud.dev/v1alpha1":
			cephPools++
			q, _, _ := unstructured.NestedInt64(o.Object, "spec", "forProvider", "quotaMaxBytes")
			app, _, _ := unstructured.NestedString(o.Object, "spec", "forProvider", "application")
			if q != quota<<30 || app != "rbd" {
				t.Errorf("Ceph pool quota %d application %q, want %d and rbd", q, app, quota<<30)
			}
		}
	}
	if pvePools != 1 || cephPools != 1 || len(r.ofKind("FirewallSecurityGroup")) != 1 {
		t.Errorf("tenant composed %d Proxmox pools, %d Ceph pools, want a Proxmox pool, a Ceph pool and a security group", pvePools, cephPools)
	}
	// the storage bundle: each part only when the example asks for it
	want := 3
	files, hasFiles, _ := unstructured.NestedMap(example.Object, "spec", "files")
	_, hasObjects, _ := unstructured.NestedMap(example.Object, "spec", "objects")
	client, _, _ := unstructured.NestedBool(example.Object, "spec", "cephClient")
	bundle := map[string]bool{"Subvolume": hasFiles, "ObjectStoreUser": hasObjects, "Bucket": hasObjects, "CephClient": client}
	for kind, wanted := range bundle {
		if got := len(r.ofKind(kind)); got != map[bool]int{true: 1, false: 0}[wanted] {
			t.Errorf("tenant composed %d %s, want it only with the spec field asking for it (%v)", got, kind, wanted)
		}
		if wanted {
			want++
		}
	}
	if len(r.composed) != want {
		t.Errorf("tenant composed %v, want %d resources", kinds(r.composed), want)
	}
	if sv := r.ofKind("Subvolume"); len(sv) == 1 {
		q, _, _ := unstructured.NestedInt64(sv[0].Object, "spec", "forProvider", "quotaMiB")
		if gib, _ := files["quotaGiB"].(int64); q != gib*1024 {
			t.Errorf("subvolume quotaMiB %d, want %v GiB", q, files["quotaGiB"])
		}
	}
	if cl := r.ofKind("CephClient"); len(cl) == 1 {
		grants, _, _ := unstructured.NestedSlice(cl[0].Object, "spec", "forProvider", "grants")
		if len(grants) != 1+len(r.ofKind("Subvolume")) {
			t.Errorf("CephClient grants %v, want the tenant's pool and, with files, its subvolume", grants)
		}
	}
}

func checkVPS(t *testing.T, example *unstructured.Unstructured, r rendered) {
	want := map[string][2]int64{"small": {1, 2048}, "medium": {2, 4096}, "large": {4, 8192}}
	size, _, _ := unstructured.NestedString(example.Object, "spec", "size")
	vms := r.ofKind("VirtualMachine")
	if len(vms) != 1 || len(r.ofKind("FirewallSecurityGroup")) != 1 || len(r.ofKind("RBDImage")) != 1 {
		t.Fatalf("VPS composed %v, want one VM, one security group, one RBD image", kinds(r.composed))
	}
	cores, _, _ := unstructured.NestedInt64(vms[0].Object, "spec", "forProvider", "cores")
	mem, _, _ := unstructured.NestedInt64(vms[0].Object, "spec", "forProvider", "memoryMiB")
	if [2]int64{cores, mem} != want[size] {
		t.Errorf("size %s: cores %d memoryMiB %d, want %v", size, cores, mem, want[size])
	}
	// Composed resources live in the namespace of the XR, or of the claim for a legacy XR.
	if vms[0].GetNamespace() != example.GetNamespace() || vms[0].GetName() != example.GetName() {
		t.Errorf("VM %s/%s, want %s/%s", vms[0].GetNamespace(), vms[0].GetName(), example.GetNamespace(), example.GetName())
	}
	ports, _, _ := unstructured.NestedSlice(example.Object, "spec", "openPorts")
	rules, _, _ := unstructured.NestedSlice(r.ofKind("FirewallSecurityGroup")[0].Object, "spec", "forProvider", "rules")
	if len(rules) != len(ports) {
		t.Errorf("%d firewall rules for %d open ports", len(rules), len(ports))
	}
}

func kinds(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind())
	}
	sort.Strings(out)
	return out
}

// TestValidateExampleInputs checks the example XRs and the claim against the XRDs (including
// their CEL rules): what a GitOps tool would apply.
func TestValidateExampleInputs(t *testing.T) {
	cli := crossplaneCLI(t)
	out, err := validate(t, cli, filepath.Join(catalogDir, "xrs"))
	if err != nil || strings.Contains(out, "[x]") {
		t.Fatalf("beta validate of examples/catalog/xrs failed (%v):\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(catalogDir, "xrs", "*.yaml"))
	if !strings.Contains(out, fmt.Sprintf("%d success cases, 0 failure cases", len(files))) {
		t.Errorf("unexpected summary:\n%s", out)
	}
}

func TestTooFewNodesIsRefused(t *testing.T) {
	cli := crossplaneCLI(t)
	c := loadCatalogue(t)
	bad := filepath.Join("testdata", "validatorset-too-few-nodes.yaml")

	_, stderr, err := render(t, cli, c, bad, "ValidatorSet")
	if err == nil {
		t.Fatal("render of a ValidatorSet with 3 nodes for f=1 succeeded")
	}
	const want = "spec.nodes lists 3 distinct node(s) but spec.faultsTolerated=1 needs n=3f+1=4 validators, each on its own node"
	if !strings.Contains(stderr, want) {
		t.Errorf("render error does not say %q:\n%s", want, stderr)
	}

	// The XRD's CEL rule refuses it before any function runs.
	out, err := validate(t, cli, bad)
	if err == nil || !strings.Contains(out, "spec.nodes must list at least 3*spec.faultsTolerated+1 nodes") {
		t.Errorf("beta validate did not refuse it with the XRD's rule (%v):\n%s", err, out)
	}
}

// TestValidateCatchesSchemaErrors is the negative control: a rendered VM with an impossible field
// fails validation, so a passing validation means something.
func TestValidateCatchesSchemaErrors(t *testing.T) {
	cli := crossplaneCLI(t)
	c := loadCatalogue(t)
	r, stderr, err := render(t, cli, c, filepath.Join(catalogDir, "xrs", "vps.yaml"), "VPS")
	if err != nil {
		t.Fatalf("render: %v\n%s", err, stderr)
	}
	vm := r.ofKind("VirtualMachine")[0]
	_ = unstructured.SetNestedField(vm.Object, int64(0), "spec", "forProvider", "cores")
	out, err := validate(t, cli, writeObjects(t, "broken.yaml", vm))
	if err == nil || !strings.Contains(out, "spec.forProvider.cores") {
		t.Errorf("a VM with 0 cores passed validation (%v):\n%s", err, out)
	}
}

// TestReadinessPropagates renders a ValidatorSet with its composed resources observed: the XR is
// Ready only when every one of them is, and status counts the ready validators.
func TestReadinessPropagates(t *testing.T) {
	cli := crossplaneCLI(t)
	c := loadCatalogue(t)
	xr := filepath.Join(catalogDir, "xrs", "validatorset-f1.yaml")
	first, stderr, err := render(t, cli, c, xr, "ValidatorSet")
	if err != nil {
		t.Fatalf("render: %v\n%s", err, stderr)
	}
	if cond := readyCondition(first.xr); cond == "True" {
		t.Fatalf("XR Ready before anything was observed")
	}

	// Observed VMs carry guest ids, so the function composes their HA resources and the rule
	// that keeps them apart; a second render yields those too.
	second, stderr, err := render(t, cli, c, xr, "ValidatorSet", "--observed-resources="+writeObjects(t, "observed.yaml", observe(first.composed, "")...))
	if err != nil {
		t.Fatalf("render: %v\n%s", err, stderr)
	}
	if ha, rules := len(second.ofKind("HAResource")), len(second.ofKind("HARule")); ha != 4 || rules != 1 {
		t.Fatalf("%d HAResources and %d HARules once the VMs have ids, want 4 and 1", ha, rules)
	}
	for _, notReady := range []string{"", "validator-2", "ha-1-101"} {
		t.Run("notReady="+notReady, func(t *testing.T) {
			r, stderr, err := render(t, cli, c, xr, "ValidatorSet", "--observed-resources="+writeObjects(t, "observed.yaml", observe(second.composed, notReady)...))
			if err != nil {
				t.Fatalf("render: %v\n%s", err, stderr)
			}
			wantReady, wantValidators := "True", int64(4)
			if notReady != "" {
				wantReady, wantValidators = "False", 3
			}
			if got := readyCondition(r.xr); got != wantReady {
				t.Errorf("XR Ready=%q, want %q", got, wantReady)
			}
			got, _, _ := unstructured.NestedInt64(r.xr.Object, "status", "readyValidators")
			if got != wantValidators {
				t.Errorf("status.readyValidators=%d, want %d", got, wantValidators)
			}
		})
	}
}

// observe turns rendered composed resources into observed ones: Ready except the one named
// notReady, and a validator VM validator-i with guest id 100+i.
func observe(composed []*unstructured.Unstructured, notReady string) []*unstructured.Unstructured {
	var observed []*unstructured.Unstructured
	for _, o := range composed {
		o = o.DeepCopy()
		name := o.GetAnnotations()["crossplane.io/composition-resource-name"]
		status := "True"
		if name == notReady {
			status = "False"
		}
		_ = unstructured.SetNestedSlice(o.Object, []any{map[string]any{
			"type": "Ready", "status": status, "reason": "Available", "lastTransitionTime": "2026-01-01T00:00:00Z",
		}}, "status", "conditions")
		if i, ok := strings.CutPrefix(name, "validator-"); ok && o.GetKind() == "VirtualMachine" {
			n, _ := strconv.Atoi(i)
			_ = unstructured.SetNestedField(o.Object, int64(100+n), "status", "atProvider", "vmid")
		}
		observed = append(observed, o)
	}
	return observed
}

func readyCondition(xr *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(xr.Object, "status", "conditions")
	for _, c := range conds {
		if m := c.(map[string]any); m["type"] == "Ready" {
			return fmt.Sprint(m["status"])
		}
	}
	return ""
}
