package service

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
)

// Sentinels of configuration errors (ctrl/daemon/config re-exports them).
var (
	// ErrInvalid is wrapped by every error of the configuration's
	// decoding and validation.
	ErrInvalid = errors.New("config: invalid")
	// ErrFile is wrapped by every error about a file the configuration
	// names (missing, unsafe mode, unreadable).
	ErrFile = errors.New("config: file check failed")
)

// FieldError names one bad field of a configuration and the reason.
type FieldError struct {
	File   string // the file, when known
	Field  string // the key path, e.g. "port[1].peer" (ports count from 0); "" for the whole file
	Value  string // the value as given; "" when there is none (missing, unknown key)
	Reason string // the rule it breaks
	Err    error  // the sentinel it wraps: ErrInvalid, ErrFile or the config's ErrNotReloadable
}

func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		if e.Value != "" {
			b.WriteString(" = ")
			b.WriteString(e.Value)
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Reason)
	return b.String()
}

// Unwrap returns the sentinel of the error's kind.
func (e *FieldError) Unwrap() error { return e.Err }

// Problems collects the FieldErrors of a validation.
type Problems []error

// Add records that field (with value v, nil for none) breaks a rule.
func (ps *Problems) Add(field string, v any, format string, args ...any) {
	*ps = append(*ps, &FieldError{Field: field, Value: Show(v), Reason: fmt.Sprintf(format, args...), Err: ErrInvalid})
}

// Show renders a value as it would be written in the file.
func Show(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return fmt.Sprintf("%q", v)
	}
	return fmt.Sprint(v)
}

// MaxNameLen bounds node, peer and operator names.
const MaxNameLen = 64

var nameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$`)

// NameOK reports whether name is a usable node or certificate name: 1..64
// of letters, digits, '.', '_' and '-', starting and ending with a letter
// or digit.
func NameOK(name string) bool {
	return name != "" && len(name) <= MaxNameLen && nameRE.MatchString(name)
}

// CheckName checks a name used as a node name or a certificate's common
// name, naming what is wrong.
func (ps *Problems) CheckName(field, name, what string) bool {
	switch {
	case name == "":
		ps.Add(field, nil, "required, missing%s", what)
	case len(name) > MaxNameLen:
		ps.Add(field, name, "longer than %d bytes", MaxNameLen)
	case !nameRE.MatchString(name):
		ps.Add(field, name, "want letters, digits, '.', '_' and '-', starting and ending with a letter or digit")
	default:
		return true
	}
	return false
}

// FileError marks err as an error about a file the configuration names: it
// matches ErrFile, its text unchanged.
func FileError(err error) error { return fileError{err} }

type fileError struct{ err error }

func (e fileError) Error() string   { return e.err.Error() }
func (e fileError) Unwrap() []error { return []error{e.err, ErrFile} }

// Env is what a section's validation needs of the rest of the file.
type Env struct {
	// Ports are the [[port]] tables' names, in file order.
	Ports []string
	// ShmPath and ShmSlots are the daemon's map ([shm]); ShmSlots 0 when
	// [shm] or [[port]] is invalid (reported already): capacity is not
	// checked then.
	ShmPath  string
	ShmSlots int
	// PortKeys is how many keys each port can have in the daemon's map
	// at once.
	PortKeys int
}

// Files checks the files a valid configuration names, without opening,
// creating or changing any; each problem becomes a *FieldError wrapping
// ErrFile. The zero value is ready to use.
type Files struct{ errs []error }

func (f *Files) bad(field, path, format string, args ...any) {
	f.errs = append(f.errs, &FieldError{Field: field, Value: Show(path), Reason: fmt.Sprintf(format, args...), Err: ErrFile})
}

// file checks that path is a regular file and applies check to its mode.
func (f *Files) file(field, path string, check func(fs.FileMode) string) {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		f.bad(field, path, "%v", unwrapPath(err))
	case !fi.Mode().IsRegular():
		f.bad(field, path, "not a regular file (%v)", fi.Mode().Type())
	default:
		if why := check(fi.Mode().Perm()); why != "" {
			f.bad(field, path, "mode %04o: %s", fi.Mode().Perm(), why)
		}
	}
}

// Regular: path is a regular file.
func (f *Files) Regular(field, path string) {
	f.file(field, path, func(fs.FileMode) string { return "" })
}

// Private: path is a regular file only its owner may access (a private
// key: 0600 or 0400).
func (f *Files) Private(field, path string) {
	f.file(field, path, func(m fs.FileMode) string {
		if m&0o077 != 0 {
			return "group or others have access, want 0600 or 0400"
		}
		return ""
	})
}

// Mode: path is a regular file of exactly mode want.
func (f *Files) Mode(field, path string, want fs.FileMode) {
	f.file(field, path, func(m fs.FileMode) string {
		if m != want {
			return fmt.Sprintf("want %04o", want)
		}
		return ""
	})
}

// Pinned: path is a regular file that group and others cannot write (a
// pinned public key, a CA: one they could write pins nothing).
func (f *Files) Pinned(field, path string) {
	f.file(field, path, func(m fs.FileMode) string {
		if m&0o022 != 0 {
			return "group or others may write it, so it pins nothing"
		}
		return ""
	})
}

// Dir: the directory path is to be created in exists.
func (f *Files) Dir(field, path string) {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		f.bad(field, path, "directory %s: %v", dir, unwrapPath(err))
	case !fi.IsDir():
		f.bad(field, path, "%s is not a directory", dir)
	}
}

// Group: the group name (or gid) exists.
func (f *Files) Group(field, name string) {
	var err error
	if strings.Trim(name, "0123456789") == "" {
		_, err = user.LookupGroupId(name)
	} else {
		_, err = user.LookupGroup(name)
	}
	if err != nil {
		f.bad(field, name, "%v", err)
	}
}

// Err returns the problems found, joined; nil for none.
func (f *Files) Err() error { return errors.Join(f.errs...) }

// unwrapPath drops the path a *PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
