#!/usr/bin/env bash
# Provisions one machine of the ferry dev cluster on Debian 12 (bookworm).
#
# Usage:
#   provision.sh server SERVER_IP ADVERTISE_IP
#   provision.sh client SERVER_IP ADVERTISE_IP CAMERA_ID
#
# The server runs the Nomad and Consul servers. A client runs a Consul
# agent, Docker, ffmpeg and a Nomad client with the ferry video driver, and
# stores the recordings of one camera under /srv/recordings/CAMERA_ID.
# The repository is expected at /ferry, with bin/plugins/video and bin/motion
# built on the host. Running the script again rewrites the same files.
set -euo pipefail

repo=/ferry
plugin_dir=/opt/nomad/plugins
recordings_root=/srv/recordings

usage() {
	echo "usage: provision.sh server SERVER_IP ADVERTISE_IP" >&2
	echo "       provision.sh client SERVER_IP ADVERTISE_IP CAMERA_ID" >&2
	exit 1
}

# Adds HashiCorp's Debian repository and installs Nomad and Consul from it.
install_hashicorp() {
	apt-get update
	apt-get install -y --no-install-recommends ca-certificates curl gpg lsb-release
	curl -fsSL https://apt.releases.hashicorp.com/gpg |
		gpg --dearmor --yes -o /usr/share/keyrings/hashicorp-archive-keyring.gpg
	echo "deb [signed-by=/usr/share/keyrings/hashicorp-archive-keyring.gpg] https://apt.releases.hashicorp.com $(lsb_release -cs) main" \
		>/etc/apt/sources.list.d/hashicorp.list
	apt-get update
	apt-get install -y nomad consul
}

# Prints the name of the network interface that carries the given address.
interface_for() {
	ip -o -4 addr show | awk -v address="$1" '{ split($4, cidr, "/"); if (cidr[1] == address) print $2 }'
}

write_consul_config() {
	local role="$1" server_ip="$2" advertise_ip="$3"
	local server_settings
	if [[ "${role}" == "server" ]]; then
		server_settings=$'server = true\nbootstrap_expect = 1\nui_config {\n  enabled = true\n}'
	else
		server_settings="retry_join = [\"${server_ip}\"]"
	fi
	cat >/etc/consul.d/consul.hcl <<CONSUL
datacenter  = "dc1"
data_dir    = "/opt/consul"
bind_addr   = "${advertise_ip}"
client_addr = "127.0.0.1 ${advertise_ip}"
${server_settings}
CONSUL
	systemctl enable consul
	systemctl restart consul
}

write_nomad_server_config() {
	local advertise_ip="$1"
	cat >/etc/nomad.d/nomad.hcl <<NOMAD
datacenter = "dc1"
data_dir   = "/opt/nomad/data"
bind_addr  = "0.0.0.0"

advertise {
  http = "${advertise_ip}"
  rpc  = "${advertise_ip}"
  serf = "${advertise_ip}"
}

server {
  enabled          = true
  bootstrap_expect = 1
}

consul {
  address = "127.0.0.1:8500"
}
NOMAD
}

write_nomad_client_config() {
	local server_ip="$1" advertise_ip="$2" camera="$3"
	local interface
	interface="$(interface_for "${advertise_ip}")"
	if [[ -z "${interface}" ]]; then
		echo "provision.sh: no network interface has address ${advertise_ip}; check the private_network address in the Vagrantfile" >&2
		exit 1
	fi
	cat >/etc/nomad.d/nomad.hcl <<NOMAD
datacenter = "dc1"
data_dir   = "/opt/nomad/data"
plugin_dir = "${plugin_dir}"
bind_addr  = "0.0.0.0"

advertise {
  http = "${advertise_ip}"
  rpc  = "${advertise_ip}"
  serf = "${advertise_ip}"
}

client {
  enabled           = true
  servers           = ["${server_ip}:4647"]
  network_interface = "${interface}"
  # Debian's containernetworking-plugins, for groups in bridge mode.
  cni_path          = "/usr/lib/cni"

  meta {
    camera = "${camera}"
  }
}

consul {
  address = "127.0.0.1:8500"
}

plugin "video" {
  config {
    camera_storage = ["${recordings_root}"]
  }
}
NOMAD
}

# Installs the video driver and the motion-detect image from the binaries
# built on the host.
install_ferry() {
	local binary
	for binary in "${repo}/bin/plugins/video" "${repo}/bin/motion" "${repo}/bin/pause"; do
		if [[ ! -x "${binary}" ]]; then
			echo "provision.sh: ${binary} not found; run 'make build' and" \
				"'CGO_ENABLED=0 go build -o bin/motion ./jobspecs/motion/cmd/motion' and" \
				"'CGO_ENABLED=0 go build -o bin/pause ./drivers/video/pause' on the host, then 'vagrant provision'" >&2
			exit 1
		fi
	done
	install -d -m 0755 "${plugin_dir}"
	install -m 0755 "${repo}/bin/plugins/video" "${plugin_dir}/video"
	MOTION_BINARY="${repo}/bin/motion" "${repo}/jobspecs/motion/build-image.sh"
	PAUSE_BINARY="${repo}/bin/pause" "${repo}/drivers/video/pause/build-image.sh"
}

# Creates the camera's recordings folder with a 60 s sample recording unless
# it already contains files. Recordings are world-readable because the
# motion-detect image runs as an unprivileged user.
create_recordings() {
	local camera="$1"
	local folder="${recordings_root}/${camera}"
	install -d -m 0755 "${recordings_root}" "${folder}"
	if [[ -n "$(ls -A "${folder}")" ]]; then
		return
	fi
	ffmpeg -hide_banner -loglevel error -nostdin \
		-f lavfi -i "testsrc2=size=768x576:rate=10:duration=60" \
		-c:v mpeg4 -q:v 5 "${folder}/sample-0001.avi"
	chmod 0644 "${folder}/sample-0001.avi"
}

main() {
	if [[ $# -lt 3 ]]; then
		usage
	fi
	local role="$1" server_ip="$2" advertise_ip="$3"
	export DEBIAN_FRONTEND=noninteractive

	case "${role}" in
	server)
		install_hashicorp
		write_consul_config server "${server_ip}" "${advertise_ip}"
		write_nomad_server_config "${advertise_ip}"
		;;
	client)
		if [[ $# -ne 4 ]]; then
			usage
		fi
		local camera="$4"
		install_hashicorp
		apt-get install -y --no-install-recommends docker.io ffmpeg containernetworking-plugins
		systemctl enable --now docker
		write_consul_config client "${server_ip}" "${advertise_ip}"
		install_ferry
		create_recordings "${camera}"
		write_nomad_client_config "${server_ip}" "${advertise_ip}" "${camera}"
		;;
	*)
		usage
		;;
	esac

	systemctl enable nomad
	systemctl restart nomad
}

main "$@"
