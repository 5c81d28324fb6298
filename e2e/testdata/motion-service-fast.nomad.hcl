# motion-service.nomad.hcl with timings for tests: checks every second,
# restarts after one second, a one-second shutdown delay and short
# deployments. The south-gate
# service is a task service, because Nomad allows address_mode = "driver"
# only there, and it and its check use the container's address and port
# that the video driver returns.

job "e2e-motion-service" {
  type = "service"

  meta {
    sample = "motion-detect"
    site   = "downtown"
  }

  # A deployment blocks nomad job scale until it ends, so it ends soon
  # after the checks pass.
  update {
    min_healthy_time = "1s"
    healthy_deadline = "1m"
  }

  group "north-gate" {
    count = 1

    shutdown_delay = "1s"

    constraint {
      attribute = "${attr.driver.video.cameras}"
      operator  = "set_contains"
      value     = "north-gate"
    }

    network {
      port "http" {
        to = 8080
      }
    }

    restart {
      attempts = 3
      interval = "30m"
      delay    = "1s"
      mode     = "delay"
    }

    reschedule {
      delay          = "1m"
      delay_function = "exponential"
      max_delay      = "30m"
      unlimited      = true
    }

    meta {
      camera = "north-gate"
    }

    service {
      provider = "consul"
      name     = "motion-detect"
      tags     = ["camera:north-gate", "site:downtown", "node:${node.unique.name}"]
      port     = "http"

      check {
        type     = "http"
        path     = "/health"
        interval = "1s"
        timeout  = "2s"
      }
    }

    task "motion" {
      driver = "video"

      config {
        image   = "ferry/motion-detect:0.1"
        cameras = ["north-gate"]
        ports   = ["http"]
        args    = ["-listen", "0.0.0.0:${NOMAD_PORT_http}", "/recordings/north-gate"]
      }

      kill_timeout = "2s"

      resources {
        cpu    = 1000
        memory = 192
      }
    }
  }

  group "south-gate" {
    count = 1

    shutdown_delay = "1s"

    constraint {
      attribute = "${attr.driver.video.cameras}"
      operator  = "set_contains"
      value     = "south-gate"
    }

    network {
      port "http" {
        to = 8080
      }
    }

    restart {
      attempts = 3
      interval = "30m"
      delay    = "1s"
      mode     = "delay"
    }

    reschedule {
      delay          = "1m"
      delay_function = "exponential"
      max_delay      = "30m"
      unlimited      = true
    }

    meta {
      camera = "south-gate"
    }

    task "motion" {
      driver = "video"

      config {
        image   = "ferry/motion-detect:0.1"
        cameras = ["south-gate"]
        ports   = ["http"]
        args    = ["-listen", "0.0.0.0:${NOMAD_PORT_http}", "/recordings/south-gate"]
      }

      service {
        provider = "consul"
        name     = "motion-detect"
        tags     = ["camera:south-gate", "site:downtown", "node:${node.unique.name}"]
        port     = "http"

        address_mode = "driver"

        check {
          type     = "http"
          path     = "/health"
          interval = "1s"
          timeout  = "2s"

          address_mode = "driver"
        }
      }

      kill_timeout = "2s"

      resources {
        cpu    = 1000
        memory = 192
      }
    }
  }
}
