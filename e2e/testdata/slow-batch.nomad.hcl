# A batch task that runs for about 20 seconds and exits 0, long enough to
# kill the video plugin process while it runs.
job "e2e-slow-batch" {
  type = "batch"

  group "slow" {
    restart {
      attempts = 0
      mode     = "fail"
    }

    task "slow" {
      driver = "video"

      config {
        image   = "ferry-e2e/busybox:test"
        command = "/bin/sh"
        args    = ["-c", "echo started; sleep 20; echo finished"]
      }
    }
  }
}
