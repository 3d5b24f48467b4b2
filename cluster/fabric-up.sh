#!/usr/bin/env bash
# fabric-up.sh — bring up a minimal, REAL Hyperledger Fabric network on loopback, without Docker.
#
#   1 orderer org / 1 etcdraft orderer and two peer organisations, each with its own CA material
#   (cryptogen) and its own peer (LevelDB): the operator's (Org1MSP, the provider's connector writes
#   through it) and an auditor's (AuditorMSP, reads and verifies; its client identity may not write).
#   TLS on, channel participation API (no system channel), one channel, chaincodes run as a service
#   (CCaaS), each organisation running its own chaincode server:
#     provenance         endorsement policy AND('Org1MSP.peer','AuditorMSP.peer'): a record is
#                        committed only when both organisations' peers endorsed it; the chaincode
#                        lets only Org1MSP identities call PutBatch (PROVENANCE_WRITERS)
#     provenance-tamper  TEST ONLY: the same chaincode built with -tags provenancetamper, which stores
#                        records without any check and whose own Verify always says OK; installed on
#                        the operator's peer only (policy OR('Org1MSP.peer')), so tests can write a
#                        broken chain and show that the client-side verify catches it
#
# Idempotent: re-running only does what is missing (build, crypto, genesis block, processes that are
# not running, channel joins, chaincode lifecycle) and leaves the network running.
# Writes $FABRIC_LAB_DIR/fabric.env with everything a client (fabric-gateway) needs.
# Stop with fabric-down.sh (same FABRIC_LAB_DIR).
#
# Fabric is built from the Go module proxy (github.com/hyperledger/fabric at the v2.5.9 release commit,
# the only Fabric release the proxy here serves) into a cached scratch module; no Fabric source is kept
# in any repository.
#
# The chaincode is ours: ./cmd/provenance-chaincode of this repository, built on every run and
# (re)started when its binary changed; it is deployed as chaincode-as-a-service (CCaaS).
# After the lifecycle, `provenance-connector probe` (go run, cached after the first run) waits until the operator's gateway
# can collect both organisations' endorsements (cross-organisation gossip has converged).
#
# Usage: cluster/fabric-up.sh [--build-only | --export]
#   --build-only   only build (or check) the cached Fabric binaries, start nothing
#   --export       also print `export FABRIC_ENV=<lab dir>/fabric.env` on stdout (logs go to stderr):
#                  eval "$(cluster/fabric-up.sh --export)"
#
# Environment (all optional):
#   FABRIC_LAB_DIR     network state, logs, pids, fabric.env   (default /tmp/mc-fabric)
#   FABRIC_CACHE       cached Fabric build                     (default <repo>/.cache/fabric, git-ignored)
#   FABRIC_PORT_BASE   first of 12 consecutive ports           (default: the lab's, else 7050: orderer 7050, peer 7051,
#                      peer chaincode 7052, orderer admin 7053, chaincode server 7054,
#                      orderer operations 7055, peer operations 7056, auditor peer 7057, auditor peer
#                      chaincode 7058, auditor peer operations 7059, auditor chaincode server 7060,
#                      tamper chaincode server 7061; all on 127.0.0.1)
#   FABRIC_BATCH_TIMEOUT  orderer BatchTimeout                 (default 100ms; only for a new channel)
#   FABRIC_HISTORY_DB=1  keep the peers' own history database (Fabric's default; off here: nothing reads it,
#                      the chaincode keeps each chain itself and never calls GetHistoryForKey; read when a peer starts)
#   FABRIC_CHAINCODE_PPROF=1  the operator's and the auditor's chaincode servers serve net/http/pprof on
#                      127.0.0.1:BASE+12 and BASE+13 (for profiling; a server is restarted when this changes)
#   FABRIC_PEER_PPROF=1  the operator's and the auditor's peers serve Fabric's profiling endpoint (net/http/pprof) on
#                      127.0.0.1:BASE+14 and BASE+15 (read when a peer starts)
set -euo pipefail

FABRIC_MODULE=github.com/hyperledger/fabric
FABRIC_PSEUDO=v0.0.0-20240618194258-7c3876255bf0   # tag v2.5.9, commit 7c3876255bf064b789a839ce347b6a02adb6333c
FABRIC_VERSION=2.5.9

# shellcheck source=cluster/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REPO=$REPO_ROOT
NET=${FABRIC_LAB_DIR:-/tmp/mc-fabric}
CACHE=${FABRIC_CACHE:-$REPO/.cache/fabric}
BUILD_ONLY= EXPORT=
case "${1:-}" in
  --build-only) BUILD_ONLY=1 ;;
  --export) EXPORT=1 ;;
  "") ;;
  *) echo "usage: $0 [--build-only | --export]" >&2; exit 2 ;;
esac
# an existing lab keeps the ports it was created with (a re-run that restarts a stopped peer, e.g.
# from a test, need not know them); FABRIC_PORT_BASE set to another value is an error then
BASE=${FABRIC_PORT_BASE:-$(cat "$NET/.port-base" 2>/dev/null || echo 7050)}
if [ -z "$BUILD_ONLY" ] && [ -s "$NET/.port-base" ] && [ "$(cat "$NET/.port-base")" != "$BASE" ]; then
  echo "fabric-up.sh: $NET was created with FABRIC_PORT_BASE=$(cat "$NET/.port-base"), not $BASE (fabric-down.sh it first)" >&2
  exit 1
