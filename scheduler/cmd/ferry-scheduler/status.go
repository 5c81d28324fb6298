package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/ferry-video/ferry/scheduler/service"
)

func runStatus(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("ferry-scheduler status", flag.ContinueOnError)
	var c clientFlags
	c.register(fs, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if err := c.validate(); err != nil {
		return err
	}
	consul, nomad, err := c.clients()
	if err != nil {
		return err
	}
	ctx := context.Background()
	cat, _, err := c.catalog(consul).Read(ctx, 0)
	if err != nil {
		return err
	}
	rep, err := service.BuildReport(ctx, &service.NomadCluster{Client: nomad}, cat)
	if err != nil {
		return err
	}
	if c.output == "json" {
		return writeJSON(stdout, rep)
	}
	return writeStatusText(stdout, rep)
}

func writeStatusText(w io.Writer, rep service.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CAMERA\tHOLDERS")
	for _, camera := range slices.Sorted(maps.Keys(rep.Holders)) {
		fmt.Fprintf(tw, "%s\t%s\n", camera, strings.Join(rep.Holders[camera], ","))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "JOB\tGROUP\tCAMERA\tPINNED NODE\tREASON\tBYTES MOVED\tALLOCATIONS")
	for _, g := range rep.Groups {
		var allocs []string
		for _, a := range g.Allocs {
			allocs = append(allocs, fmt.Sprintf("%.8s on %s (%s)", a.ID, a.Node, a.ClientStatus))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", g.Job, g.Group, g.Camera, g.Node, g.Reason, g.BytesMoved, strings.Join(allocs, "; "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	for _, g := range rep.Groups {
		if !g.Local {
			fmt.Fprintf(w, "non-local: group %q of job %q on %q: %s %s\n", g.Group, g.Job, g.Node, g.Reason, g.Detail)
		}
		if g.Problem != "" {
			fmt.Fprintf(w, "not running: group %q of job %q: %s\n", g.Group, g.Job, g.Problem)
		}
		if g.Kept != nil {
			fmt.Fprintf(w, "kept: group %q of job %q stays on %q without a placement: %s: %s\n", g.Group, g.Job, g.Node, g.Kept.Reason, g.Kept.Detail)
		}
	}
	for _, u := range rep.Unplaced {
		fmt.Fprintf(w, "no group: camera %q of job %q: %s: %s\n", u.Camera, u.Job, u.Reason, u.Detail)
	}
	for _, e := range rep.Errors {
		fmt.Fprintf(w, "error: job %q is not expanded and keeps its groups: %s\n", e.Job, e.Error)
	}
	return nil
}
