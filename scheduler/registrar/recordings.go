package registrar

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/drivers/video/inventory"
)

// recordingsPrefix is the path under which the recordings API is served:
// GET /v1/recordings/<camera> lists a camera's recordings and
// GET /v1/recordings/<camera>/<name> downloads one.
const recordingsPrefix = "/v1/recordings/"

// ChecksumHeader is the response header that carries the hex SHA-256 of the
// whole recording, also on ranged responses.
const ChecksumHeader = "X-Checksum-Sha256"

// Recording is one entry of a camera's recording list.
type Recording struct {
	// Name is the file name inside the camera folder.
	Name string `json:"name"`
	// Size is the file size in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of the file content.
	SHA256 string `json:"sha256"`
}

// RecordingsHandler serves the recordings stored under the camera storage
// roots to clients holding the bearer token. It serves only regular files
// directly inside a camera folder; symbolic links are followed only while
// they stay inside the camera folder.
type RecordingsHandler struct {
	roots  []string
	logger hclog.Logger
	// tokenHash is the SHA-256 of the token, so that comparing hashes takes
	// the same time whatever the length of the token a client sends.
	tokenHash [sha256.Size]byte
	checksums *checksumCache
}

// NewRecordingsHandler returns a handler serving the camera folders under
// roots, searched in order, to clients that send token.
func NewRecordingsHandler(roots []string, token []byte, logger hclog.Logger) (*RecordingsHandler, error) {
	if len(token) == 0 {
		return nil, errors.New("recordings token: empty; write a random token into the token file")
	}
	return &RecordingsHandler{
		roots:     roots,
		logger:    logger,
		tokenHash: sha256.Sum256(token),
		checksums: newChecksumCache(),
	}, nil
}

