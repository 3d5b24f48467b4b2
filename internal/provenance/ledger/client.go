package ledger

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/hash"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/microcloud-dev/provider-microcloud/internal/provenance/chaincode"
	"github.com/microcloud-dev/provider-microcloud/internal/provenance/record"
)

const (
	errReadTLSCA   = "cannot read peer TLS CA"
	errReadCert    = "cannot read client certificate"
	errReadKey     = "cannot read client private key"
	errDial        = "cannot create gRPC client for the peer"
	errGateway     = "cannot connect to the Fabric gateway"
	errMarshal     = "cannot encode records"
	errUnmarshal   = "cannot decode chaincode answer"
	errPutBatch    = "cannot submit PutBatch"
	errEvaluateFmt = "cannot evaluate %s"
)

// Client talks to the provenance chaincode through a peer's gateway service.
type Client struct {
	conn     *grpc.ClientConn
	gw       *client.Gateway
	contract *client.Contract
	// reendorsed counts endorsements repeated because the peers disagreed
	reendorsed atomic.Int64
}

// Reendorsed is the number of endorsements repeated because the organisations' peers
// simulated different results (one a block behind): work the peers did for nothing.
func (c *Client) Reendorsed() int64 { return c.reendorsed.Load() }

// Dial connects to the peer. The gRPC connection is lazy: a peer that is down only
// makes the calls fail (and the batcher retry), not Dial.
func Dial(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	caPEM, err := os.ReadFile(cfg.PeerTLSCA)
	if err != nil {
		return nil, errors.Wrap(err, errReadTLSCA)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New(errReadTLSCA + ": no PEM certificate in " + cfg.PeerTLSCA)
	}
	certPEM, err := os.ReadFile(cfg.CertPath)
	if err != nil {
		return nil, errors.Wrap(err, errReadCert)
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, errors.Wrap(err, errReadCert)
	}
	id, err := identity.NewX509Identity(cfg.MSPID, cert)
	if err != nil {
		return nil, errors.Wrap(err, errReadCert)
	}
	keyPEM, err := os.ReadFile(cfg.KeyPath)
	if err != nil {
		return nil, errors.Wrap(err, errReadKey)
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		return nil, errors.Wrap(err, errReadKey)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, errors.Wrap(err, errReadKey)
	}
	// retry a lost peer every few seconds at most (gRPC's default backoff grows to 2 min)
	bo := backoff.DefaultConfig
	bo.MaxDelay = 5 * time.Second
	conn, err := grpc.NewClient(cfg.PeerEndpoint,
		grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, cfg.PeerHostOverride)),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: bo, MinConnectTimeout: 5 * time.Second}))
	if err != nil {
		return nil, errors.Wrap(err, errDial)
	}
	gw, err := client.Connect(id, client.WithSign(sign), client.WithHash(hash.SHA256), client.WithClientConnection(conn),
		client.WithEvaluateTimeout(30*time.Second), client.WithEndorseTimeout(30*time.Second),
		client.WithSubmitTimeout(30*time.Second), client.WithCommitStatusTimeout(time.Minute))
	if err != nil {
		_ = conn.Close()
		return nil, errors.Wrap(err, errGateway)
	}
	return &Client{conn: conn, gw: gw, contract: gw.GetNetwork(cfg.Channel).GetContract(cfg.Chaincode)}, nil
}

// Close ends the gateway session and the gRPC connection.
func (c *Client) Close() error {
	_ = c.gw.Close()
	return c.conn.Close()
}

// PutBatch submits records in one transaction and waits until it is committed. An error
// means the records may or may not be on the ledger; resubmitting them is safe. The
// gateway collects the endorsements the chaincode's policy needs (all organisations).
func (c *Client) PutBatch(ctx context.Context, rs []record.Record) (chaincode.PutResult, error) {
	return c.PutBatchEndorsedBy(ctx, rs)
}

