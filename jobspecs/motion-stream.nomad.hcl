# Motion detection on the live streams of the north and south gate cameras
# as a service: each camera's task reads its camera's stream as it arrives
# and serves /health and /events while it runs, so that Consul tracks it and
# jobspecs/report can collect the events of every camera.
#
# Each group is pinned to the node that records its camera, which is the
# node the camera streams to. The task's ffmpeg is the RTSP server that the
# camera or its encoder pushes to (RTSP RECORD over TCP), at
# rtsp://<node address>:<rtsp port>/<camera id>. Two services are registered
# in Consul per camera, both tagged camera:<id>, site:<site> and
# node:<node name>: motion-stream (the HTTP endpoint, with a check of
# /health, which returns 503 until frames of the stream arrive and again
# from the end of a stream until frames arrive again) and
# motion-stream-rtsp (where to push the stream). The events of every camera
# are then collected with:
#
#   bin/report -service motion-stream -expect north-gate,south-gate
#
# To stream real footage in place of a camera, loop it in real time with
# Debian's ffmpeg, re-encoded as MPEG-4 because RTP does not carry every
# codec (vtest.avi's MS-MPEG4 v3, for one). On a machine with no other
# copy, `make demo` extracts vtest.avi into .cache/footage:
#
#   nomad job run jobspecs/motion-stream.nomad.hcl
#   addr=$(curl -s 'http://127.0.0.1:8500/v1/catalog/service/motion-stream-rtsp?tag=camera:north-gate' |
#     jq -r '.[0] | "\(.ServiceAddress):\(.ServicePort)"')
#   ffmpeg -re -stream_loop -1 -i .cache/footage/vtest.avi -an -c:v mpeg4 -q:v 5 \
#     -f rtsp -rtsp_transport tcp "rtsp://${addr}/north-gate"
#
# For a camera that serves RTSP itself, drop -stream-listen and the rtsp
# port, and set -stream to the camera's URL so that the task pulls from it.

job "motion-stream" {
  type = "service"

  # The HTTP check stays critical until a stream arrives, which may take
  # long, so deployments judge allocations by their task states instead.
  update {
    health_check = "task_states"
  }

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

    # As in motion-service.nomad.hcl, the video driver publishes the ports
    # through Docker's own networking, so no CNI plugins are needed. The
    # task listens on 8080 (HTTP) and 8554 (RTSP) in its container.
    network {
      port "http" {
        to = 8080
      }
      port "rtsp" {
        to = 8554
      }
    }

    # The program runs until it is stopped and reads the stream again after
    # the sender disconnects, so a restart means the process died.
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

    # The camera streams to this node, so a node cut off from the servers
    # keeps analysing the stream, and a replacement on another node would
    # receive nothing. Nomad marks the allocation unknown for lost_after,
    # starts no replacement, and keeps the original when the node
    # reconnects.
    disconnect {
      lost_after = "1h"
      replace    = false
      reconcile  = "keep_original"
    }

    meta {
      camera = "north-gate"
    }

    service {
      provider = "consul"
      name     = "motion-stream"
      tags     = ["camera:north-gate", "site:downtown", "node:${node.unique.name}"]
      port     = "http"

      check {
        type     = "http"
        path     = "/health"
        interval = "10s"
        timeout  = "2s"
      }
    }

    service {
      provider = "consul"
      name     = "motion-stream-rtsp"
      tags     = ["camera:north-gate", "site:downtown", "node:${node.unique.name}"]
      port     = "rtsp"
    }

    task "motion" {
      driver = "video"

      config {
        image   = "ferry/motion-detect:0.1"
        cameras = ["north-gate"]
        ports   = ["http", "rtsp"]
        args = [
          "-listen", "0.0.0.0:${NOMAD_PORT_http}",
          "-stream", "rtsp://0.0.0.0:${NOMAD_PORT_rtsp}/north-gate", "-stream-listen",
          "/recordings/north-gate",
        ]
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
      port "rtsp" {
        to = 8554
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
      replace    = false
      reconcile  = "keep_original"
    }

    meta {
      camera = "south-gate"
    }

    service {
      provider = "consul"
      name     = "motion-stream"
      tags     = ["camera:south-gate", "site:downtown", "node:${node.unique.name}"]
      port     = "http"

      check {
        type     = "http"
        path     = "/health"
        interval = "10s"
        timeout  = "2s"
      }
    }

    service {
      provider = "consul"
      name     = "motion-stream-rtsp"
      tags     = ["camera:south-gate", "site:downtown", "node:${node.unique.name}"]
      port     = "rtsp"
    }

    task "motion" {
      driver = "video"

      config {
        image   = "ferry/motion-detect:0.1"
        cameras = ["south-gate"]
        ports   = ["http", "rtsp"]
        args = [
          "-listen", "0.0.0.0:${NOMAD_PORT_http}",
          "-stream", "rtsp://0.0.0.0:${NOMAD_PORT_rtsp}/south-gate", "-stream-listen",
          "/recordings/south-gate",
        ]
      }

      kill_timeout = "10s"

      resources {
        cpu    = 1000
        memory = 192
      }
    }
  }
}
