package keysync

import "fmt"

// CheckIdentity reports whether s is a well-formed subscriber identity:
// 1..128 bytes of printable ASCII (0x21..0x7e; no spaces or controls).
func CheckIdentity(s string) error {
	if len(s) == 0 || len(s) > 128 {
		return fmt.Errorf("%w: %d bytes, want 1..128", ErrBadIdentity, len(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return fmt.Errorf("%w: byte %d is 0x%02x, want printable ASCII", ErrBadIdentity, i, s[i])
		}
	}
	return nil
}

// CheckApp reports whether s is a well-formed application id: 1..64 bytes
// of [a-z0-9.-], starting and ending with a letter or digit.
func CheckApp(s string) error {
	if len(s) == 0 || len(s) > 64 {
		return fmt.Errorf("%w: %d bytes, want 1..64", ErrBadApp, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if !alnum && c != '.' && c != '-' {
			return fmt.Errorf("%w: %q has byte 0x%02x, want [a-z0-9.-]", ErrBadApp, s, c)
		}
		if !alnum && (i == 0 || i == len(s)-1) {
			return fmt.Errorf("%w: %q must start and end with [a-z0-9]", ErrBadApp, s)
		}
	}
	return nil
}

// CheckKeyID reports whether s is a well-formed key id: 1..64 bytes of
// [A-Za-z0-9._:-].
func CheckKeyID(s string) error {
	if len(s) == 0 || len(s) > 64 {
		return fmt.Errorf("%w: %d bytes, want 1..64", ErrBadKeyID, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == ':' || c == '-'
		if !ok {
			return fmt.Errorf("%w: byte %d is 0x%02x, want [A-Za-z0-9._:-]", ErrBadKeyID, i, c)
		}
	}
	return nil
}
