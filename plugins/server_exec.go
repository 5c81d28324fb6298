package plugins

import (
	"errors"
	"io"
	"sync"

	driverpb "github.com/ferry-video/ferry/plugins/proto/drivers"
)

// ExecTaskStreaming relays an interactive exec. The first request carries
// the setup; later ones carry stdin data, the end of stdin, a terminal size
// or nothing (a heartbeat). Responses carry output chunks, then one close
// per output stream, then one message with exited set and the result.
func (s *driverServer) ExecTaskStreaming(stream driverpb.Driver_ExecTaskStreamingServer) error {
	first, err := stream.Recv()
	if err != nil {
		return err
	}
	setup := first.GetSetup()
	if setup == nil {
		return errors.New("first exec stream message has no setup")
	}

	sender := &execSender{stream: stream}
	stdinReader, stdinWriter := io.Pipe()
	resize := make(chan TerminalSize, 1)
	go relayExecInput(stream, stdinWriter, resize)

	stdout := &execOutput{sender: sender, stderr: false}
	stderr := &execOutput{sender: sender, stderr: true}
	result, err := s.impl.ExecTaskStreaming(stream.Context(), setup.GetTaskId(), &ExecOptions{
		Command: setup.GetCommand(),
		TTY:     setup.GetTty(),
		Stdin:   stdinReader,
		Stdout:  stdout,
		Stderr:  stderr,
		Resize:  resize,
	})
	stdinReader.Close()
	if err != nil {
		s.logger.Error("failed to exec in task", "task_id", setup.GetTaskId(), "error", err)
		reportExecError(sender, err)
		return err
	}

	if err := stdout.Close(); err != nil {
		return err
	}
	if err := stderr.Close(); err != nil {
		return err
	}
	return sender.send(&driverpb.ExecTaskStreamingResponse{Exited: true, Result: exitResultToProto(result)})
}

// reportExecError writes err to the stream's standard error before the
// stream ends with err as its status. Nomad's HTTP agent (v2.0) passes the
// status to `nomad alloc exec` as a websocket close reason, which is limited
// to 123 bytes. It drops a longer reason, and the CLI then prints only
// "unexpected EOF", so the standard error copy is what reaches the user.
// The frame is sent even when the driver already closed standard error,
// because Nomad's CLI and client ignore close markers.
func reportExecError(sender *execSender, err error) {
	msg := &driverpb.ExecTaskStreamingResponse{
		Stderr: &driverpb.ExecTaskStreamingIOOperation{Data: []byte("exec failed: " + err.Error() + "\n")},
	}
	// A failed send means the client is gone, and the status is lost too.
	_ = sender.send(msg)
}

// relayExecInput copies stdin and terminal sizes from the stream until the
// client ends it, then ends stdin and closes resize.
func relayExecInput(stream driverpb.Driver_ExecTaskStreamingServer, stdin *io.PipeWriter, resize chan TerminalSize) {
	defer close(resize)
	defer stdin.Close()

	for {
		req, err := stream.Recv()
		if err != nil {
			return
		}
		if in := req.GetStdin(); in != nil {
			if len(in.GetData()) > 0 {
				if _, err := stdin.Write(in.GetData()); err != nil {
					return
				}
			}
			if in.GetClose() {
				stdin.Close()
			}
		}
		if size := req.GetTtySize(); size != nil {
			offerLatest(resize, TerminalSize{Height: int(size.GetHeight()), Width: int(size.GetWidth())})
		}
	}
}

// offerLatest puts size on ch, replacing an unread older size, so that a
// slow reader sees only the newest terminal size.
func offerLatest(ch chan TerminalSize, size TerminalSize) {
	for {
		select {
		case ch <- size:
			return
		default:
		}
		select {
		case <-ch:
		default:
		}
	}
}

// execSender serialises sends, because a gRPC stream's Send is not safe
// for concurrent use and stdout and stderr are written from two goroutines.
type execSender struct {
	mu     sync.Mutex
	stream driverpb.Driver_ExecTaskStreamingServer
}

func (s *execSender) send(resp *driverpb.ExecTaskStreamingResponse) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stream.Send(resp)
}

// execOutput is the stdout or stderr writer handed to the driver. Close
// sends the end-of-stream message once.
type execOutput struct {
	sender *execSender
	stderr bool

	mu     sync.Mutex
	closed bool
}

func (w *execOutput) message(op *driverpb.ExecTaskStreamingIOOperation) *driverpb.ExecTaskStreamingResponse {
	if w.stderr {
		return &driverpb.ExecTaskStreamingResponse{Stderr: op}
	}
	return &driverpb.ExecTaskStreamingResponse{Stdout: op}
}

func (w *execOutput) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return 0, io.ErrClosedPipe
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := w.sender.send(w.message(&driverpb.ExecTaskStreamingIOOperation{Data: p})); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (w *execOutput) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	return w.sender.send(w.message(&driverpb.ExecTaskStreamingIOOperation{Close: true}))
}
