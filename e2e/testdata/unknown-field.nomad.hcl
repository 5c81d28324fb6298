# A task config with a field the video driver does not define.
job "e2e-unknown-field" {
  type = "batch"

  group "bad" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }

    task "bad" {
      driver = "video"

      config {
        image = "ferry-e2e/busybox:test"
        bogus = "value"
      }
    }
  }
}
