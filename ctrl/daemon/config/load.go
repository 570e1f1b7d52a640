package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/otkd/otkd/ctrl/keymgmt/keyring/keyringsvc"
)

// MaxFileSize bounds a configuration file; real ones are a few KiB.
const MaxFileSize = 1 << 20

// Load reads the file at path and returns Parse's result. It only reads:
// it creates no file, socket or shared memory, and it does not open the key
// files (CheckFiles looks at them).
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, &FieldError{File: path, Reason: fmt.Sprintf("larger than %d bytes", MaxFileSize), Err: ErrInvalid}
	}
	return Parse(data, path)
}

// Parse decodes TOML data, applies the defaults, resolves relative paths
// against the directory of name (a file name; "" leaves them relative to the
// working directory) and validates the result. Keys the schema does not know
// are errors. Errors are *FieldError values (several joined with
// errors.Join), each naming the file, the field and the reason; all wrap
// ErrInvalid. Parse never panics on any input.
func Parse(data []byte, name string) (*Config, error) {
	c, err := decode(data)
	if err != nil {
		return nil, withFile(err, name)
	}
	if name != "" {
		c.resolve(filepath.Dir(name))
	}
	if err := c.Validate(); err != nil {
		return nil, withFile(err, name)
	}
	return c, nil
}

// decode fills Default() from data and applies the per-port defaults; it
// reports decoding errors, unknown keys and missing required port keys.
func decode(data []byte) (*Config, error) {
	if bytes.IndexByte(data, 0) >= 0 {
		return nil, &FieldError{Reason: "contains a NUL byte: not a TOML text file", Err: ErrInvalid}
	}
	// The [[port]] tables are decoded one by one, each over a port holding
	// the defaults, so that an error names its index.
	shape := struct {
		*Config
		Ports   []toml.Primitive `toml:"port"`
		Keyring toml.Primitive   `toml:"keyring"`
	}{Config: Default()}
	md, err := toml.Decode(string(data), &shape)
	if err != nil {
		return nil, decodeError(err, "")
	}
	c := shape.Config
	c.Ports = make([]Port, len(shape.Ports))
	for i, prim := range shape.Ports {
		c.Ports[i] = defaultPort()
		if err := md.PrimitiveDecode(prim, &c.Ports[i]); err != nil {
			return nil, decodeError(err, fmt.Sprintf("port[%d]", i))
		}
	}
	// Which keys each [[port]] table holds, for the required keys and to
	// give an unknown key its index.
	var raw struct {
		Port    []map[string]any `toml:"port"`
		Keyring any              `toml:"keyring"`
	}
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, decodeError(err, "")
	}
	pools, table, krTables, err := keyringsvc.Decode(md, shape.Keyring, raw.Keyring, func(err error) error { return decodeError(err, "") })
	if err != nil {
		return nil, err
	}
	c.Keyrings, c.keyringTable = pools, table
	var errs []error
	reported := map[string]bool{}
	for _, k := range md.Undecoded() {
		if insideReported(k, reported) {
			continue // inside a table already reported as unknown
		}
		reported[k.String()] = true
		errs = append(errs, unknownKey(k, raw.Port, krTables))
	}
	for i := range c.Ports {
		var keys map[string]any
		if i < len(raw.Port) {
			keys = raw.Port[i]
		}
		errs = append(errs, checkRequired(i, keys)...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

func insideReported(k toml.Key, reported map[string]bool) bool {
	for i := 1; i < len(k); i++ {
		if reported[k[:i].String()] {
			return true
		}
	}
	return false
}

// requiredPortKeys are the keys every [[port]] table must hold, and those
// its line needs (udp: the default).
var (
	requiredPortKeys = []string{"name", "id", "role", "", "peer_name", "peer_public_key"} // "": the line's keys
	requiredLineKeys = map[string][]string{"udp": {"local", "peer"}, "xdp": {"interface", "peer_mac"}}
)

func checkRequired(i int, keys map[string]any) []error {
	var errs []error
	line, _ := keys["line"].(string)
	if _, given := keys["line"]; !given {
		line = DefaultLine
	}
	var want []string
	for _, k := range requiredPortKeys {
		if k == "" {
			want = append(want, requiredLineKeys[line]...)
		} else {
			want = append(want, k)
		}
	}
	for _, k := range want {
		if _, ok := keys[k]; !ok {
			errs = append(errs, &FieldError{Field: fmt.Sprintf("port[%d].%s", i, k), Reason: "required, missing", Err: ErrInvalid})
		}
	}
	return errs
}

// unknownKey names an undecoded key; a key inside [[port]] or [[keyring]]
// tables gets the index of the first table holding it.
func unknownKey(k toml.Key, ports, keyrings []map[string]any) error {
	field := k.String()
	tables := map[string][]map[string]any{"port": ports, "keyring": keyrings}
	if len(k) >= 2 {
		for i, m := range tables[k[0]] {
			if _, ok := m[k[1]]; ok {
				field = fmt.Sprintf("%s[%d].%s", k[0], i, strings.Join(k[1:], "."))
				break
			}
		}
	}
	return &FieldError{Field: field, Reason: "unknown key", Err: ErrInvalid}
}

// lastKeyRE picks the key and the message out of the decoder's
// type-mismatch errors, which are not typed.
var lastKeyRE = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]*)"\): (.*)$`)

