package gemm

// kernelGo is the portable micro-kernel, with the same contract as the
// assembly kernel6x16: it computes the 6×16 tile acc = Σ_p a[p*6+i]·b[p*16+j]
// from packed strips and stores C = alpha·acc (beta == 0, C not read) or
// C = beta·C + alpha·acc into c with row stride ldc. With bias != nil (16
// floats) and beta != 0, C is not read and every row gets
// beta·bias + alpha·acc, the same expression as the beta path with bias in
// every row of C.
//
// It works on 2×4 sub-tiles so that the eight accumulators stay in registers.
func kernelGo(kc int, a, b, c []float32, ldc int, alpha, beta float32, bias []float32) {
	a = a[:kc*mr]
	b = b[:kc*nr]
	if bias != nil {
		bias = bias[:nr]
	}
	for i := 0; i < mr; i += 2 {
		for j := 0; j < nr; j += 4 {
			var c00, c01, c02, c03, c10, c11, c12, c13 float32
			ai, bj := i, j
			for p := 0; p < kc; p++ {
				a0, a1 := a[ai], a[ai+1]
				bb := b[bj : bj+4 : bj+4]
				b0, b1, b2, b3 := bb[0], bb[1], bb[2], bb[3]
				c00 += a0 * b0
				c01 += a0 * b1
				c02 += a0 * b2
				c03 += a0 * b3
				c10 += a1 * b0
				c11 += a1 * b1
				c12 += a1 * b2
				c13 += a1 * b3
				ai += mr
				bj += nr
			}
			r0 := c[i*ldc+j : i*ldc+j+4 : i*ldc+j+4]
			r1 := c[(i+1)*ldc+j : (i+1)*ldc+j+4 : (i+1)*ldc+j+4]
			if beta == 0 {
				r0[0], r0[1], r0[2], r0[3] = alpha*c00, alpha*c01, alpha*c02, alpha*c03
				r1[0], r1[1], r1[2], r1[3] = alpha*c10, alpha*c11, alpha*c12, alpha*c13
			} else {
				s0, s1 := r0, r1 // what beta scales: C's rows, or the bias in both
				if bias != nil {
					s0 = bias[j : j+4 : j+4]
					s1 = s0
				}
				r0[0] = beta*s0[0] + alpha*c00
				r0[1] = beta*s0[1] + alpha*c01
				r0[2] = beta*s0[2] + alpha*c02
				r0[3] = beta*s0[3] + alpha*c03
				r1[0] = beta*s1[0] + alpha*c10
				r1[1] = beta*s1[1] + alpha*c11
				r1[2] = beta*s1[2] + alpha*c12
				r1[3] = beta*s1[3] + alpha*c13
			}
		}
	}
}
