// Package apis holds the provider's API groups and the code generation that
// derives deepcopy methods, CRDs, managed-resource method sets and reference
// resolvers from their markers. Nothing generated is edited by hand.
package apis

// Remove stale generated files first so a removed type leaves nothing behind.
//go:generate rm -rf ../package/crds
//go:generate find . -name zz_generated.*.go ! -name zz_generated.deepcopy.go -delete
//go:generate go tool controller-gen object:headerFile=../hack/boilerplate.go.txt paths=./...
//go:generate go tool controller-gen crd:crdVersions=v1 paths=./... output:artifacts:config=../package/crds
//go:generate go tool -modfile=../cluster/tools/angryjet/go.mod angryjet generate-methodsets --header-file=../hack/boilerplate.go.txt ./...
