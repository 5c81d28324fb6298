package video

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/ferry-video/ferry/plugins"
)

// listDir returns the sorted names in dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestLogFileRotation(t *testing.T) {
	cases := []struct {
		name     string
		maxFiles int
		maxSize  int64
		existing map[string]string // files present before the open
		created  map[string]string // files created after the open
		lines    []string
		want     map[string]string
	}{
		{
			name: "whole lines per file", maxFiles: 10, maxSize: 12,
			lines: []string{"line1\n", "line2\n", "line3\n", "line4\n", "line5\n"},
			want: map[string]string{
				"web.stdout.0": "line1\nline2\n", "web.stdout.1": "line3\nline4\n", "web.stdout.2": "line5\n",
			},
		},
		{
			name: "line that does not fit starts next file", maxFiles: 10, maxSize: 10,
			lines: []string{"abc\n", "defghi\n"},
			want:  map[string]string{"web.stdout.0": "abc\n", "web.stdout.1": "defghi\n"},
		},
		{
			name: "line longer than a file is split", maxFiles: 10, maxSize: 4,
			lines: []string{"abcdefghij\n"},
			want:  map[string]string{"web.stdout.0": "abcd", "web.stdout.1": "efgh", "web.stdout.2": "ij\n"},
		},
		{
			name: "oldest removed beyond max files", maxFiles: 2, maxSize: 6,
			lines: []string{"line1\n", "line2\n", "line3\n", "line4\n"},
			want:  map[string]string{"web.stdout.2": "line3\n", "web.stdout.3": "line4\n"},
		},
		{
			name: "writes continue in highest index", maxFiles: 10, maxSize: 12,
			existing: map[string]string{"web.stdout.0": "old0\n", "web.stdout.3": "old3\n", "web.stderr.7": "x\n"},
			lines:    []string{"new1\n", "new2\n"},
			want: map[string]string{
				"web.stdout.0": "old0\n", "web.stdout.3": "old3\nnew1\n", "web.stdout.4": "new2\n", "web.stderr.7": "x\n",
			},
		},
		{
			name: "full next file is skipped", maxFiles: 10, maxSize: 6,
			existing: map[string]string{"web.stdout.0": ""},
			created:  map[string]string{"web.stdout.1": "full1\n"},
			lines:    []string{"line1\n", "line2\n"},
			want:     map[string]string{"web.stdout.0": "line1\n", "web.stdout.1": "full1\n", "web.stdout.2": "line2\n"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.existing)
			f, err := openLogFile(dir, "web.stdout", tc.maxFiles, tc.maxSize, hclog.NewNullLogger())
			if err != nil {
				t.Fatalf("openLogFile: %v", err)
			}
			writeFiles(t, dir, tc.created)
			for _, line := range tc.lines {
				n, err := f.Write([]byte(line))
				if err != nil {
					t.Fatalf("Write(%q): %v", line, err)
				}
				if n != len(line) {
					t.Errorf("Write(%q) = %d, want %d", line, n, len(line))
				}
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}

			got := make(map[string]string)
			for _, name := range listDir(t, dir) {
				got[name] = readFile(t, filepath.Join(dir, name))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("files = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLogFileBytesAfter(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"web.stdout.2": "aaaa", "web.stdout.3": "bbbbbb", "web.stdout.4": "cc"})
	f := &logFile{dir: dir, base: "web.stdout"}
	cases := []struct {
		name  string
		index int
		size  int64
		want  int64
	}{
		{"at the end", 4, 2, 0},
		{"tail of last file", 4, 1, 1},
		{"higher indexes counted", 3, 6, 2},
		{"part of one file and all later", 2, 1, 3 + 6 + 2},
		{"saved index removed since", 1, 0, 4 + 6 + 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.bytesAfter(tc.index, tc.size)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("bytesAfter(%d, %d) = %d, want %d", tc.index, tc.size, got, tc.want)
			}
		})
	}
}

func TestLogsConfigValidate(t *testing.T) {
	cases := []struct {
		name    string
		in      LogsConfig
		want    LogsConfig
		wantErr string
	}{
		{"defaults", LogsConfig{}, LogsConfig{MaxFiles: 10, MaxFileSizeMB: 10, maxFileSize: 10 << 20}, ""},
		{"set", LogsConfig{MaxFiles: 3, MaxFileSizeMB: 1}, LogsConfig{MaxFiles: 3, MaxFileSizeMB: 1, maxFileSize: 1 << 20}, ""},
		{"negative files", LogsConfig{MaxFiles: -1}, LogsConfig{}, "logs.max_files -1"},
		{"negative size", LogsConfig{MaxFileSizeMB: -2}, LogsConfig{}, "logs.max_file_size_mb -2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.in
			err := cfg.validate()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("validate() error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("validate: %v", err)
			}
			if cfg != tc.want {
				t.Errorf("validated = %+v, want %+v", cfg, tc.want)
			}
		})
	}
}

// setLogRotation makes the driver rotate files at maxSize bytes.
func setLogRotation(d *Driver, maxFiles int, maxSize int64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.config.Logs.MaxFiles = maxFiles
	d.config.Logs.maxFileSize = maxSize
}

// runToExit starts a task, waits for its exit and destroys it, which waits
// for the logs to be copied.
func runToExit(t *testing.T, env *testEnv, task *taskFixture) {
	t.Helper()
	if _, _, err := env.driver.StartTask(context.Background(), task.cfg); err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	waitExit(t, env.driver, task.cfg.ID)
	if err := env.driver.DestroyTask(context.Background(), task.cfg.ID, true); err != nil {
		t.Fatalf("DestroyTask: %v", err)
	}
}

