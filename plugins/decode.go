package plugins

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// DecodeConfig decodes cty msgpack, as Nomad sends in SetConfig and in a
// task's DriverConfig, into out, which must be a non-nil pointer.
//
// Struct fields are matched by their `codec:"name"` tag, the tag Nomad's
// own drivers use, or by their Go name when untagged; `codec:"-"` skips a
// field. Keys with no matching field are ignored. Numbers may arrive as any
// msgpack int or float width or, for values a float64 cannot hold, as a
// decimal string; a time.Duration also accepts a duration string such as
// "5s". A nil value leaves the zero value. Empty input leaves out unchanged.
func DecodeConfig(data []byte, out any) error {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("decode config: output must be a non-nil pointer, got %T", out)
	}
	if len(data) == 0 {
		return nil
	}

	dec := msgpack.NewDecoder(bytes.NewReader(data))
	dec.UseLooseInterfaceDecoding(true)
	raw, err := dec.DecodeInterface()
	if err != nil {
		return fmt.Errorf("decode config: invalid msgpack: %w", err)
	}
	if err := assign(rv.Elem(), raw, ""); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	return nil
}

var durationType = reflect.TypeOf(time.Duration(0))

// assign stores raw, a loosely decoded msgpack value, in dst. path names
// the field for error messages.
func assign(dst reflect.Value, raw any, path string) error {
	if raw == nil {
		dst.SetZero()
		return nil
	}
	if dst.Type() == durationType {
		if text, ok := raw.(string); ok {
			d, err := time.ParseDuration(text)
			if err != nil {
				return fieldError(path, "invalid duration %q: %v", text, err)
			}
			dst.SetInt(int64(d))
			return nil
		}
	}

	switch dst.Kind() {
	case reflect.Pointer:
		elem := reflect.New(dst.Type().Elem())
		if err := assign(elem.Elem(), raw, path); err != nil {
			return err
		}
		dst.Set(elem)
		return nil
	case reflect.Interface:
		if !reflect.TypeOf(raw).AssignableTo(dst.Type()) {
			return fieldError(path, "cannot store %T in %s", raw, dst.Type())
		}
		dst.Set(reflect.ValueOf(raw))
		return nil
	case reflect.Struct:
		return assignStruct(dst, raw, path)
	case reflect.Map:
		return assignMap(dst, raw, path)
	case reflect.Slice, reflect.Array:
		return assignList(dst, raw, path)
	}
	return assignScalar(dst, raw, path)
}

func assignScalar(dst reflect.Value, raw any, path string) error {
	switch dst.Kind() {
	case reflect.String:
		switch v := raw.(type) {
		case string:
			dst.SetString(v)
		case []byte:
			dst.SetString(string(v))
		default:
			return fieldError(path, "expected string, got %s", describe(raw))
		}
		return nil
	case reflect.Bool:
		v, ok := raw.(bool)
		if !ok {
			return fieldError(path, "expected bool, got %s", describe(raw))
		}
		dst.SetBool(v)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return assignInt(dst, raw, path)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return assignUint(dst, raw, path)
	case reflect.Float32, reflect.Float64:
		f, err := toBigFloat(raw, path)
		if err != nil {
			return err
		}
		v, _ := f.Float64()
		if dst.OverflowFloat(v) {
			return fieldError(path, "number %s overflows %s", f.Text('g', -1), dst.Type())
		}
		dst.SetFloat(v)
		return nil
	}
	return fieldError(path, "unsupported field type %s", dst.Type())
}

func assignInt(dst reflect.Value, raw any, path string) error {
	f, err := toBigFloat(raw, path)
	if err != nil {
		return err
	}
	i, accuracy := f.Int64()
	if accuracy != big.Exact || dst.OverflowInt(i) {
		return fieldError(path, "number %s is not a whole number that fits %s", f.Text('g', -1), dst.Type())
	}
	dst.SetInt(i)
	return nil
}

func assignUint(dst reflect.Value, raw any, path string) error {
	f, err := toBigFloat(raw, path)
	if err != nil {
		return err
	}
	u, accuracy := f.Uint64()
	if accuracy != big.Exact || f.Sign() < 0 || dst.OverflowUint(u) {
		return fieldError(path, "number %s is not a non-negative whole number that fits %s", f.Text('g', -1), dst.Type())
	}
	dst.SetUint(u)
	return nil
}

