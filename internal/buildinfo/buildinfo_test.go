package buildinfo

import (
	"runtime"
	"strings"
	"testing"
)

// TestInfo: the facts are there, in the forms --version and the metric
// labels need (no spaces in a kernel's name or implementation).
func TestInfo(t *testing.T) {
	i := Get()
	if i.Version == "" || i.Commit == "" || i.GoVersion != runtime.Version() || len(i.Kernels) != 5 {
		t.Fatalf("%+v", i)
	}
	for _, k := range i.Kernels {
		if k.Impl == "" || strings.ContainsAny(k.Name+k.Impl, " \t\n=") {
			t.Errorf("kernel %+v", k)
		}
	}
	text := i.Text("otkd")
	for _, want := range []string{"otkd " + i.Version + "\n", "commit " + i.Commit + "\n", runtime.Version(), "kernels zuc="} {
		if !strings.Contains(text, want) {
			t.Errorf("--version text lacks %q:\n%s", want, text)
		}
	}
	old := Commit
	Commit = "0123abcd"
	defer func() { Commit = old }()
	if c := Get().Commit; c != "0123abcd" {
		t.Errorf("commit set at link time: %q", c)
	}
}
