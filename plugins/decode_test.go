package plugins

import (
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctymsgpack "github.com/zclconf/go-cty/cty/msgpack"
)

type decodePort struct {
	Label string `codec:"label"`
	To    int32  `codec:"to"`
}

type decodeTarget struct {
	Command  string            `codec:"command"`
	Args     []string          `codec:"args"`
	Count    int               `codec:"count"`
	Small    int8              `codec:"small"`
	Big      uint64            `codec:"big"`
	Negative int64             `codec:"negative"`
	Ratio    float64           `codec:"ratio"`
	Enabled  bool              `codec:"enabled"`
	Timeout  time.Duration     `codec:"timeout"`
	Labels   map[string]string `codec:"labels"`
	Ports    []decodePort      `codec:"ports"`
	Nested   *decodePort       `codec:"nested"`
	Optional *string           `codec:"optional"`
	Skipped  string            `codec:"-"`
	Untagged string
}

// marshalCty encodes v the way a Nomad client does: with the value's own
// type.
func marshalCty(t *testing.T, v cty.Value) []byte {
	t.Helper()
	data, err := ctymsgpack.Marshal(v, v.Type())
	if err != nil {
		t.Fatalf("cty msgpack marshal: %v", err)
	}
	return data
}

func TestDecodeConfigObject(t *testing.T) {
	huge, _, _ := big.ParseFloat("18446744073709551615", 10, 512, big.ToNearestEven)
	value := cty.ObjectVal(map[string]cty.Value{
		"command":  cty.StringVal("/bin/echo"),
		"args":     cty.ListVal([]cty.Value{cty.StringVal("a"), cty.StringVal("b")}),
		"count":    cty.NumberIntVal(300),
		"small":    cty.NumberIntVal(-5),
		"big":      cty.NumberVal(huge),
		"negative": cty.NumberIntVal(-70000),
		"ratio":    cty.NumberFloatVal(0.25),
		"enabled":  cty.True,
		"timeout":  cty.StringVal("5s"),
		"labels":   cty.MapVal(map[string]cty.Value{"k": cty.StringVal("v")}),
		"ports": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
			"label": cty.StringVal("http"), "to": cty.NumberIntVal(8080),
		})}),
		"nested": cty.ObjectVal(map[string]cty.Value{
			"label": cty.StringVal("n"), "to": cty.NumberIntVal(1),
		}),
		"optional": cty.NullVal(cty.String),
		"Untagged": cty.StringVal("u"),
		"unknown":  cty.StringVal("ignored"),
	})

	var got decodeTarget
	if err := DecodeConfig(marshalCty(t, value), &got); err != nil {
		t.Fatalf("DecodeConfig: %v", err)
	}
	want := decodeTarget{
		Command:  "/bin/echo",
		Args:     []string{"a", "b"},
		Count:    300,
		Small:    -5,
		Big:      18446744073709551615,
		Negative: -70000,
		Ratio:    0.25,
		Enabled:  true,
		Timeout:  5 * time.Second,
		Labels:   map[string]string{"k": "v"},
		Ports:    []decodePort{{Label: "http", To: 8080}},
		Nested:   &decodePort{Label: "n", To: 1},
		Untagged: "u",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeConfig:\n got %+v\nwant %+v", got, want)
	}
}

func TestDecodeConfigNumbers(t *testing.T) {
	precise, _, _ := big.ParseFloat("0.1000000000000000000000000001", 10, 512, big.ToNearestEven)
	tests := []struct {
		name  string
		value cty.Value
		want  float64
	}{
		{"positive fixint", cty.NumberIntVal(7), 7},
		{"uint16", cty.NumberIntVal(60000), 60000},
		{"int32", cty.NumberIntVal(-2000000), -2000000},
		{"uint64", cty.NumberUIntVal(1 << 40), 1 << 40},
		{"float64", cty.NumberFloatVal(1.5), 1.5},
		{"numeric string", cty.NumberVal(precise), 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got struct {
				N float64 `codec:"n"`
			}
			data := marshalCty(t, cty.ObjectVal(map[string]cty.Value{"n": tt.value}))
			if err := DecodeConfig(data, &got); err != nil {
				t.Fatalf("DecodeConfig: %v", err)
			}
			if got.N != tt.want {
				t.Errorf("n = %v, want %v", got.N, tt.want)
			}
		})
	}
}

func TestDecodeConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		value   cty.Value
		wantErr string
	}{
		{"string for int", cty.ObjectVal(map[string]cty.Value{"count": cty.StringVal("many")}), `field "count": expected number, got string "many"`},
		{"fraction for int", cty.ObjectVal(map[string]cty.Value{"count": cty.NumberFloatVal(1.5)}), `field "count": number 1.5 is not a whole number`},
		{"overflow int8", cty.ObjectVal(map[string]cty.Value{"small": cty.NumberIntVal(300)}), `field "small": number 300`},
		{"negative uint", cty.ObjectVal(map[string]cty.Value{"big": cty.NumberIntVal(-1)}), `field "big": number -1 is not a non-negative`},
		{"bool for string", cty.ObjectVal(map[string]cty.Value{"command": cty.True}), `field "command": expected string, got bool`},
		{"nested field", cty.ObjectVal(map[string]cty.Value{"ports": cty.TupleVal([]cty.Value{
			cty.ObjectVal(map[string]cty.Value{"to": cty.StringVal("x")}),
		})}), `field "ports[0].to"`},
		{"bad duration", cty.ObjectVal(map[string]cty.Value{"timeout": cty.StringVal("soon")}), `field "timeout": invalid duration "soon"`},
		{"list for object", cty.ListVal([]cty.Value{cty.True}), `field "(root)": expected object, got list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got decodeTarget
			err := DecodeConfig(marshalCty(t, tt.value), &got)
			if err == nil {
				t.Fatalf("DecodeConfig succeeded, want error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestDecodeConfigInputs(t *testing.T) {
	var target decodeTarget
	tests := []struct {
		name    string
		data    []byte
		out     any
		wantErr bool
	}{
		{"empty input", nil, &target, false},
		{"non-pointer output", []byte{0x80}, target, true},
		{"nil pointer output", []byte{0x80}, (*decodeTarget)(nil), true},
		{"truncated msgpack", []byte{0x81, 0xa1}, &target, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := DecodeConfig(tt.data, tt.out)
			if (err != nil) != tt.wantErr {
				t.Errorf("DecodeConfig error = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}