// toBigFloat reads any msgpack number, or the decimal text cty writes for
// numbers that neither int64 nor float64 can hold exactly.
func toBigFloat(raw any, path string) (*big.Float, error) {
	switch v := raw.(type) {
	case int64:
		return new(big.Float).SetInt64(v), nil
	case uint64:
		return new(big.Float).SetUint64(v), nil
	case float64:
		if math.IsNaN(v) {
			return nil, fieldError(path, "number is NaN")
		}
		if math.IsInf(v, 0) {
			return nil, fieldError(path, "number is infinite")
		}
		return new(big.Float).SetFloat64(v), nil
	case float32:
		return new(big.Float).SetFloat64(float64(v)), nil
	case string:
		f, _, err := big.ParseFloat(v, 10, 512, big.ToNearestEven)
		if err != nil {
			return nil, fieldError(path, "expected number, got string %q", v)
		}
		return f, nil
	}
	return nil, fieldError(path, "expected number, got %s", describe(raw))
}

func assignStruct(dst reflect.Value, raw any, path string) error {
	fields, ok := raw.(map[string]any)
	if !ok {
		return fieldError(path, "expected object, got %s", describe(raw))
	}
	typ := dst.Type()
	for i := 0; i < typ.NumField(); i++ {
		field := typ.Field(i)
		name := fieldName(field)
		if name == "" {
			continue
		}
		value, present := fields[name]
		if !present {
			continue
		}
		if err := assign(dst.Field(i), value, joinPath(path, name)); err != nil {
			return err
		}
	}
	return nil
}

// fieldName returns the msgpack key of a struct field, or "" when the
// field is unexported or skipped.
func fieldName(field reflect.StructField) string {
	if !field.IsExported() {
		return ""
	}
	tag := field.Tag.Get("codec")
	name, _, _ := strings.Cut(tag, ",")
	switch name {
	case "-":
		return ""
	case "":
		return field.Name
	}
	return name
}

func assignMap(dst reflect.Value, raw any, path string) error {
	entries, ok := raw.(map[string]any)
	if !ok {
		return fieldError(path, "expected map, got %s", describe(raw))
	}
	if dst.Type().Key().Kind() != reflect.String {
		return fieldError(path, "map key type %s is not a string", dst.Type().Key())
	}
	out := reflect.MakeMapWithSize(dst.Type(), len(entries))
	for key, value := range entries {
		elem := reflect.New(dst.Type().Elem()).Elem()
		if err := assign(elem, value, fmt.Sprintf("%s[%q]", path, key)); err != nil {
			return err
		}
		out.SetMapIndex(reflect.ValueOf(key).Convert(dst.Type().Key()), elem)
	}
	dst.Set(out)
	return nil
}

func assignList(dst reflect.Value, raw any, path string) error {
	if b, ok := raw.([]byte); ok && dst.Type().Elem().Kind() == reflect.Uint8 && dst.Kind() == reflect.Slice {
		dst.SetBytes(append([]byte(nil), b...))
		return nil
	}
	items, ok := raw.([]any)
	if !ok {
		return fieldError(path, "expected list, got %s", describe(raw))
	}
	if dst.Kind() == reflect.Array && len(items) != dst.Len() {
		return fieldError(path, "expected %d items, got %d", dst.Len(), len(items))
	}
	if dst.Kind() == reflect.Slice {
		dst.Set(reflect.MakeSlice(dst.Type(), len(items), len(items)))
	}
	for i, item := range items {
		if err := assign(dst.Index(i), item, fmt.Sprintf("%s[%d]", path, i)); err != nil {
			return err
		}
	}
	return nil
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func describe(raw any) string {
	switch raw.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "list"
	case string:
		return "string"
	case bool:
		return "bool"
	case int64, uint64, float64, float32:
		return "number"
	}
	return fmt.Sprintf("%T", raw)
}

func fieldError(path, format string, args ...any) error {
	if path == "" {
		path = "(root)"
	}
	return fmt.Errorf("field %q: %s", path, fmt.Sprintf(format, args...))
}
