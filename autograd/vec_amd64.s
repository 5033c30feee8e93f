#include "textflag.h"

// func addAVX2(dst, src *float32, n int)
// dst[i] += src[i] for i < n, n a multiple of 8.
TEXT ·addAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	CMPQ CX, $32
	JLT  tail

loop32:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VADDPS  (DI), Y0, Y0
	VADDPS  32(DI), Y1, Y1
	VADDPS  64(DI), Y2, Y2
	VADDPS  96(DI), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	CMPQ    CX, $32
	JGE     loop32

tail:
	TESTQ CX, CX
	JZ    done

loop8:
	VMOVUPS (SI), Y0
	VADDPS  (DI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     loop8

done:
	VZEROUPPER
	RET

DATA erfconst<>+0(SB)/4, $0x40800000 // 4.0
DATA erfconst<>+4(SB)/4, $0xc0800000 // -4.0
DATA erfconst<>+8(SB)/4, $0x3f3504f3 // 1/sqrt2
DATA erfconst<>+12(SB)/4, $0x3f000000 // 0.5
DATA erfconst<>+16(SB)/4, $0x3f800000 // 1
DATA erfconst<>+20(SB)/4, $0xbf800000 // -1
DATA erfconst<>+24(SB)/4, $0xaf95df0b // a13
DATA erfconst<>+28(SB)/4, $0x32edffee // a11
DATA erfconst<>+32(SB)/4, $0xb60cff51 // a9
DATA erfconst<>+36(SB)/4, $0xb86ec2d2 // a7
DATA erfconst<>+40(SB)/4, $0xba40ac63 // a5
DATA erfconst<>+44(SB)/4, $0xbb41a1f6 // a3
DATA erfconst<>+48(SB)/4, $0xbc83dbd4 // a1
DATA erfconst<>+52(SB)/4, $0xb77460cd // b8
DATA erfconst<>+56(SB)/4, $0xb95fbd29 // b6
DATA erfconst<>+60(SB)/4, $0xbadc924e // b4
DATA erfconst<>+64(SB)/4, $0xbbf19bf8 // b2
DATA erfconst<>+68(SB)/4, $0xbc69b6a7 // b0
GLOBL erfconst<>(SB), RODATA|NOPTR, $72

// func geluErfAVX2(y, cdf, x *float32, n int)
// cdf[i] = Φ(x[i]) = (1 + erf(x[i]/√2))/2 with the rational erf of erf32,
// then y[i] = x[i]·cdf[i], for i < n (n a multiple of 8); cdf may be y.
TEXT ·geluErfAVX2(SB), NOSPLIT, $0-32
	MOVQ y+0(FP), DI
	MOVQ cdf+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), CX
	SHRQ $3, CX
	JZ   gdone
	VBROADCASTSS erfconst<>+0(SB), Y8
	VBROADCASTSS erfconst<>+4(SB), Y9
	VBROADCASTSS erfconst<>+8(SB), Y10
	VBROADCASTSS erfconst<>+12(SB), Y11
	VBROADCASTSS erfconst<>+16(SB), Y12
	VBROADCASTSS erfconst<>+20(SB), Y13

