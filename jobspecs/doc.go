// Package jobspecs contains the Nomad jobspecs that ship with ferry and the
// tests that check them. The motion subpackage is the sample analytics
// program that the motion-detect jobspec runs.
package jobspecs
