#!/usr/bin/env bash
# Builds the ferry/pause image, whose container keeps the group network
# namespace of a video driver allocation in bridge mode open. The image is built into the local
# Docker daemon without a registry: a scratch root file system that contains
# only the static pause binary.
#
# Usage: drivers/video/pause/build-image.sh [IMAGE]   (default ferry/pause:0.1)
# Environment: PAUSE_BINARY sets a prebuilt static pause binary to use in
# place of building one with go, for machines without a Go toolchain.
#
# The image carries a label with the SHA-256 of the binary, so a second run
# with the same source leaves the existing image alone.
set -euo pipefail

image="${1:-ferry/pause:0.1}"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${script_dir}/../../.." && pwd)"
hash_label="com.ferry-video.content-sha256"

pause_binary="${PAUSE_BINARY:-}"
tools=(docker sha256sum tar)
if [[ -z "${pause_binary}" ]]; then
	tools+=(go)
fi
for tool in "${tools[@]}"; do
	if ! command -v "${tool}" >/dev/null; then
		echo "build-image.sh: ${tool} not found in PATH; install it and retry" >&2
		exit 1
	fi
done

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
# The build is reproducible (-trimpath, no VCS stamp), so an unchanged
# source gives the same binary and the same content hash.
if [[ -n "${pause_binary}" ]]; then
	if ldd "${pause_binary}" >/dev/null 2>&1; then
		echo "build-image.sh: PAUSE_BINARY ${pause_binary} is dynamically linked; build it with CGO_ENABLED=0" >&2
		exit 1
	fi
	cp -L "${pause_binary}" "${work}/pause"
else
	(cd "${repo_root}" && CGO_ENABLED=0 go build -trimpath -buildvcs=false \
		-ldflags='-s -w' -o "${work}/pause" ./drivers/video/pause)
fi
content_hash="$(sha256sum "${work}/pause" | cut -d' ' -f1)"

existing_hash="$(docker image inspect --format "{{ index .Config.Labels \"${hash_label}\" }}" "${image}" 2>/dev/null || true)"
if [[ "${existing_hash}" == "${content_hash}" ]]; then
	echo "${image} is up to date (${hash_label}=${content_hash})"
	exit 0
fi

previous_id="$(docker image inspect --format '{{ .Id }}' "${image}" 2>/dev/null || true)"

tar -C "${work}" --numeric-owner --owner=0 --group=0 -cf - pause |
	docker import \
		--change 'ENTRYPOINT ["/pause"]' \
		--change 'USER 65534:65534' \
		--change 'LABEL com.ferry-video.image=pause' \
		--change "LABEL ${hash_label}=${content_hash}" \
		- "${image}" >/dev/null

# Remove the image this build replaced, but only when it was a pause image
# built here and no other tag still points at it.
if [[ -n "${previous_id}" ]]; then
	previous_role="$(docker image inspect --format '{{ index .Config.Labels "com.ferry-video.image" }}' "${previous_id}" 2>/dev/null || true)"
	if [[ "${previous_role}" == "pause" ]]; then
		docker image rm "${previous_id}" >/dev/null 2>&1 || true
	fi
fi

size="$(docker image inspect --format '{{ .Size }}' "${image}")"
echo "built ${image} (${hash_label}=${content_hash}, $((size / 1024)) KiB)"