gloop:
	VMOVUPS (SI), Y0
	VMULPS  Y10, Y0, Y1
	VMINPS  Y8, Y1, Y1
	VMAXPS  Y9, Y1, Y1
	VMULPS  Y1, Y1, Y2

	// p = z·((((((a13·z² + a11)·z² + a9)·z² + a7)·z² + a5)·z² + a3)·z² + a1)
	VBROADCASTSS erfconst<>+24(SB), Y3
	VBROADCASTSS erfconst<>+28(SB), Y4
	VFMADD213PS  Y4, Y2, Y3
	VBROADCASTSS erfconst<>+32(SB), Y4
	VFMADD213PS  Y4, Y2, Y3
	VBROADCASTSS erfconst<>+36(SB), Y4
	VFMADD213PS  Y4, Y2, Y3
	VBROADCASTSS erfconst<>+40(SB), Y4
	VFMADD213PS  Y4, Y2, Y3
	VBROADCASTSS erfconst<>+44(SB), Y4
	VFMADD213PS  Y4, Y2, Y3
	VBROADCASTSS erfconst<>+48(SB), Y4
	VFMADD213PS  Y4, Y2, Y3
	VMULPS       Y1, Y3, Y3

	// q = (((b8·z² + b6)·z² + b4)·z² + b2)·z² + b0
	VBROADCASTSS erfconst<>+52(SB), Y5
	VBROADCASTSS erfconst<>+56(SB), Y4
	VFMADD213PS  Y4, Y2, Y5
	VBROADCASTSS erfconst<>+60(SB), Y4
	VFMADD213PS  Y4, Y2, Y5
	VBROADCASTSS erfconst<>+64(SB), Y4
	VFMADD213PS  Y4, Y2, Y5
	VBROADCASTSS erfconst<>+68(SB), Y4
	VFMADD213PS  Y4, Y2, Y5

	// erf = clamp(p/q, −1, 1); Φ = 0.5·erf + 0.5; y = x·Φ
	VDIVPS      Y5, Y3, Y3
	VMINPS      Y12, Y3, Y3
	VMAXPS      Y13, Y3, Y3
	VFMADD213PS Y11, Y11, Y3
	VMOVUPS     Y3, (DX)
	VMULPS      Y0, Y3, Y3
	VMOVUPS     Y3, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	ADDQ        $32, DX
	DECQ        CX
	JNZ         gloop

gdone:
	VZEROUPPER
	RET

