package vcsim

import (
	"fmt"
	"os"
	"path/filepath"
)

// Login is the vCenter user and the guest account of a simulator, with
// the files that contain their passwords.
type Login struct {
	Username, PasswordFile           string
	GuestUsername, GuestPasswordFile string
}

// WriteLogin writes random passwords for the vCenter user "ferry" and the
// guest account "root" into dir, readable only by the owner.
func WriteLogin(dir string) (Login, error) {
	login := Login{
		Username: "ferry", PasswordFile: filepath.Join(dir, "vcenter-password"),
		GuestUsername: "root", GuestPasswordFile: filepath.Join(dir, "guest-password"),
	}
	for _, file := range []string{login.PasswordFile, login.GuestPasswordFile} {
		if err := os.WriteFile(file, []byte(randomPassword()+"\n"), 0o600); err != nil {
			return Login{}, fmt.Errorf("write password file: %w", err)
		}
	}
	return login, nil
}

// PluginHCL returns the agent's `plugin "vsphere"` block for a simulator
// at sdkURL, placing clones in cluster DC0_C0.
func PluginHCL(sdkURL string, login Login) string {
	return fmt.Sprintf(`plugin "vsphere" {
  config {
    url                 = %q
    username            = %q
    password_file       = %q
    cluster             = "DC0_C0"
    guest_username      = %q
    guest_password_file = %q
    fingerprint_period  = "5s"
  }
}
`, sdkURL, login.Username, login.PasswordFile, login.GuestUsername, login.GuestPasswordFile)
}
