# The locality scheduler, as a Nomad service job with one instance.
#
# It watches the camera-storage service in Consul and the jobs in Nomad,
# keeps each node's ferry.cameras and ferry.site metadata in line with the
# catalog, and expands every job whose meta sets ferry.selector into one
# task group per camera. It needs a Nomad ACL token with node:write and
# namespace submit-job rights when ACLs are on; pass it as NOMAD_TOKEN
# through a Nomad variable or Vault, never in this file.
#
# The task runs the installed binary with raw_exec, and talks to the local
# Consul and Nomad agents on loopback; the client must enable raw_exec.
#
#   nomad job run scheduler/ferry-scheduler.nomad.hcl

job "ferry-scheduler" {
  type = "service"

  group "scheduler" {
    # The service takes no lock, so run one instance.
    count = 1

    network {
      port "metrics" {
        static = 9464
      }
    }

    restart {
      attempts = 10
      interval = "30m"
      delay    = "15s"
      mode     = "delay"
    }

    task "scheduler" {
      driver = "raw_exec"

      config {
        command = "/usr/local/bin/ferry-scheduler"
        args = [
          "run",
          "-consul-addr", "127.0.0.1:8500",
          "-nomad-addr", "http://127.0.0.1:4646",
          "-service-name", "camera-storage",
          "-resync", "1m",
          # A camera's groups are removed once successful catalog reads
          # have missed it this long.
          "-vanish-grace", "10m",
          "-metrics-addr", "127.0.0.1:9464",
        ]
      }

      kill_signal  = "SIGINT"
      kill_timeout = "15s"

      resources {
        cpu    = 200
        memory = 128
      }
    }
  }
}
