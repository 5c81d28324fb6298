// Command video is the `video` Nomad task driver plugin.
package main

import (
	"github.com/ferry-video/ferry/drivers/video"
	"github.com/ferry-video/ferry/plugins"
)

func main() {
	plugins.ServeDriver(video.New(plugins.NewLogger(video.PluginName)))
}
