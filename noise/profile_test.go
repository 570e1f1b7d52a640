package noise

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestDefaultProfile(t *testing.T) {
	p := DefaultProfile()
	if err := p.Validate(); err != nil {
		t.Fatalf("DefaultProfile invalid: %v", err)
	}
	want := Profile{Level0: -1, Level1: 1, FibreSigma: 0.3, LocalSigmaMin: 0.3, LocalSigmaMax: 0.8,
		Latency: 4, ReorderDepth: 4, BurstLen: 32}
	if p != want {
		t.Fatalf("DefaultProfile = %+v, want %+v", p, want)
	}
	if p.Threshold() != 0 {
		t.Fatalf("threshold %v, want 0", p.Threshold())
	}
}

func TestProfileValidate(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name  string
		edit  func(*Profile)
		field string
	}{
		{"levels equal", func(p *Profile) { p.Level1 = p.Level0 }, "Level1"},
		{"levels swapped", func(p *Profile) { p.Level0, p.Level1 = 1, -1 }, "Level1"},
		{"level0 NaN", func(p *Profile) { p.Level0 = float32(nan) }, "Level0"},
		{"level1 Inf", func(p *Profile) { p.Level1 = float32(math.Inf(1)) }, "Level1"},
		{"fibre negative", func(p *Profile) { p.FibreSigma = -0.1 }, "FibreSigma"},
		{"fibre NaN", func(p *Profile) { p.FibreSigma = nan }, "FibreSigma"},
		{"local min zero", func(p *Profile) { p.LocalSigmaMin = 0 }, "LocalSigmaMin"},
		{"local min NaN", func(p *Profile) { p.LocalSigmaMin = nan }, "LocalSigmaMin"},
		{"local max below min", func(p *Profile) { p.LocalSigmaMax = 0.2 }, "LocalSigmaMax"},
		{"local max Inf", func(p *Profile) { p.LocalSigmaMax = math.Inf(1) }, "LocalSigmaMax"},
		{"latency negative", func(p *Profile) { p.Latency = -1 }, "Latency"},
		{"latency huge", func(p *Profile) { p.Latency = MaxLatency + 1 }, "Latency"},
		{"loss one", func(p *Profile) { p.Loss = 1 }, "Loss"},
		{"loss NaN", func(p *Profile) { p.Loss = nan }, "Loss"},
		{"reorder above one", func(p *Profile) { p.Reorder = 1.5 }, "Reorder"},
		{"reorder depth zero", func(p *Profile) { p.Reorder, p.ReorderDepth = 0.1, 0 }, "ReorderDepth"},
		{"reorder depth huge", func(p *Profile) { p.Reorder, p.ReorderDepth = 0.1, MaxReorderDepth+1 }, "ReorderDepth"},
		{"burst negative", func(p *Profile) { p.Burst = -0.01 }, "Burst"},
		{"burst length zero", func(p *Profile) { p.Burst, p.BurstLen = 0.1, 0 }, "BurstLen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultProfile()
			tt.edit(&p)
			err := p.Validate()
			if !errors.Is(err, ErrInvalidProfile) {
				t.Fatalf("Validate() = %v, want ErrInvalidProfile", err)
			}
			var pe *ProfileError
			if !errors.As(err, &pe) || pe.Field != tt.field {
				t.Fatalf("Validate() = %v, want a ProfileError for %s", err, tt.field)
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Fatalf("error %q does not name %s", err, tt.field)
			}
			if _, err := NewChannel(p, 1); !errors.Is(err, ErrInvalidProfile) {
				t.Fatalf("NewChannel accepted an invalid profile: %v", err)
			}
			if _, err := NewLocal(p); !errors.Is(err, ErrInvalidProfile) {
				t.Fatalf("NewLocal accepted an invalid profile: %v", err)
			}
		})
	}
}

func TestProfileValidateAllFields(t *testing.T) {
	var p Profile // the zero value: both levels 0, no local σ
	err := p.Validate()
	for _, f := range []string{"Level1", "LocalSigmaMin"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("Validate() of the zero Profile = %v, want it to name %s", err, f)
		}
	}
	// Depth and length do not matter while their probabilities are 0.
	p = DefaultProfile()
	p.ReorderDepth, p.BurstLen = 0, 0
	if err := p.Validate(); err != nil {
		t.Fatalf("Validate() = %v with unused depth and length", err)
	}
}
