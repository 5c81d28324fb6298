// Command testdriver serves the test driver as a Nomad plugin.
package main

import (
	"github.com/ferry-video/ferry/plugins"
	"github.com/ferry-video/ferry/plugins/internal/testdriver"
)

func main() {
	plugins.ServeDriver(testdriver.New())
}
