//go:build !amd64

package optim

const haveAVX2 = false

func adamwVec(th, g, m, v []float32, c adamwCoef) int { return 0 }

func sgdVec(th, g, b []float32, lr, mu, wd float32, first bool) int { return 0 }
