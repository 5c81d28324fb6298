# A long-running service on the busybox test image, for nomad alloc exec.
job "e2e-shell-service" {
  type = "service"

  group "shell" {
    restart {
      attempts = 0
      mode     = "fail"
    }

    task "shell" {
      driver = "video"

      config {
        image   = "ferry-e2e/busybox:test"
        command = "/bin/sh"
        args    = ["-c", "echo started; while true; do sleep 1; done"]
      }
    }
  }
}
