package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/ferry-video/ferry/scheduler/placement"
	"github.com/ferry-video/ferry/scheduler/service"
	nomadapi "github.com/hashicorp/nomad/api"
)

// planOutput is the JSON output of the plan command.
type planOutput struct {
	// WouldRegister is true when the service would register the job as
	// Nomad has it, when Nomad does not have the job, or when FileDiffers.
	WouldRegister bool `json:"would_register"`
	// FileDiffers is true when the job file's plan places, keeps or
	// removes groups differently from the plan of the job in Nomad, so the
	// rows take effect only after nomad job run of the file.
	FileDiffers bool `json:"file_differs"`
	service.JobStatus
}

func runPlan(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ferry-scheduler plan", flag.ContinueOnError)
	var c clientFlags
	c.register(fs, true)
	files, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		return fmt.Errorf("plan takes one job file, HCL or JSON; got %d arguments", len(files))
	}
	if err := c.validate(); err != nil {
		return err
	}
	consul, nomad, err := c.clients()
	if err != nil {
		return err
	}
	ctx := context.Background()

	job, err := readJob(nomad, files[0])
	if err != nil {
		return err
	}
	if !service.IsTemplateJob(job) {
		return fmt.Errorf("job file %q: job has no meta %q, so ferry-scheduler does not expand it; add a selector such as site=s1", files[0], service.MetaSelector)
	}
	registered, err := addRegisteredGroups(ctx, nomad, job)
	if err != nil {
		return err
	}
	cat, _, err := c.catalog(consul).Read(ctx, 0)
	if err != nil {
		return err
	}
	_, nodes, err := (&service.NomadCluster{Client: nomad}).Nodes(ctx)
	if err != nil {
		return err
	}

	res, fileDiffers, err := expandPlan(job, registered, cat, nodes)
	if err != nil {
		return err
	}
	out := planOutput{WouldRegister: res.Changed, FileDiffers: fileDiffers, JobStatus: service.JobStatus{
		Job: res.Spec.JobID, Hash: res.Hash, Placements: res.Plan.Placements,
		Unplaced: res.Plan.Unplaced, Kept: res.Kept, Removed: res.Removed, Totals: res.Plan.Totals,
	}}
	if c.output == "json" {
		return writeJSON(stdout, out)
	}
	return writePlanText(stdout, res, fileDiffers)
}

// expandPlan expands the job file, with the expanded groups of the job as
// Nomad has it (registered, nil when Nomad has none). The service expands
// the job as Nomad has it, whose template carries the plan hash and
// Nomad's defaults that the file lacks. So Changed is whether the service
// would register that job now, or whether the file's plan differs from
// it (fileDiffers), since the service then registers the file's plan
// after nomad job run. The rows always come from the file.
//
// NOTE: a file that differs from Nomad's job only outside the plan, such
// as in a task's config, leaves fileDiffers false.
func expandPlan(job, registered *nomadapi.Job, cat service.Catalog, nodes []placement.Node) (res service.Result, fileDiffers bool, err error) {
	res, err = service.Expand(job, cat, nodes)
	if err != nil || registered == nil {
		return res, false, err
	}
	current, err := service.Expand(registered, cat, nodes)
	if err != nil {
		return service.Result{}, false, err
	}
	fileDiffers = planRows(res) != planRows(current)
	res.Changed = current.Changed || fileDiffers
	return res, fileDiffers, nil
}

// planRows lists the groups that a result places, keeps and removes, with
// their node or reason, in a form that compares two results.
func planRows(res service.Result) string {
	var rows []string
	for _, p := range res.Plan.Placements {
		rows = append(rows, "place "+p.CameraID+" "+p.NodeID)
	}
	for _, u := range res.Plan.Unplaced {
		rows = append(rows, "unplaced "+u.CameraID+" "+string(u.Reason))
	}
	for _, k := range res.Kept {
		rows = append(rows, "keep "+k.Group+" "+string(k.Reason))
	}
	for _, r := range res.Removed {
		rows = append(rows, "remove "+r.Group+" "+string(r.Reason))
	}
	slices.Sort(rows)
	return strings.Join(rows, "\n")
}

