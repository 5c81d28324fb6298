package main

import (
	"fmt"
	"slices"
	"strings"
)

// nomadScenarioNames are the scenarios that need a Nomad binary.
var nomadScenarioNames = []string{"nomad", "partition", "consul"}

// validateOptions checks the flag values that main parses into opts.
func validateOptions(opts Options) error {
	if opts.Rounds <= 0 {
		return fmt.Errorf("invalid -rounds %d: give a positive number of rounds", opts.Rounds)
	}
	if opts.Timeout <= 0 {
		return fmt.Errorf("invalid -timeout %s: give a positive duration such as 30m", opts.Timeout)
	}
	for i, name := range opts.Scenarios {
		if !slices.Contains(scenarioNames, name) {
			return fmt.Errorf("invalid -scenarios entry %q: use one of %s", name, strings.Join(scenarioNames, ", "))
		}
		if slices.Contains(opts.Scenarios[:i], name) {
			return fmt.Errorf("invalid -scenarios: %q is listed twice; list each scenario once", name)
		}
	}
	return nil
}

// checkNomadScenarios returns an error when -scenarios requests a scenario
// that needs Nomad but Nomad is turned off or findErr reports it missing.
func checkNomadScenarios(requested []string, nomadEnabled bool, findErr error) error {
	for _, name := range requested {
		if !slices.Contains(nomadScenarioNames, name) {
			continue
		}
		if !nomadEnabled {
			return fmt.Errorf("scenario %s needs Nomad, but -nomad=false turns it off: drop -nomad=false or drop %s from -scenarios", name, name)
		}
		if findErr != nil {
			return fmt.Errorf("scenario %s needs a Nomad binary: set NOMAD_BIN or put nomad on PATH (%v)", name, findErr)
		}
	}
	return nil
}

// orderScenarios returns the scenarios named in requested, in that order,
// or all of them in their fixed order when requested is empty.
func orderScenarios(all []scenario, requested []string) []scenario {
	if len(requested) == 0 {
		return all
	}
	var ordered []scenario
	for _, name := range requested {
		i := slices.IndexFunc(all, func(sc scenario) bool { return sc.name == name })
		if i >= 0 {
			ordered = append(ordered, all[i])
		}
	}
	return ordered
}

// exitReason returns the reason a run exits non-zero, or "" when it
// succeeded. runErr is the error Run returned, and interrupted is true when
// a signal stopped the run.
func exitReason(report *Report, opts Options, runErr error, interrupted bool) string {
	switch {
	case interrupted:
		return fmt.Sprintf("interrupted after %d of %d rounds", report.Rounds, opts.Rounds)
	case runErr != nil:
		return fmt.Sprintf("failed after %d of %d rounds: %v", report.Rounds, opts.Rounds, runErr)
	case report.Rounds == 0:
		return fmt.Sprintf("ran 0 of %d rounds", opts.Rounds)
	case report.Rounds < opts.Rounds:
		return fmt.Sprintf("timed out after %d of %d rounds (-timeout %s)", report.Rounds, opts.Rounds, opts.Timeout)
	case report.Failed():
		return "faults found: see the counts in the JSON report"
	}
	return ""
}
