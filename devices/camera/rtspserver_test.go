package camera_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-video/ferry/e2e/cluster"
	"github.com/ferry-video/ferry/e2e/footage"
)

// findFootage returns the recorded street scene that the test RTSP server
// streams: the shared copy beside the checkout, else the one the demo
// extracts from Debian's opencv-doc package into .cache/footage.
func findFootage(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	path, err := footage.Find(ctx, "../..", "../../.cache/footage")
	if err != nil {
		t.Fatalf("footage for the RTSP server: %v", err)
	}
	return path
}

// rtspServer serves one H.264 stream over RTSP on loopback to any number of
// clients, one after another or at once. ffmpeg encodes the footage in a
// loop and sends RTP packets over UDP to the server, which relays them to
// every playing client as TCP-interleaved RTP (RFC 2326 section 10.12).
// It supports only the TCP transport, which is what ffmpeg uses with
// -rtsp_transport tcp.
type rtspServer struct {
	URL string

	listener net.Listener
	rtp      *net.UDPConn
	ffmpeg   *exec.Cmd
	sdp      string

	// mu guards the fields below it.
	mu      sync.Mutex
	clients map[chan []byte]struct{}
	conns   map[net.Conn]struct{}
	closed  bool
}

// startRTSPServer starts ffmpeg and the server, waits for the stream's SDP
// and stops both when the test ends.
func startRTSPServer(t *testing.T) *rtspServer {
	t.Helper()
	footagePath := findFootage(t)
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		rtp.Close()
		t.Fatal(err)
	}
	s := &rtspServer{
		URL:      "rtsp://" + listener.Addr().String() + "/gate",
		listener: listener,
		rtp:      rtp,
		clients:  map[chan []byte]struct{}{},
		conns:    map[net.Conn]struct{}{},
	}
	t.Cleanup(s.Stop)

	sdpPath := filepath.Join(t.TempDir(), "stream.sdp")
	port := rtp.LocalAddr().(*net.UDPAddr).Port
	// The RTCP port equals the RTP port, so that ffmpeg's sender reports
	// land on the same socket instead of a closed port. relay drops them.
	s.ffmpeg = exec.Command("ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin",
		"-re", "-stream_loop", "-1", "-i", footagePath,
		"-an", "-vf", "scale=320:-2", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
		"-g", "5", "-f", "rtp", "-sdp_file", sdpPath,
		fmt.Sprintf("rtp://127.0.0.1:%d?rtcpport=%d&pkt_size=1200", port, port))
	s.ffmpeg.Stderr = &testLogWriter{t: t, prefix: "rtsp server ffmpeg: "}
	if err := s.ffmpeg.Start(); err != nil {
		t.Fatalf("start ffmpeg: %v", err)
	}
	s.sdp = waitSDP(t, sdpPath)

	go s.relay()
	go s.serve()
	return s
}

// waitSDP waits for ffmpeg to write the stream's SDP, which it does once
// the encoder has started.
func waitSDP(t *testing.T, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var sdp string
	err := cluster.Poll(ctx, "ffmpeg to write "+path, func(context.Context) (bool, error) {
		data, err := os.ReadFile(path)
		sdp = string(data)
		return err == nil && strings.Contains(sdp, "m=video"), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sdp
}

// Stop closes the listener and every client connection and stops ffmpeg,
// so that the next probe finds no server.
func (s *rtspServer) Stop() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for conn := range s.conns {
		conn.Close()
	}
	s.mu.Unlock()

	s.listener.Close()
	s.rtp.Close()
	if s.ffmpeg != nil && s.ffmpeg.Process != nil {
		_ = s.ffmpeg.Process.Kill()
		_ = s.ffmpeg.Wait()
	}
}

// relay copies each RTP packet from ffmpeg to every playing client. A
// client that falls behind loses packets instead of slowing the others.
func (s *rtspServer) relay() {
	buf := make([]byte, 65536)
	for {
		n, err := s.rtp.Read(buf)
		if err != nil {
			return
		}
		// RTCP packet types are 200 to 204 in the second byte.
		if n < 12 || (buf[1] >= 200 && buf[1] <= 204) {
			continue
		}
		packet := append([]byte(nil), buf[:n]...)
		s.mu.Lock()
		for ch := range s.clients {
			select {
			case ch <- packet:
			default:
			}
		}
		s.mu.Unlock()
	}
}

func (s *rtspServer) serve() {
	for {
		conn, err := s.listener.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return
		}
		s.conns[conn] = struct{}{}
		s.mu.Unlock()
		go s.handle(conn)
	}
}

// rtspConn is one client connection. writeMu serialises replies and
// interleaved packets, which share the connection.
type rtspConn struct {
	server  *rtspServer
	conn    net.Conn
	writeMu sync.Mutex
	packets chan []byte
}

