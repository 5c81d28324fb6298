package hclspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// Functions are the HCL functions a Nomad client offers in Literal specs
// and in config it decodes (Nomad 1.6 to 2.0).
var Functions = map[string]function.Function{
	"abs":        stdlib.AbsoluteFunc,
	"coalesce":   stdlib.CoalesceFunc,
	"concat":     stdlib.ConcatFunc,
	"hasindex":   stdlib.HasIndexFunc,
	"int":        stdlib.IntFunc,
	"jsondecode": stdlib.JSONDecodeFunc,
	"jsonencode": stdlib.JSONEncodeFunc,
	"length":     stdlib.LengthFunc,
	"lower":      stdlib.LowerFunc,
	"max":        stdlib.MaxFunc,
	"min":        stdlib.MinFunc,
	"reverse":    stdlib.ReverseFunc,
	"strlen":     stdlib.StrlenFunc,
	"substr":     stdlib.SubstrFunc,
	"upper":      stdlib.UpperFunc,
}

// HCLDec converts s to an hcldec spec the way a Nomad client converts the
// hclspec it receives. Only the direct children of an Object take its map
// key as their default name; a missing name, a BlockMap without labels or
// a block without a nested spec is an error.
func (s *Spec) HCLDec() (hcldec.Spec, error) {
	return s.convert("")
}

func (s *Spec) convert(name string) (hcldec.Spec, error) {
	if s == nil {
		return nil, fmt.Errorf("missing spec")
	}
	switch {
	case s.Object != nil:
		return s.Object.convert()
	case s.Array != nil:
		return convertArray(s.Array)
	case s.Attr != nil:
		return s.Attr.convert(name)
	case s.Block != nil:
		return s.Block.convert(name)
	case s.BlockAttrs != nil:
		return s.BlockAttrs.convert(name)
	case s.BlockList != nil:
		return s.BlockList.convert(name, false)
	case s.BlockSet != nil:
		return s.BlockSet.convert(name, true)
	case s.BlockMap != nil:
		return s.BlockMap.convert(name)
	case s.Default != nil:
		return s.Default.convert()
	case s.Literal != nil:
		return s.Literal.convert()
	}
	return nil, fmt.Errorf("spec has no member set")
}

func (o *ObjectSpec) convert() (hcldec.Spec, error) {
	out := hcldec.ObjectSpec{}
	for key, child := range o.Attributes {
		spec, err := child.convert(key)
		if err != nil {
			return nil, fmt.Errorf("object attribute %q: %w", key, err)
		}
		out[key] = spec
	}
	return out, nil
}

func convertArray(values []*Spec) (hcldec.Spec, error) {
	out := hcldec.TupleSpec{}
	for i, child := range values {
		spec, err := child.convert("")
		if err != nil {
			return nil, fmt.Errorf("array element %d: %w", i, err)
		}
		out = append(out, spec)
	}
	return out, nil
}

// parseType parses an HCL type expression such as "list(string)".
func parseType(text string) (cty.Type, error) {
	expr, diags := hclsyntax.ParseExpression([]byte(text), "type", hcl.InitialPos)
	if diags.HasErrors() {
		return cty.NilType, diags
	}
	typ, diags := typeexpr.TypeConstraint(expr)
	if diags.HasErrors() {
		return cty.NilType, diags
	}
	return typ, nil
}

func (a *AttrSpec) convert(name string) (hcldec.Spec, error) {
	if a.Name != "" {
		name = a.Name
	}
	if name == "" {
		return nil, fmt.Errorf("missing name in attribute spec")
	}
	typ, err := parseType(a.Type)
	if err != nil {
		return nil, fmt.Errorf("attribute %q: invalid type %q: %w", name, a.Type, err)
	}
	return &hcldec.AttrSpec{Name: name, Type: typ, Required: a.Required}, nil
}

func (b *BlockSpec) convert(name string) (hcldec.Spec, error) {
	if b.Name != "" {
		name = b.Name
	}
	if name == "" {
		return nil, fmt.Errorf("missing name in block spec")
	}
	if b.Nested == nil {
		return nil, fmt.Errorf("block %q: missing nested spec", name)
	}
	nested, err := b.Nested.convert("")
	if err != nil {
		return nil, fmt.Errorf("block %q: %w", name, err)
	}
	return &hcldec.BlockSpec{TypeName: name, Nested: nested, Required: b.Required}, nil
}

func (b *BlockAttrsSpec) convert(name string) (hcldec.Spec, error) {
	if b.Name != "" {
		name = b.Name
	}
	if name == "" {
		return nil, fmt.Errorf("missing name in block attributes spec")
	}
	typ, err := parseType(b.Type)
	if err != nil {
		return nil, fmt.Errorf("block attributes %q: invalid type %q: %w", name, b.Type, err)
	}
	return &hcldec.BlockAttrsSpec{TypeName: name, ElementType: typ, Required: b.Required}, nil
}

func (b *BlockListSpec) convert(name string, set bool) (hcldec.Spec, error) {
	if b.Name != "" {
		name = b.Name
	}
	if name == "" {
		return nil, fmt.Errorf("missing name in block list spec")
	}
	if b.Nested == nil {
		return nil, fmt.Errorf("block list %q: missing nested spec", name)
	}
	nested, err := b.Nested.convert("")
	if err != nil {
		return nil, fmt.Errorf("block list %q: %w", name, err)
	}
	if set {
		return &hcldec.BlockSetSpec{TypeName: name, Nested: nested, MinItems: int(b.MinItems), MaxItems: int(b.MaxItems)}, nil
	}
	return &hcldec.BlockListSpec{TypeName: name, Nested: nested, MinItems: int(b.MinItems), MaxItems: int(b.MaxItems)}, nil
}

func (b *BlockMapSpec) convert(name string) (hcldec.Spec, error) {
	if b.Name != "" {
		name = b.Name
	}
	if name == "" {
		return nil, fmt.Errorf("missing name in block map spec")
	}
	if len(b.Labels) == 0 {
		return nil, fmt.Errorf("block map %q: at least one label is required", name)
	}
	if b.Nested == nil {
		return nil, fmt.Errorf("block map %q: missing nested spec", name)
	}
	nested, err := b.Nested.convert("")
	if err != nil {
		return nil, fmt.Errorf("block map %q: %w", name, err)
	}
	return &hcldec.BlockMapSpec{TypeName: name, LabelNames: b.Labels, Nested: nested}, nil
}

func (d *DefaultSpec) convert() (hcldec.Spec, error) {
	primary, err := d.Primary.convert("")
	if err != nil {
		return nil, fmt.Errorf("default primary: %w", err)
	}
	def, err := d.Default.convert("")
	if err != nil {
		return nil, fmt.Errorf("default value: %w", err)
	}
	return &hcldec.DefaultSpec{Primary: primary, Default: def}, nil
}

func (l *LiteralSpec) convert() (hcldec.Spec, error) {
	expr, diags := hclsyntax.ParseExpression([]byte(l.Value), "literal", hcl.InitialPos)
	if diags.HasErrors() {
		return nil, fmt.Errorf("literal %q: %w", l.Value, diags)
	}
	value, diags := expr.Value(&hcl.EvalContext{Functions: Functions})
	if diags.HasErrors() {
		return nil, fmt.Errorf("literal %q: %w", l.Value, diags)
	}
	return &hcldec.LiteralSpec{Value: value}, nil
}
