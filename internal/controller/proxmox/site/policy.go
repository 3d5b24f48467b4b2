package site

import (
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
