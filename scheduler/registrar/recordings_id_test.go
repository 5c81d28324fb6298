package registrar

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ferry-video/ferry/drivers/video/inventory"
	"github.com/hashicorp/go-hclog"
)

// A staging peer requests a camera by the id that the registrar publishes,
// which for a folder such as "North Gate!" is the sanitised id.
func TestRecordingsBySanitizedID(t *testing.T) {
	root := t.TempDir()
	addRecording(t, root, "North Gate!", "a.avi")
	logger := hclog.New(&hclog.LoggerOptions{Output: io.Discard})
	handler, err := NewRecordingsHandler([]string{root}, []byte(testToken), logger)
	if err != nil {
		t.Fatal(err)
	}

	request := httptest.NewRequest(http.MethodGet, "/v1/recordings/"+inventory.SanitizeID("North Gate!"), nil)
	request.Header.Set("Authorization", "Bearer "+testToken)
	response := httptest.NewRecorder()
	handler.ServeHTTP(response, request)
	if response.Code != http.StatusOK {
		t.Fatalf("status %d, want 200: %s", response.Code, response.Body)
	}
	var list []Recording
	if err := json.Unmarshal(response.Body.Bytes(), &list); err != nil {
		t.Fatalf("decode list: %v", err)
	}
	if len(list) != 1 || list[0].Name != "a.avi" {
		t.Errorf("list = %+v, want a.avi", list)
	}
}
