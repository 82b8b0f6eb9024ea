/* benchmark.c - recall@k and ROC / precision-recall curves (npsw/benchmark.h). */
#include "npsw/benchmark.h"

#include <math.h>
#include <stdlib.h>

double npsw_recall_at_k(const uint32_t *rank, size_t n, uint32_t k)
{
    if (n == 0) return NAN;
    size_t hit = 0;
    for (size_t i = 0; i < n; i++) hit += rank[i] >= 1 && rank[i] <= k;
    return (double)hit / (double)n;
}

typedef struct scored {
    double s;
    int pos;
} scored;

static int by_score_desc(const void *a, const void *b)
{
    double x = ((const scored *)a)->s, y = ((const scored *)b)->s;
    return (x < y) - (x > y);
}

void npsw_curve_free(npsw_curve *c)
{
    if (!c) return;
    free(c->pts);
    c->pts = NULL;
    c->n_pts = 0;
}

int npsw_curve_compute(const double *score, const int *positive, size_t n, npsw_curve *c,
                       npsw_err *err)
{
    c->pts = NULL;
    c->n_pts = 0;
    c->n_pos = c->n_neg = 0;
    c->auc_roc = c->avg_precision = NAN;
    if (n == 0) return npsw_err_set(err, NPSW_EEMPTY, NULL, 0, "no scores to make a curve of");
    for (size_t i = 0; i < n; i++)
        if (isnan(score[i]))
            return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "score %zu is not a number", i + 1);
    scored *v = malloc(n * sizeof *v);
    npsw_curve_point *p = malloc((n + 1) * sizeof *p);
    if (!v || !p) {
        free(v);
        free(p);
        return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory (%zu scores)", n);
    }
    uint64_t P = 0, N = 0;
    for (size_t i = 0; i < n; i++) {
        v[i].s = score[i];
        v[i].pos = positive[i] != 0;
        P += (uint64_t)v[i].pos;
    }
    N = (uint64_t)n - P;
    qsort(v, n, sizeof *v, by_score_desc);
    size_t np = 0;
    p[np++] = (npsw_curve_point){INFINITY, 0, 0, 0, 0, 1};
    uint64_t tp = 0, fp = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j].s == v[i].s) { /* one point per distinct score: ties together */
            tp += (uint64_t)v[j].pos;
            fp += (uint64_t)!v[j].pos;
            j++;
        }
        npsw_curve_point q = {v[i].s, tp, fp, N ? (double)fp / (double)N : NAN,
                              P ? (double)tp / (double)P : NAN, (double)tp / (double)(tp + fp)};
        p[np++] = q;
        i = j;
    }
    free(v);
    double auc = 0, ap = 0;
    for (size_t i = 1; i < np; i++) {
        if (P && N) auc += (p[i].fpr - p[i - 1].fpr) * (p[i].tpr + p[i - 1].tpr) / 2;
        if (P) ap += (p[i].tpr - p[i - 1].tpr) * p[i].precision;
    }
    c->pts = p;
    c->n_pts = np;
    c->n_pos = P;
    c->n_neg = N;
    c->auc_roc = P && N ? auc : NAN;
    c->avg_precision = P ? ap : NAN;
    return 0;
}
