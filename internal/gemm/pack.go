package gemm

// Packing copies blocks of op(A) and op(B) into the contiguous, zero-padded
// layouts the micro-kernels read. Transposes are resolved here, so neither
// Aᵀ nor Bᵀ is ever materialized.
//
// Packed A (an mc×kc block): strips of mr rows; in strip s, element
// [p*mr+i] holds op(A)(i0+s*mr+i, p0+p). Rows past mc are zero.
//
// Packed B (a kc×nc block): strips of nr columns; in strip t, element
// [p*nr+j] holds op(B)(p0+p, j0+t*nr+j). Columns past nc are zero.

// packA packs the mc×kc block of op(A) starting at (i0, p0) into ap; with
// useAsm the assembly helpers handle the full strips.
func packA(ap []float32, transA bool, a []float32, lda, i0, mc, p0, kc int, useAsm bool) {
	for s := 0; s*mr < mc; s++ {
		dst := ap[s*mr*kc : (s+1)*mr*kc]
		rows := min(mr, mc-s*mr)
		i := i0 + s*mr
		if transA && useAsm && rows == mr {
			src := a[p0*lda+i : (p0+kc-1)*lda+i+mr] // bounds of every read
			packA6T(&dst[0], &src[0], lda, kc)
			continue
		}
		if useAsm && rows == mr {
			if kc8 := kc &^ 7; kc8 > 0 {
				src := a[i*lda+p0 : (i+mr-1)*lda+p0+kc8]
				packA6N(&dst[0], &src[0], lda, kc8)
			}
			for r := 0; r < mr; r++ {
				src := a[(i+r)*lda+p0 : (i+r)*lda+p0+kc]
				for p := kc &^ 7; p < kc; p++ {
					dst[p*mr+r] = src[p]
				}
			}
			continue
		}
		if transA {
			// op(A)(i, p) = a[p*lda+i]: each step p reads rows contiguous values.
			for p := 0; p < kc; p++ {
				d := dst[p*mr : p*mr+mr : p*mr+mr]
				src := a[(p0+p)*lda+i : (p0+p)*lda+i+rows]
				n := copy(d, src)
				clear(d[n:])
			}
			continue
		}
		// op(A)(i, p) = a[i*lda+p]: gather one value from each of the rows.
		if rows == mr {
			r0 := a[i*lda+p0 : i*lda+p0+kc]
			r1 := a[(i+1)*lda+p0 : (i+1)*lda+p0+kc]
			r2 := a[(i+2)*lda+p0 : (i+2)*lda+p0+kc]
			r3 := a[(i+3)*lda+p0 : (i+3)*lda+p0+kc]
			r4 := a[(i+4)*lda+p0 : (i+4)*lda+p0+kc]
			r5 := a[(i+5)*lda+p0 : (i+5)*lda+p0+kc]
			for p := range r0 {
				d := dst[p*mr : p*mr+mr : p*mr+mr]
				d[0], d[1], d[2], d[3], d[4], d[5] = r0[p], r1[p], r2[p], r3[p], r4[p], r5[p]
			}
			continue
		}
		clear(dst)
		for r := 0; r < rows; r++ {
			src := a[(i+r)*lda+p0 : (i+r)*lda+p0+kc]
			for p, v := range src {
				dst[p*mr+r] = v
			}
		}
	}
}

// packB packs the kc×nc block of op(B) starting at (p0, j0) into bp; with
// useAsm the assembly helpers handle the full strips.
func packB(bp []float32, transB bool, b []float32, ldb, p0, kc, j0, nc int, useAsm bool) {
	for t := 0; t*nr < nc; t++ {
		dst := bp[t*nr*kc : (t+1)*nr*kc]
		cols := min(nr, nc-t*nr)
		j := j0 + t*nr
		if useAsm && cols == nr {
			if !transB {
				src := b[p0*ldb+j : (p0+kc-1)*ldb+j+nr] // bounds of every read
				packB16N(&dst[0], &src[0], ldb, kc)
				continue
			}
			if kc8 := kc &^ 7; kc8 > 0 {
				src := b[j*ldb+p0 : (j+nr-1)*ldb+p0+kc8]
				packB16T(&dst[0], &src[0], ldb, kc8)
			}
			for c := 0; c < nr; c++ {
				src := b[(j+c)*ldb+p0 : (j+c)*ldb+p0+kc]
				for p := kc &^ 7; p < kc; p++ {
					dst[p*nr+c] = src[p]
				}
			}
			continue
		}
		if !transB {
			// op(B)(p, j) = b[p*ldb+j]: each step copies cols contiguous values.
			if cols == nr {
				for p := 0; p < kc; p++ {
					copy(dst[p*nr:p*nr+nr], b[(p0+p)*ldb+j:(p0+p)*ldb+j+nr])
				}
				continue
			}
			for p := 0; p < kc; p++ {
				d := dst[p*nr : p*nr+nr]
				n := copy(d, b[(p0+p)*ldb+j:(p0+p)*ldb+j+cols])
				clear(d[n:])
			}
			continue
		}
		// op(B)(p, j) = b[j*ldb+p]: column j of op(B) is a contiguous row of b.
		if cols < nr {
			clear(dst)
		}
		for c := 0; c < cols; c++ {
			src := b[(j+c)*ldb+p0 : (j+c)*ldb+p0+kc]
			for p, v := range src {
				dst[p*nr+c] = v
			}
		}
	}
}
