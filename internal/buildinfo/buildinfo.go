// Package buildinfo says what a binary of otkd is: its version, the commit
// it was built from, the Go toolchain and the frame-path kernels this
// process selected (the CPU's features and OTKD_NOASM decide them at
// start-up). otkd --version, otkctl --version and the metric
// otkd_build_info print the same facts.
//
// Version and Commit are set at link time:
//
//	go build -ldflags "-X github.com/otkd/otkd/internal/buildinfo.Version=1.2.0 \
//	    -X github.com/otkd/otkd/internal/buildinfo.Commit=$(git rev-parse HEAD)" ./cmd/...
//
// Without -X, Commit comes from the VCS stamp the go command records
// (absent with -buildvcs=false or outside a repository: "unknown").
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/otkd/otkd/asm/aesctr"
	"github.com/otkd/otkd/asm/zuc"
	"github.com/otkd/otkd/framer"
	"github.com/otkd/otkd/framer/fec"
	"github.com/otkd/otkd/noise"
)

// Version is otkd's release; the default marks a development build.
var Version = "0.1.0-dev"

// Commit is the commit the binary was built from ("" = from the VCS stamp).
var Commit = ""

// Kernel is one frame-path kernel and the implementation selected.
type Kernel struct {
	Name string // zuc, fec, xor, noise, aes
	Impl string // e.g. "avx512", "generic"; never a space
}

// Info is what a binary is.
type Info struct {
	Version   string
	Commit    string // full hash, "+dirty" appended for a modified tree; "unknown" when not recorded
	GoVersion string
	Kernels   []Kernel // in a fixed order: zuc, fec, xor, noise, aes
}

// Get returns this process's facts.
func Get() Info {
	return Info{Version: Version, Commit: commit(), GoVersion: runtime.Version(), Kernels: kernels()}
}

func commit() string {
	if Commit != "" {
		return Commit
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	switch {
	case rev == "":
		return "unknown"
	case dirty:
		return rev + "+dirty"
	}
	return rev
}

func kernels() []Kernel {
	return []Kernel{
		{"zuc", zuc.Selected().String()},
		{"fec", fec.Kernel()},
		{"xor", framer.XORKernel()},
		{"noise", noise.Kernel()},
		{"aes", aesctr.Kernel()},
	}
}

// KernelList is the kernels as "zuc=avx512 fec=generic …", the form of
// --version and of otkd's start-up log.
func (i Info) KernelList() string {
	parts := make([]string, len(i.Kernels))
	for j, k := range i.Kernels {
		parts[j] = k.Name + "=" + k.Impl
	}
	return strings.Join(parts, " ")
}

// Text is the --version output of the command name: one fact a line.
func (i Info) Text(name string) string {
	return fmt.Sprintf("%s %s\ncommit %s\n%s %s/%s\nkernels %s\n", name, i.Version, i.Commit, i.GoVersion,
		runtime.GOOS, runtime.GOARCH, i.KernelList())
}
