package video

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// fetch copies one recording into dest and returns the bytes received. A
// file that an earlier staging completed and that matches its checksum is
// kept. A broken transfer resumes with a Range request from the end of the
// partial file, up to stagingAttempts requests.
func (s *stager) fetch(ctx context.Context, peer, camera string, entry recordingEntry, dest string) (int64, error) {
	final := filepath.Join(dest, entry.Name)
	if sum, err := fileSHA256(final); err == nil && sum == entry.SHA256 {
		return 0, nil
	}
	partial := final + partialSuffix
	target := recordingsURL(peer, camera) + "/" + url.PathEscape(entry.Name)

	var received int64
	for attempt := 1; ; attempt++ {
		n, err := s.fetchOnce(ctx, target, entry, partial)
		received += n
		if err == nil {
			break
		}
		var broken *transferError
		if !errors.As(err, &broken) || ctx.Err() != nil || attempt == stagingAttempts {
			return received, err
		}
		s.logger.Info("transfer broke, resuming with a range request",
			"camera", camera, "recording", entry.Name, "peer", peer, "attempt", attempt+1, "error", err)
	}

	sum, err := fileSHA256(partial)
	if err != nil {
		return received, err
	}
	if sum != entry.SHA256 {
		os.Remove(partial)
		return received, fmt.Errorf("%w: received data has sha256 %s, the listing has %s", errChecksumMismatch, sum, entry.SHA256)
	}
	if err := os.Rename(partial, final); err != nil {
		return received, err
	}
	return received, nil
}

// fetchOnce sends one request for the bytes that the partial file lacks and
// appends them to it.
func (s *stager) fetchOnce(ctx context.Context, target string, entry recordingEntry, partial string) (int64, error) {
	f, err := os.OpenFile(partial, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	offset, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}
	if offset > entry.Size {
		if offset, err = restartFile(f); err != nil {
			return 0, err
		}
	}
	if offset == entry.Size {
		return 0, nil
	}

	rangeHeader := ""
	if offset > 0 {
		rangeHeader = fmt.Sprintf("bytes=%d-", offset)
	}
	resp, err := s.get(ctx, target, rangeHeader)
	if err != nil {
		return 0, &transferError{err: err}
	}
	defer resp.Body.Close()
	if offset, err = checkRecordingResponse(resp, f, offset, entry); err != nil {
		return 0, err
	}

	n, err := io.Copy(f, io.LimitReader(resp.Body, entry.Size-offset))
	if err != nil {
		return n, &transferError{err: err}
	}
	if offset+n < entry.Size {
		return n, &transferError{err: fmt.Errorf("response ended after %d of %d bytes: %w", offset+n, entry.Size, io.ErrUnexpectedEOF)}
	}
	return n, f.Sync()
}

// checkRecordingResponse checks the status and checksum header, and returns
// the offset the body starts at. A full response to a range request
// restarts the partial file.
func checkRecordingResponse(resp *http.Response, f *os.File, offset int64, entry recordingEntry) (int64, error) {
	switch {
	case resp.StatusCode == http.StatusPartialContent && offset > 0:
		want := fmt.Sprintf("bytes %d-", offset)
		if got := resp.Header.Get("Content-Range"); !strings.HasPrefix(got, want) {
			return 0, fmt.Errorf("peer returned Content-Range %q for a request from byte %d", got, offset)
		}
	case resp.StatusCode == http.StatusOK:
		if offset > 0 {
			var err error
			if offset, err = restartFile(f); err != nil {
				return 0, err
			}
		}
	default:
		return 0, statusError(resp)
	}
	if sum := resp.Header.Get(checksumHeader); sum != "" && !strings.EqualFold(sum, entry.SHA256) {
		return 0, fmt.Errorf("%w: peer's %s header is %s, the listing has %s", errChecksumMismatch, checksumHeader, sum, entry.SHA256)
	}
	return offset, nil
}

// restartFile empties f and returns the new offset, zero.
func restartFile(f *os.File) (int64, error) {
	if err := f.Truncate(0); err != nil {
		return 0, err
	}
	return f.Seek(0, io.SeekStart)
}
