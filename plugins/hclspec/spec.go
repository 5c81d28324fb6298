// Package hclspec describes plugin and task config schemas the way Nomad's
// hclspec protobuf messages do, as plain Go values. The plugins package
// converts a Spec to its wire form; this package also converts it to an
// hcldec spec so that tests and the conformance harness decode HCL exactly as
// a Nomad client does.
package hclspec

// Spec is one node of a schema. Exactly one field is set.
type Spec struct {
	Object     *ObjectSpec
	Array      []*Spec
	Attr       *AttrSpec
	Block      *BlockSpec
	BlockAttrs *BlockAttrsSpec
	BlockList  *BlockListSpec
	BlockSet   *BlockListSpec
	BlockMap   *BlockMapSpec
	Default    *DefaultSpec
	Literal    *LiteralSpec
}

// ObjectSpec maps output names to specs. Direct children with an empty name
// take their map key as their HCL name.
type ObjectSpec struct {
	Attributes map[string]*Spec
}

// AttrSpec is an HCL attribute with a type expression such as "string" or
// "list(string)".
type AttrSpec struct {
	Name     string
	Type     string
	Required bool
}

// BlockSpec is a single nested block.
type BlockSpec struct {
	Name     string
	Required bool
	Nested   *Spec
}

// BlockAttrsSpec is a block whose attributes all have one element type.
type BlockAttrsSpec struct {
	Name     string
	Type     string
	Required bool
}

// BlockListSpec is a repeated block; MinItems and MaxItems of 0 mean no
// limit.
type BlockListSpec struct {
	Name     string
	MinItems uint64
	MaxItems uint64
	Nested   *Spec
}

// BlockMapSpec is a repeated block keyed by its labels.
type BlockMapSpec struct {
	Name   string
	Labels []string
	Nested *Spec
}

// DefaultSpec uses Default when Primary's value is null.
type DefaultSpec struct {
	Primary *Spec
	Default *Spec
}

// LiteralSpec is an HCL expression; a string literal carries its quotes.
type LiteralSpec struct {
	Value string
}

// Object returns an object spec of the given attributes.
func Object(attrs map[string]*Spec) *Spec { return &Spec{Object: &ObjectSpec{Attributes: attrs}} }

// Attr returns an optional attribute of the given HCL type.
func Attr(name, typ string) *Spec { return &Spec{Attr: &AttrSpec{Name: name, Type: typ}} }

// RequiredAttr returns a required attribute of the given HCL type.
func RequiredAttr(name, typ string) *Spec {
	return &Spec{Attr: &AttrSpec{Name: name, Type: typ, Required: true}}
}

// Default returns primary, or def when primary is null.
func Default(primary, def *Spec) *Spec {
	return &Spec{Default: &DefaultSpec{Primary: primary, Default: def}}
}

// Literal returns an HCL expression spec, such as `"5s"`, `true` or `[]`.
func Literal(expr string) *Spec { return &Spec{Literal: &LiteralSpec{Value: expr}} }

// Block returns an optional nested block.
func Block(name string, nested *Spec) *Spec {
	return &Spec{Block: &BlockSpec{Name: name, Nested: nested}}
}

// BlockList returns a repeated block.
func BlockList(name string, nested *Spec) *Spec {
	return &Spec{BlockList: &BlockListSpec{Name: name, Nested: nested}}
}

// BlockAttrs returns a block of attributes that all have type typ.
func BlockAttrs(name, typ string) *Spec {
	return &Spec{BlockAttrs: &BlockAttrsSpec{Name: name, Type: typ}}
}
