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
