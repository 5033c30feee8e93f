#!/usr/bin/python3
"""Reference values for grid.Compare, grid.Holm and grid.AdjustHolm.

Writes compare_golden.json next to this script from fixed paired samples,
computed with SciPy (independently of the Go code):

  - p: scipy.stats.ttest_rel(a, b).pvalue (two-sided paired t-test);
  - p_tost: max of ttest_1samp(d, -margin, alternative='greater').pvalue
    and ttest_1samp(d, +margin, alternative='less').pvalue (Schuirmann's
    two one-sided tests), d = a - b;
  - ci_low_t_interval, ci_high_t_interval: scipy.stats.t.interval(0.95,
    n-1, mean(d), sem(d)); ci_low, ci_high: the same with its t quantile
    polished by one Newton step on scipy.stats.t.cdf (see case());
  - Holm: implemented here from the textbook definition (adjusted p_(i) =
    max_{j<=i} min(1, (m-j+1) p_(j))), cross-checked against
    statsmodels.stats.multitest.multipletests(method='holm') when
    statsmodels is installed.

Run: /usr/bin/python3 grid/testdata/gen_compare.py
"""

import json
import math
import os

import numpy as np
import scipy
from scipy import stats

ALPHA = 0.05

# Each case: name, higher (is better), metric, a and b as {seed: value}
# (in the order written; pairs are the seeds both have, in a's order).
# Margins: 0.5 points for accuracy (percent), 1% of mean(b) for perplexity.
CASES = [
    ("acc_n3_better", True, "accuracy",
     [(1, 71.2), (2, 72.0), (3, 70.8)],
     [(1, 68.1), (2, 68.9), (3, 67.5)]),
    ("acc_n3_equivalent", True, "accuracy",
     [(1, 70.0), (2, 70.5), (3, 71.0)],
     [(1, 70.05), (2, 70.45), (3, 71.02)]),
    ("acc_n3_inconclusive", True, "accuracy",
     [(1, 70.1), (2, 71.3), (3, 69.0)],
     [(1, 70.4), (2, 70.2), (3, 69.9)]),
    ("acc_n5_equivalent", True, "accuracy",
     [(1, 80.1), (2, 80.4), (3, 79.9), (4, 80.2), (5, 80.0)],
     [(1, 80.0), (2, 80.5), (3, 79.8), (4, 80.3), (5, 80.1)]),
    ("acc_n5_worse", True, "accuracy",
     [(1, 61.0), (2, 62.4), (3, 60.1), (4, 61.7), (5, 60.9)],
     [(1, 63.2), (2, 64.0), (3, 62.6), (4, 63.5), (5, 63.4)]),
    ("acc_n5_inconclusive_with_tie", True, "accuracy",
     [(1, 75.0), (2, 75.8), (3, 74.6), (4, 76.2), (5, 74.8)],
     [(1, 75.0), (2, 75.0), (3, 75.0), (4, 75.0), (5, 75.0)]),
    ("acc_n5_better_and_equivalent", True, "accuracy",
     [(1, 90.20), (2, 90.32), (3, 90.08), (4, 90.41), (5, 90.19)],
     [(1, 90.00), (2, 90.10), (3, 89.90), (4, 90.20), (5, 90.00)]),
    ("acc_n5_equivalent_only_unadjusted", True, "accuracy",
     [(1, 68.3), (2, 67.7), (3, 68.4), (4, 67.9), (5, 68.2)],
     [(1, 68.0), (2, 68.0), (3, 68.0), (4, 68.0), (5, 68.0)]),
    ("acc_mismatched_seeds", True, "accuracy",
     [(5, 66.3), (1, 65.2), (3, 65.9), (2, 66.8), (4, 65.5), (9, 10.0)],
     [(1, 65.0), (2, 66.9), (3, 65.6), (4, 65.7), (5, 66.2), (7, 99.0)]),
    ("ppl_n10_better", False, "perplexity",
     [(s, v) for s, v in enumerate(
         [19.52, 19.61, 19.48, 19.55, 19.70, 19.43, 19.58, 19.50, 19.66, 19.47], 1)],
     [(s, v) for s, v in enumerate(
         [20.01, 20.10, 19.95, 20.08, 20.12, 19.97, 20.05, 20.03, 20.15, 19.99], 1)]),
    ("ppl_n10_equivalent", False, "perplexity",
     [(s, v) for s, v in enumerate(
         [20.03, 20.06, 19.93, 20.10, 20.09, 20.01, 20.02, 20.08, 20.11, 19.97], 1)],
     [(s, v) for s, v in enumerate(
         [20.01, 20.10, 19.95, 20.08, 20.12, 19.97, 20.05, 20.03, 20.15, 19.99], 1)]),
    ("ppl_n10_worse", False, "perplexity",
     [(s, v) for s, v in enumerate(
         [20.31, 20.52, 20.20, 20.41, 20.38, 20.35, 20.22, 20.47, 20.40, 20.29], 1)],
     [(s, v) for s, v in enumerate(
         [20.01, 20.10, 19.95, 20.08, 20.12, 19.97, 20.05, 20.03, 20.15, 19.99], 1)]),
    ("acc_n10_inconclusive", True, "accuracy",
     [(s, v) for s, v in enumerate(
         [72.1, 73.4, 71.0, 72.8, 74.0, 71.5, 72.9, 73.1, 71.8, 72.6], 1)],
     [(s, v) for s, v in enumerate(
         [72.5, 72.2, 71.9, 72.0, 73.1, 72.4, 72.0, 73.9, 71.2, 72.3], 1)]),
    ("acc_n10_equivalent", True, "accuracy",
     [(s, v) for s, v in enumerate(
         [84.10, 84.32, 83.95, 84.21, 84.05, 84.40, 84.12, 83.98, 84.27, 84.15], 1)],
     [(s, v) for s, v in enumerate(
         [84.05, 84.40, 84.00, 84.10, 84.12, 84.33, 84.20, 84.01, 84.22, 84.09], 1)]),
    ("acc_n10_better_only_unadjusted", True, "accuracy",
     [(s, v) for s, v in enumerate(
         [70.9, 72.3, 70.1, 71.8, 72.5, 70.6, 71.9, 72.0, 70.4, 71.5], 1)],
     [(s, v) for s, v in enumerate(
         [70.5, 71.0, 70.6, 70.9, 71.2, 70.8, 70.7, 71.6, 69.9, 71.1], 1)]),
]

