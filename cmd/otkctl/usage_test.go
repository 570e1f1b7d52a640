package main

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// usageBlock is one command of the usage text: its words (alternatives
// split: "mpc init|refresh" is two) and the flags on its lines.
type usageBlock struct {
	cmds  [][]string
	flags []string
}

var flagRE = regexp.MustCompile(`--[a-z][a-z-]*`)

// usageBlocks parses the command list of usage: a command starts at
// column 2 and ends at two spaces (its description), its continuation
// lines are indented further.
func usageBlocks(t *testing.T) []usageBlock {
	t.Helper()
	var blocks []usageBlock
	for _, line := range strings.Split(usage, "\n") {
		switch {
		case strings.HasPrefix(line, "  ") && line[2] != ' ':
			var words [][]string
			head, _, _ := strings.Cut(line[2:], "  ") // the command, before its description
			for _, f := range strings.Fields(head) {
				if !regexp.MustCompile(`^[a-z]+(\|[a-z]+)*$`).MatchString(f) {
					break
				}
				words = append(words, strings.Split(f, "|"))
			}
			b := usageBlock{cmds: [][]string{nil}}
			for _, alts := range words {
				var next [][]string
				for _, c := range b.cmds {
					for _, a := range alts {
						next = append(next, append(slices.Clone(c), a))
					}
				}
				b.cmds = next
			}
			blocks = append(blocks, b)
		case strings.HasPrefix(line, "   ") && len(blocks) > 0:
		default:
			continue
		}
		last := &blocks[len(blocks)-1]
		last.flags = append(last.flags, flagRE.FindAllString(line, -1)...)
	}
	if len(blocks) < 25 {
		t.Fatalf("parsed %d commands from the usage text", len(blocks))
	}
	return blocks
}

// flagsOf returns the flags `otkctl CMD -h` lists (but --help).
func flagsOf(t *testing.T, cmd []string) []string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(append(slices.Clone(cmd), "-h"), nil, &out, &errOut); code != 0 || errOut.Len() != 0 {
		t.Fatalf("otkctl %s -h: exit %d\n%s%s", strings.Join(cmd, " "), code, out.String(), errOut.String())
	}
	var flags []string
	for _, m := range regexp.MustCompile(`(?m)^  (?:-[a-z], )?\s*--([a-z][a-z-]*)`).FindAllStringSubmatch(out.String(), -1) {
		if m[1] != "help" {
			flags = append(flags, "--"+m[1])
		}
	}
	return flags
}

// TestUsageFlags: every flag the usage text shows for a command is a flag
// of that command, and every flag of an mpc or keyring command but the
// daemon's common ones (--json, --socket, --timeout) is shown.
func TestUsageFlags(t *testing.T) {
	common := []string{"--json", "--socket", "--timeout"}
	seen := map[string]bool{}
	for _, b := range usageBlocks(t) {
		for _, cmd := range b.cmds {
			name := strings.Join(cmd, " ")
			seen[name] = true
			real := flagsOf(t, cmd)
			for _, f := range b.flags {
				if !slices.Contains(real, f) {
					t.Errorf("usage shows %s for %q, which has flags %v", f, name, real)
				}
			}
			if cmd[0] != "mpc" && cmd[0] != "keyring" {
				continue
			}
			for _, f := range real {
				if !slices.Contains(b.flags, f) && !slices.Contains(common, f) {
					t.Errorf("%q has flag %s, which its usage lines do not show", name, f)
				}
			}
		}
	}
	for _, sub := range strings.Split("status, peers, init, refresh, backup, list, delete, recover, inspect", ", ") {
		if !seen["mpc "+sub] {
			t.Errorf("usage has no line for mpc %s", sub)
		}
	}
	for _, sub := range strings.Split("status, connect, disconnect, refill, sync, pools", ", ") {
		if !seen["keyring "+sub] {
			t.Errorf("usage has no line for keyring %s", sub)
		}
	}
}
