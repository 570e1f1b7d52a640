package zuc

import (
	"os"
	"os/exec"
	"testing"

	"github.com/otkd/otkd/internal/asmswitch"
)

// TestOperatorSwitch runs this test binary again with OTKD_NOASM=zuc: the
// child must find only the pure-Go twin selected and available.
func TestOperatorSwitch(t *testing.T) {
	if os.Getenv("ZUC_SWITCH_CHILD") == "1" {
		if Selected() != Generic || Available(AVX2) || Available(AVX512) || Available(AVX2AES) {
			t.Fatalf("with %s=zuc: selected %v, available %v", asmswitch.Env, Selected(), engines())
		}
		return
	}
	for _, v := range []string{"zuc", "all", " ZUC ,fec"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOperatorSwitch$")
		cmd.Env = append(os.Environ(), "ZUC_SWITCH_CHILD=1", asmswitch.Env+"="+v)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s=%q: %v\n%s", asmswitch.Env, v, err, out)
		}
	}
}
