# Motion detection on the recordings of the north and south gate cameras.
#
# Each camera gets its own task group, pinned to the node that stores the
# camera's recordings, so no video crosses the network. The video driver
# publishes the cameras a node stores as attr.driver.video.cameras (a
# comma-separated list of camera ids) and the bytes stored per camera as
# attr.driver.video.camera.<id>, and it mounts a task's cameras read-only at
# /recordings/<id>.
#
# The image is built locally with jobspecs/motion/build-image.sh on every
# client, because edge nodes have no registry.
#
#   nomad job run jobspecs/motion-detect.nomad.hcl
#   nomad alloc logs <alloc-id>    # one "motion file=... t=... score=..." line per event

job "motion-detect" {
  type = "batch"

  meta {
    sample = "motion-detect"
  }

  group "north-gate" {
    count = 1

    constraint {
      attribute = "${attr.driver.video.cameras}"
      operator  = "set_contains"
      value     = "north-gate"
    }

    # A failed run is retried in place twice, then the allocation fails.
    restart {
      attempts = 2
      interval = "30m"
      delay    = "15s"
      mode     = "fail"
    }

    # Only the node that stores the camera's recordings fits the
    # constraint, so a reschedule waits for that node to come back or for
    # the recordings to move to another node.
    reschedule {
      attempts       = 3
      interval       = "24h"
      delay          = "1m"
      delay_function = "exponential"
      max_delay      = "30m"
      unlimited      = false
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

    task "motion" {
      driver = "video"

      config {
        image   = "ferry/motion-detect:0.1"
        cameras = ["north-gate"]
        args    = ["/recordings/north-gate"]
      }

      # motion kills ffmpeg and exits as soon as it receives SIGTERM.
      kill_timeout = "10s"

      # ffmpeg 5.1 decoding 768x576 MPEG-4 at 10 fps peaked at 59 MB
      # resident and one core; memory leaves room for larger frames.
      resources {
        cpu    = 1000
        memory = 192
      }
    }
  }

  group "south-gate" {
    count = 1

    constraint {
      attribute = "${attr.driver.video.cameras}"
      operator  = "set_contains"
      value     = "south-gate"
    }

    restart {
      attempts = 2
      interval = "30m"
      delay    = "15s"
      mode     = "fail"
    }

    reschedule {
      attempts       = 3
      interval       = "24h"
      delay          = "1m"
      delay_function = "exponential"
      max_delay      = "30m"
      unlimited      = false
    }

    disconnect {
      lost_after = "1h"
      replace    = true
      reconcile  = "keep_replacement"
    }

    meta {
      camera = "south-gate"
    }

    task "motion" {
      driver = "video"

      config {
        image   = "ferry/motion-detect:0.1"
        cameras = ["south-gate"]
        args    = ["/recordings/south-gate"]
      }

      kill_timeout = "10s"

      resources {
        cpu    = 1000
        memory = 192
      }
    }
  }
}
