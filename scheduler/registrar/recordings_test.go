package registrar

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

const testToken = "s3cret-token-for-tests"

// recordingsFixture is a running HTTPS recordings server over one camera
// folder that contains real footage.
type recordingsFixture struct {
	baseURL string
	client  *http.Client
	footage []byte
}

// footagePath returns a real video file: the shared sample when present,
// else a clip that ffmpeg generates.
func footagePath(t *testing.T) string {
	t.Helper()
	shared := filepath.Join("..", "..", "..", "shared", "data", "vtest.avi")
	if _, err := os.Stat(shared); err == nil {
		return shared
	}
	generated := filepath.Join(t.TempDir(), "testsrc.avi")
	cmd := exec.Command("ffmpeg", "-loglevel", "error", "-f", "lavfi",
		"-i", "testsrc=duration=3:size=320x240:rate=10", "-c:v", "mpeg4", generated)
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generate footage with ffmpeg (install Debian's ffmpeg): %v\n%s", err, output)
	}
	return generated
}

// writeSelfSignedPair writes a certificate for 127.0.0.1 and its key into
// dir and returns their paths and the certificate pool that trusts it.
func writeSelfSignedPair(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ferry-registrar test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile = filepath.Join(dir, "cert.pem")
	keyFile = filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", keyDER)

	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func writePEM(t *testing.T, path, blockType string, der []byte) {
	t.Helper()
	data := pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// startRecordings serves a root with camera north-gate, which holds the
// footage and a symbolic link to a file outside the root.
func startRecordings(t *testing.T) *recordingsFixture {
	t.Helper()
	footage, err := os.ReadFile(footagePath(t))
	if err != nil {
		t.Fatal(err)
	}
	base := t.TempDir()
	root := filepath.Join(base, "storage")
	camera := filepath.Join(root, "north-gate")
	if err := os.MkdirAll(camera, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(camera, "2026-12-04T08.avi"), footage, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(base, "secret.txt"), []byte("outside the root"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(camera, "escape.avi")); err != nil {
		t.Fatal(err)
	}

	certFile, keyFile, pool := writeSelfSignedPair(t, base)
	cfg := &RecordingsConfig{Listen: "127.0.0.1:0", CertFile: certFile, KeyFile: keyFile}
	logger := hclog.New(&hclog.LoggerOptions{Name: "recordings-test", Output: io.Discard})
	handler, err := NewRecordingsHandler([]string{root}, []byte(testToken), logger)
	if err != nil {
		t.Fatal(err)
	}
	listener, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeRecordings(ctx, listener, cfg, handler, logger) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("ServeRecordings: %v", err)
		}
	})

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(client.CloseIdleConnections)
	return &recordingsFixture{baseURL: "https://" + listener.Addr().String(), client: client, footage: footage}
}

