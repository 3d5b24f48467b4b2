package v1alpha1

import (
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
)

// These assertions live in a test file because angryjet must load the package before it has
// generated the methods they check.
// Every kind is a modern (namespaced, v2) managed resource with a list type.
var (
	_ resource.ModernManaged = &Pool{}
	_ resource.ModernManaged = &ErasureCodeProfile{}
	_ resource.ModernManaged = &CrushRule{}
	_ resource.ModernManaged = &CrushBucket{}
	_ resource.ModernManaged = &RBDImage{}
	_ resource.ModernManaged = &SubvolumeGroup{}
	_ resource.ModernManaged = &Subvolume{}
	_ resource.ModernManaged = &ObjectStoreUser{}
	_ resource.ModernManaged = &Bucket{}
	_ resource.ModernManaged = &CephClient{}
	_ resource.ModernManaged = &Filesystem{}

	_ resource.ManagedList = &PoolList{}
	_ resource.ManagedList = &ErasureCodeProfileList{}
	_ resource.ManagedList = &CrushRuleList{}
	_ resource.ManagedList = &CrushBucketList{}
	_ resource.ManagedList = &RBDImageList{}
	_ resource.ManagedList = &SubvolumeGroupList{}
	_ resource.ManagedList = &SubvolumeList{}
	_ resource.ManagedList = &ObjectStoreUserList{}
	_ resource.ManagedList = &BucketList{}
	_ resource.ManagedList = &CephClientList{}
	_ resource.ManagedList = &FilesystemList{}
)
