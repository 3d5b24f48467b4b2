package v1alpha1

import (
	"reflect"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

// Package type metadata.
const (
	Group   = "ceph.microcloud.dev"
	Version = "v1alpha1"
)

var (
	// SchemeGroupVersion is the group version used to register these objects.
	SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: Version}

	// SchemeBuilder registers the types of this group with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: SchemeGroupVersion}
)

// Kind names and GroupVersionKinds of the Ceph managed resources.
var (
	PoolKind                           = reflect.TypeOf(Pool{}).Name()
	PoolGroupVersionKind               = SchemeGroupVersion.WithKind(PoolKind)
	ErasureCodeProfileKind             = reflect.TypeOf(ErasureCodeProfile{}).Name()
	ErasureCodeProfileGroupVersionKind = SchemeGroupVersion.WithKind(ErasureCodeProfileKind)
	CrushRuleKind                      = reflect.TypeOf(CrushRule{}).Name()
	CrushRuleGroupVersionKind          = SchemeGroupVersion.WithKind(CrushRuleKind)
	CrushBucketKind                    = reflect.TypeOf(CrushBucket{}).Name()
	CrushBucketGroupVersionKind        = SchemeGroupVersion.WithKind(CrushBucketKind)
	RBDImageKind                       = reflect.TypeOf(RBDImage{}).Name()
	RBDImageGroupVersionKind           = SchemeGroupVersion.WithKind(RBDImageKind)
	SubvolumeGroupKind                 = reflect.TypeOf(SubvolumeGroup{}).Name()
	SubvolumeGroupGroupVersionKind     = SchemeGroupVersion.WithKind(SubvolumeGroupKind)
	SubvolumeKind                      = reflect.TypeOf(Subvolume{}).Name()
	SubvolumeGroupVersionKind          = SchemeGroupVersion.WithKind(SubvolumeKind)
	ObjectStoreUserKind                = reflect.TypeOf(ObjectStoreUser{}).Name()
	ObjectStoreUserGroupVersionKind    = SchemeGroupVersion.WithKind(ObjectStoreUserKind)
	BucketKind                         = reflect.TypeOf(Bucket{}).Name()
	BucketGroupVersionKind             = SchemeGroupVersion.WithKind(BucketKind)
	CephClientKind                     = reflect.TypeOf(CephClient{}).Name()
	CephClientGroupVersionKind         = SchemeGroupVersion.WithKind(CephClientKind)
	FilesystemKind                     = reflect.TypeOf(Filesystem{}).Name()
	FilesystemGroupVersionKind         = SchemeGroupVersion.WithKind(FilesystemKind)
)

func init() {
	SchemeBuilder.Register(&Pool{}, &PoolList{})
	SchemeBuilder.Register(&ErasureCodeProfile{}, &ErasureCodeProfileList{})
	SchemeBuilder.Register(&CrushRule{}, &CrushRuleList{})
	SchemeBuilder.Register(&CrushBucket{}, &CrushBucketList{})
	SchemeBuilder.Register(&RBDImage{}, &RBDImageList{})
	SchemeBuilder.Register(&SubvolumeGroup{}, &SubvolumeGroupList{})
	SchemeBuilder.Register(&Subvolume{}, &SubvolumeList{})
	SchemeBuilder.Register(&ObjectStoreUser{}, &ObjectStoreUserList{})
	SchemeBuilder.Register(&Bucket{}, &BucketList{})
	SchemeBuilder.Register(&CephClient{}, &CephClientList{})
	SchemeBuilder.Register(&Filesystem{}, &FilesystemList{})
}
