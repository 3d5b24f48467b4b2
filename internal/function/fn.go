package function

import (
	"context"
	"fmt"

	"github.com/crossplane/function-sdk-go/logging"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composite"
	"github.com/crossplane/function-sdk-go/response"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

const (
	errObservedXR  = "cannot get the observed composite resource"
	errDesiredXR   = "cannot get the desired composite resource"
	errObserved    = "cannot get the observed composed resources"
	errDesired     = "cannot get the desired composed resources"
	errSetDesired  = "cannot set the desired composed resources"
	errSetXR       = "cannot set the desired composite resource"
	errStatus      = "cannot write the composite resource's status"
	errNoNamespace = "a cluster-scoped %s composes namespaced managed resources, so it needs the namespace of its claim (label crossplane.io/claim-namespace): create it through its claim"
)

// Kinds of composite resources the function composes.
const (
	KindValidatorSet = "ValidatorSet"
	KindTenant       = "Tenant"
	KindVPS          = "VPS"
	KindXVPS         = "XVPS" // cluster-scoped legacy XR behind the VPSClaim claim
)

const labelClaimNamespace = "crossplane.io/claim-namespace"

// Function is the platform catalogue's composition function.
type Function struct {
	fnv1.UnimplementedFunctionRunnerServiceServer

	Log logging.Logger
}

// RunFunction composes the managed resources of the observed XR by its kind.
func (f *Function) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rsp := response.To(req, response.DefaultTTL)

	oxr, err := request.GetObservedCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, errObservedXR))
		return rsp, nil
	}
	dxr, err := request.GetDesiredCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, errDesiredXR))
		return rsp, nil
	}
	observed, err := request.GetObservedComposedResources(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, errObserved))
		return rsp, nil
	}
	d, err := request.GetDesiredComposedResources(req)
	if err != nil {
		response.Fatal(rsp, errors.Wrap(err, errDesired))
		return rsp, nil
	}

	xr := oxr.Resource
	kind := xr.GetKind()
	ns := xr.GetNamespace()
	if ns == "" {
		ns = xr.GetLabels()[labelClaimNamespace]
	}
	if ns == "" {
		response.Fatal(rsp, fmt.Errorf(errNoNamespace, kind))
		return rsp, nil
	}
	name := xr.GetName()
	if c := xr.GetLabels()["crossplane.io/claim-name"]; c != "" {
		// Composed names follow the claim a user knows, not the generated XR name.
		name = c
	}
	if f.Log != nil {
		f.Log.Debug("composing", "kind", kind, "namespace", ns, "name", name)
	}

	ours := desired{}
	var status map[string]any
	switch kind {
	case KindValidatorSet:
		status, err = runValidatorSet(rsp, xr, ns, name, observed, ours)
	case KindTenant:
		status, err = runTenant(xr, ns, name, observed, ours)
	case KindVPS, KindXVPS:
		status, err = runVPS(xr, ns, name, observed, ours)
	default:
		err = fmt.Errorf("function-microcloud composes ValidatorSet, Tenant, VPS and XVPS, not %s", kind)
	}
	if err != nil {
		response.Fatal(rsp, err)
		return rsp, nil
	}

	for k, v := range ours {
		d[k] = v
	}
	if err := response.SetDesiredComposedResources(rsp, d); err != nil {
		response.Fatal(rsp, errors.Wrap(err, errSetDesired))
		return rsp, nil
	}
	if err := setStatus(dxr, status); err != nil {
		response.Fatal(rsp, errors.Wrap(err, errStatus))
		return rsp, nil
	}
	if err := response.SetDesiredCompositeResource(rsp, dxr); err != nil {
		response.Fatal(rsp, errors.Wrap(err, errSetXR))
		return rsp, nil
	}
	return rsp, nil
}

func setStatus(dxr *resource.Composite, status map[string]any) error {
	for k, v := range status {
		if err := dxr.Resource.SetValue("status."+k, v); err != nil {
			return err
		}
	}
	return nil
}

