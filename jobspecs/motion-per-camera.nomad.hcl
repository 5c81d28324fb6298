# Motion detection on the recordings of every camera that a selector picks,
# as a template job for ferry-scheduler.
#
# ferry-scheduler copies the "motion" group once per selected camera, names
# each copy motion-<camera>, sets its count to 1 and pins it to a node that
# holds the camera's recordings. It sets the template group's count to 0,
# and it writes the camera id into the copy's group metadata ferry.camera.
# The task config reads it as ${NOMAD_META_ferry.camera}, because Nomad 2.0
# keeps the dot of a metadata key in interpolation. The task's environment
# has it as NOMAD_META_ferry_camera. When the scheduler registers the job
# again, a group that finished and did not change gets count 0, so Nomad
# does not run it a second time.
#
# Register the template once, then let ferry-scheduler expand it. `plan`
# prints the groups it would register, and registers nothing:
#
#   nomad job run jobspecs/motion-per-camera.nomad.hcl
#   ferry-scheduler plan jobspecs/motion-per-camera.nomad.hcl
#   ferry-scheduler run
#
# The video driver and the image are the same as in motion-detect.nomad.hcl.
# Build the image on every client with jobspecs/motion/build-image.sh.

job "motion-per-camera" {
  type = "batch"

  # Keys with dots need the map form of meta.
  meta = {
    # Selector forms. A clause is key=value, several clauses join with ';',
    # and a camera must match every clause. A value may list several sites
    # or camera ids and then matches any of them; give site= and cameras=
    # once each, since a second one is an error. A camera must have every
    # listed tag.
    #
    #   "cameras=north-gate,south-gate"  the camera ids the registrars publish
    #   "site=downtown"                  cameras whose first holder is at one
    #                                    of the sites (site=downtown,harbour)
    #   "tag=entrance"                   cameras whose .tags files list the tag
    #   "site=downtown;tag=entrance"     both
    #
    # A selector that matches no camera is an error in
    # `ferry-scheduler status`, and the job keeps the groups of cameras
    # that are still in the catalog.
    "ferry.selector" = "site=downtown"

    # The task group that is copied once per camera.
    "ferry.template" = "motion"

    # "required" puts a constraint on ${meta.ferry.cameras} on each copy, so
    # it runs only on a node that holds the camera. "preferred", the
    # default, only adds an affinity, and a copy may land on a node without
    # the recordings. The video driver mounts only recordings stored on its
    # own node and fails such a task, so this job requires locality.
    "ferry.locality" = "required"

    # Optional: only cameras with recordings in this range, two RFC 3339
    # times joined by '/'. A camera that no holder has recordings of in the
    # range gets no group, and `ferry-scheduler status` lists it with the
    # reason no_recordings_in_range.
    # "ferry.time_range" = "2026-01-01T00:00:00Z/2026-01-02T00:00:00Z"
  }

  group "motion" {
    # The template itself runs nothing. With count 1 Nomad would queue it
    # until the first expansion sets the count to 0.
    count = 0

    # A failed run is retried in place twice, then the allocation fails.
    restart {
      attempts = 2
      interval = "30m"
      delay    = "15s"
      mode     = "fail"
    }

    # Only the nodes that hold the camera fit, so a reschedule waits for one
    # of them to come back or for the recordings to move.
    reschedule {
      attempts       = 3
      interval       = "24h"
      delay          = "1m"
      delay_function = "exponential"
      max_delay      = "30m"
      unlimited      = false
    }

    # A node cut off from the servers keeps running the analysis, and when
    # it reconnects Nomad keeps the replacement it may have started on
    # another holder of the camera.
    disconnect {
      lost_after = "1h"
      replace    = true
      reconcile  = "keep_replacement"
    }

    task "motion" {
      driver = "video"

      config {
        image   = "ferry/motion-detect:0.1"
        cameras = ["${NOMAD_META_ferry.camera}"]
        args    = ["/recordings/${NOMAD_META_ferry.camera}"]
      }

      # motion kills ffmpeg and exits as soon as it receives SIGTERM.
      kill_timeout = "10s"

      resources {
        cpu    = 1000
        memory = 192
      }
    }
  }
}
