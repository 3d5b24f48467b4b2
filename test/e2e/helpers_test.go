package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

var (
	metav1GetOptions  = metav1.GetOptions{}
	metav1ListOptions = metav1.ListOptions{}
)

// eventually polls check until it returns "" or timeout passes; the last answer is the failure.
func eventually(t *testing.T, timeout time.Duration, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		if last = check(); last == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %s", what, timeout, last)
		}
		time.Sleep(time.Second)
	}
}

// namespace creates a fresh namespace for one test.
func (w *world) namespace(t *testing.T, name string) string {
	t.Helper()
	if _, err := w.kubectl("create", "namespace", name); err != nil {
		t.Fatal(err)
	}
	return name
}

func (w *world) mustApply(t *testing.T, yaml string) {
	t.Helper()
	if _, err := w.apply(yaml); err != nil {
		t.Fatal(err)
	}
}

// condition returns the status and message of a condition of obj.
func condition(obj *unstructured.Unstructured, typ string) (string, string, string) {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == typ {
			s, _ := m["status"].(string)
			r, _ := m["reason"].(string)
			msg, _ := m["message"].(string)
			return s, r, msg
		}
	}
	return "", "", ""
}

// waitReady waits for the Ready condition of a namespaced object and returns it.
func (w *world) waitReady(t *testing.T, gvr schema.GroupVersionResource, ns, name string, timeout time.Duration) *unstructured.Unstructured {
	t.Helper()
	var obj *unstructured.Unstructured
	eventually(t, timeout, fmt.Sprintf("%s %s/%s Ready", gvr.Resource, ns, name), func() string {
		var err error
		if obj, err = w.get(context.Background(), gvr, ns, name); err != nil {
			return err.Error()
		}
		if s, r, m := condition(obj, "Ready"); s != "True" {
			_, sr, sm := condition(obj, "Synced")
			return fmt.Sprintf("Ready=%s %s %q; Synced %s %q", s, r, m, sr, sm)
		}
		return ""
	})
	return obj
}

// waitGone waits until the object no longer exists.
func (w *world) waitGone(t *testing.T, gvr schema.GroupVersionResource, ns, name string, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, fmt.Sprintf("%s %s/%s gone", gvr.Resource, ns, name), func() string {
		obj, err := w.get(context.Background(), gvr, ns, name)
		if err != nil {
			if strings.Contains(err.Error(), "not found") {
				return ""
			}
			return err.Error()
		}
		s, r, m := condition(obj, "Synced")
		return fmt.Sprintf("still there (deleting since %v); Synced=%s %s %q", obj.GetDeletionTimestamp(), s, r, m)
	})
}

func str(obj *unstructured.Unstructured, path ...string) string {
	v, _, _ := unstructured.NestedFieldNoCopy(obj.Object, path...)
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

// composedOf lists the managed resources of gvr in ns that Crossplane composed for the composite.
func (w *world) composedOf(t *testing.T, gvr schema.GroupVersionResource, ns, composite string) []unstructured.Unstructured {
	t.Helper()
	items, err := w.list(context.Background(), gvr, ns)
	if err != nil {
		t.Fatal(err)
	}
	var out []unstructured.Unstructured
	for _, it := range items {
		if it.GetLabels()["crossplane.io/composite"] == composite {
			out = append(out, it)
		}
	}
	return out
}

// guestsNamed returns the simulator's guests with the given name, by vmid.
func (w *world) guestsNamed(name string) map[int]string {
	out := map[int]string{}
	for _, id := range w.sim.GuestIDs() {
		if g, ok := w.sim.Guest(id); ok && g.Config["name"] == name {
			out[id] = g.Node
		}
	}
	return out
}

// pve calls the simulator's API as an administrator would (pvesh/curl with an API token).
func (w *world) pve(method, path string) (json.RawMessage, error) {
	req, err := http.NewRequest(method, w.sim.URL+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "PVEAPIToken="+w.sim.TokenID+"="+w.sim.Secret)
	resp, err := w.sim.HTTPClient().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close() //nolint:errcheck // read below
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	return env.Data, json.Unmarshal(b, &env)
}

// ledgerOps is the successful operations of a resource's chain on the ledger, in order, and the
// records themselves.
func (w *world) ledgerHistory(t *testing.T, key string) []record.Record {
	t.Helper()
	hist, err := w.lc.History(context.Background(), key)
	if err != nil {
		t.Fatalf("ledger history of %s: %v", key, err)
	}
	return hist
}

func succeeded(hist []record.Record) []string {
	var ops []string
	for _, r := range hist {
		if r.Outcome == record.OutcomeSuccess {
			ops = append(ops, r.Operation)
		}
	}
	return ops
}
