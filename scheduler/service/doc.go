// Package service is the locality scheduler: it keeps Nomad template jobs
// expanded into one task group per camera, each pinned to a node that holds
// the camera's video.
//
// # Template jobs
//
// A template job marks itself with job metadata:
//
//	meta = {
//	  "ferry.selector"   = "site=downtown"   // or cameras=a,b or tag=t; join clauses with ';'
//	  "ferry.template"   = "motion"          // the task group to copy
//	  "ferry.locality"   = "required"        // or preferred, the default
//	  "ferry.time_range" = "2026-01-01T00:00:00Z/2026-01-02T00:00:00Z" // optional
//	}
//
// Expand, a pure function, copies the template group once per selected
// camera as <template>-<camera> with count 1, and sets the template group's
// count to 0 so that it stays in the job for the next expansion. A required
// group gets a constraint that ${meta.ferry.cameras} set_contains the
// camera, and a preferred group an affinity for it. Both get an affinity
// for the node that placement.Place chose, and group metadata (ferry.node,
// ferry.reason, ferry.bytes_moved) that records the choice. The job's meta
// ferry.plan_hash is a hash of the expanded job, and the service registers
// a job only when that hash differs from the one Nomad has.
//
// # The loop
//
// Service.Run owns the state in one goroutine. It selects over catalog
// reads (Consul blocking queries on the storage service), Nomad changes
// (blocking queries on the job and node lists), a resync timer and the
// context. Each Pass syncs node metadata with nodemeta, then expands and
// registers each template job. A failed pass is retried with backoff from
// 1s doubling to 1m. The service never removes a group because a camera
// has no placement: such groups are kept as registered and reported in
// Status, and a job whose expansion fails keeps all of its groups. An empty
// catalog read after failed reads is ignored for Config.EmptyGrace, because
// a restarted Consul lists no storage until the registrars publish again.
package service
