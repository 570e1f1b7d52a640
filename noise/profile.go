package noise

import (
	"errors"
	"fmt"
	"math"
)

// Profile describes the levels of the soft samples, the simulated fibre and the range of
// the receivers' local noise. The zero value is not valid; start from DefaultProfile and
// change fields. A Profile is plain data: copy it freely.
type Profile struct {
	// Level0 and Level1 are the soft levels of bit 0 and bit 1. Default −1 and +1.
	// Level1 must be greater than Level0; the decision threshold is their midpoint.
	Level0, Level1 Sample

	// FibreSigma is the standard deviation of the simulated fibre's additive white
	// Gaussian noise, in the same unit as the levels. Default 0.3. Zero means a
	// noiseless fibre.
	FibreSigma float64

	// LocalSigmaMin and LocalSigmaMax bound the receiver's secret local noise: each
	// round draws its standard deviation uniformly from [LocalSigmaMin, LocalSigmaMax].
	// Defaults 0.3 and 0.8. 0 < LocalSigmaMin ≤ LocalSigmaMax.
	LocalSigmaMin, LocalSigmaMax float64

	// Latency is the simulated one-way delay in frames. Default 4 (≈ 49 µs at 82 025
	// frames/s, about 10 km of fibre). At most MaxLatency.
	Latency int

	// Loss is the probability that the simulated line loses a frame. Default 0; in [0, 1).
	Loss float64

	// Reorder is the probability that a frame is held back by 1…ReorderDepth extra
	// frames. Default 0; in [0, 1]. ReorderDepth defaults to 4 and must be in
	// [1, MaxReorderDepth] when Reorder > 0.
	Reorder      float64
	ReorderDepth int

	// Burst is the probability per frame of an error burst: BurstLen consecutive bytes
	// of the frame, each replaced by a different random value. Default 0; in [0, 1].
	// BurstLen defaults to 32 bytes (two symbols in each of the 16 interleaved RS(255,239)
	// codewords of a row, so the FEC corrects it) and must be in [1, MaxBurstLen] when
	// Burst > 0.
	Burst    float64
	BurstLen int
}

// Limits that catch configuration mistakes; none is a property of the hardware.
const (
	MaxLatency      = 1 << 16 // frames, ≈ 0.8 s
	MaxReorderDepth = 1 << 10 // frames
	MaxBurstLen     = 1 << 16 // bytes
)

// DefaultProfile returns the default profile (docs/postprocessing.md): levels ±1, fibre σ 0.3, local σ
// uniform in [0.3, 0.8], no loss, no reordering, no bursts.
func DefaultProfile() Profile {
	return Profile{
		Level0:        -1,
		Level1:        1,
		FibreSigma:    0.3,
		LocalSigmaMin: 0.3,
		LocalSigmaMax: 0.8,
		Latency:       4,
		ReorderDepth:  4,
		BurstLen:      32,
	}
}

// Threshold is the hard-decision threshold: the midpoint of the levels. A sample strictly
// greater than it decides 1.
func (p *Profile) Threshold() Sample {
	return p.Level0 + (p.Level1-p.Level0)/2
}

// ErrInvalidProfile is wrapped by every error of Profile.Validate.
var ErrInvalidProfile = errors.New("noise: invalid profile")

// ProfileError names the field of a Profile that is out of range.
type ProfileError struct {
	Field  string // the field's name, e.g. "LocalSigmaMin"
	Value  string // its value as given
	Reason string // the rule it breaks
}

func (e *ProfileError) Error() string {
	return fmt.Sprintf("noise: invalid profile: %s = %s: %s", e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidProfile.
func (e *ProfileError) Unwrap() error { return ErrInvalidProfile }

// Validate reports every field that is out of range, joined (errors.Join); each is a
// *ProfileError and matches ErrInvalidProfile with errors.Is. It returns nil for a valid
// profile.
func (p *Profile) Validate() error {
	var errs []error
	bad := func(field string, value any, reason string) {
		errs = append(errs, &ProfileError{Field: field, Value: fmt.Sprint(value), Reason: reason})
	}
	l0, l1 := float64(p.Level0), float64(p.Level1)
	if !finite(l0) {
		bad("Level0", l0, "must be finite")
	}
	if !finite(l1) {
		bad("Level1", l1, "must be finite")
	}
	if finite(l0) && finite(l1) && !(l1 > l0) {
		bad("Level1", l1, fmt.Sprintf("must be greater than Level0 (%v)", l0))
	}
	if !finite(p.FibreSigma) || p.FibreSigma < 0 {
		bad("FibreSigma", p.FibreSigma, "must be finite and ≥ 0")
	}
	if !finite(p.LocalSigmaMin) || !(p.LocalSigmaMin > 0) {
		bad("LocalSigmaMin", p.LocalSigmaMin, "must be finite and > 0")
	}
	if !finite(p.LocalSigmaMax) || !(p.LocalSigmaMax >= p.LocalSigmaMin) {
		bad("LocalSigmaMax", p.LocalSigmaMax, fmt.Sprintf("must be finite and ≥ LocalSigmaMin (%v)", p.LocalSigmaMin))
	}
	if p.Latency < 0 || p.Latency > MaxLatency {
		bad("Latency", p.Latency, fmt.Sprintf("must be in [0, %d] frames", MaxLatency))
	}
	if !(p.Loss >= 0 && p.Loss < 1) {
		bad("Loss", p.Loss, "must be a probability in [0, 1)")
	}
	if !(p.Reorder >= 0 && p.Reorder <= 1) {
		bad("Reorder", p.Reorder, "must be a probability in [0, 1]")
	}
	if p.Reorder > 0 && (p.ReorderDepth < 1 || p.ReorderDepth > MaxReorderDepth) {
		bad("ReorderDepth", p.ReorderDepth, fmt.Sprintf("must be in [1, %d] frames when Reorder > 0", MaxReorderDepth))
	}
	if !(p.Burst >= 0 && p.Burst <= 1) {
		bad("Burst", p.Burst, "must be a probability in [0, 1]")
	}
	if p.Burst > 0 && (p.BurstLen < 1 || p.BurstLen > MaxBurstLen) {
		bad("BurstLen", p.BurstLen, fmt.Sprintf("must be in [1, %d] bytes when Burst > 0", MaxBurstLen))
	}
	return errors.Join(errs...)
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
