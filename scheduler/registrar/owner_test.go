package registrar

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-video/ferry/internal/consultest"
)

func TestSecondRegistrarSameNodeRejected(t *testing.T) {
	agent := consultest.Start(t)
	client := agent.Client(t)
	firstRoot, secondRoot := t.TempDir(), t.TempDir()
	addRecording(t, firstRoot, "cam-1", "a.avi")
	addRecording(t, secondRoot, "cam-2", "b.avi")
	first := newRegistrar(t, agent, Config{Node: "twin", Roots: []string{firstRoot}})
	if err := first.Claim(context.Background()); err != nil {
		t.Fatalf("Claim of the first registrar: %v", err)
	}
	syncOnce(t, first)

	second := newRegistrar(t, agent, Config{Node: "twin", Roots: []string{secondRoot}})
	err := second.Claim(context.Background())
	if !errors.Is(err, ErrNodeTaken) {
		t.Fatalf("Claim of the second registrar = %v, want ErrNodeTaken", err)
	}
	for _, want := range []string{`node "twin"`, "pid=", first.publisher.owner} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if err := second.Sync(context.Background()); !errors.Is(err, ErrNodeTaken) {
		t.Errorf("Sync of the second registrar = %v, want ErrNodeTaken", err)
	}
	if err := second.publisher.Withdraw(context.Background()); !errors.Is(err, ErrNodeTaken) {
		t.Errorf("Withdraw of the second registrar = %v, want ErrNodeTaken", err)
	}

	svc, _, err := client.Agent().Service("camera-storage-twin", nil)
	if err != nil {
		t.Fatalf("read service: %v", err)
	}
	if want := []string{TagPrefix + "cam-1"}; !slices.Equal(svc.Tags, want) {
		t.Errorf("tags = %v, want the first registrar's %v", svc.Tags, want)
	}
}
