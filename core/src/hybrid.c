/* hybrid.c - hybrid (fragment + neutral-loss) similarity for a given mass difference
 * (docs/analogues.md, "Hybrid similarity"). npsw_hybrid_score() sorts candidate pairs once;
 * npsw_hybrid_score_ref() picks the best remaining pair by a full scan each time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "npsw/analogue.h"

typedef struct pair {
    double prod;
    int shifted;
    uint32_t i, j;
} pair;

static int pair_before(const pair *a, const pair *b)
{
    if (a->prod != b->prod) return a->prod > b->prod;
    if (a->shifted != b->shifted) return a->shifted < b->shifted; /* fragments first */
    if (a->i != b->i) return a->i < b->i;
    return a->j < b->j;
}

static int pair_cmp(const void *x, const void *y)
{
    const pair *a = x, *b = y;
    return pair_before(a, b) ? -1 : pair_before(b, a) ? 1 : 0;
}

static int close_enough(double mq, double ml, const npsw_score_params *p)
{
    if (p->nominal) return mq == ml;
    return fabs(mq - ml) <= p->tol_da + p->tol_ppm * 1e-6 * mq;
}

static double norm_of(const npsw_peaks *x, const npsw_score_params *p)
{
    double s = 0;
    for (uint32_t i = 0; i < x->n; i++) {
        double w = npsw_weight(x->in[i], x->mz[i], p->int_power, p->mz_power);
        s += w * w;
    }
    return s;
}

/* The cosine over the accepted pairs (mq/ml: partner or -1; sh: pair shifted). */
static void finish(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
                   const int32_t *mq, const unsigned char *sh, npsw_hybrid *out)
{
    double dot = 0, nq = norm_of(q, p), nl = norm_of(l, p);
    for (uint32_t i = 0; i < q->n; i++) {
        if (mq[i] < 0) continue;
        uint32_t j = (uint32_t)mq[i];
        dot += npsw_weight(q->in[i], q->mz[i], p->int_power, p->mz_power) *
               npsw_weight(l->in[j], l->mz[j], p->int_power, p->mz_power);
        if (sh[i]) out->n_shifted++;
        else out->n_direct++;
    }
    out->score = nq > 0 && nl > 0 ? dot / sqrt(nq * nl) : 0;
    if (out->score > 1) out->score = 1;
}

/* Partner arrays, all unpaired (-1), and the shifted flags; 0 or -1 when out of memory. */
static int pairing_new(const npsw_peaks *q, const npsw_peaks *l, int32_t **mq, int32_t **ml,
                       unsigned char **sh)
{
    *mq = malloc(q->n * sizeof **mq);
    *ml = malloc(l->n * sizeof **ml);
    *sh = calloc(q->n, 1);
    if (!*mq || !*ml || !*sh) return -1;
    for (uint32_t i = 0; i < q->n; i++) (*mq)[i] = -1;
    for (uint32_t j = 0; j < l->n; j++) (*ml)[j] = -1;
    return 0;
}

void npsw_hybrid_score(const npsw_peaks *q, const npsw_peaks *l, double delta,
                       const npsw_score_params *p, npsw_hybrid *out)
{
    memset(out, 0, sizeof *out);
    if (!q->n || !l->n) return;
    int32_t *mq, *ml;
    unsigned char *sh;
    size_t cap = 256, n = 0;
    pair *c = malloc(cap * sizeof *c);
    if (pairing_new(q, l, &mq, &ml, &sh) < 0 || !c) goto done;
    /* candidate pairs: a window around mz and around mz - delta in the sorted library */
    for (int shifted = 0; shifted <= 1; shifted++) {
        if (shifted && delta == 0) break;
        uint32_t lo = 0;
        for (uint32_t i = 0; i < q->n; i++) {
            double target = q->mz[i] - (shifted ? delta : 0);
            double t = p->nominal ? 0 : p->tol_da + p->tol_ppm * 1e-6 * q->mz[i];
            double slack = t * 1e-9 + 1e-9;
            while (lo < l->n && l->mz[lo] < target - t - slack) lo++;
            for (uint32_t j = lo; j < l->n && l->mz[j] <= target + t + slack; j++) {
                if (!close_enough(q->mz[i], l->mz[j] + (shifted ? delta : 0), p)) continue;
                if (n == cap) {
                    pair *nc = realloc(c, 2 * cap * sizeof *c);
                    if (!nc) goto done;
                    c = nc;
                    cap *= 2;
                }
                c[n++] = (pair){(double)q->in[i] * (double)l->in[j], shifted, i, j};
            }
        }
    }
    qsort(c, n, sizeof *c, pair_cmp);
    for (size_t k = 0; k < n; k++)
        if (mq[c[k].i] < 0 && ml[c[k].j] < 0) {
            mq[c[k].i] = (int32_t)c[k].j;
            ml[c[k].j] = (int32_t)c[k].i;
            sh[c[k].i] = (unsigned char)c[k].shifted;
        }
    finish(q, l, p, mq, sh, out);
done:
    free(mq);
    free(ml);
    free(sh);
    free(c);
}

void npsw_hybrid_score_ref(const npsw_peaks *q, const npsw_peaks *l, double delta,
                           const npsw_score_params *p, npsw_hybrid *out)
{
    memset(out, 0, sizeof *out);
    if (!q->n || !l->n) return;
    int32_t *mq, *ml;
    unsigned char *sh;
    if (pairing_new(q, l, &mq, &ml, &sh) < 0) goto done;
    for (;;) {
        pair best = {0, 0, 0, 0};
        int found = 0;
        for (uint32_t i = 0; i < q->n; i++) {
            if (mq[i] >= 0) continue;
            for (uint32_t j = 0; j < l->n; j++) {
                if (ml[j] >= 0) continue;
                for (int s = 0; s <= (delta != 0); s++) {
                    if (!close_enough(q->mz[i], l->mz[j] + (s ? delta : 0), p)) continue;
                    pair c = {(double)q->in[i] * (double)l->in[j], s, i, j};
                    if (!found || pair_before(&c, &best)) best = c, found = 1;
                }
            }
        }
        if (!found) break;
        mq[best.i] = (int32_t)best.j;
        ml[best.j] = (int32_t)best.i;
        sh[best.i] = (unsigned char)best.shifted;
    }
    finish(q, l, p, mq, sh, out);
done:
    free(mq);
    free(ml);
    free(sh);
}