fi
ORDERER_PORT=$BASE
PEER_PORT=$((BASE + 1))
PEER_CC_PORT=$((BASE + 2))
ADMIN_PORT=$((BASE + 3))
CC_PORT=$((BASE + 4))
ORDERER_OPS_PORT=$((BASE + 5))
PEER_OPS_PORT=$((BASE + 6))
AUD_PEER_PORT=$((BASE + 7))
AUD_PEER_CC_PORT=$((BASE + 8))
AUD_PEER_OPS_PORT=$((BASE + 9))
AUD_CC_PORT=$((BASE + 10))
TAMPER_CC_PORT=$((BASE + 11))
CHANNEL=provenance
CC_NAME=provenance
CC_LABEL=provenance_1
CC_POLICY="AND('Org1MSP.peer','AuditorMSP.peer')"
TAMPER_NAME=provenance-tamper
TAMPER_POLICY="OR('Org1MSP.peer')"
LAYOUT=two-orgs-2   # what $NET/.layout must say for this script to reuse the state in $NET
BATCH_TIMEOUT=${FABRIC_BATCH_TIMEOUT:-100ms}
GOFLAGS=$(go env GOFLAGS)   # keeps flags from the go env file, which an exported GOFLAGS would replace
case " $GOFLAGS " in *" -p="*) ;; *) GOFLAGS="${GOFLAGS:+$GOFLAGS }-p=2" ;; esac   # 2-core machines
export GOFLAGS

BUILD=$CACHE/fabric-$FABRIC_VERSION
BIN=$BUILD/bin
CRYPTO=$NET/crypto
ORG1=$CRYPTO/peerOrganizations/org1.example.com
ORDORG=$CRYPTO/ordererOrganizations/example.com
ORDERER_TLS=$ORDORG/orderers/orderer.example.com/tls
PEER_TLS=$ORG1/peers/peer0.org1.example.com/tls
AUD=$CRYPTO/peerOrganizations/auditor.example.com
AUD_PEER_TLS=$AUD/peers/peer0.auditor.example.com/tls
BLOCK=$NET/artifacts/$CHANNEL.block

# ---------------------------------------------------------------- 1. build Fabric (cached)
build_fabric() {
  local c names= pkgs= stamp=$FABRIC_MODULE@$FABRIC_PSEUDO
  for c in peer orderer configtxgen cryptogen osnadmin; do names+=" $c"; pkgs+=" $FABRIC_MODULE/cmd/$c"; done
  # a cache built before the binaries were stamped: the same version (the directory names it)
  if [ ! -e "$BIN/.peer.version" ] && [ -f "$BUILD/config/core.yaml" ] && [ -f "$BUILD/config/orderer.yaml" ]; then
    for c in $names; do if [ -x "$BIN/$c" ]; then echo "$stamp" > "$BIN/.$c.version"; fi; done
  fi
  # the checksum DB has no entry for this pseudo-version: skip it for Fabric only, in this scratch
  # module only (the other ~110 dependencies still verify; go.sum then pins Fabric's hash)
  GO_TOOL_MODDIR=$BUILD GO_TOOL_NOSUMDB=1 GO_TOOL_AFTER=fabric_config \
  GO_TOOL_LDFLAGS="-X $FABRIC_MODULE/common/metadata.Version=$FABRIC_VERSION -X $FABRIC_MODULE/common/metadata.CommitSHA=7c3876255bf0" \
    go_tool_build "$names" "$stamp" "$pkgs" "$BIN"
  info "fabric $FABRIC_VERSION binaries in $BIN"
}

# the peer and orderer need core.yaml / orderer.yaml; take Fabric's sample config from the module
fabric_config() {
  local mod; mod=$(go list -m -f '{{.Dir}}' "$FABRIC_MODULE")
  mkdir -p "$BUILD/config" && cp "$mod/sampleconfig/core.yaml" "$mod/sampleconfig/orderer.yaml" "$BUILD/config/" \
    && chmod u+w "$BUILD/config/"*
}

# ---------------------------------------------------------------- helpers
pid_alive() { # pidfile expected-binary-substring
  local f=$1 pid
  [ -f "$f" ] || return 1
  pid=$(cat "$f")
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "$2"
}

