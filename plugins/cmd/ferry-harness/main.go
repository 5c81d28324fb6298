// Command ferry-harness runs a standard conformance sequence against a
// Nomad driver plugin binary and prints PASS or FAIL for each step.
//
//	ferry-harness -plugin ./video -config agent.hcl -task task.hcl
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
)

func main() {
	pluginPath := flag.String("plugin", "", "path of the plugin binary to test (required)")
	configPath := flag.String("config", "", "file with the body of the agent's plugin config block, in HCL; empty sends no config")
	taskPath := flag.String("task", "", "file with the body of a task's config block, in HCL (required)")
	timeout := flag.Duration("timeout", 2*time.Minute, "time limit for the whole sequence")
	verbose := flag.Bool("v", false, "print the plugin's log lines on stderr")
	flag.Parse()

	if *pluginPath == "" || *taskPath == "" {
		fmt.Fprintln(os.Stderr, "ferry-harness: -plugin and -task are required")
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(*pluginPath, *configPath, *taskPath, *timeout, *verbose))
}

func run(pluginPath, configPath, taskPath string, timeout time.Duration, verbose bool) int {
	var agentHCL []byte
	if configPath != "" {
		var err error
		if agentHCL, err = os.ReadFile(configPath); err != nil {
			fmt.Fprintf(os.Stderr, "ferry-harness: read agent config: %v\n", err)
			return 2
		}
	}
	taskHCL, err := os.ReadFile(taskPath)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferry-harness: read task config: %v\n", err)
		return 2
	}

	logger := hclog.NewNullLogger()
	if verbose {
		logger = hclog.New(&hclog.LoggerOptions{Name: "plugin", Output: os.Stderr, Level: hclog.Trace})
	}
	seq := &sequence{
		pluginPath: pluginPath,
		agentHCL:   agentHCL,
		configName: nameOr(configPath, "agent.hcl"),
		taskHCL:    taskHCL,
		taskName:   taskPath,
		logger:     logger,
		timeout:    timeout,
	}
	if !seq.run() {
		return 1
	}
	return 0
}

func nameOr(path, fallback string) string {
	if path == "" {
		return fallback
	}
	return path
}
