// Command camera is the `camera` Nomad device plugin.
package main

import (
	"github.com/ferry-video/ferry/devices/camera"
	"github.com/ferry-video/ferry/plugins"
)

func main() {
	plugins.ServeDevice(camera.New(plugins.NewLogger(camera.PluginName)))
}
