// Package service is the locality scheduler: it keeps Nomad template jobs
// expanded into one task group per camera, each pinned to a node that holds
// the camera's video.
//
// # Template jobs
//
// A template job marks itself with job metadata:
//
//	meta = {
//	  "ferry.selector"   = "site=downtown"   // or cameras=a,b or tag=t; join clauses with ';', which all must match
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
// for the node that placement.Place chose, and group metadata (ferry.camera,
// ferry.node, ferry.reason, ferry.bytes_moved) that records the choice. A
// task reads its camera as ${NOMAD_META_ferry.camera} in its config, and as
// NOMAD_META_ferry_camera in its environment. The template group's meta
// ferry.plan_hash is a hash of the expanded job, and the service registers
// a job only when that hash differs from the one Nomad has.
//
// Nomad runs every finished group of a batch job again when the job gets a
// new version. So when the service registers a batch job, each expanded
// group that is unchanged and whose newest allocation completed, or that
// it registered with count 0 before, gets count 0, and its finished
// allocation stays. A group whose spec changes, such as one moved to
// another node, gets count 1 and runs again.
//
// Placement counts CPU and memory only for groups that may run. An
// expanded group of a batch job takes no room on its node when all of its
// allocations are terminal (client status complete, failed or lost, or
// desired status stop or evict), or when it is registered with count 0.
// Other jobs' allocations are not counted (see NomadCluster.Nodes). A required
// group whose eligible holders all lack room is still registered on one
// of them, with the reason queued_on_holder, because Nomad holds it until
// allocations there finish. So a batch job with more cameras on a node
// than the node can run at once analyses them in turns. Only a required
// group whose holders are all draining or ineligible stays unregistered
// (holders_full). A queued group records the reason local in its metadata,
// because a reason that changed once room frees up would change the
// group's spec, and Nomad would replace its running allocation.
//
// # Garbage collection of batch template jobs
//
// Nomad garbage-collects a batch job once all of its allocations and
// evaluations are terminal and it is older than the server's
// job_gc_threshold (4h by default), or at once on nomad system gc. A
// finished batch template job would then vanish, and cameras added later
// would get no group. Nomad v2.0 never collects a job that has a tagged
// version (jobGC in nomad/core_sched.go), so the service tags the current
// version of each batch template job as ferry-keep, once, unless a version
// of it is tagged already. A job stopped with -purge is still removed.
// When a template job that a pass read is gone from Nomad in a later pass,
// the service logs it and lists it in Status.MissingJobs, with a detail
// saying to submit the template job again, until the job is back.
//
// # Selectors
//
// A selector is clauses joined with ';', and a camera must match every
// clause. A clause is key=value, and a comma-separated value matches any of
// its sites or camera ids, but every one of its tags. Since a camera has
// one site and one id, a second site= or cameras= clause is an error that
// requests one clause with several values, such as site=downtown,harbour.
// "site=" matches the site of a camera's first holder by node name.
// "tag=" matches the camera's own tags: the union of the tags that each
// holder's registrar read from the camera folder's .tags file. A site is
// not a tag. "cameras=" names camera ids as the registrar publishes them.
// An id with characters other than letters, digits, '.', '_' and '-' is
// rejected, and the error gives the sanitised id to use instead.
//
// # Time ranges
//
// With ferry.time_range set, a holder counts for a camera only when its
// recordings of the camera, from the first to the last recording time in
// its KV document, overlap the range. A holder without a KV document does
// not count yet, because its span is unknown: a camera left without holders
// that way gets no new group, keeps a group it has, and Status lists it
// with the reason detail_missing. The registrar writes its KV documents
// before its service tags, so this lasts one catalog read. When the catalog
// lists storage but no KV document exists at all, Status.CatalogWarning
// reports it. A selected camera that no holder
// has recordings of in the range gets no group, as a batch job over that
// range has nothing to read there: Status and the status command list it
// with the reason no_recordings_in_range and each holder's span, and a
// group it had is removed. A reversed or empty range is an error that
// names ferry.time_range and its value.
//
// # Groups without a placement
//
// An expanded group whose camera gets no placement in a pass is kept as
// registered, with its reason in Status, while the catalog may only be
// incomplete. It is removed when the selector no longer picks its camera
// (not_selected, which includes a camera missing from the catalog that a
// cameras= clause does not name), when the time range leaves the camera out, or when
// successful catalog reads have not listed the camera for
// Config.VanishGrace (camera_gone). Failed reads, and an empty catalog
// read within Config.EmptyGrace of failed ones, never count towards that
// grace, because a restarted Consul lists no storage until the registrars
// publish again. For the same reason, for Config.EmptyGrace after a failed
// read or a Consul restart (the catalog's index going backwards), a node
// that a read misses keeps its last holdings and KV documents, and a node
// listed again before its KV documents are back keeps its last documents.
// So its groups stay on it unless its Nomad node is down, draining or
// ineligible, and a job with a time range moves no group to the holder
// whose registrar happened to publish first. In that period a job whose
// plan places no group at all is not registered, so that the restart
// adds no job version.
//
// A selector that matches no camera at all is an error in Status that
// names the selector's sites and tags, since it is almost always a typo.
// The job then keeps every group except those of cameras gone from the
// catalog.
//
// # The loop
//
// Service.Run owns the state in one goroutine. It selects over catalog
// reads (Consul blocking queries on the storage service), Nomad changes
// (blocking queries on the job and node lists), a resync timer and the
// context. Each Pass syncs node metadata with nodemeta, waiting until
// Nomad's servers see the cameras it adds, then expands and registers
// each template job. A failed pass is retried with backoff from 1s
// doubling to 1m. A job whose expansion fails for another reason keeps all
// of its groups and reports the error in Status.
package service