HOLM = [
    [0.01, 0.04, 0.03, None],
    [0.2, 0.001, 0.5, 0.02, 0.04],
    [0.01, 0.01, 0.02],
    [0.3, 0.6, 0.9],
    [None, None],
    [],
    [0.04],
    [0.001, 0.0005, 0.3, 0.012, 0.0, 1.0],
    [0.05, None, 0.011, 0.0125, 0.2, 0.013, None, 0.9],
]


def holm(ps):
    """Holm adjustment by the definition; None (no test) is left out."""
    live = [(p, i) for i, p in enumerate(ps) if p is not None]
    live.sort()
    m = len(live)
    out = [None] * len(ps)
    for rank, (_, i) in enumerate(live):
        out[i] = max(min(1.0, (m - j) * live[j][0]) for j in range(rank + 1))
    return out


def check_statsmodels(ps, adj):
    try:
        from statsmodels.stats.multitest import multipletests
    except ImportError:
        return False
    live = [i for i, p in enumerate(ps) if p is not None]
    if not live:
        return True
    got = multipletests([ps[i] for i in live], method="holm")[1]
    for k, i in enumerate(live):
        assert math.isclose(got[k], adj[i], rel_tol=1e-12, abs_tol=1e-15), (ps, adj)
    return True


def verdict(p, p_tost, mean, higher):
    if p is not None and p < ALPHA and mean != 0:
        return "better" if (mean > 0) == higher else "worse"
    if p_tost is not None and p_tost < ALPHA:
        return "equivalent"
    return "inconclusive"


