package v1alpha1

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	kerrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// A rule's sourceRef and destRef can name either of two kinds, which the
// generated single-kind resolvers cannot express; these resolvers are
// written by hand and called by the managed reconciler like generated ones.

// resolveAddress returns the rule term a reference stands for: the alias's
// Proxmox name, or +name for an IP set. A referenced resource that is not
// Ready (not yet made in Proxmox, or failing) is an error, so the rule
// waits for it.
func resolveAddress(ctx context.Context, c client.Reader, ns string, ref *FirewallAddressReference) (string, error) {
	key := types.NamespacedName{Namespace: ns, Name: ref.Name}
	var (
		obj    client.Object
		status func() xpv2.Condition
		prefix string
	)
	// The conditions are read through the status types, not the generated
	// methods, so that this file compiles while code generation runs.
	switch ref.Kind {
	case FirewallAliasKind:
		a := &FirewallAlias{}
		obj, status = a, func() xpv2.Condition { return a.Status.GetCondition(xpv2.TypeReady) }
	case FirewallIPSetKind:
		s := &FirewallIPSet{}
		obj, status, prefix = s, func() xpv2.Condition { return s.Status.GetCondition(xpv2.TypeReady) }, "+"
	default:
		return "", fmt.Errorf("kind %q is neither FirewallAlias nor FirewallIPSet", ref.Kind)
	}
	if err := c.Get(ctx, key, obj); err != nil {
		if kerrors.IsNotFound(err) {
			return "", fmt.Errorf("%s %s/%s does not exist", ref.Kind, ns, ref.Name)
		}
		return "", err
	}
	n := meta.GetExternalName(obj)
	if n == "" || status().Status != corev1.ConditionTrue {
		return "", fmt.Errorf("%s %s/%s is not Ready yet", ref.Kind, ns, ref.Name)
	}
	return prefix + n, nil
}

// resolveRules fills source and dest of the rules from their references.
func resolveRules(ctx context.Context, c client.Reader, ns, field string, rules []FirewallRule) error {
	for i := range rules {
		r := &rules[i]
		for _, x := range []struct {
			ref  *FirewallAddressReference
			into **string
			name string
		}{{r.SourceRef, &r.Source, "sourceRef"}, {r.DestRef, &r.Dest, "destRef"}} {
			if x.ref == nil {
				continue
			}
			v, err := resolveAddress(ctx, c, ns, x.ref)
			if err != nil {
				return fmt.Errorf("%s[%d].%s: %w", field, i, x.name, err)
			}
			*x.into = &v
		}
	}
	return nil
}

// ResolveReferences fills the rules' source and dest from sourceRef and destRef.
func (mg *FirewallSecurityGroup) ResolveReferences(ctx context.Context, c client.Reader) error {
	return resolveRules(ctx, c, mg.GetNamespace(), "spec.forProvider.rules", mg.Spec.ForProvider.Rules)
}

// ResolveReferences fills the rules' source and dest from sourceRef and destRef.
func (mg *ClusterFirewall) ResolveReferences(ctx context.Context, c client.Reader) error {
	if mg.Spec.ForProvider.Rules == nil {
		return nil
	}
	return resolveRules(ctx, c, mg.GetNamespace(), "spec.forProvider.rules", *mg.Spec.ForProvider.Rules)
}

// ResolveReferences fills the rules' source and dest from sourceRef and destRef.
func (mg *NodeFirewall) ResolveReferences(ctx context.Context, c client.Reader) error {
	if mg.Spec.ForProvider.Rules == nil {
		return nil
	}
	return resolveRules(ctx, c, mg.GetNamespace(), "spec.forProvider.rules", *mg.Spec.ForProvider.Rules)
}
