#!/usr/bin/env bash
# transfer.sh prints zero-shot cross-lingual transfer from an xling cell's summary.json: for the
# zero-shot row (the linear probe on the frozen encoder) and the base optimizer's fine-tuned row,
# each language's mean accuracy against English's (the training language) — the gap in points and
# the transfer ratio of accuracy above chance, (acc − chance) / (acc_en − chance), where chance is
# 100 / the number of classes (12.5% for GetText-X's 8 labels). 1 means a language gains as much as
# English; 0 means it stays at chance.
#
#   scripts/transfer.sh results/regime/xling-short10 [results/regime/xling-strong-short ...]
#   CHANCE=12.5 scripts/transfer.sh DIR      # another chance level
set -euo pipefail
chance=${CHANCE:-12.5}
for dir in "$@"; do
	s=$dir/summary.json
	[[ -f $s ]] || { echo "transfer.sh: $s not found (run tram report $dir first)" >&2; exit 1; }
	[[ $(jq -r .family "$s") == xling ]] || { echo "transfer.sh: $s is not an xling cell" >&2; exit 1; }
	echo "## $(basename "$dir")"
	echo
	echo "Accuracy in % (mean over seeds); gap = language − English in points; ratio = (acc − $chance) / (English − $chance)."
	echo
	jq -r --argjson chance "$chance" '
		def r1: . * 10 | round / 10;
		def line($row; $lang; $acc; $en):
			[$row, $lang, ($acc | r1), ($en | r1), ($acc - $en | r1), (($acc - $chance) / ($en - $chance) * 100 | round / 100)];
		.base as $base
		| .tables[0] as $t
		| ["row", "language", "accuracy", "English", "gap", "ratio"],
		  ["---", "---", "---:", "---:", "---:", "---:"],
		  ($t.rows[] | select(.row == $t.zero_shot_row or .row == $base) | . as $r
		   | $r.domains[$t.domains[0]].mean as $en
		   | (($t.ood_domains[] as $d | line($r.row; $d; $r.domains[$d].mean; $en)),
		      line($r.row; "mean of the others"; ([$t.ood_domains[] as $d | $r.domains[$d].mean] | add / length); $en)))
		| "| " + (map(tostring) | join(" | ")) + " |"' "$s"
	echo
done
