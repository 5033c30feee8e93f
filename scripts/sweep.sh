#!/usr/bin/env bash
# sweep.sh FAMILY METHOD FLAG VALUE... — choose one setting of a recipe on the
# training domain's data only.
#
# Fine-tunes the family's pretrained model (pretrained/FAMILY) with
# recipes/FAMILY.yaml and --method METHOD at each --FLAG VALUE, validating on
# the training domain's validation split, and writes one JSON line per value
# (the value, best validation loss and its step, final validation loss and
# accuracy, median d_t and radius of the step log, wall seconds) to
# recipes/sweeps/FAMILY.jsonl for the plain optimizer's learning rate, or
# recipes/sweeps/FAMILY-METHOD-FLAG.jsonl otherwise. The recipe takes the
# value with the lowest validation loss: an in-domain number only, never an
# out-of-domain one.
set -euo pipefail
# TRAM names the tram binary (default ./bin/tram, from make build).
cd "$(dirname "$0")/.."
fam=$1 method=$2 flag=$3; shift 3
out=recipes/sweeps/$fam-$method-$flag.jsonl
[ "$flag" = lr ] && [ "$method" = "$(awk '/^method:/ {print $2}' recipes/$fam.yaml)" ] && out=recipes/sweeps/$fam.jsonl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p recipes/sweeps
: > "$out.tmp"
for v in "$@"; do
  start=$(date +%s.%N)
  "${TRAM:-./bin/tram}" finetune --config recipes/$fam.yaml --model pretrained/$fam --method "$method" --"$flag" "$v" \
    --out "$tmp/model-$v" --log "$tmp/log-$v.jsonl" --select last >/dev/null 2>"$tmp/err-$v" || { cat "$tmp/err-$v"; exit 1; }
  end=$(date +%s.%N)
  /usr/bin/env python3 - "$tmp/log-$v.jsonl" "$flag" "$v" "$start" "$end" "$method" >> "$out.tmp" <<'PY'
import json, statistics, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
evals = [r["eval"] for r in recs if "eval" in r]
steps = [r for r in recs if "eval" not in r and "loss" in r]
best = min(evals, key=lambda e: e["loss"])
last = evals[-1]
flag, v = sys.argv[2], sys.argv[3]
try:
    v = float(v)
except ValueError:
    pass
print(json.dumps({"method": sys.argv[6], flag: v, "best_valid_loss": best["loss"], "best_step": best["step"],
                  "last_valid_loss": last["loss"], "last_valid_accuracy": last.get("accuracy"), "last_step": last["step"],
                  "median_d": statistics.median(r["d"] for r in steps), "median_radius": statistics.median(r["radius"] for r in steps),
                  "wall_s": round(float(sys.argv[5]) - float(sys.argv[4]), 1)}))
PY
  tail -1 "$out.tmp"
done
mv "$out.tmp" "$out"
