package objectstoreuser

import (
	"fmt"
	"strings"

	"github.com/microcloud-dev/provider-microcloud/apis/ceph/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
	"github.com/microcloud-dev/provider-microcloud/internal/controller/ceph/objectstore"
)

// wanted is what Update changes to bring a user to its spec.
type wanted struct {
	settingsOK bool
	quota      rgw.Quota
	quotaOK    bool
	rotate     bool
	// retire are the keys a rotation replaced that RGW still has.
	retire []string
	diff   []string
}

func (w wanted) upToDate() bool { return w.settingsOK && w.quotaOK && !w.rotate && len(w.retire) == 0 }

// compare holds the spec against the user RGW has. at is what the provider knows of the user's
// keys: the generation and the access key ID of the connection Secret's key, and the keys a
// rotation replaced. Only fields set in the spec are compared.
func compare(p v1alpha1.ObjectStoreUserParameters, at v1alpha1.ObjectStoreUserObservation, u *rgw.User) wanted {
	var w wanted
	if p.DisplayName != u.DisplayName {
		w.diff = append(w.diff, fmt.Sprintf("displayName: want %q, RGW has %q", p.DisplayName, u.DisplayName))
	}
	if p.Email != nil && *p.Email != u.Email {
		w.diff = append(w.diff, fmt.Sprintf("email: want %q, RGW has %q", *p.Email, u.Email))
	}
	if p.MaxBuckets != nil && *p.MaxBuckets != u.MaxBuckets {
		w.diff = append(w.diff, fmt.Sprintf("maxBuckets: want %d, RGW has %d", *p.MaxBuckets, u.MaxBuckets))
	}
	w.settingsOK = len(w.diff) == 0
	var qdiff []string
	w.quota, w.quotaOK, qdiff = objectstore.WantQuota("quota", p.Quota, u.Quota)
	w.diff = append(w.diff, qdiff...)
	_, current := currentKey(u, at.AccessKeyID)
	switch {
	case p.KeyGeneration != at.KeyGeneration || len(u.Keys) == 0:
		w.rotate = true
		w.diff = append(w.diff, fmt.Sprintf("keyGeneration: want %d, the S3 key is of generation %d (%d key(s) in RGW)", p.KeyGeneration, at.KeyGeneration, len(u.Keys)))
	case !current:
		w.rotate = true
		w.diff = append(w.diff, fmt.Sprintf("the connection Secret's S3 key %s is gone from RGW", at.AccessKeyID))
	}
	for _, ak := range at.RetiringAccessKeyIDs {
		if _, ok := currentKey(u, ak); ok {
			w.retire = append(w.retire, ak)
		}
	}
	if len(w.retire) > 0 {
		w.diff = append(w.diff, fmt.Sprintf("%d S3 key(s) replaced by a rotation still in RGW", len(w.retire)))
	}
	return w
}

// currentKey is the user's key with access key ID ak; with no ID known yet (a user made before
// the provider recorded one, or whose creation's answer was lost), its first key.
func currentKey(u *rgw.User, ak string) (rgw.Keys, bool) {
	for _, k := range u.Keys {
		if k.AccessKey == ak || ak == "" {
			return k, true
		}
	}
	return rgw.Keys{}, false
}

// accessKeyIDs lists the IDs of keys.
func accessKeyIDs(keys []rgw.Keys) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k.AccessKey)
	}
	return out
}

func (w wanted) String() string { return strings.Join(w.diff, "; ") }

// settings are the spec's user attributes as RGW takes them.
func settings(p v1alpha1.ObjectStoreUserParameters) rgw.UserSettings {
	return rgw.UserSettings{DisplayName: p.DisplayName, Email: p.Email, MaxBuckets: p.MaxBuckets}
}

// observe is RGW's user, with what only the provider knows of its keys (at) carried over; a user
// whose key the provider has not recorded yet gets its first key recorded.
func observe(u *rgw.User, at v1alpha1.ObjectStoreUserObservation) v1alpha1.ObjectStoreUserObservation {
	ak := at.AccessKeyID
	if k, ok := currentKey(u, ak); ok && ak == "" {
		ak = k.AccessKey
	}
	return v1alpha1.ObjectStoreUserObservation{UserID: u.ID, DisplayName: u.DisplayName, Email: u.Email, MaxBuckets: u.MaxBuckets,
		Suspended: u.Suspended, Quota: objectstore.Observation(u.Quota), Keys: len(u.Keys), KeyGeneration: at.KeyGeneration,
		AccessKeyID: ak, RetiringAccessKeyIDs: at.RetiringAccessKeyIDs}
}
