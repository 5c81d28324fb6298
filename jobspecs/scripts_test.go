package jobspecs

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// TestScriptsPassCheckers runs ruby's syntax check on the Vagrantfile and
// shellcheck on the provisioning and image build scripts.
func TestScriptsPassCheckers(t *testing.T) {
	scripts, err := filepath.Glob("../vagrant/*.sh")
	if err != nil {
		t.Fatal(err)
	}
	motionScripts, err := filepath.Glob("motion/*.sh")
	if err != nil {
		t.Fatal(err)
	}
	scripts = append(scripts, motionScripts...)
	if len(scripts) < 2 {
		t.Fatalf("found scripts %q, want vagrant/provision.sh and jobspecs/motion/build-image.sh", scripts)
	}

	tests := []struct {
		name string
		tool string
		args []string
	}{
		{"vagrantfile ruby syntax", "ruby", []string{"-c", "../Vagrantfile"}},
		{"shellcheck", "shellcheck", scripts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, err := exec.LookPath(tt.tool)
			if err != nil {
				t.Fatalf("%s not found in PATH: install it to check the scripts: %v", tt.tool, err)
			}
			output, err := exec.Command(path, tt.args...).CombinedOutput()
			if err != nil {
				t.Errorf("%s %q failed: %v\n%s", tt.tool, tt.args, err, output)
			}
		})
	}
}
