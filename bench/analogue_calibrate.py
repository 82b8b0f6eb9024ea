#!/usr/bin/env python3
"""Calibrate and evaluate the analogue analysis (docs/analogues.md, "Calibration").

usage: analogue_calibrate.py ROWS.tsv [--write-c core/src/calibration.c] [--source TEXT]

ROWS.tsv comes from bench/npsw_analogue_eval (one row per held-out query with its features and
truth). Three logistic regressions are fitted (plain Python, Newton/IRLS with a small ridge on
standardised features):
  in_library  P(substance in library)            on id_score id_mf id_rmf an_score an_gain
                                                 an_explained, all rows
  analogue    P(a relative in library | not in)  on the analogue features and whether the
                                                 predicted class is a drug class, rows truth_in = 0
  class       P(predicted class right)           on class_share class_top, all rows
The verdict models weigh both outcomes equally (their probabilities hold for a 1:1 prior of
in-library and not-in-library queries, not for this evaluation's mix); the class model is fitted
as observed. Reported figures are out-of-fold (5 folds grouped by compound, so no compound is in the
training and the test fold at once): ROC AUC, Brier score, a reliability table, verdict
accuracy, class accuracy per class, and the share of true substituent changes among the top 3
hypotheses. With --write-c the models fitted on all rows are written as C coefficients.
Standard library only (no NumPy), so it runs on a bare Debian python3.
"""
import csv
import math
import sys
import zlib
from collections import Counter, defaultdict

FEATURES = ["id_score", "id_mf", "id_rmf", "an_score", "an_gain", "an_explained", "an_shift",
            "an_shifted_share", "class_share", "class_top", "class_drug", "class_drug_share"]
MODELS = {
    "in": ["id_score", "id_mf", "id_rmf", "an_score", "an_gain", "an_explained"],
    "an": ["an_score", "an_gain", "an_explained", "an_shift", "an_shifted_share", "id_score",
           "class_drug", "class_drug_share"],
    "cl": ["class_share", "class_top"],
}
FOLDS = 5
RIDGE = 1e-3


