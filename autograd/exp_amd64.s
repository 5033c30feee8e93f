#include "textflag.h"

// Constants of the Cephes single-precision exponential (see fastmath.go).
DATA expconst<>+0(SB)/4, $0x42b00000  // 88: upper clamp (keeps 2^n finite)
DATA expconst<>+4(SB)/4, $0xc2ae0000  // -87: lower clamp (keeps results normal)
DATA expconst<>+8(SB)/4, $0x3fb8aa3b  // log2(e)
DATA expconst<>+12(SB)/4, $0x3f000000 // 0.5
DATA expconst<>+16(SB)/4, $0x3f318000 // C1 = 0.693359375
DATA expconst<>+20(SB)/4, $0xb95e8083 // C2 = -2.12194440e-4
DATA expconst<>+24(SB)/4, $0x39506967 // p0
DATA expconst<>+28(SB)/4, $0x3ab743ce // p1
DATA expconst<>+32(SB)/4, $0x3c088908 // p2
DATA expconst<>+36(SB)/4, $0x3d2aa9c1 // p3
DATA expconst<>+40(SB)/4, $0x3e2aaaaa // p4
DATA expconst<>+44(SB)/4, $0x3f000000 // p5
DATA expconst<>+48(SB)/4, $0x3f800000 // 1
DATA expconst<>+52(SB)/4, $0x0000007f // 127 (exponent bias)
GLOBL expconst<>(SB), RODATA|NOPTR, $56

// Constants of GELU's tanh form, as Go rounds them to float32.
DATA geluconst<>+0(SB)/4, $0x3d372713 // 0.044715
DATA geluconst<>+4(SB)/4, $0xbfcc422a // -2·√(2/π)
GLOBL geluconst<>(SB), RODATA|NOPTR, $8

// EXP8 sets Y3 = exp(Y0), eight lanes, with the constants of expconst
// loaded as expAVX2 loads them into Y6–Y13; it clobbers Y0–Y5 and Y15.
// Both kernels below use it, so their exponentials agree bit for bit.
//
// Steps: save x for the NaN check, clamp x to [−87, 88];
// n = floor(x·log2e + 0.5); r = x − n·C1 − n·C2;
// p(r) = ((((p0·r + p1)·r + p2)·r + p3)·r + p4)·r + p5;
// e^r = p·r² + r + 1; × 2^n; NaN in, NaN out.
#define EXP8 \
	VMOVAPS      Y0, Y15; \
	VMINPS       Y6, Y0, Y0; \
	VMAXPS       Y7, Y0, Y0; \
	VMOVAPS      Y9, Y1; \
	VFMADD231PS  Y8, Y0, Y1; \
	VROUNDPS     $1, Y1, Y1; \
	VFNMADD231PS Y10, Y1, Y0; \
	VFNMADD231PS Y11, Y1, Y0; \
	VMULPS       Y0, Y0, Y2; \
	VBROADCASTSS expconst<>+24(SB), Y3; \
	VBROADCASTSS expconst<>+28(SB), Y4; \
	VFMADD213PS  Y4, Y0, Y3; \
	VBROADCASTSS expconst<>+32(SB), Y4; \
	VFMADD213PS  Y4, Y0, Y3; \
	VBROADCASTSS expconst<>+36(SB), Y4; \
	VFMADD213PS  Y4, Y0, Y3; \
	VBROADCASTSS expconst<>+40(SB), Y4; \
	VFMADD213PS  Y4, Y0, Y3; \
	VBROADCASTSS expconst<>+44(SB), Y4; \
	VFMADD213PS  Y4, Y0, Y3; \
	VFMADD213PS  Y0, Y2, Y3; \
	VADDPS       Y12, Y3, Y3; \
	VCVTTPS2DQ   Y1, Y4; \
	VPADDD       Y13, Y4, Y4; \
	VPSLLD       $23, Y4, Y4; \
	VMULPS       Y4, Y3, Y3; \
	VCMPPS       $3, Y15, Y15, Y5; \
	VBLENDVPS    Y5, Y15, Y3, Y3

// EXPCONST loads the constants EXP8 keeps in registers.
#define EXPCONST \
	VBROADCASTSS expconst<>+0(SB), Y6; \
	VBROADCASTSS expconst<>+4(SB), Y7; \
	VBROADCASTSS expconst<>+8(SB), Y8; \
	VBROADCASTSS expconst<>+12(SB), Y9; \
	VBROADCASTSS expconst<>+16(SB), Y10; \
	VBROADCASTSS expconst<>+20(SB), Y11; \
	VBROADCASTSS expconst<>+48(SB), Y12; \
	VPBROADCASTD expconst<>+52(SB), Y13

