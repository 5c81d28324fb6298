package video

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/hashicorp/go-hclog"
)

// Limits of one staging run.
const (
	// stagingAttempts is how many requests one file gets, the first
	// included, before a broken transfer fails the staging.
	stagingAttempts = 3
	// stagingListMaxBytes bounds the JSON listing read from a peer.
	stagingListMaxBytes = 8 << 20
	// checksumHeader carries the hex SHA-256 of the whole file in a
	// recording response.
	checksumHeader = "X-Checksum-Sha256"
	// partialSuffix marks a file whose transfer is not complete.
	partialSuffix = ".partial"
)

var sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)

// recordingEntry is one file of a peer's camera listing.
type recordingEntry struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// stager fetches a camera's recordings from peer nodes over HTTPS.
type stager struct {
	client *http.Client
	token  string
	peers  []string
	logger hclog.Logger
}

// stageResult is the peer a camera came from and the bytes received.
type stageResult struct {
	Peer  string
	Bytes int64
}

// transferError is a request or body read that failed part way, which a
// Range request may resume.
type transferError struct{ err error }

func (e *transferError) Error() string { return e.err.Error() }
func (e *transferError) Unwrap() error { return e.err }

// newStager reads the token and CA files, so that a rotated token is used
// from the next staging on.
func newStager(cfg *StagingConfig, logger hclog.Logger) (*stager, error) {
	data, err := os.ReadFile(cfg.TokenFile)
	if err != nil {
		return nil, fmt.Errorf("read staging.token_file: %w", err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return nil, fmt.Errorf("invalid staging.token_file %q: the file is empty, write the peers' bearer token into it", cfg.TokenFile)
	}

	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read staging.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("invalid staging.ca_file %q: no PEM certificate found", cfg.CAFile)
		}
		tlsConfig.RootCAs = pool
	}
	return &stager{
		client: &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConfig, ForceAttemptHTTP2: true}},
		token:  token,
		peers:  cfg.Peers,
		logger: logger,
	}, nil
}

// stage copies the camera's recordings into dest from the first peer that
// serves all of them.
func (s *stager) stage(ctx context.Context, camera, dest string) (stageResult, error) {
	var failures []string
	for _, peer := range s.peers {
		n, err := s.stageFrom(ctx, peer, camera, dest)
		if err == nil {
			return stageResult{Peer: peer, Bytes: n}, nil
		}
		if ctx.Err() != nil {
			return stageResult{}, fmt.Errorf("stage camera %q from %s: %w", camera, peer, err)
		}
		s.logger.Warn("failed to stage camera from peer", "camera", camera, "peer", peer, "bytes", n, "error", err)
		failures = append(failures, fmt.Sprintf("%s: %v", peer, err))
	}
	return stageResult{}, fmt.Errorf("failed to stage camera %q from any staging peer (%s): check that a peer holds the camera and that the token and CA are current",
		camera, strings.Join(failures, "; "))
}

func (s *stager) stageFrom(ctx context.Context, peer, camera, dest string) (int64, error) {
	entries, err := s.list(ctx, peer, camera)
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return 0, fmt.Errorf("create staging folder: %w", err)
	}
	var total int64
	for _, entry := range entries {
		n, err := s.fetch(ctx, peer, camera, entry, dest)
		total += n
		if err != nil {
			return total, fmt.Errorf("recording %q: %w", entry.Name, err)
		}
	}
	return total, nil
}

// get sends an authorised GET, with a Range header unless rangeHeader is
// empty.
func (s *stager) get(ctx context.Context, target, rangeHeader string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	if rangeHeader != "" {
		req.Header.Set("Range", rangeHeader)
	}
	return s.client.Do(req)
}

func recordingsURL(peer, camera string) string {
	return peer + "/v1/recordings/" + url.PathEscape(camera)
}

// list returns the peer's listing of the camera, with every entry checked.
func (s *stager) list(ctx context.Context, peer, camera string) ([]recordingEntry, error) {
	resp, err := s.get(ctx, recordingsURL(peer, camera), "")
	if err != nil {
		return nil, fmt.Errorf("list recordings: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("list recordings: %w", statusError(resp))
	}

	var entries []recordingEntry
	if err := json.NewDecoder(io.LimitReader(resp.Body, stagingListMaxBytes)).Decode(&entries); err != nil {
		return nil, fmt.Errorf("decode recordings listing: %w", err)
	}
	for _, entry := range entries {
		if err := entry.validate(); err != nil {
			return nil, err
		}
	}
	return entries, nil
}

func (e recordingEntry) validate() error {
	name := e.Name
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) ||
		strings.HasPrefix(name, ".") || strings.HasSuffix(name, partialSuffix) {
		return fmt.Errorf("invalid recording name %q in the peer's listing: expected a plain file name", name)
	}
	if e.Size < 0 {
		return fmt.Errorf("invalid size %d of recording %q in the peer's listing", e.Size, name)
	}
	if !sha256Hex.MatchString(e.SHA256) {
		return fmt.Errorf("invalid sha256 %q of recording %q in the peer's listing: expected 64 lowercase hex digits", e.SHA256, name)
	}
	return nil
}

// statusError describes a response that is not a success, with the start of
// its body.
func statusError(resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Errorf("peer returned %s: %s", resp.Status, strings.TrimSpace(string(body)))
}

// fileSHA256 returns the hex SHA-256 of the file at path.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var errChecksumMismatch = errors.New("checksum mismatch")
