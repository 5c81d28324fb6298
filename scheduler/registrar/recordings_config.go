package registrar

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strings"
)

// RecordingsConfig configures the HTTPS server that lets other nodes
// download this node's recordings. The server is off while Listen is empty.
type RecordingsConfig struct {
	// Listen is the server's address, host:port, such as "0.0.0.0:8443".
	// Default empty, which turns the server off.
	Listen string `json:"listen"`
	// CertFile is the PEM file of the server's TLS certificate chain.
	// Required when Listen is set.
	CertFile string `json:"cert_file"`
	// KeyFile is the PEM file of the certificate's private key. Required
	// when Listen is set.
	KeyFile string `json:"key_file"`
	// TokenFile is a file whose content, without surrounding white space,
	// is the bearer token that clients must send. Required when Listen is
	// set.
	TokenFile string `json:"token_file"`
}

// Enabled reports whether the recordings server should run.
func (c *RecordingsConfig) Enabled() bool {
	return c.Listen != ""
}

// Validate checks that every file the server needs is set and readable.
// Every problem is reported, each naming its field.
func (c *RecordingsConfig) Validate() error {
	if !c.Enabled() {
		return nil
	}
	var errs []error
	if c.CertFile == "" {
		errs = append(errs, errors.New("recordings.cert_file: missing; set the PEM certificate file of the recordings server"))
	}
	if c.KeyFile == "" {
		errs = append(errs, errors.New("recordings.key_file: missing; set the PEM private key file of the recordings server"))
	}
	if c.CertFile != "" && c.KeyFile != "" {
		if _, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile); err != nil {
			errs = append(errs, fmt.Errorf("recordings.cert_file %q, recordings.key_file %q: invalid key pair: %w", c.CertFile, c.KeyFile, err))
		}
	}
	if c.TokenFile == "" {
		errs = append(errs, errors.New("recordings.token_file: missing; set a file that contains the bearer token"))
	} else if _, err := ReadToken(c.TokenFile); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ReadToken returns the bearer token stored in path. The error never
// contains the token.
func ReadToken(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("recordings.token_file %q: %w", path, err)
	}
	token := strings.TrimSpace(string(data))
	if token == "" {
		return nil, fmt.Errorf("recordings.token_file %q: empty; write a random token into it", path)
	}
	return []byte(token), nil
}
