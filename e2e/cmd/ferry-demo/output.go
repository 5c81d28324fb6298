package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/ferry-video/ferry/e2e/cluster"
)

// printPlacements writes the placements as a table or as JSON of the form
// {"allocations":[...]}.
func printPlacements(w io.Writer, format string, placements []cluster.Placement) error {
	if format == "json" {
		if placements == nil {
			placements = []cluster.Placement{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Allocations []cluster.Placement `json:"allocations"`
		}{placements})
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ALLOCATION\tCAMERA\tNODE\tDATA NODE\tBYTES MOVED\tMOTION EVENTS\tEXIT CODE")
	for _, p := range placements {
		dataNode := p.DataNode
		if dataNode == "" {
			dataNode = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\n",
			p.AllocID[:8], p.Camera, p.Node, dataNode, p.BytesMoved, p.Events, p.ExitCode)
	}
	return tw.Flush()
}

// printHybrid writes the placements, the report job's VMs and the city
// report as a table or as JSON of the form
// {"allocations":[...],"vms":[...],"report":{...},"simulated":"..."}.
func printHybrid(w io.Writer, format string, placements []cluster.Placement, h *hybridResult) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Allocations []cluster.Placement `json:"allocations"`
			*hybridResult
		}{placements, h})
	}
	if err := printPlacements(w, format, placements); err != nil {
		return err
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TASK\tVM\tPOWER STATE\tEXIT CODE")
	for _, vm := range h.VMs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", vm.Task, vm.VM, vm.PowerState, vm.ExitCode)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ncity report:\n%s\nnote: %s\n", h.Report, h.Simulated)
	return nil
}
