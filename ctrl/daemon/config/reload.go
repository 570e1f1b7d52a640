package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// ErrNotReloadable is wrapped by the errors of ReloadableDiff.
var ErrNotReloadable = errors.New("config: not reloadable")

// reloadable lists the fields a running daemon applies on SIGHUP.
var reloadable = []string{"log.level", "log.format", "log.summary", "metrics.listen"}

// Reloadable returns the fields a running daemon applies on SIGHUP:
// log.level, log.format, log.summary and metrics.listen. Every other field fixes
// something the daemon built at start (bound sockets, mapped files, keys,
// the agreement of both ends of a link on the noise and the negotiation)
// and takes a restart.
func Reloadable() []string { return slices.Clone(reloadable) }

// ReloadableDiff compares c (the running configuration) with next (the file
// read again on SIGHUP, through Load). It returns the reloadable fields that
// changed, in schema order. If next is invalid, or if any other field
// changed, it returns an error instead: for a change, one *FieldError per
// field wrapping ErrNotReloadable, naming the field and both values; the
// daemon then keeps running with c unchanged.
func (c *Config) ReloadableDiff(next *Config) (changed []string, err error) {
	if err := next.Validate(); err != nil {
		return nil, err
	}
	oldF, newF := c.flatten(), next.flatten()
	var errs []error
	for _, f := range union(oldF, newF) {
		o, n := lookup(oldF, f), lookup(newF, f)
		if o == n {
			continue
		}
		if isReloadable(f) {
			changed = append(changed, f)
			continue
		}
		errs = append(errs, &FieldError{
			Field: f, Value: n,
			Reason: fmt.Sprintf("changed from %s; not reloadable, restart otkd to apply it", orNone(o)),
			Err:    ErrNotReloadable,
		})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return changed, nil
}

func isReloadable(f string) bool { return slices.Contains(reloadable, f) }

func orNone(v string) string {
	if v == "" {
		return "(absent)"
	}
	return v
}

// field is one key of the flattened configuration and its value as written.
type field struct{ key, value string }

// flatten lists every key of c with its value, in schema order; port keys
// carry their index ("port[1].peer") and "port" holds the number of ports.
func (c *Config) flatten() []field {
	var out []field
	flattenStruct(&out, "", reflect.ValueOf(c).Elem())
	return out
}

func flattenStruct(out *[]field, prefix string, v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		if !t.Field(i).IsExported() {
			continue // how the file spelled it, not a setting
		}
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		key := prefix + name
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Struct:
			flattenStruct(out, key+".", fv)
		case reflect.Slice:
			if fv.Type().Elem().Kind() != reflect.Struct { // a list of values: one field
				*out = append(*out, field{key, show(fv.Interface())})
				continue
			}
			*out = append(*out, field{key, fmt.Sprint(fv.Len())})
			for j := range fv.Len() {
				flattenStruct(out, fmt.Sprintf("%s[%d].", key, j), fv.Index(j))
			}
		default:
			*out = append(*out, field{key, show(fv.Interface())})
		}
	}
}

// union lists the keys of a, then those only in b, in order.
func union(a, b []field) []string {
	seen := map[string]bool{}
	var keys []string
	for _, l := range [][]field{a, b} {
		for _, f := range l {
			if !seen[f.key] {
				seen[f.key] = true
				keys = append(keys, f.key)
			}
		}
	}
	return keys
}

func lookup(l []field, key string) string {
	for _, f := range l {
		if f.key == key {
			return f.value
		}
	}
	return ""
}