def solve(a, b):
    """Solve a x = b (small dense system) by Gaussian elimination with partial pivoting."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        if abs(m[c][c]) < 1e-300:
            continue
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                for k in range(c, n + 1):
                    m[r][k] -= f * m[c][k]
    return [m[i][n] / m[i][i] if abs(m[i][i]) > 1e-300 else 0.0 for i in range(n)]


def sigmoid(z):
    if z < -700:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


def fit(x, y, balanced=True):
    """Logistic regression; returns (b0, w) on the raw feature scale. balanced: weight the rows
    so that both outcomes weigh the same (the probabilities are then for a 1:1 prior)."""
    d = len(x[0])
    npos = sum(1 for v in y if v)
    nneg = len(y) - npos
    if balanced and npos and nneg:
        sw = [len(y) / (2.0 * npos) if v else len(y) / (2.0 * nneg) for v in y]
    else:
        sw = [1.0] * len(y)
    mean = [sum(r[j] for r in x) / len(x) for j in range(d)]
    sd = [math.sqrt(sum((r[j] - mean[j]) ** 2 for r in x) / len(x)) or 1.0 for j in range(d)]
    z = [[1.0] + [(r[j] - mean[j]) / sd[j] for j in range(d)] for r in x]
    beta = [0.0] * (d + 1)
    for _ in range(50):
        h = [[0.0] * (d + 1) for _ in range(d + 1)]
        g = [0.0] * (d + 1)
        for zi, yi, si in zip(z, y, sw):
            p = sigmoid(sum(b * v for b, v in zip(beta, zi)))
            w = si * max(p * (1 - p), 1e-9)
            for a in range(d + 1):
                g[a] += si * (yi - p) * zi[a]
                for b in range(a, d + 1):
                    h[a][b] += w * zi[a] * zi[b]
        for a in range(d + 1):
            for b in range(a):
                h[a][b] = h[b][a]
            if a:
                h[a][a] += RIDGE * len(x)
                g[a] -= RIDGE * len(x) * beta[a]
        step = solve(h, g)
        beta = [b + s for b, s in zip(beta, step)]
        if max(abs(s) for s in step) < 1e-8:
            break
    w = [beta[j + 1] / sd[j] for j in range(d)]
    b0 = beta[0] - sum(w[j] * mean[j] for j in range(d))
    return b0, w


def predict(model, r):
    b0, w, names = model
    return sigmoid(b0 + sum(wi * r[n] for wi, n in zip(w, names)))


def auc(scores, labels):
    pos = [s for s, l in zip(scores, labels) if l]
    neg = [s for s, l in zip(scores, labels) if not l]
    if not pos or not neg:
        return float("nan")
    ranked = sorted((s, l) for s, l in zip(scores, labels))
    # rank-sum with average ranks for ties
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        avg = (i + j + 1) / 2.0
        rank_sum += avg * sum(1 for k in range(i, j) if ranked[k][1])
        i = j
    return (rank_sum - len(pos) * (len(pos) + 1) / 2.0) / (len(pos) * len(neg))


def brier(p, y):
    return sum((a - b) ** 2 for a, b in zip(p, y)) / len(p)


def reliability(p, y, bins=5, balanced=True):
    """Predicted vs observed per bin; balanced: outcomes weighted to a 1:1 prior, as fitted."""
    npos = sum(1 for v in y if v)
    nneg = len(y) - npos
    wpos = len(y) / (2.0 * npos) if balanced and npos and nneg else 1.0
    wneg = len(y) / (2.0 * nneg) if balanced and npos and nneg else 1.0
    head = "observed (1:1 prior)" if balanced else "observed"
    lines = [f"| predicted | n | {head} |", "|---|---|---|"]
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        sel = [yy for pp, yy in zip(p, y) if lo <= pp < hi or (b == bins - 1 and pp == 1.0)]
        if sel:
            w = [wpos if v else wneg for v in sel]
            obs = sum(wi for wi, v in zip(w, sel) if v) / sum(w)
            lines.append(f"| {lo:.1f}-{hi:.1f} | {len(sel)} | {obs:.3f} |")
    return "\n".join(lines)


def fold_of(key):
    return zlib.crc32(key.encode()) % FOLDS


def out_of_fold(rows, names, label, balanced=True):
    """Out-of-fold probabilities for rows (grouped folds by compound key)."""
    p = [0.0] * len(rows)
    for f in range(FOLDS):
        train = [r for r in rows if fold_of(r["key"]) != f]
        b0, w = fit([[r[n] for n in names] for r in train], [r[label] for r in train], balanced)
        for i, r in enumerate(rows):
            if fold_of(r["key"]) == f:
                p[i] = predict((b0, w, names), r)
    return p


def main():
    args = sys.argv[1:]
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    path, out_c, source = args[0], None, "bench/analogue_calibrate.py"
    if "--write-c" in args:
        out_c = args[args.index("--write-c") + 1]
    if "--source" in args:
        source = args[args.index("--source") + 1]
    rows = list(csv.DictReader(open(path, newline=""), delimiter="\t"))
    for r in rows:
        for n in FEATURES + ["truth_in", "truth_analogue", "truth_isomer", "class_correct",
                             "analogue_related", "subst_true_in_top3", "best_is_isomer"]:
            r[n] = float(r[n])
    kinds = Counter(r["kind"] for r in rows)
    print(f"# Analogue analysis: held-out evaluation\n\nrows: {len(rows)} ({dict(kinds)})\n")

    # in_library model, out of fold
    p_in = out_of_fold(rows, MODELS["in"], "truth_in")
    y_in = [r["truth_in"] for r in rows]
    print("## in_library vs not (leave-compound-out 'out' against 'in' + 'mb')\n")
    print(f"- ROC AUC of P(in library), out of fold: {auc(p_in, y_in):.3f}")
    noiso = [i for i, r in enumerate(rows) if not (r["kind"] == "out" and r["truth_isomer"])]
    print(f"- the same without the 'out' queries whose isomer (same formula) stays in the library "
          f"({len(rows) - len(noiso)} removed): "
          f"{auc([p_in[i] for i in noiso], [y_in[i] for i in noiso]):.3f}")
    print(f"- ROC AUC of the best identity score alone: "
          f"{auc([r['id_score'] for r in rows], y_in):.3f}")
    print(f"- Brier score: {brier(p_in, y_in):.3f}\n")
    print(reliability(p_in, y_in) + "\n")

    # analogue model on queries not in the library
    notin = [r for r in rows if not r["truth_in"]]
    p_an = out_of_fold(notin, MODELS["an"], "truth_analogue")
    y_an = [r["truth_analogue"] for r in notin]
    print("## analogue vs unknown (queries not in the library)\n")
    print(f"- truth: a compound one table change away remains in the library: "
          f"{int(sum(y_an))} of {len(y_an)}")
    print(f"- ROC AUC of P(analogue | not in library), out of fold: {auc(p_an, y_an):.3f}")
    print(f"- Brier score: {brier(p_an, y_an):.3f}\n")
    print(reliability(p_an, y_an) + "\n")

    # verdicts from the out-of-fold probabilities
    p_an_all = {}
    for r, p in zip(notin, p_an):
        p_an_all[id(r)] = p
    an_model_all = fit([[r[n] for n in MODELS["an"]] for r in notin], y_an)
    right = Counter()
    total = Counter()
    for r, pin in zip(rows, p_in):
        pan = p_an_all.get(id(r))
        if pan is None:
            pan = predict((an_model_all[0], an_model_all[1], MODELS["an"]), r)
        pa, pu = (1 - pin) * pan, (1 - pin) * (1 - pan)
        verdict = "in_library" if pin >= pa and pin >= pu else "analogue" if pa >= pu else "unknown"
        truth = ("in_library" if r["truth_in"] else
                 "analogue" if r["truth_analogue"] else "unknown")
        total[truth] += 1
        right[truth] += verdict == truth
    print("## verdict accuracy (out of fold)\n")
    print("| truth | queries | right |\n|---|---|---|")
    for t in ("in_library", "analogue", "unknown"):
        if total[t]:
            print(f"| {t} | {total[t]} | {right[t] / total[t]:.3f} |")
    print()

    # class
    p_cl = out_of_fold(rows, MODELS["cl"], "class_correct", balanced=False)
    y_cl = [r["class_correct"] for r in rows]
    print("## drug class\n")
    print(f"- ROC AUC of class_confidence for 'predicted class right', out of fold: "
          f"{auc(p_cl, y_cl):.3f}; Brier {brier(p_cl, y_cl):.3f}\n")
    per = defaultdict(lambda: [0, 0, 0, 0])  # queries, right, out queries, out right
    for r in rows:
        c = r["query_class"]
        per[c][0] += 1
        per[c][1] += r["class_correct"] > 0
        if r["kind"] == "out":
            per[c][2] += 1
            per[c][3] += r["class_correct"] > 0
    print("| class (from names) | queries | right | left-out queries | right |\n|---|---|---|---|---|")
    for c in sorted(per, key=lambda c: -per[c][0]):
        q, ok, qo, oko = per[c]
        print(f"| {c} | {q} | {ok / q:.3f} | {qo} | {oko / qo if qo else float('nan'):.3f} |")
    print()

    # substituents
    rel = [r for r in rows if r["kind"] == "out" and r["analogue_related"] == 1]
    withan = [r for r in rows if r["kind"] == "out" and r["analogue_related"] >= 0]
    print("## analogue and substituents (leave-compound-out queries)\n")
    print(f"- queries with a reported analogue: {len(withan)}; the analogue is a table relative "
          f"(one or two changes): {len(rel)}")
    if rel:
        print(f"- the true formula change is among the top 3 substituent hypotheses: "
              f"{sum(r['subst_true_in_top3'] for r in rel) / len(rel):.3f}")
    print()

    if out_c:
        models = {}
        for name, label, subset in (("in", "truth_in", rows), ("an", "truth_analogue", notin),
                                    ("cl", "class_correct", rows)):
            b0, w = fit([[r[n] for n in MODELS[name]] for r in subset], [r[label] for r in subset],
                        name != "cl")
            full = [0.0] * len(FEATURES)
            for wi, n in zip(w, MODELS[name]):
                full[FEATURES.index(n)] = wi
            models[name] = (b0, full)
        write_c(out_c, models, source, len(rows))
        print(f"wrote {out_c}", file=sys.stderr)
    return 0


def write_c(path, models, source, nrows):
    def arr(w):
        return ", ".join(f"{x:.6g}" for x in w)

    text = f"""/* calibration.c - coefficients of the calibrated models (calibration.h).
 *
 * GENERATED by bench/analogue_calibrate.py; do not edit by hand. Re-fit with
 *   bash bench/analogue_eval.sh --write-c
 * (see docs/analogues.md, "Calibration").
 */
