#!/usr/bin/env bash
# time_runs.sh OUT.jsonl [REPEATS] — the core time of the recipes' single
# runs as a grid makes them (one thread): the xling recipe (the grid's
# 30-step head warm-up, 150 AdamW steps, three validations) then `tram eval` of its eight
# languages, and the lm recipe (120 AdamW steps) then `tram eval` of its eight
# domains. TRAM names the binary (default bin/tram); compare binaries by
# running this once per binary on a quiet machine (no grid beside it).
# Appends one JSON line per run: binary version, family, phase, flags, wall and
# CPU (user + system) seconds, from /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1
reps=${2:-1}
tram=${TRAM:-bin/tram}
version=$("$tram" version | head -1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export TRAM_THREADS=1
run() { # run FAMILY PHASE CMD...
	local fam=$1 phase=$2
	shift 2
	local flags="${*:3}"
	/usr/bin/time -f '%e %U %S' -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
	read -r wall user sys <"$tmp/t"
	printf '{"tram":"%s","family":"%s","phase":"%s","flags":"%s","wall_s":%s,"cpu_s":%s}\n' \
		"$version" "$fam" "$phase" "$flags" "$wall" "$(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" | tee -a "$out"
}
for rep in $(seq "$reps"); do
	for fam in xling lm; do
		rm -rf "$tmp/$fam" "$tmp/$fam.partial"
		extra=()
		[ "$fam" = xling ] && extra=(--head-warmup 30) # as `tram reproduce xling` runs it
		run "$fam" train "$tram" finetune --config "recipe:$fam" --model "pretrained/$fam" --out "$tmp/$fam" --method adamw --seed "$rep" "${extra[@]}"
		run "$fam" eval "$tram" eval --model "$tmp/$fam" --json "$tmp/$fam.eval.json"
	done
done
