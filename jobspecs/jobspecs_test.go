package jobspecs

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// camerasAttribute is the node attribute the video driver publishes: a
// comma-separated list of the camera ids whose recordings the node stores.
const camerasAttribute = "${attr.driver.video.cameras}"

// jobspec is one parsed *.nomad.hcl file.
type jobspec struct {
	path   string
	source []byte
	body   *hclsyntax.Body
}

func parseJobspecs(t *testing.T) []jobspec {
	t.Helper()
	paths, err := filepath.Glob("*.nomad.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no *.nomad.hcl files in jobspecs")
	}

	parser := hclparse.NewParser()
	var specs []jobspec
	for _, path := range paths {
		file, diagnostics := parser.ParseHCLFile(path)
		if diagnostics.HasErrors() {
			t.Fatalf("parse %s: %v", path, diagnostics)
		}
		specs = append(specs, jobspec{path: path, source: file.Bytes, body: file.Body.(*hclsyntax.Body)})
	}
	return specs
}

func blocksOfType(body *hclsyntax.Body, blockType string) []*hclsyntax.Block {
	var blocks []*hclsyntax.Block
	for _, block := range body.Blocks {
		if block.Type == blockType {
			blocks = append(blocks, block)
		}
	}
	return blocks
}

// attributeText returns the source text of an attribute's expression, so a
// reference like ${attr.driver.video.cameras} compares without evaluation.
func attributeText(spec jobspec, body *hclsyntax.Body, name string) string {
	attribute, ok := body.Attributes[name]
	if !ok {
		return ""
	}
	return strings.TrimSpace(string(attribute.Expr.Range().SliceBytes(spec.source)))
}

// attributeValue evaluates a literal attribute and returns cty.NilVal when
// the attribute is missing or not a literal.
func attributeValue(body *hclsyntax.Body, name string) cty.Value {
	attribute, ok := body.Attributes[name]
	if !ok {
		return cty.NilVal
	}
	value, diagnostics := attribute.Expr.Value(&hcl.EvalContext{})
	if diagnostics.HasErrors() {
		return cty.NilVal
	}
	return value
}

func stringValue(body *hclsyntax.Body, name string) string {
	value := attributeValue(body, name)
	if value == cty.NilVal || !value.Type().Equals(cty.String) || value.IsNull() {
		return ""
	}
	return value.AsString()
}

func numberValue(body *hclsyntax.Body, name string) int64 {
	value := attributeValue(body, name)
	if value == cty.NilVal || !value.Type().Equals(cty.Number) || value.IsNull() {
		return 0
	}
	number, _ := value.AsBigFloat().Int64()
	return number
}

// stringList returns the literal strings of a list attribute. Elements that
// need evaluation, such as "0.0.0.0:${NOMAD_PORT_http}", are left out.
func stringList(body *hclsyntax.Body, name string) []string {
	if attribute, ok := body.Attributes[name]; ok {
		if tuple, ok := attribute.Expr.(*hclsyntax.TupleConsExpr); ok {
			return literalStrings(tuple)
		}
	}
	value := attributeValue(body, name)
	if value == cty.NilVal || value.IsNull() || !value.CanIterateElements() {
		return nil
	}
	var items []string
	for iterator := value.ElementIterator(); iterator.Next(); {
		_, item := iterator.Element()
		if item.Type().Equals(cty.String) && !item.IsNull() {
			items = append(items, item.AsString())
		}
	}
	return items
}

func literalStrings(tuple *hclsyntax.TupleConsExpr) []string {
	var items []string
	for _, expr := range tuple.Exprs {
		item, diagnostics := expr.Value(&hcl.EvalContext{})
		if diagnostics.HasErrors() || !item.Type().Equals(cty.String) || item.IsNull() {
			continue
		}
		items = append(items, item.AsString())
	}
	return items
}

func TestJobspecsHaveOneJob(t *testing.T) {
	for _, spec := range parseJobspecs(t) {
		t.Run(spec.path, func(t *testing.T) {
			jobs := blocksOfType(spec.body, "job")
			if len(jobs) != 1 {
				t.Fatalf("got %d job blocks, want 1", len(jobs))
			}
			if len(jobs[0].Labels) != 1 || jobs[0].Labels[0] == "" {
				t.Errorf("job block labels %q, want one job name", jobs[0].Labels)
			}
			if len(blocksOfType(jobs[0].Body, "group")) == 0 {
				t.Error("job has no task group")
			}
		})
	}
}

func TestJobspecGroupsRunVideoNearCamera(t *testing.T) {
	for _, spec := range parseJobspecs(t) {
		jobs := blocksOfType(spec.body, "job")
		if len(jobs) != 1 {
			t.Fatalf("%s: got %d job blocks, want 1", spec.path, len(jobs))
		}
		jobType := stringValue(jobs[0].Body, "type")
		template := templateGroupName(jobs[0].Body)
		for _, group := range blocksOfType(jobs[0].Body, "group") {
			// Groups without a video task, such as a report, need not
			// run near a camera. A template group gets its camera
			// constraint from ferry-scheduler when it is copied per
			// camera, and scheduler/service tests check those copies.
			if len(videoTasks(group.Body)) == 0 || group.Labels[0] == template {
				continue
			}
			t.Run(spec.path+"/"+group.Labels[0], func(t *testing.T) {
				checkGroup(t, spec, jobType, group.Body)
			})
		}
	}
}

