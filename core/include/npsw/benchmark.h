/* npsw/benchmark.h - the measures of `npswatch bench` (docs/cli.md "bench", bench/README.md):
 * top-k recall from the ranks of the first correct hit, and the ROC and precision-recall curves
 * of a binary decision made by thresholding a score, with their areas.
 *
 *     npsw_curve c;
 *     rc = npsw_curve_compute(score, is_positive, n, &c, &err);   // c.auc_roc, c.avg_precision
 *     npsw_curve_free(&c);
 *
 * Pure computation on arrays; nothing here reads files or keeps state.
 */
#ifndef NPSW_BENCHMARK_H
#define NPSW_BENCHMARK_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Share of the n queries whose first correct hit has a rank in 1..k (rank[i] == 0: no correct
 * hit in the list). Queries without a correct answer in the library must not be passed: the
 * caller chooses the denominator. NaN when n == 0. */
double npsw_recall_at_k(const uint32_t *rank, size_t n, uint32_t k);

/* One point of the curves: the decision "positive" for every score >= threshold. */
typedef struct npsw_curve_point {
    double threshold;  /* +inf for the first point (nothing called positive) */
    uint64_t tp, fp;   /* positives and negatives at or above the threshold */
    double fpr, tpr;   /* fp / negatives, tp / positives (ROC) */
    double precision;  /* tp / (tp + fp); 1 at the first point by convention */
} npsw_curve_point;

typedef struct npsw_curve {
    npsw_curve_point *pts; /* n_pts points, thresholds descending; the first is (0, 0) */
    size_t n_pts;
    uint64_t n_pos, n_neg;
    /* Area under the ROC curve by the trapezoid rule over the points (tied scores form one
     * point, so a tie between a positive and a negative counts one half: this equals the
     * Mann-Whitney probability that a random positive scores above a random negative, ties
     * counted 1/2). NaN when there are no positives or no negatives. */
    double auc_roc;
    /* Average precision: sum over the points of (recall_i - recall_{i-1}) * precision_i (the
     * step-wise area under the precision-recall curve, no interpolation). NaN when there is no
     * positive. */
    double avg_precision;
} npsw_curve;

/* The curves of scores[0..n) (higher = more likely positive) against positive[0..n) (0/1).
 * NaN scores are refused (NPSW_EINVAL naming the index); n == 0 gives NPSW_EEMPTY. */
int npsw_curve_compute(const double *score, const int *positive, size_t n, npsw_curve *c,
                       npsw_err *err) NPSW_WUR;
void npsw_curve_free(npsw_curve *c);

#ifdef __cplusplus
}
#endif
#endif
