package registrar

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/unix"
)

// Inotify event masks: a root reports camera folders that appear or go, and
// a camera folder reports recordings that are finished, removed or renamed.
const (
	rootMask   = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO | unix.IN_DELETE_SELF | unix.IN_MOVE_SELF | unix.IN_ONLYDIR
	folderMask = rootMask | unix.IN_CLOSE_WRITE | unix.IN_ATTRIB
)

// Watcher reports changes under the storage roots through inotify, so that
// the registrar can scan as soon as a camera folder or recording changes
// instead of at the next period. It is not safe for concurrent use.
type Watcher struct {
	file *os.File
	log  hclog.Logger
	// paths are the watched folders by watch descriptor, and roots marks
	// the storage roots among them.
	paths map[int32]string
	roots map[string]bool
}

// NewWatcher watches each root and each camera folder in it. A root that
// cannot be watched is logged and left to the periodic scan.
func NewWatcher(roots []string, log hclog.Logger) (*Watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("start inotify: %w", err)
	}
	// A non-blocking descriptor lets Close interrupt a pending Read.
	w := &Watcher{file: os.NewFile(uintptr(fd), "inotify"), log: log, paths: make(map[int32]string), roots: make(map[string]bool)}
	for _, root := range roots {
		root = filepath.Clean(root)
		w.roots[root] = true
		if err := w.add(root, rootMask); err != nil {
			log.Warn("cannot watch camera storage root; changes wait for the next scan", "path", root, "error", err)
			continue
		}
		entries, _ := os.ReadDir(root)
		for _, entry := range entries {
			if entry.IsDir() {
				w.addFolder(filepath.Join(root, entry.Name()))
			}
		}
	}
	return w, nil
}

func (w *Watcher) add(path string, mask uint32) error {
	wd, err := unix.InotifyAddWatch(int(w.file.Fd()), path, mask)
	if err != nil {
		return err
	}
	w.paths[int32(wd)] = path
	return nil
}

func (w *Watcher) addFolder(path string) {
	if err := w.add(path, folderMask); err != nil {
		w.log.Warn("cannot watch camera folder; its changes wait for the next scan", "path", path, "error", err)
	}
}

// Run sends on changes after each batch of events that can change the
// publication, until ctx ends. A send that the receiver has not taken yet
// absorbs later ones, so changes needs a buffer of one.
func (w *Watcher) Run(ctx context.Context, changes chan<- struct{}) {
	go func() {
		<-ctx.Done()
		w.file.Close()
	}()
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := w.file.Read(buf)
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, os.ErrClosed) {
				w.log.Error("inotify read failed; changes wait for the next scan", "error", err)
			}
			return
		}
		if w.handle(buf[:n]) {
			select {
			case changes <- struct{}{}:
			default:
			}
		}
	}
}

// handle reads a batch of events, watches new camera folders, and reports
// whether any event may change the publication.
func (w *Watcher) handle(buf []byte) bool {
	changed := false
	for offset := 0; offset+unix.SizeofInotifyEvent <= len(buf); {
		event := (*unix.InotifyEvent)(unsafe.Pointer(&buf[offset]))
		nameBytes := buf[offset+unix.SizeofInotifyEvent : offset+unix.SizeofInotifyEvent+int(event.Len)]
		offset += unix.SizeofInotifyEvent + int(event.Len)

		dir := w.paths[event.Wd]
		if event.Mask&unix.IN_IGNORED != 0 {
			delete(w.paths, event.Wd)
			continue
		}
		changed = true
		name := string(nameBytes[:clen(nameBytes)])
		created := event.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0
		if w.roots[dir] && created && event.Mask&unix.IN_ISDIR != 0 {
			w.addFolder(filepath.Join(dir, name))
		}
	}
	return changed
}

// clen returns the length of the NUL-terminated name in b.
func clen(b []byte) int {
	for i, c := range b {
		if c == 0 {
			return i
		}
	}
	return len(b)
}