// readJob reads a JSON job, bare or wrapped in {"Job": ...}, or parses an
// HCL job through Nomad's /v1/jobs/parse.
func readJob(nomad *nomadapi.Client, path string) (*nomadapi.Job, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read job file: %w", err)
	}
	if !strings.HasSuffix(path, ".json") {
		job, err := nomad.Jobs().ParseHCL(string(data), true)
		if err != nil {
			return nil, fmt.Errorf("parse job file %q with nomad at %s: %w", path, nomad.Address(), err)
		}
		return job, nil
	}
	var wrapped struct{ Job *nomadapi.Job }
	if err := json.Unmarshal(data, &wrapped); err == nil && wrapped.Job != nil {
		return wrapped.Job, nil
	}
	var job nomadapi.Job
	if err := json.Unmarshal(data, &job); err != nil {
		return nil, fmt.Errorf("decode job file %q as JSON: %w", path, err)
	}
	if job.ID == nil {
		return nil, fmt.Errorf("job file %q: JSON has no job ID; give a job or {\"Job\": job}", path)
	}
	return &job, nil
}

// addRegisteredGroups adds the expanded groups of the job as Nomad has it,
// so the plan keeps their placements as the service would. It returns the
// job as Nomad has it, or nil when Nomad does not have it.
func addRegisteredGroups(ctx context.Context, nomad *nomadapi.Client, job *nomadapi.Job) (*nomadapi.Job, error) {
	q := (&nomadapi.QueryOptions{Namespace: ptrValue(job.Namespace)}).WithContext(ctx)
	current, _, err := nomad.Jobs().Info(ptrValue(job.ID), q)
	if err != nil {
		if strings.Contains(err.Error(), "404") {
			return nil, nil
		}
		return nil, fmt.Errorf("read nomad job %q: %w", ptrValue(job.ID), err)
	}
	for _, tg := range current.TaskGroups {
		if service.IsExpandedGroup(tg) {
			job.TaskGroups = append(job.TaskGroups, tg)
		}
	}
	return current, nil
}

func writePlanText(w io.Writer, res service.Result, fileDiffers bool) error {
	t := res.Plan.Totals
	fmt.Fprintf(w, "job %q: %d placed (%d local), %d unplaced, %d removed, %d bytes moved, would register: %v\n",
		res.Spec.JobID, t.Placed, t.Local, t.Unplaced, len(res.Removed), t.BytesMoved, res.Changed)
	if fileDiffers {
		fmt.Fprintln(w, "the job file's plan differs from that of the job in Nomad: these rows take effect after nomad job run of the file")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tCAMERA\tNODE\tREASON\tBYTES MOVED\tDETAIL")
	for _, p := range res.Plan.Placements {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", service.GroupName(res.Spec.Template, p.CameraID), p.CameraID, p.NodeID, p.Reason, p.BytesMoved, p.Detail)
	}
	for _, u := range res.Plan.Unplaced {
		fmt.Fprintf(tw, "%s\t%s\t-\t%s\t-\t%s\n", service.GroupName(res.Spec.Template, u.CameraID), u.CameraID, u.Reason, u.Detail)
	}
	for _, k := range res.Kept {
		fmt.Fprintf(tw, "%s\t%s\t-\t%s\t-\tkept without a placement: %s\n", k.Group, k.Camera, k.Reason, k.Detail)
	}
	for _, r := range res.Removed {
		fmt.Fprintf(tw, "%s\t%s\t-\t%s\t-\tremoved: %s\n", r.Group, r.Camera, r.Reason, r.Detail)
	}
	return tw.Flush()
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func ptrValue(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
