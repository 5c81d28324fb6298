// Package proto holds the Nomad plugin protocol's .proto files and the Go
// code generated from them. Regenerate with `go generate ./plugins/proto`
// after installing protoc, protoc-gen-go v1.36.12 and protoc-gen-go-grpc
// v1.6.2; see gen.sh.
package proto

//go:generate sh gen.sh
