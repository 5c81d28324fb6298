# Motion detection on the north and south gate cameras as a service: each
# camera's task processes the recordings, then keeps serving /health and
# /events so that Consul tracks it and jobspecs/report can collect the
# events of every camera.
#
# Placement and mounts are as in motion-detect.nomad.hcl: each group is
# pinned to the node that stores its camera's recordings. Each instance is
# registered in Consul as service motion-detect with the tags
# camera:<id>, site:<site> and node:<node name>, and /health returns 503
# with the reason once processing failed.
#
#   nomad job run jobspecs/motion-service.nomad.hcl
#   go run ./jobspecs/report -expect north-gate,south-gate

job "motion-service" {
  type = "service"

  meta {
    sample = "motion-detect"
    site   = "downtown"
  }

  group "north-gate" {
    count = 1

    # Consul stops sending clients to the instance before it is killed.
    shutdown_delay = "5s"

    constraint {
      attribute = "${attr.driver.video.cameras}"
      operator  = "set_contains"
      value     = "north-gate"
    }

    # The video driver publishes the task's port on the node through
    # Docker's own networking, so the group network stays in host mode and
    # needs no CNI plugins. The task listens on 8080 in its container.
    network {
      port "http" {
        to = 8080
      }
    }

    # Once processing ends the program keeps serving, so a restart means
    # the process died. Processing failures show as a failing check.
    restart {
      attempts = 3
      interval = "30m"
      delay    = "15s"
      mode     = "delay"
    }

    reschedule {
      delay          = "1m"
      delay_function = "exponential"
      max_delay      = "30m"
      unlimited      = true
    }

    # A node cut off from the servers keeps running the analysis. Nomad
    # marks its allocation unknown, not lost, for lost_after, and may start
    # a replacement on another node that holds the camera meanwhile. When
    # the node reconnects, Nomad stops its stale copy and keeps the
    # replacement, so two copies of one camera's analysis overlap at most
    # for the time the node was cut off.
    disconnect {
      lost_after = "1h"
      replace    = true
      reconcile  = "keep_replacement"
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
        interval = "10s"
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

      kill_timeout = "10s"

      resources {
        cpu    = 1000
        memory = 192
      }
    }
  }

  group "south-gate" {
    count = 1

    shutdown_delay = "5s"

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
      delay    = "15s"
      mode     = "delay"
    }

    reschedule {
      delay          = "1m"
      delay_function = "exponential"
      max_delay      = "30m"
      unlimited      = true
    }

    disconnect {
      lost_after = "1h"
      replace    = true
      reconcile  = "keep_replacement"
    }

    meta {
      camera = "south-gate"
    }

    service {
      provider = "consul"
      name     = "motion-detect"
      tags     = ["camera:south-gate", "site:downtown", "node:${node.unique.name}"]
      port     = "http"

      check {
        type     = "http"
        path     = "/health"
        interval = "10s"
        timeout  = "2s"
      }
    }

    task "motion" {
      driver = "video"

      config {
        image   = "ferry/motion-detect:0.1"
        cameras = ["south-gate"]
        ports   = ["http"]
        args    = ["-listen", "0.0.0.0:${NOMAD_PORT_http}", "/recordings/south-gate"]
      }

      kill_timeout = "10s"

      resources {
        cpu    = 1000
        memory = 192
      }
    }
  }
}
