#!/bin/sh
# Prints the OpenBLAS core type this CPU supports (SkylakeX with AVX-512,
# Haswell with AVX2, nothing otherwise). Debian's OpenBLAS 0.3.21 misdetects
# some recent Xeons and falls back to SSE3 code unless it is told.
if grep -qw avx512f /proc/cpuinfo 2>/dev/null; then echo SkylakeX
elif grep -qw avx2 /proc/cpuinfo 2>/dev/null; then echo Haswell
fi
