#!/usr/bin/env bash
# deps.sh - install the Debian packages the provider's build, tests and local run need, only when
# something is missing: etcd (test API server), Ceph 16 daemons and client libraries (go-ceph is
# cgo against librados/librbd/libcephfs), and the small tools the cluster scripts use.
set -euo pipefail
# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for p in etcd-server ceph-mon ceph-osd ceph-mgr ceph-mds radosgw librados-dev librbd-dev libcephfs-dev gcc libc6-dev openssl bc uuid-runtime curl; do
  have "$p" || need+=("$p")
done
if [ ${#need[@]} -eq 0 ]; then
  info "all packages present"; exit 0
fi
if [ "$(id -u)" != 0 ]; then
  die "missing ${need[*]}; run as root (apt-get install) or install them"
fi
info "installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
# Debian starts an etcd service on install; the project runs its own etcd on other ports.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now etcd >/dev/null 2>&1 || true; fi
info "installed"
