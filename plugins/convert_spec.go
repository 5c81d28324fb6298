package plugins

import (
	"github.com/ferry-video/ferry/plugins/hclspec"
	hclspecpb "github.com/ferry-video/ferry/plugins/proto/hclspec"
)

// specToProto converts a schema to its wire form; nil gives nil, which
// Nomad reads as "no config allowed".
func specToProto(s *hclspec.Spec) *hclspecpb.Spec {
	if s == nil {
		return nil
	}
	switch {
	case s.Object != nil:
		attrs := make(map[string]*hclspecpb.Spec, len(s.Object.Attributes))
		for name, child := range s.Object.Attributes {
			attrs[name] = specToProto(child)
		}
		return &hclspecpb.Spec{Block: &hclspecpb.Spec_Object{Object: &hclspecpb.Object{Attributes: attrs}}}
	case s.Array != nil:
		values := make([]*hclspecpb.Spec, 0, len(s.Array))
		for _, child := range s.Array {
			values = append(values, specToProto(child))
		}
		return &hclspecpb.Spec{Block: &hclspecpb.Spec_Array{Array: &hclspecpb.Array{Values: values}}}
	case s.Attr != nil:
		a := s.Attr
		return &hclspecpb.Spec{Block: &hclspecpb.Spec_Attr{Attr: &hclspecpb.Attr{Name: a.Name, Type: a.Type, Required: a.Required}}}
	case s.Block != nil:
		b := s.Block
		return &hclspecpb.Spec{Block: &hclspecpb.Spec_BlockValue{BlockValue: &hclspecpb.Block{
			Name: b.Name, Required: b.Required, Nested: specToProto(b.Nested),
		}}}
	case s.BlockAttrs != nil:
		b := s.BlockAttrs
		return &hclspecpb.Spec{Block: &hclspecpb.Spec_BlockAttrs{BlockAttrs: &hclspecpb.BlockAttrs{
			Name: b.Name, Type: b.Type, Required: b.Required,
		}}}
	}
	return repeatedSpecToProto(s)
}

func repeatedSpecToProto(s *hclspec.Spec) *hclspecpb.Spec {
	switch {
	case s.BlockList != nil:
		b := s.BlockList
		return &hclspecpb.Spec{Block: &hclspecpb.Spec_BlockList{BlockList: &hclspecpb.BlockList{
			Name: b.Name, MinItems: b.MinItems, MaxItems: b.MaxItems, Nested: specToProto(b.Nested),
		}}}
	case s.BlockSet != nil:
		b := s.BlockSet
		return &hclspecpb.Spec{Block: &hclspecpb.Spec_BlockSet{BlockSet: &hclspecpb.BlockSet{
			Name: b.Name, MinItems: b.MinItems, MaxItems: b.MaxItems, Nested: specToProto(b.Nested),
		}}}
	case s.BlockMap != nil:
		b := s.BlockMap
		return &hclspecpb.Spec{Block: &hclspecpb.Spec_BlockMap{BlockMap: &hclspecpb.BlockMap{
			Name: b.Name, Labels: b.Labels, Nested: specToProto(b.Nested),
		}}}
	case s.Default != nil:
		return &hclspecpb.Spec{Block: &hclspecpb.Spec_Default{Default: &hclspecpb.Default{
			Primary: specToProto(s.Default.Primary), Default: specToProto(s.Default.Default),
		}}}
	case s.Literal != nil:
		return &hclspecpb.Spec{Block: &hclspecpb.Spec_Literal{Literal: &hclspecpb.Literal{Value: s.Literal.Value}}}
	}
	return &hclspecpb.Spec{}
}
