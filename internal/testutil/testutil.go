// Package testutil holds helpers shared by tram's tests that compare with
// reference outputs.
package testutil

import (
	"math"
	"testing"

	"github.com/tramlab/tram/checkpoint"
)

// ReadAll reads every tensor of a safetensors file, failing the test on error.
func ReadAll(t testing.TB, path string) map[string][]float32 {
	t.Helper()
	m, err := checkpoint.ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// RelErr is max|a−b| / max(max|b|, 1e-5): the error relative to the
// reference's scale. The floor covers gradients that are zero in exact
// arithmetic (attention key biases shift all scores of a query equally),
// where both sides hold only float32 rounding noise.
func RelErr(a, b []float32) float64 {
	var d, s float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
		s = math.Max(s, math.Abs(float64(b[i])))
	}
	return d / math.Max(s, 1e-5)
}

// MaxDiff is max|a−b| over the elements of a and b (of equal length).
func MaxDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// MaxAbs is max|a|.
func MaxAbs(a []float32) float64 {
	var m float64
	for _, v := range a {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}