#include <math.h>

#include "calibration.h"

static const char source[] = "{source}; {nrows} held-out queries";

/* feature order: {' '.join(FEATURES)} */
#define NF {len(FEATURES)}
static const double in_b0 = {models['in'][0]:.6g};
static const double in_w[NF] = {{{arr(models['in'][1])}}};
static const double an_b0 = {models['an'][0]:.6g};
static const double an_w[NF] = {{{arr(models['an'][1])}}};
static const double cl_b0 = {models['cl'][0]:.6g};
static const double cl_w[NF] = {{{arr(models['cl'][1])}}};

static double logistic(double b0, const double *w, const npsw_analysis_features *f)
{{
    const double x[NF] = {{{", ".join("f->" + n for n in FEATURES)}}};
    double z = b0;
    for (int i = 0; i < NF; i++) z += w[i] * x[i];
    return 1 / (1 + exp(-z));
}}

double npsw_cal_p_in_library(const npsw_analysis_features *f) {{ return logistic(in_b0, in_w, f); }}
double npsw_cal_p_analogue(const npsw_analysis_features *f) {{ return logistic(an_b0, an_w, f); }}
double npsw_cal_p_class(const npsw_analysis_features *f) {{ return logistic(cl_b0, cl_w, f); }}
const char *npsw_calibration_source(void) {{ return source; }}
"""
    with open(path, "w") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())
