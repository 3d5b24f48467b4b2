// Package v1alpha1 holds the Ceph managed resources of provider-microcloud (group
// ceph.microcloud.dev): Pool, ErasureCodeProfile, CrushRule, CrushBucket, RBDImage, SubvolumeGroup
// and Subvolume.
// +kubebuilder:object:generate=true
// +groupName=ceph.microcloud.dev
// +versionName=v1alpha1
package v1alpha1
