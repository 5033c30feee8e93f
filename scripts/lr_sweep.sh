#!/usr/bin/env bash
# lr_sweep.sh FAMILY LR... — the learning-rate choice of a family's recipe:
# scripts/sweep.sh with the recipe's plain optimizer and --lr (see there).
set -euo pipefail
cd "$(dirname "$0")/.."
fam=$1; shift
exec scripts/sweep.sh "$fam" "$(awk '/^method:/ {print $2}' recipes/$fam.yaml)" lr "$@"
