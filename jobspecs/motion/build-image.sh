#!/usr/bin/env bash
# Builds the ferry/motion-detect image into the local Docker daemon without
# any registry: a scratch root file system with the static motion binary,
# the host's ffmpeg and exactly the shared libraries that ldd lists for it.
# No shell or other tool is in the image.
#
# Usage: jobspecs/motion/build-image.sh [IMAGE]   (default ferry/motion-detect:0.1)
# Environment: FFMPEG sets the ffmpeg binary to copy (default /usr/bin/ffmpeg).
# MOTION_BINARY sets a prebuilt static motion binary to use in place of
# building one with go, for machines without a Go toolchain.
#
# The image carries a label with the SHA-256 of its files and settings, so a
# second run with the same inputs leaves the existing image alone.
set -euo pipefail

image="${1:-ferry/motion-detect:0.1}"
ffmpeg="${FFMPEG:-/usr/bin/ffmpeg}"
motion_binary="${MOTION_BINARY:-}"
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${script_dir}/../.." && pwd)"
hash_label="com.ferry-video.content-sha256"
entrypoint="/usr/local/bin/motion"
# The program only reads recordings, so it runs as the unprivileged user
# 65534 rather than root. NOTE: recordings must be readable by other users.
user="65534:65534"

tools=(docker ldd sha256sum tar)
if [[ -z "${motion_binary}" ]]; then
	tools+=(go)
fi
for tool in "${tools[@]}"; do
	if ! command -v "${tool}" >/dev/null; then
		echo "build-image.sh: ${tool} not found in PATH; install it and retry" >&2
		exit 1
	fi
done
if [[ ! -x "${ffmpeg}" ]]; then
	echo "build-image.sh: ffmpeg binary ${ffmpeg} not found or not executable; install Debian's ffmpeg or set FFMPEG" >&2
	exit 1
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
rootfs="${work}/rootfs"
mkdir -p "${rootfs}/usr/local/bin" "${rootfs}/usr/bin"

if [[ -n "${motion_binary}" ]]; then
	if ldd "${motion_binary}" >/dev/null 2>&1; then
		echo "build-image.sh: MOTION_BINARY ${motion_binary} is dynamically linked; build it with CGO_ENABLED=0" >&2
		exit 1
	fi
	cp -L "${motion_binary}" "${rootfs}${entrypoint}"
else
	# The Go build is reproducible (-trimpath, no VCS stamp), so an unchanged
	# source tree gives the same binary and the same content hash.
	(cd "${repo_root}" && CGO_ENABLED=0 go build -trimpath -buildvcs=false \
		-ldflags='-s -w' -o "${rootfs}${entrypoint}" ./jobspecs/motion/cmd/motion)
fi
cp -L "${ffmpeg}" "${rootfs}/usr/bin/ffmpeg"

# ldd prints "name => /path (address)" for libraries and "/path (address)"
# for the dynamic loader. linux-vdso has no file and is skipped.
ldd_output="$(ldd "${ffmpeg}")"
if grep -q 'not found' <<<"${ldd_output}"; then
	echo "build-image.sh: ${ffmpeg} has missing libraries:" >&2
	grep 'not found' <<<"${ldd_output}" >&2
	exit 1
fi
mapfile -t libraries < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"${ldd_output}")
if [[ ${#libraries[@]} -eq 0 ]]; then
	echo "build-image.sh: ldd listed no libraries for ${ffmpeg}; expected a dynamically linked ffmpeg" >&2
	exit 1
fi
for library in "${libraries[@]}"; do
	mkdir -p "${rootfs}$(dirname "${library}")"
	cp -L "${library}" "${rootfs}${library}"
done

changes=(
	"ENTRYPOINT [\"${entrypoint}\"]"
	"USER ${user}"
	"LABEL com.ferry-video.sample=motion-detect"
)
content_hash="$(
	cd "${rootfs}"
	{
		find . -type f -print0 | sort -z | xargs -0 sha256sum
		printf '%s\n' "${changes[@]}"
	} | sha256sum | cut -d' ' -f1
)"

existing_hash="$(docker image inspect --format "{{ index .Config.Labels \"${hash_label}\" }}" "${image}" 2>/dev/null || true)"
if [[ "${existing_hash}" == "${content_hash}" ]]; then
	echo "${image} is up to date (${hash_label}=${content_hash})"
	exit 0
fi
previous_id="$(docker image inspect --format '{{ .Id }}' "${image}" 2>/dev/null || true)"

change_flags=()
for change in "${changes[@]}" "LABEL ${hash_label}=${content_hash}"; do
	change_flags+=(--change "${change}")
done
tar -C "${rootfs}" --numeric-owner --owner=0 --group=0 -cf - . |
	docker import "${change_flags[@]}" - "${image}" >/dev/null

# Remove the image this build replaced, but only when it was a build of this
# sample and no other tag still points at it.
if [[ -n "${previous_id}" ]]; then
	previous_sample="$(docker image inspect --format '{{ index .Config.Labels "com.ferry-video.sample" }}' "${previous_id}" 2>/dev/null || true)"
	if [[ "${previous_sample}" == "motion-detect" ]]; then
		docker image rm "${previous_id}" >/dev/null 2>&1 || true
	fi
fi

size="$(docker image inspect --format '{{ .Size }}' "${image}")"
echo "built ${image} (${hash_label}=${content_hash}, $((size / 1024 / 1024)) MiB)"
