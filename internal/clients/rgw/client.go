// Package rgw is the provider's client of a Ceph RADOS Gateway: its admin API (users, quotas,
// bucket stats; go-ceph's rgw/admin) and its S3 API (buckets, versioning, lifecycle; the AWS SDK),
// one per site, shared by the ObjectStoreUser and Bucket controllers.
package rgw

import (
	"bytes"
	"crypto/md5" //nolint:gosec // S3's Content-MD5 header is MD5 by definition, not a security choice.
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/ceph/go-ceph/rgw/admin"
	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"

	"github.com/microcloud-dev/provider-microcloud/internal/clients/tlsaudit"
)

const (
	errCABundle = "the object store CA bundle holds no PEM certificate"
	// requestTimeout bounds one HTTP request to the gateway.
	requestTimeout = 15 * time.Second
)

// Config is how to reach one gateway: its URL and an admin user's S3 keys.
type Config struct {
	Endpoint              string
	AccessKey             string
	SecretKey             string
	CABundle              []byte
	InsecureSkipTLSVerify bool
}

// key identifies a Config, credentials included, so a rotated admin key gets a new client.
func (c Config) key() string {
	h := sha256.New()
	for _, f := range []string{c.Endpoint, c.AccessKey, c.SecretKey, string(c.CABundle), strconv.FormatBool(c.InsecureSkipTLSVerify)} {
		_, _ = fmt.Fprintf(h, "%d:%s", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Keys are one RGW user's S3 credentials.
type Keys struct {
	AccessKey string
	SecretKey string
}

// Client talks to one gateway.
type Client struct {
	endpoint string
	http     *http.Client
	admin    *admin.API
	hook     atomic.Pointer[FaultHook] // test-only; see SetFaultHook
}

// Clients shares one Client per gateway and admin credentials.
type Clients struct {
	mu sync.Mutex
	m  map[string]*Client
}

// NewClients returns an empty registry.
func NewClients() *Clients { return &Clients{m: map[string]*Client{}} }

// Get returns the shared client of cfg, made on first use.
func (r *Clients) Get(cfg Config) (*Client, error) {
	k := cfg.key()
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.m[k]; ok {
		return c, nil
	}
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	r.m[k] = c
	return c, nil
}

// New returns a client of the gateway cfg names.
func New(cfg Config) (*Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if len(cfg.CABundle) > 0 || cfg.InsecureSkipTLSVerify {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.InsecureSkipTLSVerify {
			tlsaudit.Insecure(tc, "rgw", cfg.Endpoint) // only when the config says so explicitly (labs).
		}
		if len(cfg.CABundle) > 0 {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(cfg.CABundle) {
				return nil, errors.New(errCABundle)
			}
			tc.RootCAs = pool
		}
		tr.TLSClientConfig = tc
	}
	c := &Client{endpoint: strings.TrimRight(cfg.Endpoint, "/")}
	c.http = &http.Client{Timeout: requestTimeout, Transport: &transport{inner: tr, hook: &c.hook}}
	a, err := admin.New(c.endpoint, cfg.AccessKey, cfg.SecretKey, c.http)
	if err != nil {
		return nil, errors.Wrap(err, "cannot make the RGW admin client")
	}
	c.admin = a
	return c, nil
}

// Endpoint is the gateway's URL, which S3 clients use.
func (c *Client) Endpoint() string { return c.endpoint }

// S3 returns an S3 client acting as the user whose keys are k: path-style addressing, and
// checksums only where S3 requires them (Ceph 16 knows neither trailing nor CRC checksums).
func (c *Client) S3(k Keys) *s3.Client {
	return s3.New(s3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String(c.endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(k.AccessKey, k.SecretKey, ""),
		HTTPClient:                 c.http,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// transport counts requests, passes them through a test's fault hook when one is installed, and adds the Content-MD5 header Ceph 16 requires on a lifecycle PUT
// (current AWS SDKs send a CRC32 checksum instead). The header is not signed, which SigV4 allows.
type transport struct {
	inner http.RoundTripper
	hook  *atomic.Pointer[FaultHook]
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut && req.URL.Query().Has("lifecycle") && req.Header.Get("Content-MD5") == "" && req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		sum := md5.Sum(b) //nolint:gosec // see the import
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.Header.Set("Content-MD5", base64.StdEncoding.EncodeToString(sum[:]))
	}
	send := func(r *http.Request) (*http.Response, error) {
		resp, err := t.inner.RoundTrip(r)
		observe(r, resp, err)
		return resp, err
	}
	if h := t.hook.Load(); h != nil {
		return faulted(*h, req, send)
	}
	return send(req)
}
