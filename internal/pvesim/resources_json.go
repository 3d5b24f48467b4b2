package pvesim

import (
	"strconv"

	"github.com/microcloud-dev/provider-microcloud/internal/jsonstr"
)

// rawData is a handler result that is already JSON; ServeHTTP wraps it in
// the envelope without re-encoding. /cluster/resources uses it because the
// reflection-based encoder dominated its cost at 10,000 guests.
type rawData []byte

// rawEnvelope is a complete, already encoded {"data": ...} answer.
type rawEnvelope []byte

// appendResources encodes resource entries exactly as encoding/json would
// encode []resource (same field order, omitempty rules and escaping).
func appendResources(b []byte, rs []resource) []byte {
	b = append(b, '[')
	for i := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendResource(b, &rs[i])
	}
	return append(b, ']')
}

func appendResource(b []byte, r *resource) []byte {
	b = append(b, `{"id":`...)
	b = jsonstr.Append(b, r.ID)
	b = append(b, `,"type":`...)
	b = jsonstr.Append(b, r.Type)
	if r.VMID != 0 {
		b = append(b, `,"vmid":`...)
		b = strconv.AppendInt(b, int64(r.VMID), 10)
	}
	b = optString(b, "name", r.Name)
	b = optString(b, "node", r.Node)
	b = optString(b, "status", r.Status)
	if r.Template != nil {
		b = append(b, `,"template":`...)
		b = strconv.AppendInt(b, int64(*r.Template), 10)
	}
	b = optUint(b, "maxmem", r.MaxMem)
	if r.Mem != nil {
		b = append(b, `,"mem":`...)
		b = strconv.AppendUint(b, *r.Mem, 10)
	}
	if r.MaxCPU != 0 {
		b = append(b, `,"maxcpu":`...)
		b = strconv.AppendInt(b, int64(r.MaxCPU), 10)
	}
	if r.CPU != nil {
		b = append(b, `,"cpu":`...)
		b = strconv.AppendFloat(b, *r.CPU, 'f', -1, 64)
	}
	b = optUint(b, "maxdisk", r.MaxDisk)
	for _, f := range []struct {
		k string
		v *uint64
	}{{"disk", r.Disk}, {"diskread", r.DiskRead}, {"diskwrite", r.DiskWrite}, {"netin", r.NetIn}, {"netout", r.NetOut}} {
		if f.v != nil {
			b = append(b, ',', '"')
			b = append(b, f.k...)
			b = append(b, '"', ':')
			b = strconv.AppendUint(b, *f.v, 10)
		}
	}
	if r.Uptime != nil {
		b = append(b, `,"uptime":`...)
		b = strconv.AppendInt(b, *r.Uptime, 10)
	}
	b = optString(b, "tags", r.Tags)
	b = optString(b, "pool", r.Pool)
	b = optString(b, "lock", r.Lock)
	b = optString(b, "hastate", r.HAState)
	b = optString(b, "storage", r.Storage)
	b = optString(b, "plugintype", r.PluginType)
	b = optString(b, "content", r.Content)
	if r.Shared != nil {
		b = append(b, `,"shared":`...)
		b = strconv.AppendInt(b, int64(*r.Shared), 10)
	}
	if r.Level != nil {
		b = append(b, `,"level":`...)
		b = jsonstr.Append(b, *r.Level)
	}
	if r.CGroupMode != 0 {
		b = append(b, `,"cgroup-mode":`...)
		b = strconv.AppendInt(b, int64(r.CGroupMode), 10)
	}
	if r.MemHost != nil {
		b = append(b, `,"memhost":`...)
		b = strconv.AppendUint(b, *r.MemHost, 10)
	}
	b = optString(b, "network-type", r.NetType)
	b = optString(b, "network", r.Network)
	return append(b, '}')
}

func optString(b []byte, k, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return jsonstr.Append(b, v)
}

func optUint(b []byte, k string, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = append(b, ',', '"')
	b = append(b, k...)
	b = append(b, '"', ':')
	return strconv.AppendUint(b, v, 10)
}
