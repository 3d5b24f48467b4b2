// Package deps pins the project's libraries in go.mod while their users are written.
package deps

import (
	_ "github.com/ceph/go-ceph/rados"
	_ "github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	_ "github.com/crossplane/crossplane/apis/v2/core/v2"
	_ "github.com/hyperledger/fabric-chaincode-go/v2/shim"
	_ "github.com/hyperledger/fabric-gateway/pkg/client"
	_ "github.com/luthermonson/go-proxmox"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/stretchr/testify/require"
	_ "go.etcd.io/bbolt"
	_ "google.golang.org/grpc"
	_ "sigs.k8s.io/controller-runtime"
	_ "sigs.k8s.io/controller-runtime/pkg/envtest"
)