wait_http_ok() { # url seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

start_bg() { # name binary-substring envfile cmd...
  local name=$1 match=$2 envfile=$3; shift 3
  if pid_alive "$NET/pids/$name.pid" "$match"; then info "$name already running (pid $(cat "$NET/pids/$name.pid"))"; return; fi
  info "starting $name"
  # setsid: own session, so the process outlives this script and a CI step's process group
  (close_locks; set -a; . "$envfile"; set +a; exec setsid "$@" >>"$NET/logs/$name.log" 2>&1 < /dev/null) &
  echo $! > "$NET/pids/$name.pid"
}

peer_admin_env() { # [auditor]: the peer CLI as the operator's (default) or the auditor's admin
  export FABRIC_CFG_PATH=$NET/config
  export CORE_PEER_TLS_ENABLED=true
  if [ "${1:-}" = auditor ]; then
    export CORE_PEER_ADDRESS=127.0.0.1:$AUD_PEER_PORT
    export CORE_PEER_LOCALMSPID=AuditorMSP
    export CORE_PEER_MSPCONFIGPATH=$AUD/users/Admin@auditor.example.com/msp
    export CORE_PEER_TLS_ROOTCERT_FILE=$AUD_PEER_TLS/ca.crt
  else
    export CORE_PEER_ADDRESS=127.0.0.1:$PEER_PORT
    export CORE_PEER_LOCALMSPID=Org1MSP
    export CORE_PEER_MSPCONFIGPATH=$ORG1/users/Admin@org1.example.com/msp
    export CORE_PEER_TLS_ROOTCERT_FILE=$PEER_TLS/ca.crt
  fi
}

# check_layout: state left by an older fabric-up.sh (one peer organisation) cannot be extended in
# place (the channel's genesis block names its organisations): stop that network and start afresh.
check_layout() {
  [ -d "$NET/crypto" ] || [ -s "$BLOCK" ] || { echo "$LAYOUT" > "$NET/.layout"; return; }
  [ "$(cat "$NET/.layout" 2>/dev/null)" = "$LAYOUT" ] && return
  warn "$NET holds a network of an older layout (not '$LAYOUT'): stopping it and starting afresh"
  FABRIC_LAB_DIR=$NET "$REPO/cluster/fabric-down.sh"
  mkdir -p "$NET"/{logs,pids,artifacts,data}
  echo "$LAYOUT" > "$NET/.layout"
}

# ---------------------------------------------------------------- 2. crypto + genesis block
gen_crypto() {
  if [ -f "$ORG1/users/User1@org1.example.com/msp/keystore/priv_sk" ] && [ -f "$ORDERER_TLS/server.key" ] \
    && [ -f "$AUD/users/User1@auditor.example.com/msp/keystore/priv_sk" ]; then
    info "crypto material exists"; return
  fi
  info "cryptogen"
  cat > "$NET/crypto-config.yaml" <<EOF
OrdererOrgs:
  - Name: Orderer
    Domain: example.com
    EnableNodeOUs: true
    Specs:
      - Hostname: orderer
        SANS: [127.0.0.1, localhost]
PeerOrgs:
  - Name: Org1
    Domain: org1.example.com
    EnableNodeOUs: true
    Template:
      Count: 1
      SANS: [127.0.0.1, localhost]
    Users:
      Count: 1
  - Name: Auditor
    Domain: auditor.example.com
    EnableNodeOUs: true
    Template:
      Count: 1
      SANS: [127.0.0.1, localhost]
    Users:
      Count: 1
EOF
  rm -rf "$CRYPTO.tmp"
  "$BIN/cryptogen" generate --config="$NET/crypto-config.yaml" --output="$CRYPTO.tmp" >/dev/null
  rm -rf "$CRYPTO" && mv "$CRYPTO.tmp" "$CRYPTO"
}

gen_block() {
  if [ -s "$BLOCK" ]; then info "channel genesis block exists"; return; fi
  info "configtxgen (channel $CHANNEL, etcdraft, BatchTimeout $BATCH_TIMEOUT)"
  mkdir -p "$NET/configtx"
  cat > "$NET/configtx/configtx.yaml" <<EOF
Organizations:
  - &OrdererOrg
    Name: OrdererOrg
    ID: OrdererMSP
    MSPDir: $ORDORG/msp
    Policies:
      Readers: {Type: Signature, Rule: "OR('OrdererMSP.member')"}
      Writers: {Type: Signature, Rule: "OR('OrdererMSP.member')"}
      Admins: {Type: Signature, Rule: "OR('OrdererMSP.admin')"}
    OrdererEndpoints: ["127.0.0.1:$ORDERER_PORT"]
  - &Org1
    Name: Org1MSP
    ID: Org1MSP
    MSPDir: $ORG1/msp
    Policies:
      Readers: {Type: Signature, Rule: "OR('Org1MSP.admin', 'Org1MSP.peer', 'Org1MSP.client')"}
      Writers: {Type: Signature, Rule: "OR('Org1MSP.admin', 'Org1MSP.client')"}
      Admins: {Type: Signature, Rule: "OR('Org1MSP.admin')"}
      Endorsement: {Type: Signature, Rule: "OR('Org1MSP.peer')"}
    AnchorPeers:
      - {Host: 127.0.0.1, Port: $PEER_PORT}
  - &Auditor
    Name: AuditorMSP
    ID: AuditorMSP
    MSPDir: $AUD/msp
    Policies:
      Readers: {Type: Signature, Rule: "OR('AuditorMSP.admin', 'AuditorMSP.peer', 'AuditorMSP.client')"}
      # the auditor's clients read; only its admin (chaincode approvals) sends transactions to the orderer
      Writers: {Type: Signature, Rule: "OR('AuditorMSP.admin')"}
      Admins: {Type: Signature, Rule: "OR('AuditorMSP.admin')"}
      Endorsement: {Type: Signature, Rule: "OR('AuditorMSP.peer')"}
    AnchorPeers:
      - {Host: 127.0.0.1, Port: $AUD_PEER_PORT}
Capabilities:
  Channel: &ChannelCapabilities {V2_0: true}
  Orderer: &OrdererCapabilities {V2_0: true}
  Application: &ApplicationCapabilities {V2_5: true}
Application: &ApplicationDefaults
  Organizations:
  Policies:
    Readers: {Type: ImplicitMeta, Rule: "ANY Readers"}
    Writers: {Type: ImplicitMeta, Rule: "ANY Writers"}
    Admins: {Type: ImplicitMeta, Rule: "MAJORITY Admins"}
    LifecycleEndorsement: {Type: ImplicitMeta, Rule: "MAJORITY Endorsement"}
    Endorsement: {Type: ImplicitMeta, Rule: "MAJORITY Endorsement"}
  # proposals (queries, endorsements) need only read access, so the auditor's client identity can
  # query; sending a transaction to the orderer still needs /Channel/Writers, which it is not (and
  # the chaincode refuses its PutBatch anyway). Every other ACL keeps Fabric's default.
  ACLs:
    peer/Propose: /Channel/Application/Readers
  Capabilities: *ApplicationCapabilities
Orderer: &OrdererDefaults
  OrdererType: etcdraft
  EtcdRaft:
    Consenters:
      - Host: 127.0.0.1
        Port: $ORDERER_PORT
        ClientTLSCert: $ORDERER_TLS/server.crt
        ServerTLSCert: $ORDERER_TLS/server.crt
  BatchTimeout: $BATCH_TIMEOUT
  BatchSize: {MaxMessageCount: 500, AbsoluteMaxBytes: 10 MB, PreferredMaxBytes: 2 MB}
  Organizations:
  Policies:
    Readers: {Type: ImplicitMeta, Rule: "ANY Readers"}
    Writers: {Type: ImplicitMeta, Rule: "ANY Writers"}
    Admins: {Type: ImplicitMeta, Rule: "MAJORITY Admins"}
    BlockValidation: {Type: ImplicitMeta, Rule: "ANY Writers"}
Channel: &ChannelDefaults
  Policies:
    Readers: {Type: ImplicitMeta, Rule: "ANY Readers"}
    Writers: {Type: ImplicitMeta, Rule: "ANY Writers"}
    Admins: {Type: ImplicitMeta, Rule: "MAJORITY Admins"}
  Capabilities: *ChannelCapabilities
Profiles:
  TwoOrgChannel:
    <<: *ChannelDefaults
    Orderer:
      <<: *OrdererDefaults
      Organizations: [*OrdererOrg]
      Capabilities: *OrdererCapabilities
    Application:
      <<: *ApplicationDefaults
      Organizations: [*Org1, *Auditor]
      Capabilities: *ApplicationCapabilities
EOF
  FABRIC_CFG_PATH=$NET/configtx "$BIN/configtxgen" -profile TwoOrgChannel -channelID "$CHANNEL" \
    -outputBlock "$BLOCK.tmp" 2>>"$NET/logs/configtxgen.log"
  mv "$BLOCK.tmp" "$BLOCK"
}

# ---------------------------------------------------------------- 3. processes
write_envs() {
  # per-network copies of Fabric's sample core.yaml/orderer.yaml. vm.endpoint must be EMPTY in the file:
  # an empty CORE_VM_ENDPOINT env var is ignored, and then the peer registers a Docker health check
  # that makes /healthz answer 503 ("failed to ping to Docker daemon") once it has run.
  mkdir -p "$NET/config"
  sed 's#^\(    endpoint:\) unix:///var/run/docker.sock#\1 ""#' "$BUILD/config/core.yaml" > "$NET/config/core.yaml"
  grep -q '^    endpoint: ""' "$NET/config/core.yaml" || die "could not blank vm.endpoint in core.yaml"
  cp "$BUILD/config/orderer.yaml" "$NET/config/orderer.yaml"
  cat > "$NET/orderer.env" <<EOF
FABRIC_CFG_PATH=$NET/config
FABRIC_LOGGING_SPEC=info
ORDERER_GENERAL_LISTENADDRESS=127.0.0.1
ORDERER_GENERAL_LISTENPORT=$ORDERER_PORT
ORDERER_GENERAL_LOCALMSPID=OrdererMSP
ORDERER_GENERAL_LOCALMSPDIR=$ORDORG/orderers/orderer.example.com/msp
ORDERER_GENERAL_TLS_ENABLED=true
ORDERER_GENERAL_TLS_PRIVATEKEY=$ORDERER_TLS/server.key
ORDERER_GENERAL_TLS_CERTIFICATE=$ORDERER_TLS/server.crt
ORDERER_GENERAL_TLS_ROOTCAS=[$ORDERER_TLS/ca.crt]
ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE=$ORDERER_TLS/server.crt
ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY=$ORDERER_TLS/server.key
ORDERER_GENERAL_CLUSTER_ROOTCAS=[$ORDERER_TLS/ca.crt]
ORDERER_GENERAL_BOOTSTRAPMETHOD=none
ORDERER_CHANNELPARTICIPATION_ENABLED=true
ORDERER_ADMIN_LISTENADDRESS=127.0.0.1:$ADMIN_PORT
ORDERER_ADMIN_TLS_ENABLED=true
ORDERER_ADMIN_TLS_PRIVATEKEY=$ORDERER_TLS/server.key
ORDERER_ADMIN_TLS_CERTIFICATE=$ORDERER_TLS/server.crt
ORDERER_ADMIN_TLS_ROOTCAS=[$ORDERER_TLS/ca.crt]
ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED=true
ORDERER_ADMIN_TLS_CLIENTROOTCAS=[$ORDERER_TLS/ca.crt]
ORDERER_FILELEDGER_LOCATION=$NET/data/orderer/ledger
ORDERER_CONSENSUS_WALDIR=$NET/data/orderer/wal
ORDERER_CONSENSUS_SNAPDIR=$NET/data/orderer/snap
ORDERER_OPERATIONS_LISTENADDRESS=127.0.0.1:$ORDERER_OPS_PORT
ORDERER_METRICS_PROVIDER=disabled
EOF
  mkdir -p "$NET/builders/ccaas/bin"
  # external builder for package type "ccaas": detect / build / release (peer calls them with dirs)
  cat > "$NET/builders/ccaas/bin/detect" <<'EOF'
#!/bin/sh
# detect CHAINCODE_SOURCE_DIR CHAINCODE_METADATA_DIR
grep -Eq '"type"[[:space:]]*:[[:space:]]*"ccaas"' "$2/metadata.json"
EOF
  cat > "$NET/builders/ccaas/bin/build" <<'EOF'
#!/bin/sh
# build CHAINCODE_SOURCE_DIR CHAINCODE_METADATA_DIR BUILD_OUTPUT_DIR
set -e
[ -f "$1/connection.json" ] || { echo "connection.json missing from code.tar.gz" >&2; exit 1; }
cp "$1/connection.json" "$3/"
if [ -d "$1/metadata" ]; then cp -R "$1/metadata" "$3/"; fi
EOF
  cat > "$NET/builders/ccaas/bin/release" <<'EOF'
#!/bin/sh
# release BUILD_OUTPUT_DIR RELEASE_OUTPUT_DIR
set -e
mkdir -p "$2/chaincode/server"
cp "$1/connection.json" "$2/chaincode/server/"
if [ -d "$1/metadata" ]; then mkdir -p "$2/statedb" && cp -R "$1/metadata/." "$2/statedb/"; fi
EOF
  chmod +x "$NET/builders/ccaas/bin/"*
  write_peer_env peer peer0.org1.example.com Org1MSP "$ORG1/peers/peer0.org1.example.com" "$PEER_TLS" \
    "$PEER_PORT" "$PEER_CC_PORT" "$PEER_OPS_PORT" $((BASE + 14))
  write_peer_env peer-auditor peer0.auditor.example.com AuditorMSP "$AUD/peers/peer0.auditor.example.com" "$AUD_PEER_TLS" \
    "$AUD_PEER_PORT" "$AUD_PEER_CC_PORT" "$AUD_PEER_OPS_PORT" $((BASE + 15))
}

write_peer_env() { # name peer-id msp-id peer-dir tls-dir port chaincode-port operations-port profile-port
  # the history database indexes every key write of every block (GetHistoryForKey); no client of this
  # network asks for it (the chaincode keeps each resource's chain itself), so by default it is off
  local HISTORY_DB=false
  [ "${FABRIC_HISTORY_DB:-0}" = 1 ] && HISTORY_DB=true
  local PROFILE=false
  [ "${FABRIC_PEER_PPROF:-0}" = 1 ] && PROFILE=true
  # gossip intervals are short (loopback, two peers): the peers learn of each other and of each
  # other's chaincodes within a second or two, which the gateway needs to collect both endorsements.
  # The bootstrap peer is the peer itself (as in Fabric's test network; each organisation has one): an
  # empty value is ignored and core.yaml's 127.0.0.1:7051 kept, i.e. the default network's peer, dialled
  # every few seconds by a network on other ports
  cat > "$NET/$1.env" <<EOF
FABRIC_CFG_PATH=$NET/config
FABRIC_LOGGING_SPEC=info
CORE_PEER_ID=$2
CORE_PEER_ADDRESS=127.0.0.1:$6
CORE_PEER_LISTENADDRESS=127.0.0.1:$6
CORE_PEER_CHAINCODEADDRESS=127.0.0.1:$7
CORE_PEER_CHAINCODELISTENADDRESS=127.0.0.1:$7
CORE_PEER_GOSSIP_BOOTSTRAP=127.0.0.1:$6
CORE_PEER_GOSSIP_ENDPOINT=127.0.0.1:$6
CORE_PEER_GOSSIP_EXTERNALENDPOINT=127.0.0.1:$6
CORE_PEER_GOSSIP_ALIVETIMEINTERVAL=1s
CORE_PEER_GOSSIP_RECONNECTINTERVAL=1s
CORE_PEER_GOSSIP_PUBLISHSTATEINFOINTERVAL=1s
CORE_PEER_GOSSIP_REQUESTSTATEINFOINTERVAL=1s
CORE_PEER_GOSSIP_MEMBERSHIPTRACKERINTERVAL=1s
CORE_PEER_LOCALMSPID=$3
CORE_PEER_MSPCONFIGPATH=$4/msp
CORE_PEER_TLS_ENABLED=true
CORE_PEER_TLS_CERT_FILE=$5/server.crt
CORE_PEER_TLS_KEY_FILE=$5/server.key
CORE_PEER_TLS_ROOTCERT_FILE=$5/ca.crt
CORE_PEER_FILESYSTEMPATH=$NET/data/$1
CORE_LEDGER_STATE_STATEDATABASE=goleveldb
CORE_LEDGER_HISTORY_ENABLEHISTORYDATABASE=$HISTORY_DB
CORE_LEDGER_SNAPSHOTS_ROOTDIR=$NET/data/$1/snapshots
CORE_OPERATIONS_LISTENADDRESS=127.0.0.1:$8
CORE_PEER_PROFILE_ENABLED=$PROFILE
CORE_PEER_PROFILE_LISTENADDRESS=127.0.0.1:$9
CORE_METRICS_PROVIDER=disabled
CORE_CHAINCODE_EXTERNALBUILDERS='[{name: ccaas, path: $NET/builders/ccaas}]'
EOF
}

start_network() {
  local p
  if ! pid_alive "$NET/pids/orderer.pid" "$BIN/orderer"; then
    for p in $ORDERER_PORT $ADMIN_PORT $ORDERER_OPS_PORT; do need_free_port 127.0.0.1 "$p" "set FABRIC_PORT_BASE"; done
  fi
  if ! pid_alive "$NET/pids/peer.pid" "$BIN/peer"; then
    for p in $PEER_PORT $PEER_CC_PORT $PEER_OPS_PORT; do need_free_port 127.0.0.1 "$p" "set FABRIC_PORT_BASE"; done
  fi
  if ! pid_alive "$NET/pids/peer-auditor.pid" "$BIN/peer"; then
    for p in $AUD_PEER_PORT $AUD_PEER_CC_PORT $AUD_PEER_OPS_PORT; do need_free_port 127.0.0.1 "$p" "set FABRIC_PORT_BASE"; done
  fi
  start_bg orderer "$BIN/orderer" "$NET/orderer.env" "$BIN/orderer"
  start_bg peer "$BIN/peer" "$NET/peer.env" "$BIN/peer" node start
  start_bg peer-auditor "$BIN/peer" "$NET/peer-auditor.env" "$BIN/peer" node start
  wait_http_ok "http://127.0.0.1:$ORDERER_OPS_PORT/healthz" 60 || die "orderer not healthy; see $NET/logs/orderer.log"
  wait_http_ok "http://127.0.0.1:$PEER_OPS_PORT/healthz" 60 || die "peer not healthy; see $NET/logs/peer.log"
  wait_http_ok "http://127.0.0.1:$AUD_PEER_OPS_PORT/healthz" 60 || die "auditor peer not healthy; see $NET/logs/peer-auditor.log"
  info "orderer and peers healthy"
}

join_channel() {
  local adm=(-o "127.0.0.1:$ADMIN_PORT" --ca-file "$ORDERER_TLS/ca.crt"
    --client-cert "$ORDORG/users/Admin@example.com/tls/client.crt" --client-key "$ORDORG/users/Admin@example.com/tls/client.key")
  local st= i
  for ((i = 0; i < 150; i++)); do
    st=$("$BIN/osnadmin" channel list --channelID "$CHANNEL" "${adm[@]}" 2>/dev/null | head -1) || true
    case $st in "Status: 200" | "Status: 404") break ;; esac
    sleep 0.2
  done
  if [ "$st" = "Status: 200" ]; then
    info "orderer already in channel $CHANNEL"
  else
    info "osnadmin channel join $CHANNEL"
    "$BIN/osnadmin" channel join --channelID "$CHANNEL" --config-block "$BLOCK" "${adm[@]}" >>"$NET/logs/admin.log" 2>&1 \
      || die "osnadmin join failed; see $NET/logs/admin.log"
  fi
  local p1 p2
  join_peer operator & p1=$!
  join_peer auditor & p2=$!
  wait "$p1" || die "operator peer could not join"
  wait "$p2" || die "auditor peer could not join"
}

