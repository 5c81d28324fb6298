// Package plugins implements the Nomad external plugin protocol (go-plugin
// handshake, the base, driver and device gRPC services, hclspec schemas and
// cty msgpack configuration) so that a task driver or device plugin is a plain
// Go type.
//
// A driver implements [Driver] and calls [ServeDriver] from its main. The
// package converts between the wire messages and the Go types in this
// package; drivers never see gRPC or protobuf.
package plugins
