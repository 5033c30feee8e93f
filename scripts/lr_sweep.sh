#!/usr/bin/env bash
# lr_sweep.sh FAMILY LR... — the learning-rate choice of a family's recipe.
#
# Fine-tunes the family's pretrained model (pretrained/FAMILY) with the plain
# optimizer of recipes/FAMILY.yaml at each learning rate, validating on the
# training domain's validation split, and writes one JSON line per rate
# (lr, best validation loss and its step, final validation loss and
# accuracy, wall seconds) to recipes/sweeps/FAMILY.jsonl. The recipe takes the
# rate with the lowest validation loss: an in-domain number only, never an
# out-of-domain one.
set -euo pipefail
# TRAM names the tram binary (default ./bin/tram, from make build).
cd "$(dirname "$0")/.."
fam=$1; shift
out=recipes/sweeps/$fam.jsonl
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p recipes/sweeps
: > "$out.tmp"
method=$(awk '/^method:/ {print $2}' recipes/$fam.yaml)
for lr in "$@"; do
  start=$(date +%s.%N)
  "${TRAM:-./bin/tram}" finetune --config recipes/$fam.yaml --model pretrained/$fam --method "$method" --lr "$lr" \
    --out "$tmp/model-$lr" --log "$tmp/log-$lr.jsonl" --select last >/dev/null 2>"$tmp/err-$lr" || { cat "$tmp/err-$lr"; exit 1; }
  end=$(date +%s.%N)
  /usr/bin/env python3 - "$tmp/log-$lr.jsonl" "$lr" "$start" "$end" "$method" >> "$out.tmp" <<'PY'
import json, sys
evals = [json.loads(l)["eval"] for l in open(sys.argv[1]) if '"eval"' in l]
best = min(evals, key=lambda e: e["loss"])
last = evals[-1]
print(json.dumps({"method": sys.argv[5], "lr": float(sys.argv[2]), "best_valid_loss": best["loss"], "best_step": best["step"],
                  "last_valid_loss": last["loss"], "last_valid_accuracy": last.get("accuracy"), "last_step": last["step"],
                  "wall_s": round(float(sys.argv[4]) - float(sys.argv[3]), 1)}))
PY
  tail -1 "$out.tmp"
done
mv "$out.tmp" "$out"
