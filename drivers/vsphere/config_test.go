package vsphere

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPluginConfigValidate(t *testing.T) {
	dir := t.TempDir()
	passwordFile := filepath.Join(dir, "password")
	if err := os.WriteFile(passwordFile, []byte("pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	valid := func() PluginConfig {
		return PluginConfig{URL: "https://vc.example/sdk", Username: "svc", PasswordFile: passwordFile}
	}
	tests := []struct {
		name   string
		change func(*PluginConfig)
		want   string
	}{
		{"valid", func(*PluginConfig) {}, ""},
		{"empty block", func(c *PluginConfig) { *c = PluginConfig{} }, ""},
		{"bad period", func(c *PluginConfig) { c.FingerprintPeriod = "soon" }, `invalid fingerprint_period "soon"`},
		{"negative clones", func(c *PluginConfig) { c.MaxConcurrentClones = -1 }, "invalid max_concurrent_clones -1"},
		{"bad url", func(c *PluginConfig) { c.URL = "ftp://vc" }, `invalid url "ftp://vc"`},
		{"password in url", func(c *PluginConfig) { c.URL = "https://svc:hunter2@vc/sdk" }, "put the user in username"},
		{"missing username", func(c *PluginConfig) { c.Username = "" }, "missing username"},
		{"missing password", func(c *PluginConfig) { c.PasswordFile = "" }, "missing password: set password_file or the VSPHERE_PASSWORD"},
		{"unreadable password file", func(c *PluginConfig) { c.PasswordFile = filepath.Join(dir, "none") }, "invalid password_file"},
		{"insecure and ca", func(c *PluginConfig) { c.Insecure = true; c.CAFile = passwordFile }, "either insecure or ca_file"},
		{"cluster and pool", func(c *PluginConfig) { c.Cluster = "c"; c.ResourcePool = "p" }, "either cluster or resource_pool"},
	}
	t.Setenv(passwordEnv, "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.change(&cfg)
			err := cfg.validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("validate = %v, want %q", err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error contains the password: %v", err)
			}
		})
	}
}

func TestPluginConfigDefaults(t *testing.T) {
	t.Setenv(passwordEnv, "from-env")
	cfg := PluginConfig{URL: "https://vc.example", Username: "svc"}
	if err := cfg.validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if cfg.password != "from-env" {
		t.Errorf("password not read from %s", passwordEnv)
	}
	if cfg.url.Path != "/sdk" {
		t.Errorf("url path = %q, want /sdk", cfg.url.Path)
	}
	if cfg.fingerprintPeriod != defaultFingerprintPeriod || cfg.MaxConcurrentClones != 4 {
		t.Errorf("defaults = %v, %d; want 30s, 4", cfg.fingerprintPeriod, cfg.MaxConcurrentClones)
	}
}

func TestTaskConfigDefaults(t *testing.T) {
	tests := []struct {
		name     string
		cpuMHz   int64
		memoryMB int64
		task     TaskConfig
		wantCPUs int
		wantMem  int
	}{
		{"from resources", 2001, 1024, TaskConfig{Template: "t"}, 3, 1024},
		{"minimum one cpu", 100, 64, TaskConfig{Template: "t"}, 1, 64},
		{"explicit", 4000, 1024, TaskConfig{Template: "t", CPUs: 8, MemoryMB: 4096}, 8, 4096},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := tt.task
			if err := task.validate(&PluginConfig{Datastore: "ds1"}, tt.cpuMHz, tt.memoryMB); err != nil {
				t.Fatalf("validate: %v", err)
			}
			if task.CPUs != tt.wantCPUs || task.MemoryMB != tt.wantMem {
				t.Errorf("cpus %d memory %d, want %d and %d", task.CPUs, task.MemoryMB, tt.wantCPUs, tt.wantMem)
			}
			if task.StopMode != stopModeGuest || task.Datastore != "ds1" {
				t.Errorf("stop_mode %q datastore %q, want guest and the plugin's ds1", task.StopMode, task.Datastore)
			}
		})
	}
}

func TestTaskConfigSource(t *testing.T) {
	tests := []struct {
		name        string
		task        TaskConfig
		want        string
		wantLibrary string
		wantItem    string
	}{
		{"template", TaskConfig{Template: "t"}, "", "", ""},
		{"library item", TaskConfig{LibraryItem: "apps/plate-reader"}, "", "apps", "plate-reader"},
		{"leading slash", TaskConfig{LibraryItem: "/apps/plate-reader"}, "", "apps", "plate-reader"},
		{"neither", TaskConfig{}, "missing template or library_item", "", ""},
		{"both", TaskConfig{Template: "t", LibraryItem: "apps/x"}, `set either template ("t") or library_item ("apps/x")`, "", ""},
		{"no slash", TaskConfig{LibraryItem: "plate-reader"}, `invalid library_item "plate-reader": use "LIBRARY/ITEM"`, "", ""},
		{"empty item", TaskConfig{LibraryItem: "apps/"}, `invalid library_item "apps/"`, "", ""},
		{"nested path", TaskConfig{LibraryItem: "a/b/c"}, `invalid library_item "a/b/c"`, "", ""},
		{"linked clone", TaskConfig{LibraryItem: "apps/x", LinkedClone: true}, "invalid linked_clone with library_item", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := tt.task
			err := task.validate(&PluginConfig{}, 1000, 256)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("validate = %v, want %q", err, tt.want)
			}
			if task.library != tt.wantLibrary {
				t.Errorf("library = %q, want %q", task.library, tt.wantLibrary)
			}
			if task.item != tt.wantItem {
				t.Errorf("item = %q, want %q", task.item, tt.wantItem)
			}
		})
	}
}

func TestGuestInfoValidation(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		value string
		want  string
	}{
		{"plain key", "site.camera_1", "north", ""},
		{"prefixed key", "guestinfo.site", "north", ""},
		{"slash", "a/b", "x", `invalid guestinfo key "a/b"`},
		{"space", "a b", "x", `invalid guestinfo key "a b"`},
		{"equals", "a=b", "x", `invalid guestinfo key "a=b"`},
		{"hyphen", "a-b", "x", `invalid guestinfo key "a-b"`},
		{"empty", "", "x", `invalid guestinfo key ""`},
		{"prefix only", "guestinfo.", "x", `invalid guestinfo key "guestinfo."`},
		{"reserved", "ferry.alloc_id", "x", `"ferry.alloc_id": keys starting with "ferry." are reserved`},
		{"reserved prefixed", "guestinfo.ferry.exit_code", "0", `"guestinfo.ferry.exit_code": keys starting`},
		{"newline value", "site", "a\nb", `invalid guestinfo value of key "site"`},
		{"tab value", "site", "a\tb", `invalid guestinfo value of key "site"`},
		{"nul value", "site", "a\x00b", `invalid guestinfo value of key "site"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			task := &TaskConfig{Template: "tmpl", GuestInfo: []map[string]string{{tt.key: tt.value}}}
			err := task.validate(&PluginConfig{}, 1000, 512)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				if task.guestInfo[tt.key] != tt.value {
					t.Errorf("guestinfo[%q] = %q, want %q", tt.key, task.guestInfo[tt.key], tt.value)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("validate = %v, want %q", err, tt.want)
			}
		})
	}
}
