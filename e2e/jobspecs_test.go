package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestShippedJobspecsValidate runs `nomad job validate` on every jobspec
// ferry ships, against the running cluster rather than offline, so that
// Nomad checks them as an operator's CLI would.
func TestShippedJobspecsValidate(t *testing.T) {
	jobspecs, err := filepath.Glob(filepath.Join(repoRoot, "jobspecs", "*.nomad.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(jobspecs) == 0 {
		t.Fatal("no jobspecs found in jobspecs/")
	}
	for _, path := range jobspecs {
		t.Run(filepath.Base(path), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
			defer cancel()

			out, err := testCluster.Run(ctx, "job", "validate", path)
			if err != nil {
				t.Fatalf("nomad job validate: %v", err)
			}
			if !strings.Contains(out, "Job validation successful") {
				t.Errorf("nomad job validate output = %q, want it to report success", out)
			}
		})
	}
}