join_peer() { # operator|auditor
  (
  peer_admin_env "$1"
  # /healthz answers before the peer's gRPC service is up and its channels are loaded: wait for the CLI
  local out= i
  for ((i = 0; i < 150; i++)); do out=$("$BIN/peer" channel list 2>&1) && break; out=; sleep 0.2; done
  [ -n "$out" ] || die "$1 peer does not answer 'peer channel list'; see $NET/logs/"
  if grep -qx "$CHANNEL" <<<"$out"; then
    info "$1 peer already in channel $CHANNEL"
  else
    info "$1 peer channel join $CHANNEL"
    "$BIN/peer" channel join -b "$BLOCK" >>"$NET/logs/admin-$1.log" 2>&1 || die "$1 peer channel join failed; see $NET/logs/admin-$1.log"
  fi
  )
}

# ---------------------------------------------------------------- 4. chaincode (CCaaS)
build_cc() {
  # The chaincode binaries are cached in $CACHE/chaincode/<stamp>, the stamp hashing what they are built
  # from (the Go version, go.mod/go.sum, and the sources of cmd/provenance-chaincode and
  # internal/provenance/*, which hold every package of this module the chaincode imports: `go list -deps`
  # says record and chaincode; it costs 2 s, so it is not run here), so a fresh lab dir reuses them; a
  # running server is restarted only if its binary changed.
  local stamp dir
  stamp=$(cd "$REPO" && { go version; cat go.mod go.sum
    find cmd/provenance-chaincode internal/provenance -name '*.go' ! -name '*_test.go' | LC_ALL=C sort | xargs cat; } \
    | sha256sum | cut -c1-16) || die "cannot stamp the chaincode sources"
  dir=$CACHE/chaincode/$stamp
  if [ -x "$dir/chaincode" ] && [ -x "$dir/chaincode-tamper" ]; then
    info "chaincode servers cached ($dir)"
  else
    info "building the chaincode servers from $REPO/cmd/provenance-chaincode"
    mkdir -p "$dir.tmp"
    (cd "$REPO" && go build -tags pacific -o "$dir.tmp/chaincode" ./cmd/provenance-chaincode \
      && go build -tags pacific,provenancetamper -o "$dir.tmp/chaincode-tamper" ./cmd/provenance-chaincode) \
      || die "chaincode build failed"
    rm -rf "$dir" && mv "$dir.tmp" "$dir"
  fi
  local b name
  for b in chaincode chaincode-tamper; do
    if [ -x "$NET/bin/$b" ] && cmp -s "$NET/bin/$b" "$dir/$b"; then continue; fi
    for name in chaincode chaincode-auditor chaincode-tamper; do
      [ "$(servers_binary "$name")" = "$b" ] || continue
      if pid_alive "$NET/pids/$name.pid" "$NET/bin/$b"; then
        info "$b binary changed: stopping $name (pid $(cat "$NET/pids/$name.pid"))"
        stop_pid "$(cat "$NET/pids/$name.pid")"
      fi
    done
    cp "$dir/$b" "$NET/bin/$b.new" && mv "$NET/bin/$b.new" "$NET/bin/$b"
  done
}

