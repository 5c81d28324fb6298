# Motion detection over every camera stored at site "downtown", as a
# template job for ferry-scheduler.
#
# The scheduler copies the "motion" group once per camera that the selector
# matches, names each copy motion-<camera>, sets its count to 1 and pins it
# to a node that holds the camera (a constraint on ${meta.ferry.cameras},
# because locality is required). It sets the template group's count to 0
# and writes the camera into the group metadata ferry.camera. The task
# config reads it as ${NOMAD_META_ferry.camera}, because Nomad 2.0 keeps
# the dot of a metadata key in interpolation, and the task's environment
# has it as NOMAD_META_ferry_camera.
#
#   nomad job run scheduler/service/testdata/per-camera.nomad.hcl
#   ferry-scheduler plan scheduler/service/testdata/per-camera.nomad.hcl

job "motion-per-camera" {
  type = "batch"

  # Keys with dots need the map form of meta.
  meta = {
    "ferry.selector" = "site=downtown"
    "ferry.template" = "motion"
    "ferry.locality" = "required"
    # "ferry.time_range" = "2026-01-01T00:00:00Z/2026-01-02T00:00:00Z"
  }

  group "motion" {
    # The template itself runs nothing. With count 1 Nomad would queue it
    # until the scheduler's first expansion sets the count to 0.
    count = 0

    restart {
      attempts = 2
      interval = "30m"
      delay    = "15s"
      mode     = "fail"
    }

    task "motion" {
      driver = "video"

      config {
        image   = "ferry/motion-detect:0.1"
        cameras = ["${NOMAD_META_ferry.camera}"]
        args    = ["/recordings/${NOMAD_META_ferry.camera}"]
      }

      kill_timeout = "10s"

      resources {
        cpu    = 1000
        memory = 192
      }
    }
  }
}