// templateGroupName returns the job meta "ferry.template" of a template
// job for ferry-scheduler, or "" for any other job.
func templateGroupName(job *hclsyntax.Body) string {
	meta := attributeValue(job, "meta")
	if meta == cty.NilVal || meta.IsNull() || !meta.Type().IsObjectType() || !meta.Type().HasAttribute("ferry.template") {
		return ""
	}
	name := meta.GetAttr("ferry.template")
	if !name.Type().Equals(cty.String) || name.IsNull() {
		return ""
	}
	return name.AsString()
}

func checkGroup(t *testing.T, spec jobspec, jobType string, group *hclsyntax.Body) {
	camera := cameraConstraint(t, spec, group)
	if camera == "" {
		t.Fatalf("group has no constraint on %s with operator set_contains", camerasAttribute)
	}

	metas := blocksOfType(group, "meta")
	if len(metas) != 1 || stringValue(metas[0].Body, "camera") != camera {
		t.Errorf("group meta camera is missing or differs from the constrained camera %q", camera)
	}

	restarts := blocksOfType(group, "restart")
	if len(restarts) != 1 {
		t.Errorf("got %d restart blocks, want 1", len(restarts))
	} else if jobType == "batch" && stringValue(restarts[0].Body, "mode") != "fail" {
		t.Errorf("batch group restart mode %q, want fail", stringValue(restarts[0].Body, "mode"))
	}
	if len(blocksOfType(group, "reschedule")) != 1 {
		t.Error("group has no reschedule block")
	}

	for _, task := range videoTasks(group) {
		t.Run(task.Labels[0], func(t *testing.T) {
			checkVideoTask(t, camera, task.Body)
		})
	}
}

func videoTasks(group *hclsyntax.Body) []*hclsyntax.Block {
	var tasks []*hclsyntax.Block
	for _, task := range blocksOfType(group, "task") {
		if stringValue(task.Body, "driver") == "video" {
			tasks = append(tasks, task)
		}
	}
	return tasks
}

// cameraConstraint returns the camera id of the group's set_contains
// constraint on the video driver's cameras attribute, or "" when none exists.
func cameraConstraint(t *testing.T, spec jobspec, group *hclsyntax.Body) string {
	t.Helper()
	for _, constraint := range blocksOfType(group, "constraint") {
		if attributeText(spec, constraint.Body, "attribute") != `"`+camerasAttribute+`"` {
			continue
		}
		if stringValue(constraint.Body, "operator") != "set_contains" {
			continue
		}
		return stringValue(constraint.Body, "value")
	}
	return ""
}

func checkVideoTask(t *testing.T, camera string, task *hclsyntax.Body) {
	configs := blocksOfType(task, "config")
	if len(configs) != 1 {
		t.Fatalf("got %d config blocks, want 1", len(configs))
	}
	config := configs[0].Body
	if stringValue(config, "image") == "" {
		t.Error("config image is missing")
	}
	if cameras := stringList(config, "cameras"); !slices.Contains(cameras, camera) {
		t.Errorf("config cameras %q do not contain the constrained camera %q", cameras, camera)
	}
	folder := "/recordings/" + camera
	if args := stringList(config, "args"); !slices.Contains(args, folder) {
		t.Errorf("config args %q do not contain the camera folder %q", args, folder)
	}

	if stringValue(task, "kill_timeout") == "" {
		t.Error("task kill_timeout is missing")
	}

	resources := blocksOfType(task, "resources")
	if len(resources) != 1 {
		t.Fatalf("got %d resources blocks, want 1", len(resources))
	}
	if cpu := numberValue(resources[0].Body, "cpu"); cpu <= 0 {
		t.Errorf("resources cpu %d MHz, want more than 0", cpu)
	}
	if memory := numberValue(resources[0].Body, "memory"); memory <= 0 {
		t.Errorf("resources memory %d MB, want more than 0", memory)
	}
}

func TestMotionDetectCoversDemoCameras(t *testing.T) {
	var spec jobspec
	for _, candidate := range parseJobspecs(t) {
		if candidate.path == "motion-detect.nomad.hcl" {
			spec = candidate
		}
	}
	if spec.body == nil {
		t.Fatal("motion-detect.nomad.hcl not found")
	}

	job := blocksOfType(spec.body, "job")[0]
	if job.Labels[0] != "motion-detect" {
		t.Errorf("job name %q, want motion-detect", job.Labels[0])
	}
	if jobType := stringValue(job.Body, "type"); jobType != "batch" {
		t.Errorf("job type %q, want batch", jobType)
	}
	var cameras []string
	for _, group := range blocksOfType(job.Body, "group") {
		cameras = append(cameras, cameraConstraint(t, spec, group.Body))
	}
	want := []string{"north-gate", "south-gate"}
	if !slices.Equal(cameras, want) {
		t.Errorf("constrained cameras %q, want %q", cameras, want)
	}
}