// func expAVX2(dst, src *float32, n int)
// dst[i] = exp(src[i]) for i < n, n a multiple of 8; NaN stays NaN.
TEXT ·expAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	EXPCONST
	SHRQ $3, CX
	JZ   done

loop:
	VMOVUPS (SI), Y0
	EXP8
	VMOVUPS Y3, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     loop

done:
	VZEROUPPER
	RET

// func geluTanhAVX2(y, th, x *float32, n int)
// With u = √(2/π)·(x + 0.044715·x³), e = exp(−2u) as expAVX2 computes it
// and s = 1/(1 + e) = 0.5·(1 + tanh u): th[i] = 2s − 1 (tanh u), then
// y[i] = x[i]·s, for i < n (n a multiple of 8); th may be y when tanh u
// is not wanted. Each step is one IEEE operation in the order of the Go
// loop of geluTanhMap (−2·√(2/π)·(x + ((0.044715·x)·x)·x), no fused
// multiply-add), so the lanes equal it bit for bit.
TEXT ·geluTanhAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ th+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	EXPCONST
	SHRQ $3, CX
	JZ   gtdone

gtloop:
	VMOVUPS      (SI), Y14
	VBROADCASTSS geluconst<>+0(SB), Y1
	VMULPS       Y14, Y1, Y0 // 0.044715·x
	VMULPS       Y14, Y0, Y0 // ·x
	VMULPS       Y14, Y0, Y0 // ·x
	VADDPS       Y0, Y14, Y0 // x + 0.044715·x³
	VBROADCASTSS geluconst<>+4(SB), Y1
	VMULPS       Y0, Y1, Y0  // −2u
	EXP8
	VADDPS       Y12, Y3, Y3 // 1 + e
	VDIVPS       Y3, Y12, Y3 // s = 1/(1 + e)
	VADDPS       Y3, Y3, Y1  // 2s
	VSUBPS       Y12, Y1, Y1 // 2s − 1
	VMOVUPS      Y1, (DX)
	VMULPS       Y3, Y14, Y0 // x·s
	VMOVUPS      Y0, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DI
	ADDQ         $32, DX
	DECQ         CX
	JNZ          gtloop

gtdone:
	VZEROUPPER
	RET

// Constants of geluErfGrad, as Go rounds them to float32.
DATA gerfconst<>+0(SB)/4, $0xbf000000 // -0.5
DATA gerfconst<>+4(SB)/4, $0x3ecc422a // 1/√(2π)
GLOBL gerfconst<>(SB), RODATA|NOPTR, $8

// func geluErfBackAVX2(dx, dy, x, cdf *float32, n int, add bool)
// With e = exp((−0.5·x)·x) as expAVX2 computes it:
// dx[i] (+)= dy[i]·(cdf[i] + (x·e)·(1/√(2π))), x = x[i], for i < n (n a
// multiple of 8). Each step is one IEEE operation in the order of the Go
// loops of geluErfGradRange (no fused multiply-add), so the lanes equal
// them bit for bit where those take expAVX2's exponential.
TEXT ·geluErfBackAVX2(SB), NOSPLIT, $0-41
	MOVQ    dx+0(FP), DI
	MOVQ    dy+8(FP), SI
	MOVQ    x+16(FP), DX
	MOVQ    cdf+24(FP), R8
	MOVQ    n+32(FP), CX
	MOVBLZX add+40(FP), AX
	EXPCONST
	SHRQ    $3, CX
	JZ      gedone

geloop:
	VMOVUPS      (DX), Y14
	VBROADCASTSS gerfconst<>+0(SB), Y1
	VMULPS       Y14, Y1, Y0 // −0.5·x
	VMULPS       Y14, Y0, Y0 // ·x
	EXP8
	VMULPS       Y3, Y14, Y0 // x·e
	VBROADCASTSS gerfconst<>+4(SB), Y1
	VMULPS       Y1, Y0, Y0   // ·(1/√(2π))
	VADDPS       (R8), Y0, Y0 // cdf + …
	VMULPS       (SI), Y0, Y0 // dy·(…)
	TESTQ        AX, AX
	JZ           gestore
	VADDPS       (DI), Y0, Y0 // dx + …

gestore:
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R8
	ADDQ    $32, DI
	DECQ    CX
	JNZ     geloop

gedone:
	VZEROUPPER
	RET
