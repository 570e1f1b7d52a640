package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

type usageErr struct{ msg string }

func (e *usageErr) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageErr{fmt.Sprintf(format, args...)} }

// testTool is a tool with a group and two leaves, one taking a value flag,
// a bool flag and --json.
func testTool(t *testing.T) (*Tool, *bytes.Buffer, *bytes.Buffer, *[]string) {
	var out, errOut bytes.Buffer
	var got []string
	tool := New(Config{Name: "tool", Overview: "the overview\n", Usagef: usagef,
		Line:   func(err error) string { return err.Error() },
		Status: func(err error) int { var u *usageErr; return map[bool]int{true: 64, false: 1}[errors.As(err, &u)] },
	}, &out, &errOut)
	leaf := &cobra.Command{Use: "leaf", Short: "a leaf", Args: NoArgs(usagef)}
	label := leaf.Flags().String("label", "", "a label")
	asJSON := leaf.Flags().Bool("json", false, "JSON")
	fail := leaf.Flags().Bool("fail", false, "fail")
	leaf.RunE = func(*cobra.Command, []string) error {
		got = append(got, fmt.Sprintf("label=%s json=%v", *label, *asJSON))
		if *fail {
			return errors.New("it failed -> badly")
		}
		return nil
	}
	tool.Root.AddCommand(Group(&cobra.Command{Use: "grp", Short: "a group"}, usagef))
	tool.Root.Commands()[0].AddCommand(leaf)
	return tool, &out, &errOut, &got
}

func TestNormalize(t *testing.T) {
	fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
	fs.String("label", "", "")
	fs.Bool("json", false, "")
	fs.BoolP("verbose", "v", false, "")
	for _, c := range []struct{ in, want []string }{
		{[]string{"-label", "x", "-json"}, []string{"--label", "x", "--json"}},
		{[]string{"-label=x", "--json"}, []string{"--label=x", "--json"}},
		{[]string{"--label", "-json"}, []string{"--label", "-json"}},         // a value, kept as written
		{[]string{"-v", "-unknown", "-h"}, []string{"-v", "-unknown", "-h"}}, // shorthands and unknown names untouched
		{[]string{"-help", "-version"}, []string{"--help", "--version"}},
		{[]string{"--", "-json"}, []string{"--", "-json"}},
	} {
		if got := Normalize(fs, c.in); !slices.Equal(got, c.want) {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestTool runs the tool: single-dash long flags, help, errors as a line
// or as JSON, unknown commands and flags, a group without a subcommand.
func TestTool(t *testing.T) {
	for _, c := range []struct {
		args        []string
		code        int
		out, errOut string // substrings
		ran         string
		jsonError   bool
	}{
		{[]string{"grp", "leaf", "-label", "a", "-json"}, 0, "", "", "label=a json=true", false},
		{[]string{"grp", "leaf", "--label=b"}, 0, "", "", "label=b json=false", false},
		{[]string{"--help"}, 0, "the overview", "", "", false},
		{[]string{"grp", "leaf", "--help"}, 0, "Usage:\n  tool grp leaf [flags]", "", "", false},
		{[]string{"grp", "-h"}, 0, "Available Commands:\n  leaf", "", "", false},
		{[]string{"help", "grp", "leaf"}, 0, "Usage:\n  tool grp leaf [flags]", "", "", false},
		{[]string{"help"}, 0, "the overview", "", "", false},
		{[]string{"help", "grp", "nope"}, 64, "", `tool: help: unknown command "grp nope" (try 'tool help')`, "", false},
		{[]string{"help", "nope", "--json"}, 64, "", `{"error":"help: unknown command \"nope\" (try 'tool help')","status":64}`, "", true},
		{[]string{}, 64, "", "the overview\ntool: no command given\n", "", false},
		{[]string{"nope"}, 64, "", `tool: unknown command "nope" (try 'tool help')`, "", false},
		{[]string{"nope", "--json"}, 64, "", `{"error":"unknown command \"nope\" (try 'tool help')","status":64}`, "", true},
		{[]string{"--bogus"}, 64, "", "tool: flag provided but not defined: --bogus (try 'tool --help')", "", false},
		{[]string{"grp"}, 64, "", "tool: grp: missing subcommand (leaf)", "", false},
		{[]string{"grp", "nope"}, 64, "", `tool: grp: unknown subcommand "nope" (leaf)`, "", false},
		{[]string{"grp", "leaf", "--bogus"}, 64, "", "tool: grp leaf: flag provided but not defined: --bogus (try 'tool grp leaf --help')", "", false},
		{[]string{"grp", "leaf", "stray"}, 64, "", `tool: grp leaf: unexpected argument "stray"`, "", false},
		{[]string{"grp", "leaf", "--fail"}, 1, "", "tool: it failed -> badly\n", "label= json=false", false},
		{[]string{"grp", "leaf", "--fail", "--json"}, 1, "", `{"error":"it failed -> badly","status":1}` + "\n", "label= json=true", true},
		{[]string{"grp", "leaf", "--bogus", "--json"}, 64, "", `{"error":"grp leaf: flag provided but not defined: --bogus (try 'tool grp leaf --help')","status":64}`, "", true},
		{[]string{"grp", "leaf", "--json=false", "--fail"}, 1, "", "tool: it failed", "label= json=false", false},
	} {
		tool, out, errOut, got := testTool(t)
		code := tool.Execute(c.args)
		ran := strings.Join(*got, ";")
		if code != c.code || !strings.Contains(out.String(), c.out) || !strings.Contains(errOut.String(), c.errOut) || ran != c.ran {
			t.Errorf("%q: exit %d, stdout %q, stderr %q, ran %q; want %d, %q, %q, %q", c.args, code, out, errOut, ran, c.code, c.out, c.errOut, c.ran)
		}
		if c.jsonError {
			var je map[string]any
			if err := json.Unmarshal(errOut.Bytes(), &je); err != nil || len(je) != 2 || je["status"] != float64(code) {
				t.Errorf("%q: JSON error %q: %v", c.args, errOut, err)
			}
		}
	}
}

func TestVersion(t *testing.T) {
	tool, out, _, _ := testTool(t)
	if code := tool.Execute([]string{"--version"}); code != 0 || !strings.HasPrefix(out.String(), "tool ") ||
		!strings.Contains(out.String(), "\ncommit ") || !strings.Contains(out.String(), "\nkernels zuc=") {
		t.Fatalf("--version: %d %q", code, out)
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		args []string
		is   error
		text string // in the error
	}{
		{[]string{"--n", "3"}, nil, ""},
		{[]string{"-n", "3"}, nil, ""},
		{[]string{"-h"}, pflag.ErrHelp, ""},
		{[]string{"--help"}, pflag.ErrHelp, ""},
		{[]string{"--nope"}, nil, "flag provided but not defined: --nope"},
		{[]string{"--n", "x"}, nil, `invalid argument "x"`},
		{[]string{"--n", "3", "extra"}, ErrArgument, `unexpected argument "extra"`},
	} {
		fs := pflag.NewFlagSet("cmd", pflag.ContinueOnError)
		n := fs.Int("n", 0, "a number")
		err := Parse(fs, tc.args)
		switch {
		case tc.is == nil && tc.text == "" && (err != nil || *n != 3):
			t.Errorf("%q: %v, n = %d", tc.args, err, *n)
		case tc.is != nil && !errors.Is(err, tc.is):
			t.Errorf("%q: %v, want %v", tc.args, err, tc.is)
		case tc.text != "" && (err == nil || !strings.Contains(err.Error(), tc.text)):
			t.Errorf("%q: %v, want %q", tc.args, err, tc.text)
		}
	}
}
