// Command pause holds a group network namespace open for the video driver.
// The driver runs it as the first container of an allocation whose group
// network is in bridge mode, and every task container of the group joins
// its network namespace. It waits for SIGTERM or SIGINT and exits 0.
//
// build-image.sh beside this file builds it into the image ferry/pause:0.1.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	<-signals
}