servers_binary() { case $1 in chaincode-tamper) echo chaincode-tamper ;; *) echo chaincode ;; esac; }

stop_pid() { # pid: TERM, wait up to 10 s, then KILL
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do [ -d "/proc/$pid" ] || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}

package_cc() { # package-name label chaincode-server-port
  # deterministic tarballs => stable package ID across runs
  local d=$NET/ccpkg/$1
  if [ -s "$d.tgz" ]; then return; fi
  rm -rf "$d" && mkdir -p "$d/code" "$d/pkg"
  printf '{"address":"127.0.0.1:%s","dial_timeout":"10s","tls_required":false}\n' "$3" > "$d/code/connection.json"
  printf '{"type":"ccaas","label":"%s"}\n' "$2" > "$d/pkg/metadata.json"
  local tarflags=(--sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner)
  tar "${tarflags[@]}" -C "$d/code" -cf - connection.json | gzip -n > "$d/pkg/code.tar.gz"
  tar "${tarflags[@]}" -C "$d/pkg" -cf - metadata.json code.tar.gz | gzip -n > "$d.tgz.tmp"
  mv "$d.tgz.tmp" "$d.tgz"
}

install_cc() { # operator|auditor package-name: install on that organisation's peer
  (
  peer_admin_env "$1"
  local pkg=$NET/ccpkg/$2.tgz pkgid
  pkgid=$("$BIN/peer" lifecycle chaincode calculatepackageid "$pkg")
  if "$BIN/peer" lifecycle chaincode queryinstalled 2>/dev/null | grep -qF "Package ID: $pkgid,"; then
    info "$2 installed on the $1 peer"
  else
    info "installing $2 on the $1 peer"
    # queryinstalled can miss a package right after a peer restart, or while another run installs
    # it: a peer that already has it answers "already successfully installed", which is success
    local out
    if ! out=$("$BIN/peer" lifecycle chaincode install "$pkg" 2>&1); then
      printf '%s\n' "$out" >>"$NET/logs/admin-$1.log"
      grep -qF "chaincode already successfully installed" <<<"$out" || die "install failed; see $NET/logs/admin-$1.log"
      info "$2 was installed on the $1 peer already"
    else
      printf '%s\n' "$out" >>"$NET/logs/admin-$1.log"
    fi
  fi
  )
}