// A port's errors name the key "port.<key>"; port is "port[i]" then, and
// replaces the first element.
func decodeError(err error, port string) error {
	field := func(k string) string {
		if rest, ok := strings.CutPrefix(k, "port."); ok && port != "" {
			return port + "." + rest
		}
		return k
	}
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &FieldError{Field: field(pe.LastKey), Reason: fmt.Sprintf("line %d: %s", pe.Position.Line, pe.Message), Err: ErrInvalid}
	}
	if m := lastKeyRE.FindStringSubmatch(err.Error()); m != nil {
		reason := m[3]
		if m[1] != "" {
			reason = "line " + m[1] + ": " + reason
		}
		return &FieldError{Field: field(m[2]), Reason: reason, Err: ErrInvalid}
	}
	return &FieldError{Reason: strings.TrimPrefix(err.Error(), "toml: "), Err: ErrInvalid}
}

// withFile sets File on every *FieldError in err (a FieldError or a join).
func withFile(err error, name string) error {
	if name == "" {
		return err
	}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		if fe, ok := e.(*FieldError); ok {
			fe.File = name
		}
	}
	return err
}

// resolve makes the relative paths of c relative to dir.
func (c *Config) resolve(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Node.PrivateKey)
	for i := range c.Ports {
		abs(&c.Ports[i].PeerPublicKey)
	}
	abs(&c.Shm.Path)
	abs(&c.Store.Path)
	abs(&c.Store.KEKFile)
	abs(&c.API.Socket)
	if c.ControllerOnEtcd() {
		c.Controller.Etcd.Resolve(abs)
	} else {
		abs(&c.Controller.Store)
	}
	keyringsvc.Resolve(c.Keyrings, abs)
	c.Sync.Resolve(abs)
	c.MPC.Resolve(abs)
}

// Encode writes c as TOML that Parse reads back to an equal Config. The
// pools are written as the file had them: a [keyring] table, or
// [[keyring]] tables.
func (c *Config) Encode(w io.Writer) error {
	e := toml.NewEncoder(w)
	e.Indent = ""
	if !c.keyringTable || len(c.Keyrings) != 1 {
		return e.Encode(c)
	}
	d := c.Clone()
	d.Keyrings = nil
	if err := e.Encode(d); err != nil {
		return err
	}
	return e.Encode(struct {
		Keyring keyringsvc.Pool `toml:"keyring"`
	}{c.Keyrings[0]})
}

// Clone returns a deep copy of c.
func (c *Config) Clone() *Config {
	d := *c
	d.Ports = slices.Clone(c.Ports)
	d.Keyrings = slices.Clone(c.Keyrings)
	d.Sync = c.Sync.Clone()
	d.MPC = c.MPC.Clone()
	d.Controller.Etcd = c.Controller.Etcd.Clone()
	return &d
}
