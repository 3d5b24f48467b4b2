// Package ceph registers the controllers of every Ceph managed resource kind.
package ceph

import (
	ctrl "sigs.k8s.io/controller-runtime"

	cephclient "github.com/microcloud-dev/provider-microcloud/internal/clients/ceph"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/bucket"
	cephclientctl "github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/cephclient"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/crushbucket"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/crushrule"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/erasurecodeprofile"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/filesystem"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/objectstoreuser"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/pool"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/rbdimage"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/site"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/subvolume"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/subvolumegroup"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/options"
)

// Setup adds the Pool, ErasureCodeProfile, CrushRule, CrushBucket, RBDImage, Filesystem, SubvolumeGroup,
// Subvolume, ObjectStoreUser, Bucket and CephClient controllers to mgr; they share o.Ceph, the site clients,
// and the RGW kinds o.RGW, their gateway clients (each built here, once, when the caller did not).
func Setup(mgr ctrl.Manager, o options.Options) error {
	if o.Ceph == nil {
		o.Ceph = cephclient.NewClients(site.SnapshotAge(o.PollInterval))
	}
	if o.RGW == nil {
		o.RGW = rgw.NewClients()
	}
	for _, setup := range []func(ctrl.Manager, options.Options) error{
		erasurecodeprofile.Setup,
		crushrule.Setup,
		crushbucket.Setup,
		pool.Setup,
		rbdimage.Setup,
		filesystem.Setup,
		subvolumegroup.Setup,
		subvolume.Setup,
		objectstoreuser.Setup,
		bucket.Setup,
		cephclientctl.Setup,
	} {
		if err := setup(mgr, o); err != nil {
			return err
		}
	}
	return nil
}