// get sends a GET with the given token (none when empty) and extra header
// lines, and returns the response with its body read.
func (f *recordingsFixture) get(t *testing.T, path, token string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	request, err := http.NewRequest(http.MethodGet, f.baseURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range header {
		request.Header[name] = values
	}
	if token != "" {
		request.Header.Set("Authorization", "Bearer "+token)
	}
	response, err := f.client.Do(request)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return response, body
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func TestRecordingsListAndDownload(t *testing.T) {
	fixture := startRecordings(t)
	want := sha256Hex(fixture.footage)

	response, body := fixture.get(t, "/v1/recordings/north-gate", testToken, nil)
	if response.StatusCode != http.StatusOK {
		t.Fatalf("list status %d, want 200: %s", response.StatusCode, body)
	}
	var list []Recording
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("decode list: %v\n%s", err, body)
	}
	wantList := []Recording{{Name: "2026-12-04T08.avi", Size: int64(len(fixture.footage)), SHA256: want}}
	if len(list) != 1 || list[0] != wantList[0] {
		t.Errorf("list = %+v, want %+v (the escaping link left out)", list, wantList)
	}

	response, body = fixture.get(t, "/v1/recordings/north-gate/2026-12-04T08.avi", testToken, nil)
	if response.StatusCode != http.StatusOK {
		t.Fatalf("download status %d, want 200", response.StatusCode)
	}
	if got := sha256Hex(body); got != want {
		t.Errorf("downloaded sha256 %s, want %s", got, want)
	}
	if got := response.Header.Get(ChecksumHeader); got != want {
		t.Errorf("%s = %q, want %q", ChecksumHeader, got, want)
	}
}

func TestRecordingsRangedDownload(t *testing.T) {
	fixture := startRecordings(t)
	size := len(fixture.footage)
	cases := []struct {
		name       string
		rangeValue string
		start, end int
	}{
		{"first bytes", "bytes=0-1023", 0, 1024},
		{"middle", "bytes=" + strconv.Itoa(size/4) + "-" + strconv.Itoa(size/2-1), size / 4, size / 2},
		{"tail", "bytes=-500", size - 500, size},
		{"open end", "bytes=" + strconv.Itoa(size-100) + "-", size - 100, size},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			header := http.Header{"Range": {tc.rangeValue}}
			response, body := fixture.get(t, "/v1/recordings/north-gate/2026-12-04T08.avi", testToken, header)
			if response.StatusCode != http.StatusPartialContent {
				t.Fatalf("status %d, want 206", response.StatusCode)
			}
			if !bytes.Equal(body, fixture.footage[tc.start:tc.end]) {
				t.Errorf("body is %d bytes, want bytes %d-%d of the file", len(body), tc.start, tc.end-1)
			}
			if got := response.Header.Get(ChecksumHeader); got != sha256Hex(fixture.footage) {
				t.Errorf("%s = %q, want the whole file's checksum", ChecksumHeader, got)
			}
		})
	}
}

func TestRecordingsRejectWrongToken(t *testing.T) {
	fixture := startRecordings(t)
	cases := []struct {
		name   string
		header http.Header
	}{
		{"no header", nil},
		{"wrong token", http.Header{"Authorization": {"Bearer wrong"}}},
		{"token prefix", http.Header{"Authorization": {"Bearer " + testToken[:5]}}},
		{"basic scheme", http.Header{"Authorization": {"Basic " + testToken}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			response, body := fixture.get(t, "/v1/recordings/north-gate/2026-12-04T08.avi", "", tc.header)
			if response.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", response.StatusCode)
			}
			if !strings.HasPrefix(response.Header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", response.Header.Get("WWW-Authenticate"))
			}
			if bytes.Contains(body, fixture.footage[:64]) {
				t.Error("401 body contains recording bytes")
			}
			if !bytes.Contains(body, []byte("Authorization: Bearer <token>")) {
				t.Errorf("401 body %q does not say which header to send", body)
			}
		})
	}
}

func TestRecordingsRejectPathsOutsideRoot(t *testing.T) {
	fixture := startRecordings(t)
	cases := []struct {
		name      string
		path      string
		wantError string
	}{
		{"dot dot segments", "/v1/recordings/north-gate/../../secret.txt", "without folders"},
		{"dot dot camera", "/v1/recordings/../secret.txt", "is invalid"},
		{"escaped slash", "/v1/recordings/north-gate/..%2F..%2Fsecret.txt", "is invalid"},
		{"escaped dot dot", "/v1/recordings/north-gate/%2e%2e", "is invalid"},
		{"link leaving root", "/v1/recordings/north-gate/escape.avi", "not found"},
		{"unknown camera", "/v1/recordings/south-gate", `camera "south-gate" not found`},
		{"unknown recording", "/v1/recordings/north-gate/missing.avi", "not found"},
		{"other prefix", "/v2/recordings/north-gate", "not found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			response, body := fixture.get(t, tc.path, testToken, nil)
			if response.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d, want 404: %s", response.StatusCode, body)
			}
			var decoded errorBody
			if err := json.Unmarshal(body, &decoded); err != nil {
				t.Fatalf("decode error body: %v\n%s", err, body)
			}
			if !strings.Contains(decoded.Error, tc.wantError) {
				t.Errorf("error %q, want it to contain %q", decoded.Error, tc.wantError)
			}
			if strings.Contains(string(body), "outside the root") {
				t.Error("response contains the file outside the root")
			}
		})
	}
}

