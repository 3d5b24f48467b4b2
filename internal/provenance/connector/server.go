package connector

import (
	"context"

	"github.com/crossplane/crossplane-runtime/v2/apis/changelogs/proto/v1alpha1"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/wal"
)

// Server implements crossplane-runtime's ChangeLogService.
type Server struct {
	v1alpha1.UnimplementedChangeLogServiceServer

	WAL     *wal.WAL
	Notify  func()
	Metrics *Metrics
	Log     logging.Logger
}

// SendChangeLog appends the entry's record to the WAL and answers only once it is on
// disk (bbolt fsyncs on commit). An entry sent twice is stored once.
func (s *Server) SendChangeLog(_ context.Context, req *v1alpha1.SendChangeLogRequest) (*v1alpha1.SendChangeLogResponse, error) {
	r, err := FromEntry(req.GetEntry())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	stored, dup, err := s.WAL.Append(r)
	if err != nil {
		s.Log.Info("Cannot append provenance record", "resource", r.ResourceKey, "error", err)
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	if !dup {
		s.Metrics.Appended.Inc()
		s.Notify()
	}
	s.Log.Debug("Accepted provenance record", "id", stored.ID, "resource", stored.ResourceKey,
		"operation", stored.Operation, "duplicate", dup)
	return &v1alpha1.SendChangeLogResponse{}, nil
}
