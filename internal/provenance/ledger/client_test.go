package ledger

import (
	"errors"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Only the endorsers' disagreement (a peer a block behind) is endorsed again; a
// chaincode refusal or any other failure is returned at once.
func TestEndorsersDisagree(t *testing.T) {
	withDetail := func(msg string) error {
		st, err := status.New(codes.Aborted, "failed to collect enough transaction endorsements, see attached details for more info").
			WithDetails(&gateway.ErrorDetail{Address: "127.0.0.1:7057", MspId: "AuditorMSP", Message: msg})
		if err != nil {
			t.Fatal(err)
		}
		return st.Err()
	}
	assert.True(t, endorsersDisagree(withDetail("ProposalResponsePayloads do not match")))
	assert.False(t, endorsersDisagree(withDetail("chaincode response 500, record 0 of batch rejected: hash does not match its content")))
	assert.False(t, endorsersDisagree(status.Error(codes.Unavailable, "connection refused")))
	assert.False(t, endorsersDisagree(errors.New("ProposalResponse")))
}