// PutBatchEndorsedBy is PutBatch with the endorsing organisations chosen by the caller
// (none: the gateway follows the endorsement policy). A transaction endorsed by fewer
// organisations than the policy requires is ordered but committed invalid; the error is
// then a *CommitError naming the validation code (ENDORSEMENT_POLICY_FAILURE).
func (c *Client) PutBatchEndorsedBy(ctx context.Context, rs []record.Record, mspIDs ...string) (chaincode.PutResult, error) {
	e, err := c.EndorsePutBatch(ctx, rs, mspIDs...)
	if err != nil {
		return chaincode.PutResult{}, err
	}
	return e.Submit(ctx)
}

// Endorsed is a PutBatch transaction that is endorsed (simulated against the endorsing
// peers' current state) but not yet sent to the orderer.
type Endorsed struct {
	tx *client.Transaction
}

// EndorsePutBatch is the first half of PutBatchEndorsedBy: it collects the endorsements
// and returns the transaction unsubmitted. Two transactions endorsed against the same
// state and then both submitted are both ordered; the one validated second is committed
// invalid with MVCC_READ_CONFLICT if the first changed a key it read.
func (c *Client) EndorsePutBatch(ctx context.Context, rs []record.Record, mspIDs ...string) (*Endorsed, error) {
	b, err := json.Marshal(rs)
	if err != nil {
		return nil, errors.Wrap(err, errMarshal)
	}
	opts := []client.ProposalOption{client.WithArguments(string(b))}
	if len(mspIDs) > 0 {
		opts = append(opts, client.WithEndorsingOrganizations(mspIDs...))
	}
	tx, err := c.endorse(ctx, "PutBatch", opts...)
	if err != nil {
		return nil, errors.Wrap(Explain(err), errPutBatch)
	}
	return &Endorsed{tx: tx}, nil
}

// Submit sends the endorsed transaction to the orderer and waits until it is committed;
// errors as PutBatch's.
func (e *Endorsed) Submit(ctx context.Context) (chaincode.PutResult, error) {
	var res chaincode.PutResult
	commit, err := e.tx.SubmitWithContext(ctx)
	if err == nil {
		err = committed(ctx, commit)
	}
	if err != nil {
		return res, errors.Wrap(Explain(err), errPutBatch)
	}
	return res, errors.Wrap(json.Unmarshal(e.tx.Result(), &res), errUnmarshal)
}

func (c *Client) endorse(ctx context.Context, fn string, opts ...client.ProposalOption) (*client.Transaction, error) {
	p, err := c.contract.NewProposal(fn, opts...)
	if err != nil {
		return nil, err
	}
	tx, err := p.EndorseWithContext(ctx)
	for attempt := 1; err != nil && endorsersDisagree(err) && attempt < endorseAttempts; attempt++ {
		// One organisation's peer has not committed the last block yet, so it read
		// other versions than the other: nothing was ordered, and endorsing the same
		// proposal again once it caught up is safe (a transaction id commits once).
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(time.Duration(attempt) * endorseRetryWait):
		}
		c.reendorsed.Add(1)
		tx, err = p.EndorseWithContext(ctx)
	}
	return tx, err
}

// committed waits for a submitted transaction's validation: nil when it is VALID, else a
// *CommitError.
func committed(ctx context.Context, commit *client.Commit) error {
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return err
	}
	if !st.Successful {
		return &CommitError{TransactionID: st.TransactionID, Code: st.Code}
	}
	return nil
}

// CommitError is a transaction that was ordered but committed invalid.
type CommitError struct {
	TransactionID string
	Code          peer.TxValidationCode
}

func (e *CommitError) Error() string {
	return fmt.Sprintf("transaction %s failed to commit with status code %d (%s)", e.TransactionID, int32(e.Code), e.Code)
}

// Probe endorses an empty batch (nothing is ordered or written): it succeeds once the
// gateway can collect every endorsement a write needs, i.e. it knows a peer of each
// organisation the endorsement policy names and that peer runs the chaincode.
func (c *Client) Probe(ctx context.Context) error {
	p, err := c.contract.NewProposal("PutBatch", client.WithArguments("[]"))
	if err != nil {
		return err
	}
	_, err = p.EndorseWithContext(ctx)
	return Explain(err)
}

