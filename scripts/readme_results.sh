#!/usr/bin/env bash
# readme_results.sh — rewrite the README's results block (between the
# "results:begin" and "results:end" markers) from the committed grids in
# results/{vision,lm,xling}: each family's headline table (tram report) and
# the verdict on each of the paper's claims, so that no number in it is typed
# by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
tram=${TRAM:-./bin/tram}
block=$(mktemp)
trap 'rm -f "$block" "$block".*' EXIT
fams=()
for fam in vision lm xling; do
  ls results/$fam/runs/*.json >/dev/null 2>&1 && fams+=("$fam")
done
{
  echo "<!-- results:begin (scripts/readme_results.sh writes this block from results/*; do not edit by hand) -->"
  for fam in "${fams[@]}"; do
    "$tram" report "results/$fam" --claims > "$block.$fam" 2> "$block.$fam.err"
    echo
    echo "#### $fam — [report](results/$fam/report.md) · [raw runs](results/$fam/runs)"
    if grep -q "^partial:" "$block.$fam"; then
      echo
      echo "*$(grep -m1 "^partial:" "$block.$fam" | sed 's/^partial: /Partial grid: /') so far; the grid is resumable, and the runs not done yet are missing below.*"
    fi
    echo
    sed -n '/^Training domain/,/^claim 1:/p' "$block.$fam" | grep -v '^claim 1:'
  done
  echo
  echo "Verdicts on the paper's claims (\`tram report DIR --claims\` gives the numbers behind each):"
  echo
  printf '| claim |'; for fam in "${fams[@]}"; do printf ' %s |' "$fam"; done; echo
  printf '|---|'; for fam in "${fams[@]}"; do printf -- '---|'; done; echo
  for n in 1 2 3 4 5 6 7 8 9; do
    title=$(grep -m1 "^| $n | " "results/${fams[0]}/report.md" | cut -d'|' -f3 | sed 's/^ //; s/ $//')
    printf '| %s. %s |' "$n" "$title"
    for fam in "${fams[@]}"; do
      printf ' %s |' "$(grep -m1 "^claim $n:" "$block.$fam" | sed -E "s/^claim $n: ([^:]+):.*/\1/")"
    done
    echo
  done
  echo
  echo "<!-- results:end -->"
} > "$block"
# The regime study's cross-cell table (docs/REPRODUCE.md, "The regime study"):
# tram report --cross over every finished cell in results/regime/, in the priority order of
# scripts/regime.sh (cells it does not name follow, alphabetically).
cells=()
for name in $(sed -n 's/^\t"\([a-z0-9.-]*\) [0-9a-f]\{40\}"$/\1/p' scripts/regime.sh) $(ls results/regime); do
  d=results/regime/$name
  [ "$name" = cross ] && continue
  [[ " ${cells[*]} " == *" $d "* ]] && continue
  ls "$d"/runs/*.json >/dev/null 2>&1 && [ -f "$d"/summary.json ] && cells+=("$d")
done
{
  echo "<!-- regime:begin (scripts/readme_results.sh writes this block from results/regime/*; do not edit by hand) -->"
  if [ ${#cells[@]} -gt 0 ]; then
    "$tram" report --cross results/regime/cross "${cells[@]}" > /dev/null
    echo
    echo "Cells (reports): $(for c in "${cells[@]}"; do printf '[%s](%s/report.md) ' "$(basename "$c")" "$c"; done)· [cross-cell report](results/regime/cross/cross.md)"
    echo
    sed -n '/^| claim/,/^$/p' results/regime/cross/cross.md
    echo "![the best TRAM row's paired OOD advantage over the base optimizer, ASAM and the best robust baseline, cell by cell, in units of each cell's equivalence margin](results/regime/cross/plots/advantage.svg)"
    echo
  else
    echo
    echo "*No cell of the regime study has finished yet.*"
    echo
  fi
  echo "<!-- regime:end -->"
} > "$block.regime"
python3 - "$block" "$block.regime" <<'PY'
import re, sys
readme = open("README.md").read()
for path, name in ((sys.argv[1], "results"), (sys.argv[2], "regime")):
    block = open(path).read().rstrip("\n")
    pat = re.compile(r"<!-- %s:begin.*?<!-- %s:end -->" % (name, name), re.S)
    if not pat.search(readme):
        sys.exit("README.md has no %s block (<!-- %s:begin --> … <!-- %s:end -->)" % (name, name, name))
    readme = pat.sub(lambda m: block, readme)
open("README.md", "w").write(readme)
PY
echo "README.md results block rewritten from: ${fams[*]}; regime cells: ${cells[*]:-none}"
