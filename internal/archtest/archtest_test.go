package archtest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/otkd/otkd"

// rule is one row of the table: a package pattern and what it may import.
type rule struct {
	pkg      string
	otkd     []string // patterns of otkd packages
	external []string // module paths (or "*")
}

// parseTable reads the rows between the import-table markers.
func parseTable(r io.Reader) ([]rule, error) {
	var rules []rule
	in := false
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "<!-- import-table"):
			in = true
			continue
		case strings.HasPrefix(line, "<!-- /import-table"):
			in = false
		}
		if !in || !strings.HasPrefix(line, "| `") {
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) != 3 {
			return nil, fmt.Errorf("row %q: want 3 cells", line)
		}
		names := func(cell string) []string {
			var out []string
			for _, f := range strings.Split(cell, ",") {
				if f = strings.Trim(strings.TrimSpace(f), "`"); f != "" {
					out = append(out, f)
				}
			}
			return out
		}
		p := names(cells[0])
		if len(p) != 1 {
			return nil, fmt.Errorf("row %q: want one package pattern", line)
		}
		rules = append(rules, rule{pkg: p[0], otkd: names(cells[1]), external: names(cells[2])})
	}
	if len(rules) == 0 {
		return nil, fmt.Errorf("no import table found")
	}
	return rules, sc.Err()
}

// match reports whether path (module-relative) matches pattern: "x" is x,
// "x/..." is x and everything below, "*" is everything.
func match(pattern, path string) bool {
	if pattern == "*" {
		return true
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

// ruleFor returns the row of pkg: the exact row, or the most specific
// "/..." row matching it.
func ruleFor(rules []rule, pkg string) (rule, bool) {
	best, found := rule{}, false
	for _, r := range rules {
		if !match(r.pkg, pkg) {
			continue
		}
		if r.pkg == pkg {
			return r, true
		}
		if !found || len(r.pkg) > len(best.pkg) {
			best, found = r, true
		}
	}
	return best, found
}

// pkgInfo is what go list says of a package.
type pkgInfo struct {
	ImportPath string
	Imports    []string
	Standard   bool
}

// check returns one line per violation: a package without a row, or an
// import its row does not allow. Standard-library imports are free.
func check(rules []rule, pkgs []pkgInfo) []string {
	var bad []string
	for _, p := range pkgs {
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		r, ok := ruleFor(rules, rel)
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: no row of docs/design.md's import table places it", rel))
			continue
		}
		for _, imp := range p.Imports {
			if ir, own := strings.CutPrefix(imp, module+"/"); own {
				if !slices.ContainsFunc(r.otkd, func(pat string) bool { return match(pat, ir) }) {
					bad = append(bad, fmt.Sprintf("%s imports %s: its row (%s) allows %s", rel, ir, r.pkg, orNone(r.otkd)))
				}
				continue
			}
			if !strings.Contains(strings.Split(imp, "/")[0], ".") {
				continue // the standard library
			}
			if !slices.ContainsFunc(r.external, func(m string) bool { return m == "*" || imp == m || strings.HasPrefix(imp, m+"/") }) {
				bad = append(bad, fmt.Sprintf("%s imports %s: its row (%s) allows third-party %s", rel, imp, r.pkg, orNone(r.external)))
			}
		}
	}
	return bad
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "nothing"
	}
	return strings.Join(l, ", ")
}

// TestImportTable: every package of the module imports only what
// docs/design.md's table allows it (non-test imports; tests may reach
// further), and every package has a row.
func TestImportTable(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.Open(filepath.Join(root, "docs", "design.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer doc.Close()
	rules, err := parseTable(doc)
	if err != nil {
		t.Fatalf("docs/design.md: %v", err)
	}
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Standard,Error", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkgInfo
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkgInfo
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 50 {
		t.Fatalf("go list found %d packages: not the module", len(pkgs))
	}
	for _, b := range check(rules, pkgs) {
		t.Error(b)
	}
}

// TestCheckerCatches: the checker refuses what the table forbids (a frame
// path package importing ctrl, a third-party module not in a row, a
// package no row places) and passes what it allows.
func TestCheckerCatches(t *testing.T) {
	rules, err := parseTable(strings.NewReader("<!-- import-table -->\n| package | may | third |\n|---|---|---|\n" +
		"| `framer/...` | `framer/...`, `internal/keys` | `github.com/emmansun/gmsm` |\n" +
		"| `framer/fec` | | |\n| `cmd/...` | `*` | `*` |\n<!-- /import-table -->\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := func(p string) string { return module + "/" + p }
	pkgs := []pkgInfo{
		{ImportPath: m("framer"), Imports: []string{"fmt", m("framer/fec"), m("internal/keys"), "github.com/emmansun/gmsm/sm3"}},
		{ImportPath: m("framer/replay"), Imports: []string{m("ctrl/link")}},
		{ImportPath: m("framer/fec"), Imports: []string{"go.etcd.io/bbolt", m("framer/replay")}},
		{ImportPath: m("noise")},
		{ImportPath: m("cmd/otkd"), Imports: []string{m("ctrl/daemon"), "github.com/anything/at/all"}},
	}
	got := check(rules, pkgs)
	want := []string{
		"framer/replay imports ctrl/link: its row (framer/...) allows framer/..., internal/keys",
		"framer/fec imports go.etcd.io/bbolt: its row (framer/fec) allows third-party nothing",
		"framer/fec imports framer/replay: its row (framer/fec) allows nothing",
		"noise: no row of docs/design.md's import table places it",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
