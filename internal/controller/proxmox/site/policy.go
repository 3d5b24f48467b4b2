package site

import (
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
)

// ObserveOnly tells whether a resource's management policies only observe:
// such a resource may import a backend object it did not create.
func ObserveOnly(mg interface {
	GetManagementPolicies() xpv2.ManagementPolicies
}) bool {
	p := mg.GetManagementPolicies()
	return len(p) == 1 && p[0] == xpv2.ManagementActionObserve
}

// NameOf is the backend name of a kind keyed by name: the external name once
// set, else metadata.name; known says the external name was set.
func NameOf(mg resource.Managed) (string, bool) {
	if en := meta.GetExternalName(mg); en != "" {
		return en, true
	}
	return mg.GetName(), false
}

// TakeFound is called when a backend object exists under name n but the
// resource has not recorded it as its external name. It is ours only when our
// create was cut short before the name was saved, or taken on purpose when
// the resource only observes (an import): then the external name is set and
// TakeFound says so (the resource was late-initialised). Anything else was
// made outside this resource and is refused with notOurs, formatted with n
// twice (the object, and the annotation value that would manage it).
func TakeFound(mg resource.Managed, n, notOurs string) (bool, error) {
	if !meta.ExternalCreateIncomplete(mg) && !ObserveOnly(mg) {
		return false, errors.Errorf(notOurs, n, n)
	}
	meta.SetExternalName(mg, n)
	return true, nil
}
