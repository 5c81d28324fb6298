package video

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ferry-video/ferry/e2e/footage"
	"github.com/ferry-video/ferry/scheduler/registrar"
	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"
)

// registrarRecording is the file name of the footage in the registrar's
// camera folder.
const registrarRecording = "2026-12-04T08.avi"

// registrarPeer is a real registrar recordings server on loopback that
// serves camera remote-cam, and the files a staging block needs to reach it.
type registrarPeer struct {
	url     string
	caFile  string
	footage []byte
}

// startRegistrarPeer serves a storage root whose camera remote-cam contains the
// sample street footage, with a self-signed certificate for 127.0.0.1.
func startRegistrarPeer(t *testing.T, token string) *registrarPeer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	repoRoot := filepath.Join("..", "..")
	source, err := footage.Find(ctx, repoRoot, filepath.Join(repoRoot, ".cache", "footage"))
	if err != nil {
		t.Fatalf("find footage: %v", err)
	}
	data, err := os.ReadFile(source)
	if err != nil {
		t.Fatal(err)
	}

	base := t.TempDir()
	camera := filepath.Join(base, "storage", "remote-cam")
	if err := os.MkdirAll(camera, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(camera, registrarRecording), data, 0o644); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := writeLoopbackCert(t, base)

	logger := hclog.NewNullLogger()
	handler, err := registrar.NewRecordingsHandler([]string{filepath.Join(base, "storage")}, []byte(token), logger)
	if err != nil {
		t.Fatalf("NewRecordingsHandler: %v", err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &registrar.RecordingsConfig{Listen: listener.Addr().String(), CertFile: certFile, KeyFile: keyFile}
	serveCtx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- registrar.ServeRecordings(serveCtx, listener, cfg, handler, logger) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("ServeRecordings: %v", err)
		}
	})
	return &registrarPeer{url: "https://" + listener.Addr().String(), caFile: certFile, footage: data}
}

// writeLoopbackCert writes a self-signed certificate for 127.0.0.1 and its
// key into dir. The certificate is its own CA, so it also serves as
// staging.ca_file.
func writeLoopbackCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ferry staging test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
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
	writePEMFile(t, certFile, "CERTIFICATE", der)
	writePEMFile(t, keyFile, "EC PRIVATE KEY", keyDER)
	return certFile, keyFile
}

func writePEMFile(t *testing.T, path, blockType string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: blockType, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// registrarStagingDriver returns a driver of env whose staging block names
// the peer and sends token.
func registrarStagingDriver(t *testing.T, env *testEnv, peer *registrarPeer, token string) *Driver {
	t.Helper()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return env.newDriverWith(map[string]cty.Value{
		"staging": cty.ObjectVal(map[string]cty.Value{
			"peers":      cty.ListVal([]cty.Value{cty.StringVal(peer.url)}),
			"token_file": cty.StringVal(tokenFile),
			"ca_file":    cty.StringVal(peer.caFile),
		}),
	})
}

// remoteCamTask returns a task fixture that reads camera remote-cam. The
// test image links only a few applets, so the script calls busybox for
// wc and sha256sum.
func remoteCamTask(env *testEnv, name string) *taskFixture {
	recording := "/recordings/remote-cam/" + registrarRecording
	config := shellTask("busybox wc -c < " + recording +
		"; busybox sha256sum " + recording +
		"; touch /recordings/remote-cam/x 2>/dev/null && echo writable || echo read-only")
	config["cameras"] = cty.ListVal([]cty.Value{cty.StringVal("remote-cam")})
	config["network_mode"] = cty.StringVal("none")
	return env.newTask(name, config)
}

func TestStagingFromRegistrar(t *testing.T) {
	const token = "registrar-staging-token"
	env := newTestEnv(t)
	peer := startRegistrarPeer(t, token)
	d := registrarStagingDriver(t, env, peer, token)
	task := remoteCamTask(env, "registrar-staged")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	events, err := d.TaskEvents(ctx)
	if err != nil {
		t.Fatalf("TaskEvents: %v", err)
	}
	if _, _, err := d.StartTask(ctx, task.cfg); err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	defer d.DestroyTask(context.Background(), task.cfg.ID, true)
	if got := waitExit(t, d, task.cfg.ID).ExitCode; got != 0 {
		t.Errorf("exit code = %d, want 0", got)
	}
	task.stdout.waitFor(t, "read-only\n", 30*time.Second)
	stdout := task.stdout.String()

	size := strconv.Itoa(len(peer.footage))
	if !strings.HasPrefix(stdout, size+"\n") {
		t.Errorf("stdout = %q, want it to start with the footage size %s", stdout, size)
	}
	sum := sha256Of(peer.footage)
	if !strings.Contains(stdout, sum+"  /recordings/remote-cam/"+registrarRecording) {
		t.Errorf("stdout = %q, want the footage sha256 %s inside the container", stdout, sum)
	}
	if strings.Contains(stdout, "writable") {
		t.Errorf("stdout = %q, want the staged camera read-only in the container", stdout)
	}
	staged, err := fileSHA256(filepath.Join(stagingDir(task.cfg, "remote-cam"), registrarRecording))
	if err != nil {
		t.Fatalf("hash staged copy: %v", err)
	}
	if staged != sum {
		t.Errorf("staged copy sha256 = %s, want %s", staged, sum)
	}

	want := "Staged camera remote-cam: copied " + size + " bytes of recordings from " + peer.url + ", because this node stores none of them"
	for found := false; !found; {
		select {
		case ev := <-events:
			found = ev.TaskID == task.cfg.ID && strings.HasPrefix(ev.Message, "Staged ")
			if found {
				t.Logf("task event: %s", ev.Message)
			}
			if found && ev.Message != want {
				t.Errorf("event = %q, want %q", ev.Message, want)
			}
		case <-ctx.Done():
			t.Fatalf("no staging event for task %s", task.cfg.ID)
		}
	}
}

func TestStagingFromRegistrarWrongToken(t *testing.T) {
	env := newTestEnv(t)
	peer := startRegistrarPeer(t, "registrar-staging-token")
	d := registrarStagingDriver(t, env, peer, "stale-token")
	task := remoteCamTask(env, "registrar-denied")

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, _, err := d.StartTask(ctx, task.cfg)
	if err == nil {
		d.DestroyTask(context.Background(), task.cfg.ID, true)
		t.Fatalf("StartTask with a wrong token succeeded, want an error")
	}
	t.Logf("StartTask error: %v", err)
	for _, want := range []string{`failed to stage camera "remote-cam"`, peer.url, "401 Unauthorized", "invalid bearer token", "token and CA are current"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("StartTask error = %q, want it to contain %q", err, want)
		}
	}
	if !isRecoverable(err) {
		t.Errorf("StartTask error is not recoverable, want recoverable because the token may be fixed: %v", err)
	}
	if ids := env.containers(); len(ids) != 0 {
		t.Errorf("containers after the failed StartTask = %v, want none", ids)
	}
}
