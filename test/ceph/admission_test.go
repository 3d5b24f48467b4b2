package ceph

import (
	"context"
	"strings"
	"testing"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cephv1alpha1 "github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/test/envtest"
)

// Every CEL rule of the Ceph CRDs, checked against the real API server: bad input is refused at
// admission with a message naming the field. No Ceph and no controller are involved.
func TestAdmission(t *testing.T) {
	env := envtest.Start(t)
	if err := cephv1alpha1.SchemeBuilder.AddToScheme(env.Scheme); err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t)
	meta := func(n string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: n} }
	// a config that does not exist: should any controller see these objects, it cannot reach Ceph
	mr := xpv2.ManagedResourceSpec{ProviderConfigReference: &xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "admission-only"}}
	var admitted []client.Object
	t.Cleanup(func() {
		for _, o := range admitted {
			_ = env.Client.Delete(context.Background(), o)
		}
	})
	pool := func(n string, p cephv1alpha1.PoolParameters) *cephv1alpha1.Pool {
		return &cephv1alpha1.Pool{ObjectMeta: meta(n), Spec: cephv1alpha1.PoolSpec{ManagedResourceSpec: mr, ForProvider: p}}
	}
	ecp := func(n string, p cephv1alpha1.ErasureCodeProfileParameters) *cephv1alpha1.ErasureCodeProfile {
		return &cephv1alpha1.ErasureCodeProfile{ObjectMeta: meta(n), Spec: cephv1alpha1.ErasureCodeProfileSpec{ManagedResourceSpec: mr, ForProvider: p}}
	}
	rule := func(n string, p cephv1alpha1.CrushRuleParameters) *cephv1alpha1.CrushRule {
		return &cephv1alpha1.CrushRule{ObjectMeta: meta(n), Spec: cephv1alpha1.CrushRuleSpec{ManagedResourceSpec: mr, ForProvider: p}}
	}
	bucket := func(n string, p cephv1alpha1.CrushBucketParameters) *cephv1alpha1.CrushBucket {
		return &cephv1alpha1.CrushBucket{ObjectMeta: meta(n), Spec: cephv1alpha1.CrushBucketSpec{ManagedResourceSpec: mr, ForProvider: p}}
	}
	image := func(n string, p cephv1alpha1.RBDImageParameters) *cephv1alpha1.RBDImage {
		return &cephv1alpha1.RBDImage{ObjectMeta: meta(n), Spec: cephv1alpha1.RBDImageSpec{ManagedResourceSpec: mr, ForProvider: p}}
	}
	group := func(n string, p cephv1alpha1.SubvolumeGroupParameters) *cephv1alpha1.SubvolumeGroup {
		return &cephv1alpha1.SubvolumeGroup{ObjectMeta: meta(n), Spec: cephv1alpha1.SubvolumeGroupSpec{ManagedResourceSpec: mr, ForProvider: p}}
	}
	subvol := func(n string, p cephv1alpha1.SubvolumeParameters) *cephv1alpha1.Subvolume {
		return &cephv1alpha1.Subvolume{ObjectMeta: meta(n), Spec: cephv1alpha1.SubvolumeSpec{ManagedResourceSpec: mr, ForProvider: p}}
	}
	osUser := func(n string, p cephv1alpha1.ObjectStoreUserParameters) *cephv1alpha1.ObjectStoreUser {
		return &cephv1alpha1.ObjectStoreUser{ObjectMeta: meta(n), Spec: cephv1alpha1.ObjectStoreUserSpec{ManagedResourceSpec: mr, ForProvider: p}}
	}
	s3Bucket := func(n string, p cephv1alpha1.BucketParameters) *cephv1alpha1.Bucket {
		return &cephv1alpha1.Bucket{ObjectMeta: meta(n), Spec: cephv1alpha1.BucketSpec{ManagedResourceSpec: mr, ForProvider: p}}
	}
	owned := cephv1alpha1.BucketParameters{Owner: ptr("tenant-a")}
	retain := func(mode string, days, years *int32) *cephv1alpha1.BucketObjectLock {
		return &cephv1alpha1.BucketObjectLock{DefaultRetention: &cephv1alpha1.BucketDefaultRetention{Mode: mode, Days: days, Years: years}}
	}
	locked := func(l *cephv1alpha1.BucketObjectLock) cephv1alpha1.BucketParameters {
		return cephv1alpha1.BucketParameters{Owner: ptr("a"), Versioning: ptr("Enabled"), ObjectLockEnabled: ptr(true), ObjectLock: l}
	}
	cephx := func(n string, g ...cephv1alpha1.CephClientGrant) *cephv1alpha1.CephClient {
		return &cephv1alpha1.CephClient{ObjectMeta: meta(n), Spec: cephv1alpha1.CephClientSpec{ManagedResourceSpec: mr,
			ForProvider: cephv1alpha1.CephClientParameters{Grants: append([]cephv1alpha1.CephClientGrant{}, g...)}}}
	}
	poolGrant := cephv1alpha1.CephClientGrant{Pool: ptr("rbd")}
	svGrant := &cephv1alpha1.SubvolumeReference{Name: "home"}
	long := strings.Repeat("s", 101)

	creates := map[string]struct {
		obj  client.Object
		want string
	}{
		"PoolPGNumNotPowerOfTwo": {pool("p1", cephv1alpha1.PoolParameters{PGNum: ptr(int32(100))}), "spec.forProvider.pgNum must be a power of two"},
		"PoolPGNumTooBig":        {pool("p2", cephv1alpha1.PoolParameters{PGNum: ptr(int32(131072))}), "spec.forProvider.pgNum must be a power of two"},
		"PoolMinSizeAboveSize":   {pool("p3", cephv1alpha1.PoolParameters{Size: ptr(int32(2)), MinSize: ptr(int32(3))}), "spec.forProvider.minSize must be less than or equal to spec.forProvider.size"},
		"PoolSizeZero":           {pool("p4", cephv1alpha1.PoolParameters{Size: ptr(int32(0))}), "spec.forProvider.size must be between 1 and 10"},
		"PoolMinSizeZero":        {pool("p5", cephv1alpha1.PoolParameters{MinSize: ptr(int32(0))}), "spec.forProvider.minSize must be at least 1"},
		"PoolErasureNoProfile":   {pool("p6", cephv1alpha1.PoolParameters{Type: "erasure"}), "spec.forProvider.erasureCodeProfile (or its reference or selector) is required"},
		"PoolErasureWithSize":    {pool("p7", cephv1alpha1.PoolParameters{Type: "erasure", ErasureCodeProfile: ptr("ec"), Size: ptr(int32(3))}), "spec.forProvider.size must not be set for an erasure-coded pool"},
		"PoolReplicatedProfile":  {pool("p8", cephv1alpha1.PoolParameters{ErasureCodeProfile: ptr("ec")}), "spec.forProvider.erasureCodeProfile is only allowed when spec.forProvider.type is erasure"},
		"PoolNegativeQuota":      {pool("p9", cephv1alpha1.PoolParameters{QuotaMaxBytes: ptr(int64(-1))}), "spec.forProvider.quotaMaxBytes must not be negative"},
		"PoolNegativeObjects":    {pool("p10", cephv1alpha1.PoolParameters{QuotaMaxObjects: ptr(int64(-1))}), "spec.forProvider.quotaMaxObjects must not be negative"},
		"ProfileK1":              {ecp("e1", cephv1alpha1.ErasureCodeProfileParameters{K: 1, M: 1}), "spec.forProvider.k must be at least 2"},
		"ProfileM0":              {ecp("e2", cephv1alpha1.ErasureCodeProfileParameters{K: 2, M: 0}), "spec.forProvider.m must be at least 1"},
		"RuleErasureNoProfile":   {rule("r1", cephv1alpha1.CrushRuleParameters{Type: "erasure"}), "spec.forProvider.erasureCodeProfile (or its reference or selector) is required"},
		"RuleErasureWithRoot":    {rule("r2", cephv1alpha1.CrushRuleParameters{Type: "erasure", ErasureCodeProfile: ptr("ec"), Root: ptr("default")}), "come from the erasure-code profile"},
		"BucketHostNoParent":     {bucket("b1", cephv1alpha1.CrushBucketParameters{Type: "host"}), "spec.forProvider.parent (or its reference or selector) is required unless spec.forProvider.type is root"},
		"BucketRootWithParent":   {bucket("b2", cephv1alpha1.CrushBucketParameters{Type: "root", Parent: ptr("x")}), "spec.forProvider.parent must not be set when spec.forProvider.type is root"},
		"ImageNoPool":            {image("i1", cephv1alpha1.RBDImageParameters{SizeMiB: 8}), "spec.forProvider.pool (or its reference or selector) is required"},
		"ImageSizeZero":          {image("i2", cephv1alpha1.RBDImageParameters{Pool: ptr("rbd"), SizeMiB: 0}), "spec.forProvider.sizeMiB must be at least 1"},
		"GroupNegativeQuota":     {group("g1", cephv1alpha1.SubvolumeGroupParameters{Filesystem: "labfs", QuotaMiB: ptr(int64(-1))}), "spec.forProvider.quotaMiB must be a positive number of MiB"},
		"GroupBadMode":           {group("g2", cephv1alpha1.SubvolumeGroupParameters{Filesystem: "labfs", Mode: ptr("rwx")}), "spec.forProvider.mode must be octal permission bits"},
		"GroupBadFilesystem":     {group("g3", cephv1alpha1.SubvolumeGroupParameters{Filesystem: "lab fs"}), "spec.forProvider.filesystem must be 1-100 letters"},
		"GroupNameTooLong":       {group(long, cephv1alpha1.SubvolumeGroupParameters{Filesystem: "labfs"}), "metadata.name (the group name) must be at most 100 characters"},
		"GroupNegativeUID":       {group("g4", cephv1alpha1.SubvolumeGroupParameters{Filesystem: "labfs", UID: ptr(int64(-5))}), "spec.forProvider.uid must not be negative"},
		"SubvolumeNegativeQuota": {subvol("s1", cephv1alpha1.SubvolumeParameters{Filesystem: "labfs", QuotaMiB: ptr(int64(-10))}), "spec.forProvider.quotaMiB must be a positive number of MiB"},
		"SubvolumeZeroQuota":     {subvol("s2", cephv1alpha1.SubvolumeParameters{Filesystem: "labfs", QuotaMiB: ptr(int64(0))}), "spec.forProvider.quotaMiB must be a positive number of MiB"},
		"SubvolumeBadGroup":      {subvol("s3", cephv1alpha1.SubvolumeParameters{Filesystem: "labfs", Group: ptr("a/b")}), "spec.forProvider.group must be 1-100 letters"},
		"SubvolumeBadMode":       {subvol("s4", cephv1alpha1.SubvolumeParameters{Filesystem: "labfs", Mode: ptr("999")}), "spec.forProvider.mode must be octal permission bits"},
		"SubvolumeNameTooLong":   {subvol(long, cephv1alpha1.SubvolumeParameters{Filesystem: "labfs"}), "metadata.name (the subvolume name) must be at most 100 characters"},
		"SubvolumeNegativeGID":   {subvol("s5", cephv1alpha1.SubvolumeParameters{Filesystem: "labfs", GID: ptr(int64(-1))}), "spec.forProvider.gid must not be negative"},
		"UserNegativeMaxBuckets": {osUser("o1", cephv1alpha1.ObjectStoreUserParameters{DisplayName: "a", MaxBuckets: ptr(int64(-1))}), "spec.forProvider.maxBuckets must not be negative"},
		"UserNegativeQuotaSize": {osUser("o2", cephv1alpha1.ObjectStoreUserParameters{DisplayName: "a",
			Quota: &cephv1alpha1.ObjectStoreQuota{MaxSizeMiB: ptr(int64(-1))}}), "spec.forProvider.quota.maxSizeMiB must not be negative"},
		"UserNegativeKeyGeneration": {osUser("o3", cephv1alpha1.ObjectStoreUserParameters{DisplayName: "a", KeyGeneration: -1}), "spec.forProvider.keyGeneration must not be negative"},
		"BucketNegativeQuotaObjects": {s3Bucket("quota-neg", cephv1alpha1.BucketParameters{Owner: ptr("a"),
			Quota: &cephv1alpha1.ObjectStoreQuota{MaxObjects: ptr(int64(-5))}}), "spec.forProvider.quota.maxObjects must not be negative"},
		"BucketNameTooShort":   {s3Bucket("ab", owned), "metadata.name (the bucket name) must be DNS-compatible"},
		"BucketNameTooLong":    {s3Bucket(strings.Repeat("b", 64), owned), "metadata.name (the bucket name) must be DNS-compatible"},
		"BucketNameIPAddress":  {s3Bucket("192.168.5.4", owned), "metadata.name (the bucket name) must be DNS-compatible"},
		"BucketNoOwner":        {s3Bucket("no-owner", cephv1alpha1.BucketParameters{}), "spec.forProvider.owner (or its reference or selector) is required"},
		"BucketLockNoVersions": {s3Bucket("lock-unversioned", cephv1alpha1.BucketParameters{Owner: ptr("a"), ObjectLockEnabled: ptr(true)}), "spec.forProvider.versioning must be Enabled when spec.forProvider.objectLockEnabled is true"},
		"BucketRetentionNoLock": {s3Bucket("ret-nolock", cephv1alpha1.BucketParameters{Owner: ptr("a"), ObjectLock: retain("GOVERNANCE", ptr(int32(1)), nil)}),
			"spec.forProvider.objectLock needs spec.forProvider.objectLockEnabled: true"},
		"BucketRetentionDaysAndYears": {s3Bucket("ret-both", locked(retain("GOVERNANCE", ptr(int32(1)), ptr(int32(1))))),
			"spec.forProvider.objectLock.defaultRetention: set exactly one of days and years"},
		"BucketRetentionNoPeriod": {s3Bucket("ret-none", locked(retain("GOVERNANCE", nil, nil))),
			"spec.forProvider.objectLock.defaultRetention: set exactly one of days and years"},
		"BucketRetentionZeroDays": {s3Bucket("ret-zero", locked(retain("COMPLIANCE", ptr(int32(0)), nil))),
			"spec.forProvider.objectLock.defaultRetention.days must be at least 1"},
		"BucketRetentionNegativeYears": {s3Bucket("ret-neg", locked(retain("COMPLIANCE", nil, ptr(int32(-2))))),
			"spec.forProvider.objectLock.defaultRetention.years must be at least 1"},
		"BucketRetentionBadMode": {s3Bucket("ret-mode", locked(retain("FOREVER", ptr(int32(1)), nil))),
			`spec.forProvider.objectLock.defaultRetention.mode: Unsupported value: "FOREVER"`},
		"BucketZeroExpiration": {s3Bucket("expiry-zero", cephv1alpha1.BucketParameters{Owner: ptr("a"), LifecycleExpirationDays: ptr(int32(0))}), "spec.forProvider.lifecycleExpirationDays must be at least 1"},
		"ClientNoGrants":       {cephx("c1"), "spec.forProvider.grants in body should have at least 1 items"},
		"ClientEmptyGrant":     {cephx("c2", cephv1alpha1.CephClientGrant{ReadOnly: ptr(true)}), "each of spec.forProvider.grants must name exactly one target"},
		"ClientTwoTargets":     {cephx("c3", cephv1alpha1.CephClientGrant{Pool: ptr("rbd"), SubvolumeRef: svGrant}), "each of spec.forProvider.grants must name exactly one target"},
		"ClientPrefixedName":   {cephx("client.tenant", poolGrant), "metadata.name is the client id without the 'client.' prefix"},
		"ClientAdmin":          {cephx("admin", poolGrant), "metadata.name must not be admin"},
		"ClientNameTooLong":    {cephx(long, poolGrant), "metadata.name (the client id) must be at most 100 characters"},
		"ClientBadPool":        {cephx("c4", cephv1alpha1.CephClientGrant{Pool: ptr("a b")}), "spec.forProvider.grants[0].pool in body should match"},
		"ClientBadProfile":     {cephx("c5", cephv1alpha1.CephClientGrant{Pool: ptr("rbd"), Profile: ptr("rgw")}), `spec.forProvider.grants[0].profile: Unsupported value: "rgw"`},
		"ClientSubvolumeRBD":   {cephx("c6", cephv1alpha1.CephClientGrant{SubvolumeRef: svGrant, Profile: ptr("rbd")}), "spec.forProvider.grants[].profile and namespace apply to pool grants only"},
		"FilesystemBadRule": {&cephv1alpha1.Filesystem{ObjectMeta: meta("f1"), Spec: cephv1alpha1.FilesystemSpec{ManagedResourceSpec: mr,
			ForProvider: cephv1alpha1.FilesystemParameters{DataCrushRule: ptr("host rule")}}}, "spec.forProvider.dataCrushRule in body should match"},
		"FilesystemNameTooLong": {&cephv1alpha1.Filesystem{ObjectMeta: meta(long), Spec: cephv1alpha1.FilesystemSpec{ManagedResourceSpec: mr}},
			"metadata.name (the filesystem name) must be at most 100 characters"},
		"ClientBadNamespace": {cephx("c7", cephv1alpha1.CephClientGrant{Pool: ptr("rbd"), Namespace: ptr("a/b")}), "spec.forProvider.grants[0].namespace in body should match"},
	}
	for name, tc := range creates {
		t.Run("Create"+name, func(t *testing.T) {
			err := env.Client.Create(context.Background(), tc.obj)
			if err == nil {
				t.Fatalf("admitted %s", name)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q\ndoes not contain %q", err, tc.want)
			}
		})
	}

	// transition rules: create a valid object, then try the forbidden change
	updates := map[string]struct {
		obj    client.Object
		mutate func(client.Object)
		want   string
	}{
		"PoolTypeImmutable": {pool("u1", cephv1alpha1.PoolParameters{}),
			func(o client.Object) {
				p := o.(*cephv1alpha1.Pool)
				p.Spec.ForProvider.Type, p.Spec.ForProvider.ErasureCodeProfile = "erasure", ptr("ec")
			}, "spec.forProvider.type is immutable"},
		"PoolProfileImmutable": {pool("u2", cephv1alpha1.PoolParameters{Type: "erasure", ErasureCodeProfile: ptr("ec")}),
			func(o client.Object) { o.(*cephv1alpha1.Pool).Spec.ForProvider.ErasureCodeProfile = ptr("ec2") }, "spec.forProvider.erasureCodeProfile is immutable"},
		"ProfileKImmutable": {ecp("u3", cephv1alpha1.ErasureCodeProfileParameters{K: 2, M: 1}),
			func(o client.Object) { o.(*cephv1alpha1.ErasureCodeProfile).Spec.ForProvider.K = 4 }, "spec.forProvider.k is immutable"},
		"ProfileMImmutable": {ecp("u4", cephv1alpha1.ErasureCodeProfileParameters{K: 2, M: 1}),
			func(o client.Object) { o.(*cephv1alpha1.ErasureCodeProfile).Spec.ForProvider.M = 2 }, "spec.forProvider.m is immutable"},
		"ProfileImmutable": {ecp("u5", cephv1alpha1.ErasureCodeProfileParameters{K: 2, M: 1}),
			func(o client.Object) {
				o.(*cephv1alpha1.ErasureCodeProfile).Spec.ForProvider.FailureDomain = ptr("osd")
			}, "spec.forProvider of an ErasureCodeProfile is immutable"},
		"RuleTypeImmutable": {rule("u6", cephv1alpha1.CrushRuleParameters{}),
			func(o client.Object) {
				r := o.(*cephv1alpha1.CrushRule)
				r.Spec.ForProvider.Type, r.Spec.ForProvider.ErasureCodeProfile = "erasure", ptr("ec")
			}, "spec.forProvider.type is immutable"},
		"BucketTypeImmutable": {bucket("u7", cephv1alpha1.CrushBucketParameters{Type: "rack", Parent: ptr("default")}),
			func(o client.Object) { o.(*cephv1alpha1.CrushBucket).Spec.ForProvider.Type = "row" }, "spec.forProvider.type is immutable"},
		"ImageGrowOnly": {image("u8", cephv1alpha1.RBDImageParameters{Pool: ptr("rbd"), SizeMiB: 64}),
			func(o client.Object) { o.(*cephv1alpha1.RBDImage).Spec.ForProvider.SizeMiB = 32 }, "spec.forProvider.sizeMiB can only grow"},
		"ImagePoolImmutable": {image("u9", cephv1alpha1.RBDImageParameters{Pool: ptr("rbd"), SizeMiB: 64}),
			func(o client.Object) { o.(*cephv1alpha1.RBDImage).Spec.ForProvider.Pool = ptr("other") }, "spec.forProvider.pool is immutable"},
		"ImageDataPoolImmutable": {image("u10", cephv1alpha1.RBDImageParameters{Pool: ptr("rbd"), SizeMiB: 64, DataPool: ptr("ecdata")}),
			func(o client.Object) { o.(*cephv1alpha1.RBDImage).Spec.ForProvider.DataPool = ptr("other") }, "spec.forProvider.dataPool is immutable"},
		"GroupFilesystemImmutable": {group("u11", cephv1alpha1.SubvolumeGroupParameters{Filesystem: "labfs"}),
			func(o client.Object) { o.(*cephv1alpha1.SubvolumeGroup).Spec.ForProvider.Filesystem = "other" }, "spec.forProvider.filesystem is immutable"},
		"SubvolumeGroupImmutable": {subvol("u12", cephv1alpha1.SubvolumeParameters{Filesystem: "labfs", Group: ptr("a")}),
			func(o client.Object) { o.(*cephv1alpha1.Subvolume).Spec.ForProvider.Group = ptr("b") }, "spec.forProvider.group is immutable"},
		"SubvolumeIsolationImmutable": {subvol("u13", cephv1alpha1.SubvolumeParameters{Filesystem: "labfs", NamespaceIsolated: ptr(true)}),
			func(o client.Object) { o.(*cephv1alpha1.Subvolume).Spec.ForProvider.NamespaceIsolated = ptr(false) }, "spec.forProvider.namespaceIsolated is immutable"},
		"BucketObjectLockImmutable": {s3Bucket("lock-later", owned),
			func(o client.Object) {
				b := o.(*cephv1alpha1.Bucket)
				b.Spec.ForProvider.ObjectLockEnabled, b.Spec.ForProvider.Versioning = ptr(true), ptr("Enabled")
			}, "spec.forProvider.objectLockEnabled is immutable: S3 object lock can only be chosen when the bucket is created"},
		"BucketOwnerImmutable": {s3Bucket("owner-change", owned),
			func(o client.Object) { o.(*cephv1alpha1.Bucket).Spec.ForProvider.Owner = ptr("tenant-b") }, "spec.forProvider.owner is immutable"},
	}
	for name, tc := range updates {
		t.Run("Update"+name, func(t *testing.T) {
			ctx := context.Background()
			if err := env.Client.Create(ctx, tc.obj); err != nil {
				t.Fatalf("valid object refused: %v", err)
			}
			admitted = append(admitted, tc.obj)
			tc.mutate(tc.obj)
			err := env.Client.Update(ctx, tc.obj)
			if err == nil {
				t.Fatalf("admitted the change")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q\ndoes not contain %q", err, tc.want)
			}
		})
	}

	// a subvolume's quota shrinks as well as grows
	t.Run("SubvolumeShrinkAdmitted", func(t *testing.T) {
		ctx := context.Background()
		sv := subvol("shrink", cephv1alpha1.SubvolumeParameters{Filesystem: "labfs", QuotaMiB: ptr(int64(64))})
		if err := env.Client.Create(ctx, sv); err != nil {
			t.Fatal(err)
		}
		admitted = append(admitted, sv)
		sv.Spec.ForProvider.QuotaMiB = ptr(int64(8))
		if err := env.Client.Update(ctx, sv); err != nil {
			t.Fatalf("shrinking refused: %v", err)
		}
	})

	// and a valid grow is admitted
	t.Run("ImageGrowAdmitted", func(t *testing.T) {
		ctx := context.Background()
		im := image("grow", cephv1alpha1.RBDImageParameters{Pool: ptr("rbd"), SizeMiB: 64})
		if err := env.Client.Create(ctx, im); err != nil {
			t.Fatal(err)
		}
		admitted = append(admitted, im)
		im.Spec.ForProvider.SizeMiB = 128
		if err := env.Client.Update(ctx, im); err != nil {
			t.Fatalf("growing refused: %v", err)
		}
	})
}
