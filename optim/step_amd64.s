#include "textflag.h"

// The kernels below repeat the scalar loops of optim.go operation by
// operation (separate multiplies and adds, no FMA), so that each lane gives
// the same bits. Loads and stores are unaligned.

// func adamwAVX2(th, grad, m, v *float32, n int, decay, b1, c1, b2, c2, step, sq2, eps float32)
// th *= decay; m = b1·m + c1·g; v = b2·v + (c2·g)·g;
// th -= (step·m) / (sqrt(v)/sq2 + eps), for i < n (n a multiple of 8).
TEXT ·adamwAVX2(SB), NOSPLIT, $0-72
	MOVQ         th+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         m+16(FP), DX
	MOVQ         v+24(FP), BX
	MOVQ         n+32(FP), CX
	VBROADCASTSS decay+40(FP), Y8
	VBROADCASTSS b1+44(FP), Y9
	VBROADCASTSS c1+48(FP), Y10
	VBROADCASTSS b2+52(FP), Y11
	VBROADCASTSS c2+56(FP), Y12
	VBROADCASTSS step+60(FP), Y13
	VBROADCASTSS sq2+64(FP), Y14
	VBROADCASTSS eps+68(FP), Y15
	SHRQ         $3, CX
	JZ           adone

aloop:
	VMOVUPS (SI), Y0       // g
	VMULPS  (DI), Y8, Y1   // θ·decay
	VMULPS  (DX), Y9, Y2   // b1·m
	VMULPS  Y0, Y10, Y3    // c1·g
	VADDPS  Y3, Y2, Y2     // m = b1·m + c1·g
	VMULPS  Y0, Y12, Y4    // c2·g
	VMULPS  Y0, Y4, Y4     // (c2·g)·g
	VMULPS  (BX), Y11, Y5  // b2·v
	VADDPS  Y4, Y5, Y5     // v = b2·v + (c2·g)·g
	VMOVUPS Y2, (DX)
	VMOVUPS Y5, (BX)
	VSQRTPS Y5, Y5         // √v
	VDIVPS  Y14, Y5, Y5    // √v/sq2
	VADDPS  Y15, Y5, Y5    // d = √v/sq2 + eps
	VMULPS  Y2, Y13, Y2    // t = step·m
	VDIVPS  Y5, Y2, Y2     // t/d
	VSUBPS  Y2, Y1, Y1     // θ − t/d
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	ADDQ    $32, BX
	DECQ    CX
	JNZ     aloop

adone:
	VZEROUPPER
	RET

// func sgdAVX2(th, grad *float32, n int, lr float32)
// th -= lr·g, for i < n (n a multiple of 8).
TEXT ·sgdAVX2(SB), NOSPLIT, $0-28
	MOVQ         th+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS lr+24(FP), Y8
	SHRQ         $3, CX
	JZ           sdone

sloop:
	VMULPS  (SI), Y8, Y0 // lr·g
	VMOVUPS (DI), Y1
	VSUBPS  Y0, Y1, Y1   // θ − lr·g
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     sloop

sdone:
	VZEROUPPER
	RET

// func sgdDecayAVX2(th, grad *float32, n int, lr, wd float32)
// th -= lr·(g + wd·th), for i < n (n a multiple of 8).
TEXT ·sgdDecayAVX2(SB), NOSPLIT, $0-32
	MOVQ         th+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS lr+24(FP), Y8
	VBROADCASTSS wd+28(FP), Y9
	SHRQ         $3, CX
	JZ           wdone

wloop:
	VMOVUPS (DI), Y1
	VMULPS  Y1, Y9, Y0   // wd·θ
	VADDPS  (SI), Y0, Y0 // g + wd·θ
	VMULPS  Y0, Y8, Y0   // lr·(g + wd·θ)
	VSUBPS  Y0, Y1, Y1   // θ − lr·(g + wd·θ)
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     wloop

wdone:
	VZEROUPPER
	RET

// func sgdMomentumAVX2(th, grad, b *float32, n int, lr, wd, mu float32, first bool)
// d = g + wd·th; b = d (first) or mu·b + d; th -= lr·b, for i < n (n a
// multiple of 8).
TEXT ·sgdMomentumAVX2(SB), NOSPLIT, $0-45
	MOVQ         th+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         b+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS lr+32(FP), Y8
	VBROADCASTSS wd+36(FP), Y9
	VBROADCASTSS mu+40(FP), Y10
	MOVBLZX      first+44(FP), AX
	SHRQ         $3, CX
	JZ           mdone
	TESTQ        AX, AX
	JZ           mloop

mfirst:
	VMOVUPS (DI), Y1
	VMULPS  Y1, Y9, Y0   // wd·θ
	VADDPS  (SI), Y0, Y0 // b = d = g + wd·θ
	VMOVUPS Y0, (DX)
	VMULPS  Y0, Y8, Y0   // lr·b
	VSUBPS  Y0, Y1, Y1   // θ − lr·b
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	DECQ    CX
	JNZ     mfirst
	JMP     mdone

mloop:
	VMOVUPS (DI), Y1
	VMULPS  Y1, Y9, Y0   // wd·θ
	VADDPS  (SI), Y0, Y0 // d = g + wd·θ
	VMULPS  (DX), Y10, Y2 // mu·b
	VADDPS  Y0, Y2, Y2   // b = mu·b + d
	VMOVUPS Y2, (DX)
	VMULPS  Y2, Y8, Y2   // lr·b
	VSUBPS  Y2, Y1, Y1   // θ − lr·b
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	ADDQ    $32, DX
	DECQ    CX
	JNZ     mloop

mdone:
	VZEROUPPER
	RET
