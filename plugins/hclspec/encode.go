package hclspec

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	hcljson "github.com/hashicorp/hcl/v2/json"
	"github.com/zclconf/go-cty/cty"
	ctymsgpack "github.com/zclconf/go-cty/cty/msgpack"
)

// EncodeHCL decodes an HCL body against spec and encodes the result as cty
// msgpack, as a Nomad client does before SetConfig and StartTask. src is
// native HCL syntax unless filename ends in ".json", in which case it is
// the JSON form Nomad itself decodes job config from. vars become the
// variables available to ${...} templates and may be nil.
//
// Decoding problems are returned as hcl.Diagnostics, whose summaries and
// details match what Nomad reports, such as "Unsupported argument".
func EncodeHCL(spec *Spec, src []byte, filename string, vars map[string]cty.Value) ([]byte, error) {
	value, err := DecodeHCL(spec, src, filename, vars)
	if err != nil {
		return nil, err
	}
	data, err := ctymsgpack.Marshal(value, value.Type())
	if err != nil {
		return nil, fmt.Errorf("encode %s as msgpack: %w", filename, err)
	}
	return data, nil
}

// DecodeHCL is EncodeHCL without the msgpack step: it returns the cty
// value a Nomad client would encode.
func DecodeHCL(spec *Spec, src []byte, filename string, vars map[string]cty.Value) (cty.Value, error) {
	decSpec, err := spec.HCLDec()
	if err != nil {
		return cty.NilVal, fmt.Errorf("convert config schema: %w", err)
	}

	var file *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(filename, ".json") {
		file, diags = hcljson.Parse(src, filename)
	} else {
		file, diags = hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	}
	if diags.HasErrors() {
		return cty.NilVal, diags
	}

	ctx := &hcl.EvalContext{Variables: vars, Functions: Functions}
	value, diags := hcldec.Decode(file.Body, decSpec, ctx)
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	return value, nil
}
