// Package guest holds what the VM, container and container-template
// controllers share about guests and tasks: the owner tag and ownership rule
// of exactly-once creation (docs/adr/0001), and pending tasks checked on
// later reconciles instead of blocking a worker.
package guest

import (
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/proxmox"
)

// ownerTagPrefix starts every owner tag; a guest with such a tag is some
// managed resource's.
const ownerTagPrefix = "mc-"

// OwnerTag marks a guest as created by the managed resource with this UID, so
// a guest whose create response was lost is adopted instead of duplicated.
func OwnerTag(uid string) string {
	u := strings.ReplaceAll(uid, "-", "")
	if len(u) > 16 {
		u = u[:16]
	}
	return ownerTagPrefix + strings.ToLower(u)
}

// Ownership is whether a guest found under a resource's saved id is its own.
type Ownership int

// The answers of Owner.
const (
	Ours Ownership = iota
	NotOurs
	Undecided
)

// Owner decides whether guest g, found under mg's saved id, is mg's. A guest
// carrying mg's owner tag is; one carrying another resource's is not. An
// untagged guest is ours if we never created anything (an import), or if it
// bears our name (a clone not yet tagged); while it is locked and unnamed
// the answer waits.
func Owner(mg resource.Managed, g *proxmox.Guest, name string) Ownership {
	mine := OwnerTag(string(mg.GetUID()))
	for _, t := range g.TagList() {
		if t == mine {
			return Ours
		}
		if strings.HasPrefix(t, ownerTagPrefix) {
			return NotOurs
		}
	}
	switch {
	case meta.GetExternalCreatePending(mg).IsZero(), g.Name == name:
		return Ours
	case g.Lock != "":
		return Undecided
	}
	return NotOurs
}

// AnnotationPendingTask keeps the UPID of a create task: unlike status, which
// the managed reconciler rewrites from the API server after a create,
// annotations it persists as they are.
const AnnotationPendingTask = "proxmox.microcloud.dev/pending-task"

// PendingTask is the UPID of mg's unfinished task: the annotation's (a
// create), else the one in status (status is the field's current value).
func PendingTask(mg metav1.Object, status string) string {
	if upid := mg.GetAnnotations()[AnnotationPendingTask]; upid != "" {
		return upid
	}
	return status
}

// ClearPendingTask forgets the pending task and reports whether an
// annotation changed, which the reconciler must then persist.
func ClearPendingTask(mg metav1.Object, status *string) bool {
	*status = ""
	if _, ok := mg.GetAnnotations()[AnnotationPendingTask]; ok {
		meta.RemoveAnnotations(mg, AnnotationPendingTask)
		return true
	}
	return false
}

// TaskPoll is how soon a busy resource (a task running, the guest locked) is
// looked at again.
const TaskPoll = 2 * time.Second

// PollSoonWhileBusy makes the reconciler check a busy resource again after
// TaskPoll instead of a whole poll interval; the task is never waited for in
// a worker.
func PollSoonWhileBusy(busy func(resource.Managed) bool) managed.PollIntervalHook {
	return func(mg resource.Managed, d time.Duration) time.Duration {
		if d > TaskPoll && busy(mg) {
			return TaskPoll
		}
		return d
	}
}

// TaskFallbackPoll is how soon a guest resource whose own task is running
// is looked at again if the site's task watch has not woken it before: the
// watch (proxmox.Client.WatchTask) normally wakes it within
// proxmox.TaskWatchInterval of the task's end.
const TaskFallbackPoll = 10 * time.Second

// BusyPoll is a guest resource's next poll: after TaskPoll while its guest
// is locked by someone else's work, after TaskFallbackPoll while a task of
// its own runs, else after d.
func BusyPoll(pending, lock string, d time.Duration) time.Duration {
	switch {
	case pending != "" && d > TaskFallbackPoll:
		return TaskFallbackPoll
	case pending == "" && lock != "" && d > TaskPoll:
		return TaskPoll
	}
	return d
}

// ExplicitID tells whether id is the one the spec names (spec.forProvider.vmid),
// which the resource never gives up for another.
func ExplicitID(spec *int64, id int) bool { return spec != nil && int(*spec) == id }