def case(name, higher, metric, a, b):
    bd = dict(b)
    pairs = [(s, x, bd[s]) for s, x in a if s in bd]
    seeds = [s for s, _, _ in pairs]
    x = np.array([v for _, v, _ in pairs])
    y = np.array([v for _, _, v in pairs])
    d = x - y
    n = len(d)
    if metric == "accuracy":
        margin = 0.5
    else:
        margin = 0.01 * abs(float(np.mean([v for _, v in b])))
    mean = float(np.mean(d))
    sem = float(stats.sem(d))
    lo, hi = stats.t.interval(0.95, n - 1, loc=mean, scale=sem)
    # SciPy 1.10's t.ppf is good to only ~1e-10 relative (for 2 degrees of
    # freedom it is 4.302652729911275; the closed form (2p-1)/sqrt(2p(1-p))
    # gives 4.3026527297494619), so the quantile behind the interval is
    # polished with one Newton step on t.cdf, which is accurate to ~1e-16.
    q = (hi - mean) / sem
    q -= (stats.t.cdf(q, n - 1) - 0.975) / stats.t.pdf(q, n - 1)
    assert math.isclose(q * sem, hi - mean, rel_tol=1e-9)
    p = float(stats.ttest_rel(x, y).pvalue)
    p_lower = float(stats.ttest_1samp(d, -margin, alternative="greater").pvalue)
    p_upper = float(stats.ttest_1samp(d, margin, alternative="less").pvalue)
    wins = int(sum(1 for v in d if v != 0 and (v > 0) == higher))
    losses = int(sum(1 for v in d if v != 0 and (v > 0) != higher))
    ties = n - wins - losses
    return {
        "name": name,
        "metric": metric,
        "higher": higher,
        "a": {"seeds": [s for s, _ in a], "values": [v for _, v in a]},
        "b": {"seeds": [s for s, _ in b], "values": [v for _, v in b]},
        "want": {
            "n": n,
            "seeds": seeds,
            "diffs": [float(v) for v in d],
            "margin": margin,
            "b_mean": float(np.mean([v for _, v in b])),
            "diff_mean": mean,
            "ci_low": mean - q * sem,
            "ci_high": mean + q * sem,
            "ci_low_t_interval": float(lo),
            "ci_high_t_interval": float(hi),
            "p": p,
            "p_tost_lower": p_lower,
            "p_tost_upper": p_upper,
            "p_tost": max(p_lower, p_upper),
            "wins": wins,
            "losses": losses,
            "p_improve": (wins + ties / 2) / n,
            "verdict": verdict(p, max(p_lower, p_upper), mean, higher),
        },
    }


def main():
    cases = [case(*c) for c in CASES]
    ps = [c["want"]["p"] for c in cases]
    ts = [c["want"]["p_tost"] for c in cases]
    ps_holm, ts_holm = holm(ps), holm(ts)
    sm = check_statsmodels(ps, ps_holm) and check_statsmodels(ts, ts_holm)
    for c, ph, th in zip(cases, ps_holm, ts_holm):
        w = c["want"]
        w["p_holm"], w["p_tost_holm"] = ph, th
        w["verdict_holm"] = verdict(ph, th, w["diff_mean"], c["higher"])
    holms = []
    for ps in HOLM:
        adj = holm(ps)
        sm = check_statsmodels(ps, adj) and sm
        holms.append({"ps": ps, "adjusted": adj})
    out = {
        "generator": "grid/testdata/gen_compare.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "holm_checked_with_statsmodels": sm,
        "alpha": ALPHA,
        "cases": cases,
        "holm": holms,
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compare_golden.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, allow_nan=False)
        f.write("\n")
    for c in cases:
        w = c["want"]
        print(f'{c["name"]:32s} n={w["n"]:2d} d={w["diff_mean"]:+.4f} p={w["p"]:.3g} '
              f'tost={w["p_tost"]:.3g} holm={w["p_holm"]:.3g}/{w["p_tost_holm"]:.3g} '
              f'{w["verdict"]} -> {w["verdict_holm"]}')


if __name__ == "__main__":
    main()
