package cluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// ErrNomadNotFound reports that no Nomad binary is set in NOMAD_BIN or found
// on PATH.
var ErrNomadNotFound = errors.New("nomad binary not found")

// InstallHint is the advice on how to make a Nomad binary available.
const InstallHint = "install Nomad from HashiCorp's releases " +
	"(https://releases.hashicorp.com/nomad/) or its Debian/Ubuntu package " +
	"repository (apt-get install nomad after adding https://apt.releases.hashicorp.com), " +
	"or set NOMAD_BIN to the path of a nomad binary"

// FindNomad returns the path of the Nomad binary: NOMAD_BIN when set, else
// the first nomad on PATH. The error wraps ErrNomadNotFound and carries
// InstallHint.
func FindNomad() (string, error) {
	if bin := os.Getenv("NOMAD_BIN"); bin != "" {
		info, err := os.Stat(bin)
		if err != nil {
			return "", fmt.Errorf("%w: NOMAD_BIN=%q: %v; %s", ErrNomadNotFound, bin, err, InstallHint)
		}
		if info.IsDir() || info.Mode().Perm()&0o111 == 0 {
			return "", fmt.Errorf("%w: NOMAD_BIN=%q is not an executable file; %s", ErrNomadNotFound, bin, InstallHint)
		}
		return bin, nil
	}

	bin, err := exec.LookPath("nomad")
	if err != nil {
		return "", fmt.Errorf("%w: NOMAD_BIN is unset and no nomad is on PATH; %s", ErrNomadNotFound, InstallHint)
	}
	return bin, nil
}