func TestLogsWrittenToNomadFiles(t *testing.T) {
	env := newTestEnv(t)
	task := env.newTask("web", shellTask("echo out1; echo err1 >&2; echo out2"))
	runToExit(t, env, task)

	logDir := filepath.Join(task.cfg.AllocDir, "alloc", "logs")
	want := []string{"web.stderr.0", "web.stdout.0"}
	if got := listDir(t, logDir); !reflect.DeepEqual(got, want) {
		t.Errorf("log files = %q, want %q", got, want)
	}
	if got := readFile(t, filepath.Join(logDir, "web.stdout.0")); got != "out1\nout2\n" {
		t.Errorf("web.stdout.0 = %q, want %q", got, "out1\nout2\n")
	}
	if got := readFile(t, filepath.Join(logDir, "web.stderr.0")); got != "err1\n" {
		t.Errorf("web.stderr.0 = %q, want %q", got, "err1\n")
	}
}

func TestLogsRotatedBySize(t *testing.T) {
	env := newTestEnv(t)
	setLogRotation(env.driver, 3, 12)
	task := env.newTask("rot", shellTask("for i in 1 2 3 4 5 6 7 8 9; do echo line$i; done"))
	runToExit(t, env, task)

	logDir := filepath.Join(task.cfg.AllocDir, "alloc", "logs")
	want := []string{"rot.stderr.0", "rot.stdout.2", "rot.stdout.3", "rot.stdout.4"}
	if got := listDir(t, logDir); !reflect.DeepEqual(got, want) {
		t.Errorf("log files = %q, want %q (the oldest two removed)", got, want)
	}
	if got := task.stdout.String(); got != "line5\nline6\nline7\nline8\nline9\n" {
		t.Errorf("kept output = %q, want lines 5 to 9", got)
	}
	if got := readFile(t, filepath.Join(logDir, "rot.stdout.2")); got != "line5\nline6\n" {
		t.Errorf("rot.stdout.2 = %q, want two whole lines", got)
	}
}

func TestLogsDisabledWritesNothing(t *testing.T) {
	env := newTestEnv(t)
	task := env.newTask("quiet", shellTask("echo out; echo err >&2"))
	task.cfg.StdoutPath, task.cfg.StderrPath = os.DevNull, os.DevNull
	runToExit(t, env, task)

	if got := listDir(t, filepath.Join(task.cfg.AllocDir, "alloc", "logs")); len(got) != 0 {
		t.Errorf("log folder contains %q, want nothing", got)
	}
	if _, err := os.Stat(filepath.Join(task.cfg.TaskDir(), logPositionFile)); !os.IsNotExist(err) {
		t.Errorf("position file stat error = %v, want it absent", err)
	}
}

func TestLogsExactlyOnceAfterCrash(t *testing.T) {
	cases := []struct {
		name    string
		maxSize int64
		// crashAt is the save during which the copier stops: after the
		// write of line crashAt and before its position is saved.
		crashAt int
	}{
		{"first line", 10 << 20, 1},
		{"same file", 10 << 20, 3},
		{"after rotation", 12, 3},
		{"lines split across files", 4, 4},
	}
	const wantOutput = "line1\nline2\nline3\nline4\nline5\nafter\n"
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			setLogRotation(env.driver, 100, tc.maxSize)
			saves := 0
			crashed := make(chan struct{})
			env.driver.logHooks.beforeSave = func(string) bool {
				saves++
				if saves == tc.crashAt {
					close(crashed)
					return true
				}
				return false
			}
			task := env.newTask("crash", shellTask(
				"for i in 1 2 3 4 5; do echo line$i; done; while [ ! -e /local/go ]; do sleep 0.1; done; echo after"))
			handle, _, err := env.driver.StartTask(context.Background(), task.cfg)
			if err != nil {
				t.Fatalf("StartTask: %v", err)
			}
			<-crashed
			detach(env.driver)
			if got := task.stdout.String(); !strings.HasSuffix(got, fmt.Sprintf("line%d\n", tc.crashAt)) {
				t.Fatalf("output at the crash = %q, want it to end with line%d", got, tc.crashAt)
			}

			restarted := env.newDriver()
			setLogRotation(restarted, 100, tc.maxSize)
			recovered := &plugins.TaskHandle{Version: handle.Version, Config: handle.Config, State: handle.State, DriverState: handle.DriverState}
			if err := restarted.RecoverTask(context.Background(), recovered); err != nil {
				t.Fatalf("RecoverTask: %v", err)
			}
			if err := os.WriteFile(filepath.Join(task.cfg.TaskDir(), "local", "go"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			waitExit(t, restarted, task.cfg.ID)
			if err := restarted.DestroyTask(context.Background(), task.cfg.ID, true); err != nil {
				t.Fatalf("DestroyTask: %v", err)
			}
			if got := task.stdout.String(); got != wantOutput {
				t.Errorf("stdout = %q, want each line once: %q", got, wantOutput)
			}
		})
	}
}

func TestLogsRestartedTaskAppends(t *testing.T) {
	env := newTestEnv(t)
	first := env.newTask("again", shellTask("echo run1"))
	runToExit(t, env, first)

	// Nomad restarts a task in the same allocation with a new task id and
	// the same log folder and task dir.
	second := env.newTask("again", shellTask("echo run2"))
	second.cfg.AllocDir, second.stdout, second.stderr = first.cfg.AllocDir, first.stdout, first.stderr
	second.cfg.StdoutPath, second.cfg.StderrPath = first.cfg.StdoutPath, first.cfg.StderrPath
	runToExit(t, env, second)

	if got := first.stdout.String(); got != "run1\nrun2\n" {
		t.Errorf("stdout = %q, want both runs once: %q", got, "run1\nrun2\n")
	}
}
