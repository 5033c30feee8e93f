#!/usr/bin/env bash
# Runs the PyTorch anchor and tram's benchmark back to back on the same
# machine and writes the raw JSON lines, the environment and a Markdown table
# of the ratios into OUT (default docs/bench/latest).
#
#   scripts/bench_report.sh [OUT] [SECONDS]
#
# The anchor is scripts/torch_anchor.py (ANCHOR=path overrides it). It needs
# Debian's python3-torch (skipped, and said so, without it). TRAM=path
# benchmarks that binary instead of building bin/tram from this checkout
# (keep a grid's pinned bin/tram untouched).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-docs/bench/latest}
secs=${2:-5}
anchor=${ANCHOR:-scripts/torch_anchor.py}
mkdir -p "$out"
tram=${TRAM:-}
if [ -z "$tram" ]; then
  go build -buildvcs=auto -o bin/tram ./cmd/tram
  tram=bin/tram
fi
{
  echo "commit: $(git rev-parse HEAD)$(git diff --quiet || echo ' (with uncommitted changes)')"
  echo "date: $(date -u +%FT%TZ)"
  echo "command: scripts/bench_report.sh $out $secs"
  echo "anchor: $anchor"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $(nproc) cores"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$tram" version
} > "$out/env.txt"
methods=sgd,adamw,sam,tram
workloads=mlp,gpt,cnn,bert
if /usr/bin/python3 -c 'import torch' 2>/dev/null && [ -f "$anchor" ]; then
  /usr/bin/python3 "$anchor" --threads 2 --only "$workloads" --methods "$methods" --seconds "$secs" 2>/dev/null > "$out/torch.jsonl"
  # Debian's OpenBLAS 0.3.21 (PyTorch's BLAS here) misdetects some Xeons as
  # "Prescott" and runs SSE3 code; naming the core type makes PyTorch 2-3x
  # faster. Ratios use the faster of the two anchor runs.
  OPENBLAS_CORETYPE=$(scripts/openblas_coretype.sh) /usr/bin/python3 "$anchor" --threads 2 --only "$workloads" --methods "$methods" --seconds "$secs" 2>/dev/null > "$out/torch-coretype.jsonl"
else
  echo "PyTorch anchor not available: python3-torch or $anchor missing" | tee -a "$out/env.txt"
  : > "$out/torch.jsonl"
fi
"$tram" bench --json --threads 2 --only "$workloads" --methods "$methods" --seconds "$secs" > "$out/tram.jsonl"
for be in avx2 openblas; do
  TRAM_BLAS=$be "$tram" bench --json --threads 2 --only "$workloads" --methods "$methods" --seconds "$secs" > "$out/tram-$be.jsonl" 2>/dev/null || rm -f "$out/tram-$be.jsonl"
done
all=adamw,sam,asam,fsam,tram-theta0,tram-prev,tram-ema,tram-x,tram-fisher,trpo,r3f,mesa,asam+trpo
"$tram" bench --json --threads 2 --only gpt --methods "$all" --seconds "$secs" > "$out/tram-all-methods.jsonl"
go test -run '^$' -bench 'BenchmarkSgemm$' -benchtime 20x ./internal/gemm > "$out/gemm.txt" 2>&1 || true
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$out/env.txt"
python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
def load(name):
    p = os.path.join(out, name)
    if not os.path.exists(p):
        return {}
    rows = [json.loads(l) for l in open(p) if l.strip()]
    return {(r["workload"], r["method"]): r for r in rows}
torch = load("torch.jsonl")
for k, v in load("torch-coretype.jsonl").items():
    if k not in torch or v["ms_per_step"] < torch[k]["ms_per_step"]:
        torch[k] = v
runs = []
for f in sorted(os.listdir(out)):
    if f.startswith("tram") and f.endswith(".jsonl") and f != "tram-all-methods.jsonl":
        r = load(f)
        be = next(iter(r.values()), {}).get("backend", "?")
        runs.append((be + (" (default)" if f == "tram.jsonl" else ""), r))
lines = ["| workload | method | PyTorch ms | " + " | ".join(f"tram {b} ms (ratio)" for b, _ in runs) + " | allocs/step |", "|---" * (4 + len(runs)) + "|"]
for key in sorted(set().union(*[set(r) for _, r in runs]), key=lambda k: (k[0], ["sgd", "adamw", "sam", "tram"].index(k[1]) if k[1] in ["sgd","adamw","sam","tram"] else 9)):
    t = torch.get(key, {}).get("ms_per_step")
    cells = []
    for _, r in runs:
        m = r.get(key, {}).get("ms_per_step")
        cells.append("—" if m is None else (f"{m:.1f} ({m/t:.2f}×)" if t else f"{m:.1f}"))
    allocs = runs[0][1].get(key, {}).get("allocs_per_step", 0)
    lines.append(f"| {key[0]} | {key[1]} | {t if t else '—'} | " + " | ".join(cells) + f" | {allocs:.0f} |")
allm = load("tram-all-methods.jsonl")
if allm:
    base = allm.get(("gpt", "adamw"), {}).get("ms_per_step")
    lines += ["", "Every method on the gpt workload (tram, default backend):", "", "| method | ms/step | × adamw |", "|---|---|---|"]
    for (w, m), r in allm.items():
        lines.append(f"| {m} | {r['ms_per_step']:.1f} | {r['ms_per_step']/base:.2f} |" if base else f"| {m} | {r['ms_per_step']:.1f} | — |")
open(os.path.join(out, "README.md"), "w").write("# Benchmark report\n\nRaw outputs beside this file; environment in env.txt.\nRatio = tram / PyTorch in the same run (lower is better); PyTorch is the faster of its runs with\nthe default environment and with OPENBLAS_CORETYPE naming the CPU's core (torch*.jsonl).\nThe PyTorch anchor is scripts/torch_anchor.py: the shapes and methods of `tram bench`.\n\n" + "\n".join(lines) + "\n")
print("\n".join(lines))
PY