func runValidatorSet(rsp *fnv1.RunFunctionResponse, xr *composite.Unstructured, ns, name string, observed map[resource.Name]resource.ObservedComposed, d desired) (map[string]any, error) {
	var s ValidatorSetSpec
	if err := readSpec(xr, &s); err != nil {
		return nil, err
	}
	vmids := map[int]int{}
	for i := range ValidatorCount(max(s.FaultsTolerated, 1)) {
		if id := observedInt(observed, validatorName(i), "status.atProvider.vmid"); id > 0 {
			vmids[i] = id
		}
	}
	res, err := composeValidatorSet(ns, name, s, vmids, d)
	if err != nil {
		return nil, err
	}
	if res.Warning != "" {
		response.Warning(rsp, errors.New(res.Warning)).TargetCompositeAndClaim()
	}
	propagateReady(observed, d)
	placement := make([]any, 0, len(res.Placement))
	ready := 0
	for _, p := range res.Placement {
		e := map[string]any{"validator": int64(p.Validator), "node": p.Node}
		if p.Rack != "" {
			e["rack"] = p.Rack
		}
		if p.Datacenter != "" {
			e["datacenter"] = p.Datacenter
		}
		r := isReady(d, validatorName(p.Validator))
		if id, ok := vmids[p.Validator]; ok {
			e["vmid"] = int64(id)
			if oc, ok := observed[validatorName(p.Validator)]; ok && oc.Resource != nil {
				// The node the guest is on now: HA may have relocated it.
				if n, err := oc.Resource.GetString("status.atProvider.node"); err == nil && n != "" {
					e["node"] = n
				}
				if v, err := oc.Resource.GetString("status.atProvider.disks." + chainSlot); err == nil && v != "" {
					e["chainDisk"] = v
				}
			}
			if s.haEnabled() {
				r = r && isReady(d, haName(p.Validator, id))
				if oc, ok := observed[haName(p.Validator, id)]; ok && oc.Resource != nil {
					if st, err := oc.Resource.GetString("status.atProvider.state"); err == nil {
						e["haState"] = st
					}
				}
			}
		} else {
			r = false
		}
		if r {
			ready++
		}
		e["ready"] = r
		placement = append(placement, e)
	}
	return map[string]any{
		"validators":      int64(len(res.Placement)),
		"faultsTolerated": int64(s.FaultsTolerated),
		"readyValidators": int64(ready),
		"maxPerRack":      int64(MaxPerDomain(res.Placement)),
		"placement":       placement,
		"securityGroup":   securityGroupName(ns, name, "validators"),
	}, nil
}

// observedInt reads an integer field of an observed composed resource (0 when absent).
func observedInt(observed map[resource.Name]resource.ObservedComposed, name resource.Name, path string) int {
	oc, ok := observed[name]
	if !ok || oc.Resource == nil {
		return 0
	}
	v, err := oc.Resource.GetInteger(path)
	if err != nil {
		return 0
	}
	return int(v)
}

func runTenant(xr *composite.Unstructured, ns, name string, observed map[resource.Name]resource.ObservedComposed, d desired) (map[string]any, error) {
	var s TenantSpec
	if err := readSpec(xr, &s); err != nil {
		return nil, err
	}
	res, err := composeTenant(ns, name, s, d)
	if err != nil {
		return nil, err
	}
	ready := propagateReady(observed, d)
	st := map[string]any{
		"proxmoxPool": res.ProxmoxPool, "cephPool": res.CephPool, "securityGroup": res.SecurityGroup,
		"readyResources": int64(ready), "resources": int64(len(d)),
	}
	for k, v := range map[string]string{"subvolume": res.Storage.Subvolume, "objectStoreUser": res.Storage.ObjectStoreUser,
		"bucket": res.Storage.Bucket, "cephClient": res.Storage.CephClient} {
		if v != "" {
			st[k] = v
		}
	}
	return st, nil
}

func runVPS(xr *composite.Unstructured, ns, name string, observed map[resource.Name]resource.ObservedComposed, d desired) (map[string]any, error) {
	var s VPSSpec
	if err := readSpec(xr, &s); err != nil {
		return nil, err
	}
	res, err := composeVPS(ns, name, s, d)
	if err != nil {
		return nil, err
	}
	ready := propagateReady(observed, d)
	st := map[string]any{
		"cores": res.Size.Cores, "memoryMiB": res.Size.MemoryMiB, "securityGroup": res.SecurityGroup,
		"dataImage": res.DataImage, "node": s.Node, "readyResources": int64(ready), "resources": int64(len(d)),
	}
	// The VM's addresses, once the guest agent reports them.
	if oc, ok := observed[vpsVM]; ok && oc.Resource != nil {
		if ips, err := oc.Resource.GetStringArray("status.atProvider.ipAddresses"); err == nil && len(ips) > 0 {
			v := make([]any, len(ips))
			for i := range ips {
				v[i] = ips[i]
			}
			st["ipAddresses"] = v
		}
	}
	return st, nil
}
