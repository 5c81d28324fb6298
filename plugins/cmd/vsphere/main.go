// Command vsphere is the `vsphere` Nomad task driver plugin.
package main

import (
	"github.com/ferry-video/ferry/drivers/vsphere"
	"github.com/ferry-video/ferry/plugins"
)

func main() {
	plugins.ServeDriver(vsphere.New(plugins.NewLogger(vsphere.PluginName)))
}
