package plugins

import (
	"github.com/ferry-video/ferry/plugins/hclspec"
	hclspecpb "github.com/ferry-video/ferry/plugins/proto/hclspec"
)

// specFromProto converts a wire schema; nil gives nil. A Spec with no
// member set becomes an empty Spec, which hclspec rejects on conversion.
func specFromProto(s *hclspecpb.Spec) *hclspec.Spec {
	if s == nil {
		return nil
	}
	switch b := s.GetBlock().(type) {
	case *hclspecpb.Spec_Object:
		attrs := make(map[string]*hclspec.Spec, len(b.Object.GetAttributes()))
		for name, child := range b.Object.GetAttributes() {
			attrs[name] = specFromProto(child)
		}
		return hclspec.Object(attrs)
	case *hclspecpb.Spec_Array:
		values := make([]*hclspec.Spec, 0, len(b.Array.GetValues()))
		for _, child := range b.Array.GetValues() {
			values = append(values, specFromProto(child))
		}
		return &hclspec.Spec{Array: values}
	case *hclspecpb.Spec_Attr:
		a := b.Attr
		return &hclspec.Spec{Attr: &hclspec.AttrSpec{Name: a.GetName(), Type: a.GetType(), Required: a.GetRequired()}}
	case *hclspecpb.Spec_BlockValue:
		v := b.BlockValue
		return &hclspec.Spec{Block: &hclspec.BlockSpec{
			Name: v.GetName(), Required: v.GetRequired(), Nested: specFromProto(v.GetNested()),
		}}
	case *hclspecpb.Spec_BlockAttrs:
		v := b.BlockAttrs
		return &hclspec.Spec{BlockAttrs: &hclspec.BlockAttrsSpec{
			Name: v.GetName(), Type: v.GetType(), Required: v.GetRequired(),
		}}
	}
	return repeatedSpecFromProto(s)
}

func repeatedSpecFromProto(s *hclspecpb.Spec) *hclspec.Spec {
	switch b := s.GetBlock().(type) {
	case *hclspecpb.Spec_BlockList:
		v := b.BlockList
		return &hclspec.Spec{BlockList: &hclspec.BlockListSpec{
			Name: v.GetName(), MinItems: v.GetMinItems(), MaxItems: v.GetMaxItems(), Nested: specFromProto(v.GetNested()),
		}}
	case *hclspecpb.Spec_BlockSet:
		v := b.BlockSet
		return &hclspec.Spec{BlockSet: &hclspec.BlockListSpec{
			Name: v.GetName(), MinItems: v.GetMinItems(), MaxItems: v.GetMaxItems(), Nested: specFromProto(v.GetNested()),
		}}
	case *hclspecpb.Spec_BlockMap:
		v := b.BlockMap
		return &hclspec.Spec{BlockMap: &hclspec.BlockMapSpec{
			Name: v.GetName(), Labels: v.GetLabels(), Nested: specFromProto(v.GetNested()),
		}}
	case *hclspecpb.Spec_Default:
		return hclspec.Default(specFromProto(b.Default.GetPrimary()), specFromProto(b.Default.GetDefault()))
	case *hclspecpb.Spec_Literal:
		return hclspec.Literal(b.Literal.GetValue())
	}
	return &hclspec.Spec{}
}
