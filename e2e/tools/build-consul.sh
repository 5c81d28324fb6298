#!/bin/sh
# Builds the Consul agent that the tests start, once, into a cache folder,
# and prints the binary's path. A later run prints the path without building.
#
# Consul comes from the Go module proxy through this folder's go.mod, which
# pins the version and repeats the replace directives of Consul's own go.mod
# (`go install ...@version` rejects a module that has replace directives).
set -eu

version=1.14.11
tools_dir=$(cd "$(dirname "$0")" && pwd)
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}
out_dir=${FERRY_CONSUL_DIR:-$cache_root/ferry/consul-$version}
bin=$out_dir/consul

if [ -x "$bin" ]; then
	echo "$bin"
	exit 0
fi

mkdir -p "$out_dir"
tmp=$bin.tmp.$$
trap 'rm -f "$tmp"' EXIT

# Build into a temporary name first, so an interrupted build leaves no
# binary that a later run would take for a finished one.
(cd "$tools_dir" && CGO_ENABLED=0 go build -trimpath -o "$tmp" github.com/hashicorp/consul) >&2
mv "$tmp" "$bin"
trap - EXIT
echo "$bin"
