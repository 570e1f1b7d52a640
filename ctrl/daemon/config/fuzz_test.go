package config

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzParse: Parse never panics; what it accepts is valid and survives
// Encode and Parse unchanged; what it refuses comes back as *FieldError
// values wrapping ErrInvalid, and no Config. The seed corpus is in
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte(minimal + secondPort))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "")
		if err != nil {
			if c != nil {
				t.Fatal("a Config came back with an error")
			}
			for _, e := range flattenErrs(err) {
				var fe *FieldError
				if !errors.As(e, &fe) || !errors.Is(e, ErrInvalid) {
					t.Fatalf("%T %v is not a *FieldError wrapping ErrInvalid", e, e)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted an invalid config: %v", err)
		}
		var buf bytes.Buffer
		if err := c.Encode(&buf); err != nil {
			t.Fatalf("Encode: %v", err)
		}
		d, err := Parse(buf.Bytes(), "")
		if err != nil {
			t.Fatalf("re-Parse: %v\n%s", err, buf.Bytes())
		}
		if !reflect.DeepEqual(c, d) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v", c, d)
		}
	})
}