// func sumShiftedAVX2(x *float32, n int, s float64) (s1, s2 float64)
// s1 = Σ(x[i] − s), s2 = Σ(x[i] − s)² in float64 (eight partial sums per
// quantity, combined in a fixed order), n a multiple of 8.
TEXT ·sumShiftedAVX2(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSD s+16(FP), Y15
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	VXORPD       Y4, Y4, Y4
	VXORPD       Y5, Y5, Y5
	SHRQ         $3, CX
	JZ           ssdone

ssloop:
	VCVTPS2PD   (SI), Y0
	VCVTPS2PD   16(SI), Y1
	VSUBPD      Y15, Y0, Y0
	VSUBPD      Y15, Y1, Y1
	VADDPD      Y0, Y2, Y2
	VADDPD      Y1, Y3, Y3
	VFMADD231PD Y0, Y0, Y4
	VFMADD231PD Y1, Y1, Y5
	ADDQ        $32, SI
	DECQ        CX
	JNZ         ssloop

ssdone:
	VADDPD       Y3, Y2, Y2
	VADDPD       Y5, Y4, Y4
	VEXTRACTF128 $1, Y2, X0
	VADDPD       X0, X2, X2
	VHADDPD      X2, X2, X2
	VMOVSD       X2, s1+24(FP)
	VEXTRACTF128 $1, Y4, X0
	VADDPD       X0, X4, X4
	VHADDPD      X4, X4, X4
	VMOVSD       X4, s2+32(FP)
	VZEROUPPER
	RET

// func dotCenteredAVX2(dy, x *float32, n int, m float64) (sdy, sdyx float64)
// sdy = Σdy[i], sdyx = Σdy[i]·(x[i] − m) in float64, n a multiple of 8.
TEXT ·dotCenteredAVX2(SB), NOSPLIT, $0-48
	MOVQ         dy+0(FP), SI
	MOVQ         x+8(FP), DI
	MOVQ         n+16(FP), CX
	VBROADCASTSD m+24(FP), Y15
	VXORPD       Y2, Y2, Y2
	VXORPD       Y3, Y3, Y3
	VXORPD       Y4, Y4, Y4
	VXORPD       Y5, Y5, Y5
	SHRQ         $3, CX
	JZ           dcdone

dcloop:
	VCVTPS2PD   (SI), Y0
	VCVTPS2PD   16(SI), Y1
	VCVTPS2PD   (DI), Y6
	VCVTPS2PD   16(DI), Y7
	VSUBPD      Y15, Y6, Y6
	VSUBPD      Y15, Y7, Y7
	VADDPD      Y0, Y2, Y2
	VADDPD      Y1, Y3, Y3
	VFMADD231PD Y6, Y0, Y4
	VFMADD231PD Y7, Y1, Y5
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        CX
	JNZ         dcloop

dcdone:
	VADDPD       Y3, Y2, Y2
	VADDPD       Y5, Y4, Y4
	VEXTRACTF128 $1, Y2, X0
	VADDPD       X0, X2, X2
	VHADDPD      X2, X2, X2
	VMOVSD       X2, sdy+32(FP)
	VEXTRACTF128 $1, Y4, X0
	VADDPD       X0, X4, X4
	VHADDPD      X4, X4, X4
	VMOVSD       X4, sdyx+40(FP)
	VZEROUPPER
	RET

// func affineAVX2(y, x *float32, n int, a, b float32)
// y[i] = x[i]·a + b (rounded after the product, as the Go loop), n a
// multiple of 8.
TEXT ·affineAVX2(SB), NOSPLIT, $0-32
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Y14
	VBROADCASTSS b+28(FP), Y15
	SHRQ         $3, CX
	JZ           afdone

afloop:
	VMULPS  (SI), Y14, Y0
	VADDPS  Y15, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     afloop

afdone:
	VZEROUPPER
	RET

// func bnBackAVX2(dx, dy, x *float32, n int, a, b, c float32, add bool)
// dx[i] (+)= (a·dy[i] + b·x[i]) + c, n a multiple of 8.
TEXT ·bnBackAVX2(SB), NOSPLIT, $0-45
	MOVQ         dx+0(FP), DI
	MOVQ         dy+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS a+32(FP), Y13
	VBROADCASTSS b+36(FP), Y14
	VBROADCASTSS c+40(FP), Y15
	MOVBLZX      add+44(FP), AX
	SHRQ         $3, CX
	JZ           bbdone

bbloop:
	VMULPS  (SI), Y13, Y0
	VMULPS  (DX), Y14, Y1
	VADDPS  Y1, Y0, Y0
	VADDPS  Y15, Y0, Y0
	TESTQ   AX, AX
	JZ      bbstore
	VADDPS  (DI), Y0, Y0

bbstore:
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     bbloop

bbdone:
	VZEROUPPER
	RET

// func reluAVX2(y, x *float32, n int)
// y[i] = max(x[i], 0) as Go's max: NaN stays NaN, −0 gives +0; n a
// multiple of 8.
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	MOVQ   y+0(FP), DI
	MOVQ   x+8(FP), SI
	MOVQ   n+16(FP), CX
	VXORPS Y15, Y15, Y15
	SHRQ   $3, CX
	JZ     rldone

rlloop:
	VMOVUPS (SI), Y0
	VMAXPS  Y0, Y15, Y1 // the second operand (x) when either is NaN or both are zeros
	VADDPS  Y15, Y1, Y1 // −0 + 0 = +0
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     rlloop

rldone:
	VZEROUPPER
	RET

// func reluBackAVX2(dx, dy, x *float32, n int, add bool)
// dx[i] (+)= dy[i] where x[i] > 0 (ordered: not for NaN), else 0; n a
// multiple of 8.
TEXT ·reluBackAVX2(SB), NOSPLIT, $0-33
	MOVQ    dx+0(FP), DI
	MOVQ    dy+8(FP), SI
	MOVQ    x+16(FP), DX
	MOVQ    n+24(FP), CX
	MOVBLZX add+32(FP), AX
	VXORPS  Y15, Y15, Y15
	SHRQ    $3, CX
	JZ      rbdone

rbloop:
	VMOVUPS (DX), Y0
	VCMPPS  $0x1e, Y15, Y0, Y1 // x > 0, ordered
	VANDPS  (SI), Y1, Y1
	TESTQ   AX, AX
	JZ      rbstore
	VADDPS  (DI), Y1, Y1

rbstore:
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     rbloop

rbdone:
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
// The largest x[i], i < n (n a multiple of 8), skipping NaNs (−Inf when
// there is none other); of equal zeros it may return either sign.
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ     x+0(FP), SI
	MOVQ     n+8(FP), CX
	VPCMPEQD Y0, Y0, Y0
	VPSLLD   $23, Y0, Y0 // 0xff800000: −Inf
	VMOVAPS  Y0, Y1
	VMOVAPS  Y0, Y2
	VMOVAPS  Y0, Y3
	CMPQ     CX, $32
	JLT      mxtail

mxloop32:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VMAXPS  Y0, Y4, Y0 // the second operand (the running max) when x is NaN
	VMAXPS  Y1, Y5, Y1
	VMAXPS  Y2, Y6, Y2
	VMAXPS  Y3, Y7, Y3
	ADDQ    $128, SI
	SUBQ    $32, CX
	CMPQ    CX, $32
	JGE     mxloop32

mxtail:
	TESTQ CX, CX
	JZ    mxred

mxloop8:
	VMOVUPS (SI), Y4
	VMAXPS  Y0, Y4, Y0
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNZ     mxloop8

mxred:
	// No NaN is left in the accumulators.
	VMAXPS       Y1, Y0, Y0
	VMAXPS       Y3, Y2, Y2
	VMAXPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VMAXPS       X1, X0, X0
	VMOVSS       X0, ret+16(FP)
	VZEROUPPER
	RET

DATA gbconst<>+0(SB)/4, $0x3f000000  // 0.5
DATA gbconst<>+4(SB)/4, $0x3f800000  // 1
DATA gbconst<>+8(SB)/4, $0x3f4c422a  // √(2/π), as Go rounds it to float32
DATA gbconst<>+12(SB)/4, $0x3e095d4f // 3·0.044715, likewise
GLOBL gbconst<>(SB), RODATA|NOPTR, $16

// func geluTanhBackAVX2(dx, dy, x, th *float32, n int, add bool)
// dx[i] (+)= dy[i]·(0.5·(1 + t) + 0.5·x·(1 − t·t)·√(2/π)·(1 + 3·0.044715·x·x))
// with x = x[i], t = th[i], n a multiple of 8: one IEEE operation per step,
// left to right as the Go loop of geluTanhGrad (no fused multiply-add).
TEXT ·geluTanhBackAVX2(SB), NOSPLIT, $0-41
	MOVQ         dx+0(FP), DI
	MOVQ         dy+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         th+24(FP), R8
	MOVQ         n+32(FP), CX
	MOVBLZX      add+40(FP), AX
	VBROADCASTSS gbconst<>+0(SB), Y11
	VBROADCASTSS gbconst<>+4(SB), Y12
	VBROADCASTSS gbconst<>+8(SB), Y13
	VBROADCASTSS gbconst<>+12(SB), Y14
	SHRQ         $3, CX
	JZ           gbdone

gbloop:
	VMOVUPS (DX), Y0    // x
	VMOVUPS (R8), Y1    // t
	VADDPS  Y1, Y12, Y2 // 1 + t
	VMULPS  Y2, Y11, Y2 // 0.5·(1 + t)
	VMULPS  Y1, Y1, Y3  // t·t
	VSUBPS  Y3, Y12, Y3 // 1 − t·t
	VMULPS  Y0, Y11, Y4 // 0.5·x
	VMULPS  Y3, Y4, Y4  // ·(1 − t·t)
	VMULPS  Y13, Y4, Y4 // ·√(2/π)
	VMULPS  Y0, Y14, Y5 // 3·0.044715·x
	VMULPS  Y0, Y5, Y5  // ·x
	VADDPS  Y5, Y12, Y5 // 1 + 3·0.044715·x·x
	VMULPS  Y5, Y4, Y4  // ·(1 + 3·0.044715·x·x)
	VADDPS  Y4, Y2, Y2  // 0.5·(1 + t) + …
	VMULPS  (SI), Y2, Y2 // dy·(…)
	TESTQ   AX, AX
	JZ      gbstore
	VADDPS  (DI), Y2, Y2

gbstore:
	VMOVUPS Y2, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R8
	ADDQ    $32, DI
	DECQ    CX
	JNZ     gbloop

gbdone:
	VZEROUPPER
	RET

// func lnOutAVX2(y, x, gam, b *float32, n int, m, rs float32)
// y[i] = ((x[i] − m)·rs)·g[i] + b[i], n a multiple of 8.
TEXT ·lnOutAVX2(SB), NOSPLIT, $0-48
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         gam+16(FP), DX
	MOVQ         b+24(FP), R8
	MOVQ         n+32(FP), CX
	VBROADCASTSS m+40(FP), Y14
	VBROADCASTSS rs+44(FP), Y15
	SHRQ         $3, CX
	JZ           lodone

loloop:
	VMOVUPS (SI), Y0
	VSUBPS  Y14, Y0, Y0 // x − m
	VMULPS  Y15, Y0, Y0 // ·rs
	VMULPS  (DX), Y0, Y0 // ·g
	VADDPS  (R8), Y0, Y0 // + b
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R8
	ADDQ    $32, DI
	DECQ    CX
	JNZ     loloop

lodone:
	VZEROUPPER
	RET

// func lnDGAVX2(dg, dy, x *float32, n int, m, rs float32)
// dg[i] += (dy[i]·(x[i] − m))·rs, n a multiple of 8.
TEXT ·lnDGAVX2(SB), NOSPLIT, $0-40
	MOVQ         dg+0(FP), DI
	MOVQ         dy+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS m+32(FP), Y14
	VBROADCASTSS rs+36(FP), Y15
	SHRQ         $3, CX
	JZ           lgdone

lgloop:
	VMOVUPS (DX), Y0
	VSUBPS  Y14, Y0, Y0  // x − m
	VMULPS  (SI), Y0, Y0 // dy·
	VMULPS  Y15, Y0, Y0  // ·rs
	VADDPS  (DI), Y0, Y0 // dg +
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	DECQ    CX
	JNZ     lgloop

lgdone:
	VZEROUPPER
	RET

// func lnInGradAVX2(dx, dy, x, gam *float32, n int, m, rs float32, rs64, s1, s2 float64, add bool)
// dx[i] (+)= float32(rs64·((float64(dy[i]·g[i]) − s1) − float64((x[i] − m)·rs)·s2)),
// n a multiple of 8; float32 products, float64 rest, four lanes per half.
TEXT ·lnInGradAVX2(SB), NOSPLIT, $0-73
	MOVQ         dx+0(FP), DI
	MOVQ         dy+8(FP), SI
	MOVQ         x+16(FP), DX
	MOVQ         gam+24(FP), R8
	MOVQ         n+32(FP), CX
	VBROADCASTSS m+40(FP), Y12
	VBROADCASTSS rs+44(FP), Y13
	VBROADCASTSD rs64+48(FP), Y11
	VBROADCASTSD s1+56(FP), Y9
	VBROADCASTSD s2+64(FP), Y10
	MOVBLZX      add+72(FP), AX
	SHRQ         $3, CX
	JZ           lidone

liloop:
	VMOVUPS (DX), Y0
	VSUBPS  Y12, Y0, Y0  // x − m
	VMULPS  Y13, Y0, Y0  // x̂ = ·rs
	VMOVUPS (SI), Y1
	VMULPS  (R8), Y1, Y1 // dn = dy·g

	VCVTPS2PD  X0, Y2      // x̂ (lanes 0–3)
	VCVTPS2PD  X1, Y3      // dn
	VSUBPD     Y9, Y3, Y3  // dn − s1
	VMULPD     Y10, Y2, Y2 // x̂·s2
	VSUBPD     Y2, Y3, Y3  // (dn − s1) − x̂·s2
	VMULPD     Y11, Y3, Y3 // rs·
	VCVTPD2PSY Y3, X4

	VEXTRACTF128 $1, Y0, X0
	VEXTRACTF128 $1, Y1, X1
	VCVTPS2PD    X0, Y2      // lanes 4–7
	VCVTPS2PD    X1, Y3
	VSUBPD       Y9, Y3, Y3
	VMULPD       Y10, Y2, Y2
	VSUBPD       Y2, Y3, Y3
	VMULPD       Y11, Y3, Y3
	VCVTPD2PSY   Y3, X5
	VINSERTF128  $1, X5, Y4, Y4

	TESTQ AX, AX
	JZ    listore
	VADDPS (DI), Y4, Y4

listore:
	VMOVUPS Y4, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R8
	ADDQ    $32, DI
	DECQ    CX
	JNZ     liloop

lidone:
	VZEROUPPER
	RET
