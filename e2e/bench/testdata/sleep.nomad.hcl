# A service of count long-running busybox sleep tasks, run by the driver
# given in var.driver ("video" or "docker"). The benchmark sets the job id.
variable "driver" {
  type = string
}

variable "image" {
  type    = string
  default = "ferry-bench/busybox:bench"
}

variable "count" {
  type    = number
  default = 1
}

job "bench-sleep" {
  type = "service"

  group "sleep" {
    count = var.count

    restart {
      attempts = 0
      mode     = "fail"
    }

    reschedule {
      attempts  = 0
      unlimited = false
    }

    # Small enough for 50 allocations on one client; Nomad requires more
    # disk than the task's log rotation can keep (2 x 5 MB).
    ephemeral_disk {
      size = 20
    }

    task "sleep" {
      driver = var.driver

      config {
        image   = var.image
        command = "/bin/sleep"
        args    = ["3600"]
      }

      logs {
        max_files     = 2
        max_file_size = 5
      }

      resources {
        cpu    = 10
        memory = 16
      }
    }
  }
}
