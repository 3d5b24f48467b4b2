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
	diff       []string
}

func (w wanted) upToDate() bool { return w.settingsOK && w.quotaOK && !w.rotate }

// compare holds the spec against the user RGW has. applied is the key generation the
// connection Secret's key was made for. Only fields set in the spec are compared.
func compare(p v1alpha1.ObjectStoreUserParameters, applied int64, u *rgw.User) wanted {
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
	if p.KeyGeneration != applied || len(u.Keys) == 0 {
		w.rotate = true
		w.diff = append(w.diff, fmt.Sprintf("keyGeneration: want %d, the S3 key is of generation %d (%d key(s) in RGW)", p.KeyGeneration, applied, len(u.Keys)))
	}
	return w
}

func (w wanted) String() string { return strings.Join(w.diff, "; ") }

// settings are the spec's user attributes as RGW takes them.
func settings(p v1alpha1.ObjectStoreUserParameters) rgw.UserSettings {
	return rgw.UserSettings{DisplayName: p.DisplayName, Email: p.Email, MaxBuckets: p.MaxBuckets}
}

func observe(u *rgw.User, applied int64) v1alpha1.ObjectStoreUserObservation {
	return v1alpha1.ObjectStoreUserObservation{UserID: u.ID, DisplayName: u.DisplayName, Email: u.Email, MaxBuckets: u.MaxBuckets,
		Suspended: u.Suspended, Quota: objectstore.Observation(u.Quota), Keys: len(u.Keys), KeyGeneration: applied}
}
