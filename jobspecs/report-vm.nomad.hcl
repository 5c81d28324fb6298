# The city report, made in a VM of the data center from the motion events
# that the edge allocations of motion-detect counted.
#
# The task is a VM cloned from the template "report-template" by the
# vsphere driver. The event counts reach the guest as the VM's
# guestinfo.events key, in the form camera@node=count, comma-separated.
# The template's guest runs the city-report program on request:
#
#   nomad job run -var 'events=north-gate@edge-1=12,south-gate@edge-2=7' jobspecs/report-vm.nomad.hcl
#   nomad alloc exec -task report <alloc-id> city-report    # prints the report as JSON
#   nomad job stop report-vm                                 # destroys the VM
#
# The VM stays up until the job stops, so that the report can be run
# again on new counts without a new clone.

variable "events" {
  type        = string
  default     = ""
  description = "motion event counts per camera, camera@node=count, comma-separated; empty gives a report with no cameras"
}

variable "template" {
  type        = string
  default     = "report-template"
  description = "name of the VM template whose guest has city-report"
}

job "report-vm" {
  # A batch job has no deployment, so stopping it once the report is made
  # leaves no failed deployment behind.
  type = "batch"

  meta {
    sample = "report-vm"
  }

  group "report" {
    count = 1

    # A VM that fails to clone or power on is retried twice, then the
    # allocation fails.
    restart {
      attempts = 2
      interval = "30m"
      delay    = "15s"
      mode     = "fail"
    }

    task "report" {
      driver = "vsphere"

      config {
        template = var.template
        # vcsim v0.56.0 passes guestinfo values to its containers through
        # an unquoted shell command line, so the value has no spaces.
        guestinfo = {
          events = var.events
        }
        # The guest has nothing to save, so a stop powers it off at once.
        stop_mode = "poweroff"
      }

      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}
