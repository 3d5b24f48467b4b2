// Package v1alpha1 holds the provider's configuration API (group microcloud.dev):
// ProviderConfig (namespaced), ClusterProviderConfig and their usage kinds.
// +kubebuilder:object:generate=true
// +groupName=microcloud.dev
// +versionName=v1alpha1
package v1alpha1