// Get returns one record.
func (c *Client) Get(ctx context.Context, id string) (record.Record, error) {
	var r record.Record
	return r, c.evaluate(ctx, "Get", id, &r)
}

// Head returns a resource's head.
func (c *Client) Head(ctx context.Context, resourceKey string) (record.Head, error) {
	var h record.Head
	return h, c.evaluate(ctx, "Head", resourceKey, &h)
}

// History returns a resource's records, oldest first.
func (c *Client) History(ctx context.Context, resourceKey string) ([]record.Record, error) {
	var rs []record.Record
	return rs, c.evaluate(ctx, "History", resourceKey, &rs)
}

// ResourcesOfComposite returns the keys of the resources with a record naming the
// composite (Crossplane's crossplane.io/composite label), sorted.
func (c *Client) ResourcesOfComposite(ctx context.Context, composite string) ([]string, error) {
	var keys []string
	return keys, c.evaluate(ctx, "ResourcesOfComposite", composite, &keys)
}

// ResourcesOfClaim returns the keys of the resources with a record naming the claim
// (crossplane.io/claim-namespace, crossplane.io/claim-name), sorted.
func (c *Client) ResourcesOfClaim(ctx context.Context, namespace, name string) ([]string, error) {
	var keys []string
	return keys, c.evaluate(ctx, "ResourcesOfClaim", namespace+"/"+name, &keys)
}

// VerifyOnPeer asks the chaincode to walk the chain.
func (c *Client) VerifyOnPeer(ctx context.Context, resourceKey string) (record.Report, error) {
	var r record.Report
	return r, c.evaluate(ctx, "Verify", resourceKey, &r)
}

// Verify reads the chain and its head and re-checks every record here, so the result
// does not depend on trusting the chaincode's own Verify.
func (c *Client) Verify(ctx context.Context, resourceKey string) (record.Report, error) {
	h, err := c.Head(ctx, resourceKey)
	if err != nil {
		return record.Report{}, err
	}
	rs, err := c.History(ctx, resourceKey)
	if err != nil {
		return record.Report{}, err
	}
	return record.VerifyChain(resourceKey, rs, h), nil
}

func (c *Client) evaluate(ctx context.Context, fn, arg string, into any) error {
	out, err := c.contract.EvaluateWithContext(ctx, fn, client.WithArguments(arg))
	if err != nil {
		return errors.Wrapf(Explain(err), errEvaluateFmt, fn)
	}
	return errors.Wrap(json.Unmarshal(out, into), errUnmarshal)
}

// Endorsing again when the endorsing peers disagreed: up to endorseAttempts in all,
// waiting 1, 2, … times endorseRetryWait between them (4.5 s in all at most).
const (
	endorseAttempts  = 10
	endorseRetryWait = 100 * time.Millisecond
)

// endorsersDisagree tells whether an endorsement failed because the organisations'
// peers simulated different results (Fabric's "ProposalResponsePayloads do not
// match"): with an AND policy that is a peer a block behind the other, not a refusal.
func endorsersDisagree(err error) bool {
	return strings.Contains(Explain(err).Error(), "ProposalResponsePayloads do not match")
}

// Explain appends the peers' own messages (the chaincode's error text), which the gateway
// attaches as gRPC status details, unless the error string already carries them.
func Explain(err error) error {
	if err == nil {
		return nil
	}
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	text := err.Error()
	var msgs []string
	for _, d := range st.Details() {
		if ed, ok := d.(*gateway.ErrorDetail); ok && !strings.Contains(text, ed.GetMessage()) {
			msgs = append(msgs, fmt.Sprintf("%s (%s): %s", ed.GetAddress(), ed.GetMspId(), ed.GetMessage()))
		}
	}
	if len(msgs) == 0 {
		return err
	}
	return fmt.Errorf("%w: %s", err, strings.Join(msgs, "; "))
}
