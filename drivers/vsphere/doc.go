// Package vsphere is the `vsphere` Nomad task driver. A task is a VM cloned
// from a template in vCenter or deployed from an OVF item of a content
// library: StartTask creates and powers it on, WaitTask
// ends when it powers off, exec runs through VMware Tools guest operations,
// and stats come from the VM's quick stats.
//
// The agent's plugin block names vCenter and the default placement:
//
//	plugin "vsphere" {
//	  config {
//	    url                 = "https://vcenter.example/sdk"
//	    username            = "nomad@vsphere.local"
//	    password_file       = "/etc/nomad.d/vsphere-password"
//	    ca_file             = "/etc/nomad.d/vcenter-ca.pem"
//	    datacenter          = "city"
//	    cluster             = "analytics"
//	    guest_username      = "nomad"
//	    guest_password_file = "/etc/nomad.d/guest-password"
//	    request_timeout     = "30s"
//	  }
//	}
//
// guest_username and guest_password_file (or VSPHERE_GUEST_PASSWORD) are
// the guest account that `nomad alloc exec` runs as. Without them, exec
// fails with "missing guest_username". request_timeout bounds the dial,
// the TLS handshake, the login and each fingerprint check (default "30s"),
// so a vCenter that accepts connections but never responds turns the
// driver unhealthy. Clone and power tasks are not bounded by it.
//
// A task names its template and may override placement and size:
//
//	task "plates" {
//	  driver = "vsphere"
//	  config {
//	    template  = "plate-reader-2024"
//	    guestinfo = { camera = "cam-12" }
//	    stop_mode = "guest"
//	  }
//	  resources {
//	    cpu    = 4000
//	    memory = 8192
//	  }
//	}
//
// In place of template, a task may set library_item = "LIBRARY/ITEM": the
// name of a content library and of an OVF template item in it, as the
// vSphere Client lists them (govc's "/LIBRARY/ITEM" form also works). Set
// exactly one of the two. StartTask deploys the item through the vCenter
// REST API with the plugin's credentials, into the same folder, resource
// pool and datastore as a clone, with the item's OVF networks mapped to the
// task's network. It then reconfigures the VM with the task's CPUs, memory,
// guestinfo, network and disk_gb, and destroys it if that fails.
// linked_clone does not apply to library items. Only such tasks open a REST
// API session, so the fingerprint does not need the REST API.
//
// The VM is named <task>-<first 8 characters of the alloc id>-<last part of
// the task id>, whether cloned or deployed. Its ExtraConfig carries the
// task's environment as guestinfo.<NAME>, the task's guestinfo map as
// guestinfo.<key>, and the tags guestinfo.ferry.task_id,
// guestinfo.ferry.alloc_id and guestinfo.ferry.node_id. The driver also sets
// the custom attributes nomad.alloc_id, nomad.task and nomad.node_id, which
// the vSphere Client shows on the VM's summary. When their definitions are
// missing, it creates them for type VirtualMachine, which needs the
// Global.ManageCustomFields privilege. Without it, the driver logs one
// warning and marks VMs with the ExtraConfig keys only. RecoverTask and the
// orphan scan find a VM by either marker, and the ExtraConfig keys win when
// a VM has both. A guest reports an exit code by setting
// guestinfo.ferry.exit_code before it powers off, for example with
// `vmware-rpctool "info-set guestinfo.ferry.exit_code 3"`.
//
// A guestinfo key contains only letters, digits, dots and underscores, may
// not start with "ferry." (reserved for the tags above) and its value may
// not contain newlines or other control characters.
//
// Exec runs a command as guest_username through the guest's /bin/sh, with
// its output redirected to files under /tmp that the driver downloads and
// deletes, so it needs a POSIX guest. The output arrives when the command
// ends, and standard input is not passed on.
//
// While vCenter is unreachable, the VMs keep running, the fingerprint is
// unhealthy with the connection error, and each task's watcher retries
// with backoff from 1s to 30s, logging in again, until it is re-attached.
package vsphere
