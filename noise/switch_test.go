package noise

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/otkd/otkd/asm/aesctr"
	"github.com/otkd/otkd/internal/asmswitch"
)

// channelDigest is a digest of what a seeded channel does to 50 frames: modulated
// samples with fibre noise, their decisions, and bit errors.
func channelDigest(t *testing.T) string {
	c := newTestChannel(t, DefaultProfile(), 50)
	h := sha256.New()
	bits := make([]byte, SamplesPerFrame/8)
	soft := make([]Sample, SamplesPerFrame)
	frame := make([]byte, 16830)
	for i := range 50 {
		for j := range bits {
			bits[j] = byte(i*31 + j*7)
		}
		Modulate(bits, SamplesPerFrame, soft, nil)
		c.AddFibreNoise(soft)
		Decide(soft, 0, bits)
		clear(frame)
		c.BitErrors(frame)
		for _, s := range soft {
			h.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(s)))
		}
		h.Write(bits)
		h.Write(frame)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestOperatorSwitch runs this test binary again with OTKD_NOASM=noise: the child must
// run the pure-Go twins only (noise and the AES-CTR keystream) and produce the same
// channel output as this process, kernels and all.
func TestOperatorSwitch(t *testing.T) {
	if os.Getenv("NOISE_SWITCH_CHILD") == "1" {
		if noiseEngine != engineGeneric || hasEngine[engineAVX2] || hasEngine[engineAVX512] || aesctr.Kernel() != "crypto/aes" {
			t.Fatalf("with %s=noise: engine %v, available %v, keystream %s", asmswitch.Env, noiseEngine, hasEngine, aesctr.Kernel())
		}
		os.Stdout.WriteString("digest " + channelDigest(t) + "\n")
		return
	}
	want := channelDigest(t)
	for _, v := range []string{"noise", "all", " NOISE ,zuc"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestOperatorSwitch$", "-test.v")
		cmd.Env = append(os.Environ(), "NOISE_SWITCH_CHILD=1", asmswitch.Env+"="+v)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s=%q: %v\n%s", asmswitch.Env, v, err, out)
		}
		if !strings.Contains(string(out), "digest "+want) {
			t.Fatalf("%s=%q: the pure-Go twins' channel output differs from the kernels' (%s)\n%s", asmswitch.Env, v, want, out)
		}
	}
	t.Logf("engine %v, keystream %s: channel digest %s", noiseEngine, aesctr.Kernel(), want[:16])
}
