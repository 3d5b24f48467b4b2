# shellcheck shell=bash
# lib.sh - what the cluster/*.sh scripts share. Source it, do not run it:
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Logging (stderr only; stdout stays the script's result, e.g. a path its callers read):
#   step MSG   a stage of the script          [test.sh  12.3s] === MSG
#   info MSG   progress                       [test.sh  12.3s] MSG
#   warn MSG                                  [test.sh  12.3s] WARNING: MSG
#   die MSG    then exit 1                    [test.sh  12.3s] ERROR: MSG
#   The name is the sourcing script's file name (LOG_NAME overrides it), the time is the seconds since
#   lib.sh was sourced.
# Ports (loopback; a port is taken when something accepts a TCP connection on it):
#   port_free HOST PORT            true when nothing listens on HOST:PORT
#   need_free_port HOST PORT HINT  die "port PORT is in use (HINT)" unless port_free
#   wait_port HOST PORT [SECONDS]  wait (default 60 s) until something listens; false on timeout
# Locks:
#   lock FILE [SECONDS]  hold an exclusive flock on FILE until the script (or subshell) exits; waits up
#                        to SECONDS (default: forever) and fails after that. A file this process already
#                        holds is not locked twice. Without flock(1) it does nothing.
#   close_locks          close the lock fds (in a subshell that execs a daemon, so the daemon does not
#                        inherit the locks).
# Tools built from Go modules:
#   go_tool_build NAMES MODULE@VERSION PKGS DEST   see the comment above the function.
#
# Needs bash >= 5 (EPOCHREALTIME, {fd} redirections).

[ -n "${_CLUSTER_LIB:-}" ] && return 0
_CLUSTER_LIB=1

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG_NAME=${LOG_NAME:-$(basename "${BASH_SOURCE[1]:-$0}")}
_LOG_T0=${EPOCHREALTIME//[!0-9]/}

_log() {
  local us=$(( ${EPOCHREALTIME//[!0-9]/} - _LOG_T0 ))
  printf '[%s %4d.%01ds] %s\n' "$LOG_NAME" $(( us / 1000000 )) $(( us / 100000 % 10 )) "$*" >&2
}
step() { _log "=== $*"; }
info() { _log "$*"; }
warn() { _log "WARNING: $*"; }
die() { _log "ERROR: $*"; exit 1; }

# ---- ports ------------------------------------------------------------------------------------
port_free() { # HOST PORT
  ! (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

need_free_port() { # HOST PORT HINT
  port_free "$1" "$2" || die "port $2 is in use${3:+ ($3)}"
}

wait_port() { # HOST PORT [SECONDS]
  local i
  for ((i = 0; i < ${3:-60} * 10; i++)); do
    port_free "$1" "$2" || return 0
    sleep 0.1
  done
  return 1
}

# ---- locks ------------------------------------------------------------------------------------
declare -gA _LOCK_FDS=()

lock() { # FILE [SECONDS]
  local f=$1 fd
  [ -n "${_LOCK_FDS[$f]:-}" ] && return 0
  mkdir -p "$(dirname "$f")"
  exec {fd}>"$f"
  if command -v flock >/dev/null 2>&1; then
    if [ -n "${2:-}" ]; then flock -w "$2" "$fd" || { exec {fd}>&-; return 1; }; else flock "$fd"; fi
  fi
  _LOCK_FDS[$f]=$fd
}

close_locks() {
  local f
  for f in "${!_LOCK_FDS[@]}"; do exec {_LOCK_FDS[$f]}>&-; done
  _LOCK_FDS=()
}

# ---- tools built from Go modules ---------------------------------------------------------------
# go_tool_build NAMES MODULE@VERSION PKGS DEST
#   Builds the main package(s) PKGS of the Go module MODULE at VERSION (from the module proxy) into
#   DEST/NAME, in a scratch module (GO_TOOL_MODDIR, default DEST/.mod) whose go.mod requires MODULE at
#   VERSION, so that module's own go.mod decides the dependency versions. NAMES and PKGS are
#   space-separated lists of the same length (the i-th package becomes DEST/<i-th name>); the binaries
#   that need building are built by one `go build`.
#   Each binary is stamped (DEST/.NAME.version holds GO_TOOL_STAMP, default MODULE@VERSION) after it
#   is in place. Idempotent: a binary is rebuilt only when it is missing or its stamp differs; when
#   none is, no go command runs. Concurrency-safe: the build holds a flock on <scratch module>/.lock
#   (30 min at most). Writes nothing on stdout.
# Set for the call only (VAR=... go_tool_build ...):
#   GO_TOOL_STAMP    the stamp (change it when the build recipe changes, to rebuild cached binaries)
#   GO_TOOL_LDFLAGS  go build -ldflags
#   GO_TOOL_MODDIR   the scratch module's directory
#   GO_TOOL_PREPARE  a function run in the scratch module instead of the default set-up: go mod init
#                    (once), a tools.go importing PKGS, go get MODULE@VERSION, go mod tidy
#   GO_TOOL_AFTER    a function run in the scratch module once the binaries are in place, before the
#                    stamps are written (e.g. to copy files out of the module)
#   GO_TOOL_NOSUMDB=1  fetch MODULE without the checksum database (a pseudo-version it does not know;
#                    go.sum still pins the hash and every other dependency is verified)
go_tool_fresh() { # NAME STAMP DEST
  [ -x "$3/$1" ] && [ -f "$3/.$1.version" ] && [ "$(< "$3/.$1.version")" = "$2" ]
}

go_tool_build() ( # a subshell: the lock and the cd end with the build
  set -euo pipefail
  local -a names pkgs todo=() todo_pkgs=()
  read -r -a names <<<"$1"
  read -r -a pkgs <<<"$3"
  local modver=$2 dest=$4
  local module=${modver%@*} version=${modver##*@}
  local stamp=${GO_TOOL_STAMP:-$modver} moddir=${GO_TOOL_MODDIR:-$4/.mod} i
  [ "${#names[@]}" -gt 0 ] && [ "${#names[@]}" = "${#pkgs[@]}" ] || die "go_tool_build: NAMES and PKGS differ in length"
  [ "$module" != "$modver" ] || die "go_tool_build: $modver is not MODULE@VERSION"

  stale() {
    todo=() todo_pkgs=()
    for i in "${!names[@]}"; do
      go_tool_fresh "${names[$i]}" "$stamp" "$dest" || { todo+=("${names[$i]}"); todo_pkgs+=("${pkgs[$i]}"); }
    done
    [ "${#todo[@]}" -gt 0 ]
  }
  stale || exit 0
  command -v go >/dev/null || die "go not found"
  mkdir -p "$dest" "$moddir"
  lock "$moddir/.lock" 1800 || die "timed out waiting for another build in $moddir"
  stale || { info "${names[*]} built meanwhile in $dest"; exit 0; }

  local nosumdb=${GONOSUMDB:-}
  [ "${GO_TOOL_NOSUMDB:-0}" = 1 ] && nosumdb=${nosumdb:+$nosumdb,}$module
  cd "$moddir"
  {
    if [ -n "${GO_TOOL_PREPARE:-}" ]; then
      "$GO_TOOL_PREPARE"
    else
      [ -f go.mod ] || go mod init "microcloud.local/${names[0]}-tools" >/dev/null 2>&1
      {
        echo "//go:build tools"; echo; echo "// Package tools pins ${pkgs[*]} for this scratch module (cluster/lib.sh)."
        echo "package tools"; echo; echo "import ("
        for i in "${pkgs[@]}"; do echo "	_ \"$i\""; done
        echo ")"
      } > tools.go
      info "resolving $modver"
      GONOSUMDB=$nosumdb go get "$modver"
      GONOSUMDB=$nosumdb go mod tidy
    fi
    local s=$EPOCHSECONDS tmp=$dest/.build-tmp
    info "building ${todo[*]} ($modver)"
    rm -rf "$tmp" && mkdir -p "$tmp"
    if [ "${#todo[@]}" = 1 ]; then
      go build ${GO_TOOL_LDFLAGS:+-ldflags "$GO_TOOL_LDFLAGS"} -o "$tmp/${todo[0]}" "${todo_pkgs[0]}"
    else
      # go build -o DIR/ names each binary after its package's last path element (before a /vN)
      go build ${GO_TOOL_LDFLAGS:+-ldflags "$GO_TOOL_LDFLAGS"} -o "$tmp/" "${todo_pkgs[@]}"
      local base
      for i in "${!todo[@]}"; do
        base=${todo_pkgs[$i]##*/}
        if [[ $base =~ ^v[0-9]+$ ]]; then base=${todo_pkgs[$i]%/*}; base=${base##*/}; fi
        if [ "$base" != "${todo[$i]}" ]; then mv "$tmp/$base" "$tmp/${todo[$i]}.renamed"; fi
      done
      for i in "${!todo[@]}"; do
        if [ -e "$tmp/${todo[$i]}.renamed" ]; then mv "$tmp/${todo[$i]}.renamed" "$tmp/${todo[$i]}"; fi
      done
    fi
    for i in "${todo[@]}"; do mv "$tmp/$i" "$dest/$i"; done
    rm -rf "$tmp"
    [ -z "${GO_TOOL_AFTER:-}" ] || "$GO_TOOL_AFTER"
    for i in "${todo[@]}"; do echo "$stamp" > "$dest/.$i.version"; done
    info "built ${todo[*]} in $(( EPOCHSECONDS - s ))s"
  } >&2
)