// ServeHTTP routes a request after checking its bearer token.
func (h *RecordingsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="ferry-recordings"`)
		writeError(w, http.StatusUnauthorized, "missing or invalid bearer token: send Authorization: Bearer <token>")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed: use GET", r.Method))
		return
	}

	camera, name, err := parseRecordingsPath(r.URL)
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	root, err := h.openCamera(camera)
	if err != nil {
		writeError(w, http.StatusNotFound, err.Error())
		return
	}
	defer root.Close()

	if name == "" {
		h.serveList(w, camera, root)
		return
	}
	h.serveFile(w, r, camera, name, root)
}

func (h *RecordingsHandler) authorized(r *http.Request) bool {
	header := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		return false
	}
	sent := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sent[:], h.tokenHash[:]) == 1
}

// parseRecordingsPath returns the camera and the optional recording name of
// a request path. It decodes each segment itself, so an escaped slash or a
// ".." segment is rejected rather than resolved.
func parseRecordingsPath(u *url.URL) (camera, name string, err error) {
	rest, ok := strings.CutPrefix(u.EscapedPath(), recordingsPrefix)
	if !ok {
		return "", "", fmt.Errorf("path %q not found: use %s<camera>[/<name>]", u.Path, recordingsPrefix)
	}
	segments := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	if len(segments) > 2 {
		return "", "", fmt.Errorf("path %q not found: a recording name is one file name, without folders", u.Path)
	}
	decoded := make([]string, len(segments))
	for i, segment := range segments {
		value, err := url.PathUnescape(segment)
		if err != nil || !validPathElement(value) {
			return "", "", fmt.Errorf("path element %q is invalid: use a camera id and a file name without '/', '\\' or '..'", segment)
		}
		decoded[i] = value
	}
	if len(decoded) == 2 {
		name = decoded[1]
	}
	return decoded[0], name, nil
}

func validPathElement(value string) bool {
	if value == "" || value == "." || value == ".." || strings.HasPrefix(value, ".") {
		return false
	}
	return !strings.ContainsAny(value, "/\\\x00")
}

// openCamera opens the first camera folder named camera, or published as
// camera by inventory.SanitizeID, under the roots. The returned os.Root
// rejects any path or symbolic link leaving it.
func (h *RecordingsHandler) openCamera(camera string) (*os.Root, error) {
	for _, root := range h.roots {
		folder := filepath.Join(root, folderName(root, camera))
		info, err := os.Stat(folder)
		if err != nil || !info.IsDir() {
			continue
		}
		opened, err := os.OpenRoot(folder)
		if err != nil {
			h.logger.Warn("cannot open camera folder", "camera", camera, "path", folder, "error", err)
			continue
		}
		return opened, nil
	}
	return nil, fmt.Errorf("camera %q not found on this node", camera)
}

func (h *RecordingsHandler) serveList(w http.ResponseWriter, camera string, root *os.Root) {
	entries, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		h.logger.Error("cannot list camera folder", "camera", camera, "error", err)
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("camera %q: cannot list recordings", camera))
		return
	}
	recordings := make([]Recording, 0, len(entries))
	for _, entry := range entries {
		if !validPathElement(entry.Name()) {
			continue
		}
		info, err := root.Stat(entry.Name())
		if err != nil || !info.Mode().IsRegular() {
			// Folders, devices and links that leave the camera folder are
			// not recordings.
			continue
		}
		sum, err := h.checksum(root, camera, entry.Name(), info)
		if err != nil {
			h.logger.Warn("cannot compute recording checksum", "camera", camera, "file", entry.Name(), "error", err)
			continue
		}
		recordings = append(recordings, Recording{Name: entry.Name(), Size: info.Size(), SHA256: sum})
	}
	sort.Slice(recordings, func(i, j int) bool { return recordings[i].Name < recordings[j].Name })

	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(recordings); err != nil {
		h.logger.Debug("cannot write recording list", "camera", camera, "error", err)
	}
}

func (h *RecordingsHandler) serveFile(w http.ResponseWriter, r *http.Request, camera, name string, root *os.Root) {
	file, err := root.Open(name)
	if err != nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("recording %q of camera %q not found", name, camera))
		return
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil || !info.Mode().IsRegular() {
		writeError(w, http.StatusNotFound, fmt.Sprintf("recording %q of camera %q not found: not a regular file", name, camera))
		return
	}

	sum, err := h.checksum(root, camera, name, info)
	if err != nil {
		h.logger.Error("cannot compute recording checksum", "camera", camera, "file", name, "error", err)
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("recording %q of camera %q: cannot read it", name, camera))
		return
	}
	w.Header().Set(ChecksumHeader, sum)
	w.Header().Set("Content-Type", "application/octet-stream")
	// ServeContent handles Range, If-Range and HEAD from the size and
	// modification time.
	http.ServeContent(w, r, name, info.ModTime(), file)
}

func (h *RecordingsHandler) checksum(root *os.Root, camera, name string, info fs.FileInfo) (string, error) {
	key := filepath.Join(root.Name(), name)
	return h.checksums.sum(key, info.Size(), info.ModTime(), func() (io.ReadCloser, error) {
		return root.Open(name)
	})
}

// errorBody is the JSON body of every error response.
type errorBody struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	// Messages quote headers such as "Bearer <token>", which readers see
	// as text, so they are not HTML-escaped.
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(errorBody{Error: message})
}

// ServeRecordings serves handler over HTTPS on listener with the key pair in
// cfg until ctx ends, then shuts down, waiting up to 10s for downloads in
// progress.
func ServeRecordings(ctx context.Context, listener net.Listener, cfg *RecordingsConfig, handler http.Handler, logger hclog.Logger) error {
	pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	if err != nil {
		return fmt.Errorf("recordings server key pair %q, %q: %w", cfg.CertFile, cfg.KeyFile, err)
	}
	server := &http.Server{
		Handler:           handler,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          logger.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}

	done := make(chan error, 1)
	go func() { done <- server.ServeTLS(listener, "", "") }()
	logger.Info("recordings server started", "address", listener.Addr().String())

	select {
	case err := <-done:
		return fmt.Errorf("recordings server on %s: %w", listener.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = server.Shutdown(shutdownCtx)
	logger.Info("recordings server stopped", "address", listener.Addr().String())
	return err
}

// folderName returns the name of the folder under root whose sanitised id
// is camera, or camera itself when no folder needed sanitising to it.
func folderName(root, camera string) string {
	if _, err := os.Stat(filepath.Join(root, camera)); err == nil {
		return camera
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return camera
	}
	for _, entry := range entries {
		if !inventory.IsSafeID(entry.Name()) && inventory.SanitizeID(entry.Name()) == camera {
			return entry.Name()
		}
	}
	return camera
}
