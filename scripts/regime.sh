#!/usr/bin/env bash
# regime.sh runs the regime study's cells (docs/REPRODUCE.md, "The regime study") one after
# another, in the issue's priority order, each with the binary of the commit it is pinned to, so
# that every record of a cell names one code version that exists. Every step resumes: a cell
# whose report is committed (results/regime/NAME/report.md tracked by git) is finished and skipped,
# so its report, rendered by the current binary, is left alone; in a cell under way the finished
# runs are skipped (tram reproduce finds their records), an interrupted run continues
# from its snapshot, an interrupted pretraining from OUT.partial. Stop it with Ctrl-C (or
# `pkill -INT -f 'tram-.* reproduce'`): runs snapshot and the next start picks them up.
#
#   scripts/regime.sh            run every cell not yet complete
#   scripts/regime.sh --dry-run  print what would run
#   JOBS=2 scripts/regime.sh     runs side by side (default 2: one per core of this machine)
#
# A cell's binary is bin/tram-COMMIT, built once from a clean clone of this repository at COMMIT
# (go build -buildvcs=auto, so the binary knows its commit and tram reproduce accepts it).
# Change a cell's commit only before its first record exists.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=${JOBS:-2}
dry=false
[[ ${1:-} == --dry-run ]] && dry=true

# The cells in priority order (scripts/readme_results.sh lists them in this order too):
# NAME (studies/NAME.yaml, results in results/regime/NAME) and the commit its runs are made at.
cells=(
	"lm-long 17a1437e7aae0e9f5175e73a7d1b6c514c237f0e"
	"lm-broad-long 4201d39cc30c50512f59afa8dd5e5a0d95354be5"
	"vision-short10 aac83a8c5d8c8f0aed0a26ba3359ea7d63ff572d"
	"lm-short10 4201d39cc30c50512f59afa8dd5e5a0d95354be5"
	"xling-short10 4201d39cc30c50512f59afa8dd5e5a0d95354be5"
	"vision-long 4201d39cc30c50512f59afa8dd5e5a0d95354be5"
	"xling-strong-short 4201d39cc30c50512f59afa8dd5e5a0d95354be5"
)

run() {
	echo "+ $*" >&2
	$dry || "$@"
}

# binary COMMIT prints the path of bin/tram-COMMIT, building it first if needed.
binary() {
	local commit=$1 bin=$root/bin/tram-${1:0:12}
	if [[ ! -x $bin ]]; then
		local tmp
		tmp=$(mktemp -d)
		run git clone -q "$root" "$tmp/src"
		run git -C "$tmp/src" checkout -q "$commit"
		$dry || (cd "$tmp/src" && GOFLAGS= go build -buildvcs=auto -o "$bin" ./cmd/tram)
		rm -rf "$tmp"
	fi
	echo "$bin"
}

for cell in "${cells[@]}"; do
	read -r name commit <<<"$cell"
	if git ls-files --error-unmatch "results/regime/$name/report.md" >/dev/null 2>&1; then
		echo "# $name: finished (its report is committed), skipped" >&2
		continue
	fi
	bin=$(binary "$commit")
	if [[ $name == xling-strong-short && ! -f pretrained/xling-strong/model.safetensors ]]; then
		# Cell 5's encoder: 4x the pretraining compute of pretrained/xling (2500 steps).
		TRAM_THREADS=2 run "$bin" pretrain xling --steps 10000 --out pretrained/xling-strong
	fi
	run "$bin" reproduce --study "studies/$name.yaml" --out "results/regime/$name" --jobs "$jobs"
done