func TestChecksumCacheReadsOncePerVersion(t *testing.T) {
	cache := newChecksumCache()
	opens := 0
	content := "recording"
	open := func() (io.ReadCloser, error) {
		opens++
		return io.NopCloser(strings.NewReader(content)), nil
	}
	modTime := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)
	steps := []struct {
		name      string
		size      int64
		modTime   time.Time
		wantOpens int
	}{
		{"first read", 9, modTime, 1},
		{"same size and time", 9, modTime, 1},
		{"new time", 9, modTime.Add(time.Second), 2},
		{"new size", 10, modTime.Add(time.Second), 3},
	}
	for _, step := range steps {
		t.Run(step.name, func(t *testing.T) {
			sum, err := cache.sum("/r/cam/a.avi", step.size, step.modTime, open)
			if err != nil {
				t.Fatal(err)
			}
			if sum != sha256Hex([]byte(content)) {
				t.Errorf("sum %s, want the content's sha256", sum)
			}
			if opens != step.wantOpens {
				t.Errorf("file opened %d times, want %d", opens, step.wantOpens)
			}
		})
	}

	failing := func() (io.ReadCloser, error) { opens++; return nil, errors.New("unreadable") }
	for range 2 {
		if _, err := cache.sum("/r/cam/b.avi", 1, modTime, failing); err == nil {
			t.Error("sum of an unreadable file returned no error")
		}
	}
	if opens-3 != 2 {
		t.Errorf("unreadable file opened %d times, want 2 because failures are not cached", opens-3)
	}
}

func TestRecordingsConfigValidate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _ := writeSelfSignedPair(t, dir)
	tokenFile := filepath.Join(dir, "token")
	emptyToken := filepath.Join(dir, "empty")
	if err := os.WriteFile(tokenFile, []byte(testToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(emptyToken, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		cfg     RecordingsConfig
		wantErr string
	}{
		{"off", RecordingsConfig{}, ""},
		{"complete", RecordingsConfig{Listen: ":8443", CertFile: certFile, KeyFile: keyFile, TokenFile: tokenFile}, ""},
		{"no cert", RecordingsConfig{Listen: ":8443", KeyFile: keyFile, TokenFile: tokenFile}, "recordings.cert_file: missing"},
		{"key mismatch", RecordingsConfig{Listen: ":8443", CertFile: certFile, KeyFile: certFile, TokenFile: tokenFile}, "invalid key pair"},
		{"no token", RecordingsConfig{Listen: ":8443", CertFile: certFile, KeyFile: keyFile}, "recordings.token_file: missing"},
		{"empty token", RecordingsConfig{Listen: ":8443", CertFile: certFile, KeyFile: keyFile, TokenFile: emptyToken}, "empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Errorf("Validate: %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Validate error = %v, want it to contain %q", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("error contains the token: %v", err)
			}
		})
	}
}

func TestChecksumCacheSharesComputation(t *testing.T) {
	cache := newChecksumCache()
	started := make(chan struct{})
	release := make(chan struct{})
	var opens atomic.Int32
	open := func() (io.ReadCloser, error) {
		if opens.Add(1) == 1 {
			close(started)
			<-release
		}
		return io.NopCloser(strings.NewReader("recording")), nil
	}
	modTime := time.Date(2026, 12, 4, 8, 0, 0, 0, time.UTC)

	sums := make(chan string, 4)
	go func() {
		sum, _ := cache.sum("/r/cam/a.avi", 9, modTime, open)
		sums <- sum
	}()
	<-started
	for range 3 {
		go func() {
			sum, _ := cache.sum("/r/cam/a.avi", 9, modTime, open)
			sums <- sum
		}()
	}
	close(release)

	for range 4 {
		if sum := <-sums; sum != sha256Hex([]byte("recording")) {
			t.Errorf("sum %q, want the content's sha256", sum)
		}
	}
	if got := opens.Load(); got != 1 {
		t.Errorf("file opened %d times by concurrent requests, want 1", got)
	}
}
