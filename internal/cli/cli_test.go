package cli

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		quiet bool
		is    error
		text  string // in the error
		out   bool   // the flag package printed
	}{
		{[]string{"--n", "3"}, true, nil, "", false},
		{[]string{"-h"}, true, flag.ErrHelp, "", false},
		{[]string{"--nope"}, true, nil, "flag provided but not defined: -nope", false},
		{[]string{"--nope"}, false, nil, "flag provided but not defined: -nope", true},
		{[]string{"--n", "3", "extra"}, true, ErrArgument, `unexpected argument "extra"`, false},
	} {
		var out bytes.Buffer
		fs := flag.NewFlagSet("cmd", flag.ContinueOnError)
		fs.SetOutput(&out)
		n := fs.Int("n", 0, "a number")
		err := Parse(fs, tc.args, tc.quiet)
		switch {
		case tc.is == nil && tc.text == "" && (err != nil || *n != 3):
			t.Errorf("%q: %v, n = %d", tc.args, err, *n)
		case tc.is != nil && !errors.Is(err, tc.is):
			t.Errorf("%q: %v, want %v", tc.args, err, tc.is)
		case tc.text != "" && (err == nil || !strings.Contains(err.Error(), tc.text)):
			t.Errorf("%q: %v, want %q", tc.args, err, tc.text)
		case (out.Len() > 0) != tc.out:
			t.Errorf("%q quiet %v: printed %q", tc.args, tc.quiet, out.String())
		}
		if fs.Output() != &out {
			t.Errorf("%q: the flag set's output was not restored", tc.args)
		}
	}
}
