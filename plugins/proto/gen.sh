#!/bin/sh
# Regenerates the Go code for every .proto file under this directory.
# Requires protoc (3.21 or later, with the well-known types installed),
# protoc-gen-go v1.36.12 and protoc-gen-go-grpc v1.6.2 on PATH.
set -eu
cd "$(dirname "$0")"
PATH="$PATH:$(go env GOPATH)/bin"
protoc -I . \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	hclspec/hclspec.proto \
	structs/attribute.proto structs/recoverable_error.proto structs/stats.proto \
	base/base.proto \
	drivers/driver.proto \
	device/device.proto
