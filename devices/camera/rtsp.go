package camera

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// probeResult is the outcome of one RTSP OPTIONS request.
type probeResult struct {
	Healthy     bool
	Description string
	Latency     time.Duration
}

// probeFunc sends one RTSP OPTIONS request to addr for the stream at
// rawURL.
type probeFunc func(ctx context.Context, addr, rawURL string, timeout time.Duration) probeResult

// probeRTSP connects over TCP, sends OPTIONS without credentials and reads
// the status line. A 2xx reply is healthy, and so is 401, because a server
// that requires a login is up. Any other reply, a timeout or a connection
// failure is unhealthy.
func probeRTSP(ctx context.Context, addr, rawURL string, timeout time.Duration) probeResult {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	start := time.Now()
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return probeResult{Description: fmt.Sprintf("RTSP server %s unreachable: %v", addr, err)}
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}

	req := "OPTIONS " + rawURL + " RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: ferry-camera\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		return probeResult{Description: fmt.Sprintf("RTSP OPTIONS to %s failed: %v", addr, err)}
	}
	code, reason, err := readRTSPStatus(bufio.NewReader(conn))
	if err != nil {
		return probeResult{Description: fmt.Sprintf("RTSP OPTIONS to %s failed: %v", addr, err)}
	}

	latency := time.Since(start)
	switch {
	case code >= 200 && code < 300:
		return probeResult{Healthy: true, Description: "RTSP OPTIONS " + strconv.Itoa(code) + " " + reason, Latency: latency}
	case code == 401:
		return probeResult{Healthy: true, Description: "RTSP server up, login required", Latency: latency}
	}
	return probeResult{Description: fmt.Sprintf("RTSP OPTIONS to %s returned %d %s", addr, code, reason), Latency: latency}
}

// readRTSPStatus parses a status line such as "RTSP/1.0 200 OK".
func readRTSPStatus(r *bufio.Reader) (int, string, error) {
	line, err := textproto.NewReader(r).ReadLine()
	if err != nil {
		return 0, "", fmt.Errorf("read status line: %w", err)
	}
	version, rest, ok := strings.Cut(line, " ")
	if !ok || !strings.HasPrefix(version, "RTSP/") {
		return 0, "", fmt.Errorf("invalid status line %q: not an RTSP reply", line)
	}
	codeText, reason, _ := strings.Cut(rest, " ")
	code, err := strconv.Atoi(codeText)
	if err != nil || code < 100 || code > 999 {
		return 0, "", fmt.Errorf("invalid status code in %q", line)
	}
	return code, reason, nil
}
