// Command city-report runs in the report VM of the hybrid demo and writes
// the city report: the motion events of each camera, as counted by the
// edge allocations, and their total, as one JSON document.
//
// The counts come from -events, or from the VM's guestinfo.events key. On
// a VM the guest reads that key with `vmware-rpctool "info-get
// guestinfo.events"`. In a container-backed vcsim VM it is the environment
// variable VMX_GUESTINFO_EVENTS, which is what this program reads.
//
// The list has the form camera@node=count, comma-separated, such as
// north-gate@edge-1=12,south-gate@edge-2=7.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Report is the city report.
type Report struct {
	Cameras     []Camera `json:"cameras"`
	TotalEvents int      `json:"total_events"`
	// Host is the guest's host name, to show where the report was made.
	Host string `json:"host"`
}

// Camera is the motion event count of one camera.
type Camera struct {
	Camera string `json:"camera"`
	Node   string `json:"node"`
	Events int    `json:"events"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	flags := flag.NewFlagSet("city-report", flag.ContinueOnError)
	flags.SetOutput(stderr)
	events := flags.String("events", os.Getenv("VMX_GUESTINFO_EVENTS"), "camera@node=count list, comma-separated (default: guestinfo.events as vcsim passes it)")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	report, err := parseEvents(*events)
	if err != nil {
		fmt.Fprintln(stderr, "city-report:", err)
		return 1
	}
	report.Host, _ = os.Hostname()
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(report); err != nil {
		fmt.Fprintln(stderr, "city-report:", err)
		return 1
	}
	return 0
}

// parseEvents reads a camera@node=count list.
func parseEvents(list string) (*Report, error) {
	if strings.TrimSpace(list) == "" {
		return nil, fmt.Errorf("missing events: pass -events camera@node=count,... or set guestinfo.events")
	}
	report := &Report{Cameras: []Camera{}}
	for _, item := range strings.Split(list, ",") {
		camera, rest, ok := strings.Cut(item, "@")
		node, count, ok2 := strings.Cut(rest, "=")
		n, err := strconv.Atoi(count)
		if !ok || !ok2 || camera == "" || node == "" || err != nil || n < 0 {
			return nil, fmt.Errorf("invalid events item %q: use camera@node=count with a count of 0 or more", item)
		}
		report.Cameras = append(report.Cameras, Camera{Camera: camera, Node: node, Events: n})
		report.TotalEvents += n
	}
	return report, nil
}