start_cc() { # server-name binary package-name port [env...]
  local name=$1 bin=$NET/bin/$2 pkgid
  pkgid=$(FABRIC_CFG_PATH=$NET/config "$BIN/peer" lifecycle chaincode calculatepackageid "$NET/ccpkg/$3.tgz")
  local env
  env=$(printf 'CHAINCODE_ID=%s\nCHAINCODE_SERVER_ADDRESS=127.0.0.1:%s\n' "$pkgid" "$4"; shift 4; printf '%s\n' "$@")
  # a running server whose settings changed (e.g. FABRIC_CHAINCODE_PPROF) is restarted with the new ones
  if pid_alive "$NET/pids/$name.pid" "$bin" && [ "$env" != "$(cat "$NET/$name.env" 2>/dev/null)" ]; then
    info "restarting $name (settings changed)"
    stop_pid "$(cat "$NET/pids/$name.pid")"
  fi
  if ! pid_alive "$NET/pids/$name.pid" "$bin"; then need_free_port 127.0.0.1 "$4" "set FABRIC_PORT_BASE"; fi
  printf '%s\n' "$env" > "$NET/$name.env"
  start_bg "$name" "$bin" "$NET/$name.env" "$bin"
}

orderer_retry() { # log-file cmd...: run cmd, its output to log-file; retried for up to 15 s while the orderer
  # answers SERVICE_UNAVAILABLE ("no Raft leader": it joined the channel a moment ago and has not elected
  # itself yet). Nothing was ordered then, so the retry is safe.
  local log=$1 i out; shift
  for ((i = 0; i < 30; i++)); do
    if out=$("$@" 2>&1); then echo "$out" >>"$log"; return 0; fi
    echo "$out" >>"$log"
    grep -q 'SERVICE_UNAVAILABLE' <<<"$out" || return 1
    sleep 0.5
  done
  return 1
}
approve_cc() { # operator|auditor chaincode-name policy [package-name]: approve the definition for that organisation
  (
  peer_admin_env "$1"
  local pkg=()
  [ -n "${4:-}" ] && pkg=(--package-id "$("$BIN/peer" lifecycle chaincode calculatepackageid "$NET/ccpkg/$4.tgz")")
  orderer_retry "$NET/logs/admin-$1.log" "$BIN/peer" lifecycle chaincode approveformyorg -o "127.0.0.1:$ORDERER_PORT" \
    --tls --cafile "$ORDERER_TLS/ca.crt" -C "$CHANNEL" -n "$2" -v 1.0 --sequence 1 --signature-policy "$3" "${pkg[@]}" \
    || die "$1: approve $2 failed; see $NET/logs/admin-$1.log"
  )
}
commit_cc() { # chaincode-name policy: commit the definition, endorsed by both organisations' peers
  (
  peer_admin_env
  orderer_retry "$NET/logs/admin.log" "$BIN/peer" lifecycle chaincode commit -o "127.0.0.1:$ORDERER_PORT" --tls \
    --cafile "$ORDERER_TLS/ca.crt" -C "$CHANNEL" -n "$1" -v 1.0 --sequence 1 --signature-policy "$2" \
    --peerAddresses "127.0.0.1:$PEER_PORT" --tlsRootCertFiles "$PEER_TLS/ca.crt" \
    --peerAddresses "127.0.0.1:$AUD_PEER_PORT" --tlsRootCertFiles "$AUD_PEER_TLS/ca.crt" \
    || die "commit $1 failed; see $NET/logs/admin.log"
  )
}

