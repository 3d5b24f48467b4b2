package ceph

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/microcloud-dev/provider-microcloud/apis/v1alpha1"
	"github.com/microcloud-dev/provider-microcloud/internal/clients/rgw"
)

// rgwAdminEnv reads DIR/rgw-admin.env, which cluster/ceph-up.sh writes beside the ceph.conf when
// it starts the gateway: RGW_ENDPOINT, RGW_ACCESS_KEY, RGW_SECRET_KEY. Empty without a gateway.
func rgwAdminEnv(conf string) map[string]string {
	f, err := os.Open(filepath.Join(filepath.Dir(conf), "rgw-admin.env"))
	if err != nil {
		return nil
	}
	defer func() { _ = f.Close() }()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			env[k] = v
		}
	}
	return env
}

// objectStoreConfig puts the gateway's admin keys into a Secret in ns (the harness's namespace
// when empty) and returns the config section naming it; nil when the cluster has no gateway.
func (h *harness) objectStoreConfig(ns string) *v1alpha1.ObjectStoreConfig {
	env := rgwAdminEnv(h.conf)
	if env["RGW_ENDPOINT"] == "" {
		return nil
	}
	if err := h.kube.Create(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: h.ns, Name: "rgw-admin"},
		Data: map[string][]byte{"accessKey": []byte(env["RGW_ACCESS_KEY"]), "secretKey": []byte(env["RGW_SECRET_KEY"])}}); err != nil && !strings.Contains(err.Error(), "already exists") {
		h.t.Fatal(err)
	}
	return &v1alpha1.ObjectStoreConfig{Endpoint: env["RGW_ENDPOINT"],
		AccessKeySecretRef: v1alpha1.SecretKeySelector{Name: "rgw-admin", Namespace: ns, Key: "accessKey"},
		SecretKeySecretRef: v1alpha1.SecretKeySelector{Name: "rgw-admin", Namespace: ns, Key: "secretKey"}}
}

// rgwAdmin is a client of the test cluster's gateway as its admin user, to check RGW and make
// drift by hand; the test fails (or skips without MICROCLOUD_REQUIRE_INTEGRATION) without one.
func (h *harness) rgwAdmin() *rgw.Client {
	h.t.Helper()
	env := rgwAdminEnv(h.conf)
	if env["RGW_ENDPOINT"] == "" {
		const why = "the Ceph cluster has no radosgw (no rgw-admin.env beside CEPH_CONF; start it with CEPH_LAB_OBJECT=1)"
		if os.Getenv("MICROCLOUD_REQUIRE_INTEGRATION") == "1" {
			h.t.Fatal(why)
		}
		h.t.Skip(why)
	}
	c, err := rgw.New(rgw.Config{Endpoint: env["RGW_ENDPOINT"], AccessKey: env["RGW_ACCESS_KEY"], SecretKey: env["RGW_SECRET_KEY"]})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}