func (s *rtspServer) handle(conn net.Conn) {
	c := &rtspConn{server: s, conn: conn}
	defer func() {
		s.mu.Lock()
		delete(s.conns, conn)
		if c.packets != nil {
			delete(s.clients, c.packets)
		}
		s.mu.Unlock()
		conn.Close()
	}()

	r := bufio.NewReader(conn)
	for {
		first, err := r.Peek(1)
		if err != nil {
			return
		}
		if first[0] == '$' {
			// An interleaved packet from the client, such as an RTCP
			// receiver report: skip it.
			if err := skipInterleaved(r); err != nil {
				return
			}
			continue
		}
		method, headers, err := readRequest(r)
		if err != nil {
			return
		}
		if !c.reply(method, headers) {
			return
		}
	}
}

func skipInterleaved(r *bufio.Reader) error {
	var header [4]byte
	if _, err := io.ReadFull(r, header[:]); err != nil {
		return err
	}
	_, err := r.Discard(int(binary.BigEndian.Uint16(header[2:])))
	return err
}

// readRequest reads a request line and its headers, and discards a body.
func readRequest(r *bufio.Reader) (string, textproto.MIMEHeader, error) {
	tp := textproto.NewReader(r)
	line, err := tp.ReadLine()
	if err != nil {
		return "", nil, err
	}
	method, _, ok := strings.Cut(line, " ")
	if !ok {
		return "", nil, fmt.Errorf("invalid request line %q", line)
	}
	headers, err := tp.ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return "", nil, err
	}
	if n, _ := strconv.Atoi(headers.Get("Content-Length")); n > 0 {
		if _, err := r.Discard(n); err != nil {
			return "", nil, err
		}
	}
	return method, headers, nil
}

// reply sends the response to one request and returns false when the
// connection should close.
func (c *rtspConn) reply(method string, headers textproto.MIMEHeader) bool {
	cseq := headers.Get("Cseq")
	switch method {
	case "OPTIONS":
		return c.write(cseq, "200 OK", "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER\r\n", "")
	case "DESCRIBE":
		body := describeSDP(c.server.sdp)
		extra := "Content-Base: " + c.server.URL + "/\r\nContent-Type: application/sdp\r\n" +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\n"
		return c.write(cseq, "200 OK", extra, body)
	case "SETUP":
		if !strings.Contains(headers.Get("Transport"), "interleaved") {
			return c.write(cseq, "461 Unsupported Transport", "", "")
		}
		return c.write(cseq, "200 OK", "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 1\r\n", "")
	case "PLAY":
		if !c.write(cseq, "200 OK", "Session: 1\r\nRange: npt=0.000-\r\n", "") {
			return false
		}
		c.play()
		return true
	case "GET_PARAMETER":
		return c.write(cseq, "200 OK", "Session: 1\r\n", "")
	case "TEARDOWN":
		c.write(cseq, "200 OK", "Session: 1\r\n", "")
		return false
	}
	return c.write(cseq, "501 Not Implemented", "", "")
}

func (c *rtspConn) write(cseq, status, headers, body string) bool {
	msg := "RTSP/1.0 " + status + "\r\nCSeq: " + cseq + "\r\n" + headers + "\r\n" + body
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_, err := io.WriteString(c.conn, msg)
	return err == nil
}

// play subscribes the connection to the stream and sends each packet on
// channel 0.
func (c *rtspConn) play() {
	if c.packets != nil {
		return
	}
	c.packets = make(chan []byte, 512)
	c.server.mu.Lock()
	c.server.clients[c.packets] = struct{}{}
	c.server.mu.Unlock()

	go func(packets <-chan []byte) {
		for packet := range packets {
			frame := make([]byte, 4+len(packet))
			frame[0] = '$'
			binary.BigEndian.PutUint16(frame[2:], uint16(len(packet)))
			copy(frame[4:], packet)
			c.writeMu.Lock()
			_, err := c.conn.Write(frame)
			c.writeMu.Unlock()
			if err != nil {
				return
			}
		}
	}(c.packets)
}

// describeSDP turns ffmpeg's RTP SDP into a session description for RTSP:
// port 0 in the media line and a control attribute for SETUP.
func describeSDP(sdp string) string {
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(sdp), "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.HasPrefix(line, "m=video ") {
			fields := strings.Fields(line)
			fields[1] = "0"
			line = strings.Join(fields, " ")
		}
		b.WriteString(line + "\r\n")
	}
	b.WriteString("a=control:trackID=0\r\n")
	return b.String()
}

// testLogWriter sends each write to the test log.
type testLogWriter struct {
	t      *testing.T
	prefix string
}

func (w *testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(w.prefix + strings.TrimSpace(string(p)))
	return len(p), nil
}

// readFrames runs ffmpeg against url and returns its output, to show that
// the server streams decodable video.
func readFrames(ctx context.Context, url string, frames int) (string, error) {
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-nostdin", "-rtsp_transport", "tcp",
		"-i", url, "-frames:v", strconv.Itoa(frames), "-f", "null", "-")
	out, err := cmd.CombinedOutput()
	return string(out), err
}
