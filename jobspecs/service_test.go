package jobspecs

import (
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func findJobspec(t *testing.T, path string) jobspec {
	t.Helper()
	for _, spec := range parseJobspecs(t) {
		if spec.path == path {
			return spec
		}
	}
	t.Fatalf("%s not found", path)
	return jobspec{}
}

func TestMotionServiceRegistersEachCamera(t *testing.T) {
	spec := findJobspec(t, "motion-service.nomad.hcl")
	job := blocksOfType(spec.body, "job")[0]
	if jobType := stringValue(job.Body, "type"); jobType != "service" {
		t.Errorf("job type %q, want service", jobType)
	}

	var cameras []string
	for _, group := range blocksOfType(job.Body, "group") {
		camera := cameraConstraint(t, spec, group.Body)
		cameras = append(cameras, camera)
		t.Run(group.Labels[0], func(t *testing.T) {
			checkHTTPPort(t, group.Body)
			checkMotionService(t, spec, group.Body, camera)
			for _, task := range videoTasks(group.Body) {
				config := blocksOfType(task.Body, "config")[0].Body
				if ports := stringList(config, "ports"); !slices.Equal(ports, []string{"http"}) {
					t.Errorf("task %s config ports %q, want [http]", task.Labels[0], ports)
				}
				if args := attributeText(spec, config, "args"); !containsText(args, `"-listen", "0.0.0.0:${NOMAD_PORT_http}"`) {
					t.Errorf("task %s args %s, want -listen on 0.0.0.0:${NOMAD_PORT_http}", task.Labels[0], args)
				}
			}
		})
	}
	if want := []string{"north-gate", "south-gate"}; !slices.Equal(cameras, want) {
		t.Errorf("constrained cameras %q, want %q", cameras, want)
	}
}

func checkHTTPPort(t *testing.T, group *hclsyntax.Body) {
	t.Helper()
	networks := blocksOfType(group, "network")
	if len(networks) != 1 {
		t.Fatalf("got %d network blocks, want 1", len(networks))
	}
	for _, port := range blocksOfType(networks[0].Body, "port") {
		if port.Labels[0] == "http" && numberValue(port.Body, "to") == 8080 {
			return
		}
	}
	t.Error(`network has no port "http" with to = 8080`)
}

func checkMotionService(t *testing.T, spec jobspec, group *hclsyntax.Body, camera string) {
	t.Helper()
	services := blocksOfType(group, "service")
	if len(services) != 1 {
		t.Fatalf("got %d service blocks, want 1", len(services))
	}
	service := services[0].Body
	if got := stringValue(service, "provider"); got != "consul" {
		t.Errorf("service provider %q, want consul", got)
	}
	if got := stringValue(service, "name"); got != "motion-detect" {
		t.Errorf("service name %q, want motion-detect", got)
	}
	if got := stringValue(service, "port"); got != "http" {
		t.Errorf("service port %q, want http", got)
	}
	tags := attributeText(spec, service, "tags")
	for _, want := range []string{`"camera:` + camera + `"`, `"site:`, `"node:${node.unique.name}"`} {
		if !containsText(tags, want) {
			t.Errorf("service tags %s do not contain %s", tags, want)
		}
	}

	checks := blocksOfType(service, "check")
	if len(checks) != 1 {
		t.Fatalf("got %d check blocks, want 1", len(checks))
	}
	check := checks[0].Body
	if stringValue(check, "type") != "http" || stringValue(check, "path") != "/health" {
		t.Errorf("check type %q path %q, want http /health", stringValue(check, "type"), stringValue(check, "path"))
	}
	if stringValue(check, "interval") == "" || stringValue(check, "timeout") == "" {
		t.Error("check interval or timeout is missing")
	}
}

func containsText(text, part string) bool {
	return part != "" && strings.Contains(text, part)
}