committed() { # chaincode-name
  (peer_admin_env; "$BIN/peer" lifecycle chaincode querycommitted -C "$CHANNEL" -n "$1" 2>/dev/null | grep -q 'Sequence: 1,')
}

bg_all() { # "cmd args" ...: run each in the background, fail if any failed
  local c pids=() p rc=0
  for c in "$@"; do eval "$c" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || rc=1; done
  return $rc
}

deploy_cc() {
  package_cc provenance-operator "$CC_LABEL" "$CC_PORT"
  package_cc provenance-auditor "$CC_LABEL" "$AUD_CC_PORT"
  package_cc provenance-tamper "${TAMPER_NAME}_1" "$TAMPER_CC_PORT"
  # each organisation installs its own package (its own chaincode server); the tamper chaincode
  # only on the operator's peer. The Go build runs meanwhile.
  bg_all "install_cc operator provenance-operator" "install_cc operator provenance-tamper" \
    "install_cc auditor provenance-auditor" build_cc || die "install or build failed"
  # chaincode servers (a peer dials its server on first use); only Org1MSP identities may write
  local op_env=(PROVENANCE_WRITERS=Org1MSP) aud_env=(PROVENANCE_WRITERS=Org1MSP)
  if [ "${FABRIC_CHAINCODE_PPROF:-0}" = 1 ]; then
    op_env+=("PROVENANCE_PPROF_ADDR=127.0.0.1:$((BASE + 12))") aud_env+=("PROVENANCE_PPROF_ADDR=127.0.0.1:$((BASE + 13))")
  fi
  start_cc chaincode chaincode provenance-operator "$CC_PORT" "${op_env[@]}"
  start_cc chaincode-auditor chaincode provenance-auditor "$AUD_CC_PORT" "${aud_env[@]}"
  start_cc chaincode-tamper chaincode-tamper provenance-tamper "$TAMPER_CC_PORT" PROVENANCE_WRITERS=Org1MSP

  local todo=() approvals=() commits=()
  if committed "$CC_NAME"; then info "chaincode $CC_NAME committed on $CHANNEL"; else todo+=("$CC_NAME"); fi
  if committed "$TAMPER_NAME"; then info "chaincode $TAMPER_NAME committed on $CHANNEL"; else todo+=("$TAMPER_NAME"); fi
  [ "${#todo[@]}" -eq 0 ] && return
  info "approve (both organisations) + commit: ${todo[*]}"
  for c in "${todo[@]}"; do
    if [ "$c" = "$CC_NAME" ]; then
      approvals+=("approve_cc operator $CC_NAME \"$CC_POLICY\" provenance-operator" "approve_cc auditor $CC_NAME \"$CC_POLICY\" provenance-auditor")
      commits+=("commit_cc $CC_NAME \"$CC_POLICY\"")
    else
      approvals+=("approve_cc operator $TAMPER_NAME \"$TAMPER_POLICY\" provenance-tamper" "approve_cc auditor $TAMPER_NAME \"$TAMPER_POLICY\"")
      commits+=("commit_cc $TAMPER_NAME \"$TAMPER_POLICY\"")
    fi
  done
  bg_all "${approvals[@]}" || die "approval failed"
  bg_all "${commits[@]}" || die "commit failed"
}

