#!/usr/bin/env bash
# jobs_vs_threads.sh [FAMILY] [METHOD] — which way a grid should use the cores:
# N runs side by side with 1 thread each (tram reproduce --jobs N --threads 1)
# or one run at a time with N threads (--jobs 1 --threads N).
#
# Runs the same N runs (METHOD, seeds 1…N, the family's recipe, evaluation
# included) both ways on a quiet machine and writes the wall times to
# docs/bench/jobs-vs-threads-FAMILY.json. Needs the built data (tram data
# build) and bin/tram (make build).
set -euo pipefail
cd "$(dirname "$0")/.."
fam=${1:-vision}
method=${2:-sgd}
n=$(nproc)
tram=${TRAM:-./bin/tram}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
t() { local s e; s=$(date +%s.%N); "$@" >/dev/null 2>&1; e=$(date +%s.%N); echo "$e - $s" | bc; }
side=$(t "$tram" reproduce "$fam" --methods "$method" --seeds "$n" --jobs "$n" --threads 1 --out "$tmp/side")
serial=$(t "$tram" reproduce "$fam" --methods "$method" --seeds "$n" --jobs 1 --threads "$n" --out "$tmp/serial")
mkdir -p docs/bench
cat > "docs/bench/jobs-vs-threads-$fam.json" <<JSON
{"family": "$fam", "method": "$method", "runs": $n, "cores": $n, "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')",
 "tram": "$("$tram" version 2>&1 | head -1)",
 "side_by_side_seconds": $side, "side_by_side": "--jobs $n --threads 1",
 "one_at_a_time_seconds": $serial, "one_at_a_time": "--jobs 1 --threads $n",
 "speedup_side_by_side": $(echo "scale=3; $serial / $side" | bc)}
JSON
cat "docs/bench/jobs-vs-threads-$fam.json"
