//go:build !amd64

package autograd

func expVec(dst, src []float32) int { return 0 }

func addVec(dst, src []float32) int { return 0 }

func geluErfVec(y, cdf, x []float32) int { return 0 }

func geluTanhVec(y, th, x []float32) int { return 0 }

func sumShiftedVec(x []float32, s float64) (int, float64, float64)      { return 0, 0, 0 }
func dotCenteredVec(dy, x []float32, m float64) (int, float64, float64) { return 0, 0, 0 }
func affineVec(y, x []float32, a, b float32) int                        { return 0 }
func bnBackVec(dx, dy, x []float32, a, b, c float32, add bool) int      { return 0 }
func reluVec(y, x []float32) int                                        { return 0 }
func reluBackVec(dx, dy, x []float32, add bool) int                     { return 0 }
func maxVec(x []float32) (int, float32)                                 { return 0, 0 }
func geluTanhBackVec(dx, dy, x, th []float32, add bool) int             { return 0 }

func geluErfBackVec(dx, dy, x, cdf []float32, add bool) int { return 0 }

func layerNormOutVec(y, x, g, b []float32, m, rs float32) int { return 0 }
func layerNormDGVec(dg, dy, x []float32, m, rs float32) int   { return 0 }
func layerNormInGradVec(dx, dy, x, g []float32, m, rs float32, s1, s2 float64, add bool) int {
	return 0
}