# ---------------------------------------------------------------- 5. smoke test: chaincode answers
smoke() {
  # a query through each peer proves peer -> its chaincode server; the lifecycle commit above already
  # went through the orderer. No record is written, so the ledger holds only what clients put.
  local org out i
  for org in operator auditor; do
    (
    peer_admin_env "$org"
    for ((i = 0; i < 100; i++)); do
      out=$("$BIN/peer" chaincode query -C "$CHANNEL" -n "$CC_NAME" -c '{"Args":["Head","fabric-up/selftest"]}' 2>&1) && {
        info "smoke: chaincode answers on the $org peer"; exit 0; }
      sleep 0.2
    done
    die "chaincode not reachable through the $org peer: $out"
    ) || exit 1
  done
}

# probe: the operator's gateway can collect both organisations' endorsements (it learns the auditor's
# peer and its chaincode through gossip); endorses an empty batch, nothing is ordered or written
probe() {
  # go run: Go caches the executable it links, so only the first run after a change pays for the link
  (cd "$REPO" && go run -tags pacific ./cmd/provenance-connector probe --fabric-env "$NET/fabric.env" --timeout 60s >>"$NET/logs/probe.log" 2>&1) \
    || die "the gateway cannot collect both endorsements; see $NET/logs/probe.log"
  info "probe: $(tail -1 "$NET/logs/probe.log")"
}

write_client_env() {
  cat > "$NET/fabric.env" <<EOF
# written by cluster/fabric-up.sh: what a fabric-gateway client (and the tests) need
FABRIC_LAB_DIR=$NET
FABRIC_UP=$REPO/cluster/fabric-up.sh
FABRIC_DOWN=$REPO/cluster/fabric-down.sh
FABRIC_CACHE=$CACHE
FABRIC_PEER_PID_FILE=$NET/pids/peer.pid
FABRIC_PEER_ENDPOINT=127.0.0.1:$PEER_PORT
FABRIC_PEER_TLS_CA=$PEER_TLS/ca.crt
FABRIC_ORDERER_ENDPOINT=127.0.0.1:$ORDERER_PORT
FABRIC_ORDERER_TLS_CA=$ORDERER_TLS/ca.crt
FABRIC_MSP_ID=Org1MSP
FABRIC_USER_CERT=$ORG1/users/User1@org1.example.com/msp/signcerts/User1@org1.example.com-cert.pem
FABRIC_USER_KEY=$ORG1/users/User1@org1.example.com/msp/keystore/priv_sk
FABRIC_CHANNEL=$CHANNEL
FABRIC_CHAINCODE=$CC_NAME
FABRIC_BIN=$BIN
# for the peer CLI as Org1 admin: FABRIC_CFG_PATH=\$FABRIC_CLI_CFG_PATH CORE_PEER_MSPCONFIGPATH=\$FABRIC_ADMIN_MSP ...
FABRIC_CLI_CFG_PATH=$NET/config
FABRIC_ADMIN_MSP=$ORG1/users/Admin@org1.example.com/msp
# the chaincode's endorsement policy: both organisations
FABRIC_ENDORSEMENT_POLICY=$CC_POLICY
# the auditor's organisation: its own peer and CA; its client identity reads, never writes
FABRIC_AUDITOR_PEER_PID_FILE=$NET/pids/peer-auditor.pid
FABRIC_AUDITOR_PEER_ENDPOINT=127.0.0.1:$AUD_PEER_PORT
FABRIC_AUDITOR_PEER_TLS_CA=$AUD_PEER_TLS/ca.crt
FABRIC_AUDITOR_MSP_ID=AuditorMSP
FABRIC_AUDITOR_USER_CERT=$AUD/users/User1@auditor.example.com/msp/signcerts/User1@auditor.example.com-cert.pem
FABRIC_AUDITOR_USER_KEY=$AUD/users/User1@auditor.example.com/msp/keystore/priv_sk
FABRIC_AUDITOR_ADMIN_MSP=$AUD/users/Admin@auditor.example.com/msp
# TEST ONLY: a chaincode that stores records unchecked (cmd/provenance-chaincode, -tags provenancetamper)
FABRIC_TAMPER_CHAINCODE=$TAMPER_NAME
EOF
}

build_fabric
[ -n "$BUILD_ONLY" ] && exit 0
mkdir -p "$NET"/{logs,pids,artifacts,data}
# one bring-up at a time per state dir (e.g. several test packages calling this from TestMain in parallel)
lock "$NET/.lock" 900 || die "timed out waiting for another fabric-up.sh on $NET"
check_layout
echo "$BASE" > "$NET/.port-base"
gen_crypto
gen_block
write_envs
start_network
join_channel
mkdir -p "$NET/bin"
deploy_cc
smoke
write_client_env
probe
info "network up: operator peer 127.0.0.1:$PEER_PORT, auditor peer 127.0.0.1:$AUD_PEER_PORT, orderer 127.0.0.1:$ORDERER_PORT, channel $CHANNEL, chaincode $CC_NAME; env in $NET/fabric.env"
if [ -n "$EXPORT" ]; then echo "export FABRIC_ENV=$NET/fabric.env"; fi
