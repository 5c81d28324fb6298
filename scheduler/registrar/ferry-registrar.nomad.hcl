# The storage registrar on every client node, as a Nomad system job.
#
# Each node publishes the camera storage it holds to its local Consul agent.
# The task runs the installed binary with raw_exec, because it reads the
# storage roots on the host; the client must enable the raw_exec plugin.
# The site comes from the node's static metadata, meta.site, which the
# client configuration sets.
#
#   nomad job run scheduler/registrar/ferry-registrar.nomad.hcl

job "ferry-registrar" {
  type = "system"

  group "registrar" {
    constraint {
      attribute = "${meta.site}"
      operator  = "is_set"
    }

    restart {
      attempts = 10
      interval = "30m"
      delay    = "15s"
      mode     = "delay"
    }

    task "registrar" {
      driver = "raw_exec"

      config {
        command = "/usr/local/bin/ferry-registrar"
        args = [
          "run",
          "-consul-addr", "127.0.0.1:8500",
          "-site", "${meta.site}",
          "-node", "${node.unique.name}",
          "-root", "/srv/video",
          "-period", "30s",
        ]
      }

      # The registrar withdraws the node's storage from Consul on SIGINT.
      kill_signal  = "SIGINT"
      kill_timeout = "15s"

      resources {
        cpu    = 50
        memory = 64
      }
    }
  }
}
