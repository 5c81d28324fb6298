package hclspec

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	ctymsgpack "github.com/zclconf/go-cty/cty/msgpack"
)

func testSpec() *Spec {
	return Object(map[string]*Spec{
		"command": RequiredAttr("command", "string"),
		"args":    Attr("args", "list(string)"),
		"timeout": Default(Attr("timeout", "string"), Literal(`"5s"`)),
		"port":    {Attr: &AttrSpec{Type: "number"}},
		"labels":  BlockAttrs("labels", "string"),
		"mount": BlockList("mount", Object(map[string]*Spec{
			"source": RequiredAttr("source", "string"),
		})),
	})
}

func TestEncodeHCLValid(t *testing.T) {
	tests := []struct {
		name     string
		filename string
		src      string
		vars     map[string]cty.Value
		check    func(t *testing.T, v cty.Value)
	}{
		{
			name:     "native syntax with default",
			filename: "task.hcl",
			src:      "command = \"/bin/sh\"\nargs = [\"-c\", \"true\"]\nport = 8080\nlabels {\n  a = \"b\"\n}\nmount {\n  source = \"/data\"\n}\n",
			check: func(t *testing.T, v cty.Value) {
				if got := v.GetAttr("timeout").AsString(); got != "5s" {
					t.Errorf("timeout = %q, want default 5s", got)
				}
				if got := v.GetAttr("args").LengthInt(); got != 2 {
					t.Errorf("args has %d items, want 2", got)
				}
				if got := v.GetAttr("mount").Index(cty.NumberIntVal(0)).GetAttr("source").AsString(); got != "/data" {
					t.Errorf("mount[0].source = %q, want /data", got)
				}
			},
		},
		{
			name:     "json syntax",
			filename: "task.json",
			src:      `{"command": "/bin/echo", "port": 1.5}`,
			check: func(t *testing.T, v cty.Value) {
				if !v.GetAttr("port").Equals(cty.NumberFloatVal(1.5)).True() {
					t.Errorf("port = %#v, want 1.5", v.GetAttr("port"))
				}
				if !v.GetAttr("args").IsNull() {
					t.Errorf("args = %#v, want null", v.GetAttr("args"))
				}
			},
		},
		{
			name:     "template variable",
			filename: "task.hcl",
			src:      `command = "${NOMAD_TASK_DIR}/run"`,
			vars:     map[string]cty.Value{"NOMAD_TASK_DIR": cty.StringVal("/local")},
			check: func(t *testing.T, v cty.Value) {
				if got := v.GetAttr("command").AsString(); got != "/local/run" {
					t.Errorf("command = %q, want /local/run", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := EncodeHCL(testSpec(), []byte(tt.src), tt.filename, tt.vars)
			if err != nil {
				t.Fatalf("EncodeHCL: %v", err)
			}
			value, err := DecodeHCL(testSpec(), []byte(tt.src), tt.filename, tt.vars)
			if err != nil {
				t.Fatalf("DecodeHCL: %v", err)
			}
			back, err := ctymsgpack.Unmarshal(data, value.Type())
			if err != nil {
				t.Fatalf("msgpack round trip: %v", err)
			}
			if !back.RawEquals(value) {
				t.Errorf("msgpack round trip = %#v, want %#v", back, value)
			}
			tt.check(t, value)
		})
	}
}

func TestEncodeHCLErrors(t *testing.T) {
	tests := []struct {
		name     string
		filename string
		src      string
		wantErr  string
	}{
		{"unknown argument", "task.hcl", "command = \"x\"\nbogus = 1\n", "Unsupported argument"},
		{"unknown key in json", "task.json", `{"command": "x", "bogus": 1}`, `No argument or block type is named "bogus".`},
		{"wrong type", "task.hcl", "command = \"x\"\nargs = \"y\"\n", `Inappropriate value for attribute "args": list of string required`},
		{"missing required", "task.hcl", "args = []\n", `The argument "command" is required`},
		{"syntax error", "task.hcl", "command = \n", "Invalid expression"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EncodeHCL(testSpec(), []byte(tt.src), tt.filename, nil)
			if err == nil {
				t.Fatalf("EncodeHCL succeeded, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestHCLDecInvalidSpecs(t *testing.T) {
	tests := []struct {
		name    string
		spec    *Spec
		wantErr string
	}{
		{"attr without name in default", Object(map[string]*Spec{
			"a": Default(&Spec{Attr: &AttrSpec{Type: "string"}}, Literal(`"x"`)),
		}), "missing name in attribute spec"},
		{"block map without labels", Object(map[string]*Spec{
			"m": {BlockMap: &BlockMapSpec{Nested: Object(nil)}},
		}), "at least one label"},
		{"block without nested", Object(map[string]*Spec{"b": {Block: &BlockSpec{}}}), "missing nested spec"},
		{"bad type", Object(map[string]*Spec{"a": Attr("", "lst(string)")}), `invalid type "lst(string)"`},
		{"bad literal", Object(map[string]*Spec{"a": Default(Attr("a", "string"), Literal("nosuch(1)"))}), "literal"},
		{"empty spec", &Spec{}, "no member set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.spec.HCLDec()
			if err == nil {
				t.Fatalf("HCLDec succeeded, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
