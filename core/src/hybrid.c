/* hybrid.c - hybrid (fragment + neutral-loss) similarity for a given mass difference
 * (docs/analogues.md, "Hybrid similarity"). npsw_hyb_score() collects the candidate pairs into
 * caller scratch and sorts them once (npsw_hybrid_score() is it with its own scratch and
 * weights); npsw_hyb_score_nominal() gives the same result without sorting when both spectra
 * have one peak per whole-number m/z (the search uses it); npsw_hybrid_score_ref() picks the
 * best remaining pair by a full scan each time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hybrid_internal.h"

typedef npsw_hyb_pair pair;

static int pair_before(const pair *a, const pair *b)
{
    if (a->prod != b->prod) return a->prod > b->prod;
    if (a->shifted != b->shifted) return a->shifted < b->shifted; /* fragments first */
    if (a->i != b->i) return a->i < b->i;
    return a->j < b->j;
}

static int close_enough(double mq, double ml, const npsw_score_params *p)
{
    if (p->nominal) return mq == ml;
    return fabs(mq - ml) <= p->tol_da + p->tol_ppm * 1e-6 * mq;
}

void npsw_hyb_weights(const npsw_peaks *x, const npsw_score_params *p, double *w, double *norm2)
{
    double s = 0;
    for (uint32_t i = 0; i < x->n; i++) {
        w[i] = npsw_weight(x->in[i], x->mz[i], p->int_power, p->mz_power);
        s += w[i] * w[i];
    }
    *norm2 = s;
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

/* The cosine over the accepted pairs (mq: partner or -1; sh: pair shifted); wq, wl: weights. */
static void finish(const npsw_peaks *q, const double *wq, double nq, const double *wl, double nl,
                   const int32_t *mq, const unsigned char *sh, npsw_hybrid *out)
{
    double dot = 0;
    for (uint32_t i = 0; i < q->n; i++) {
        if (mq[i] < 0) continue;
        dot += wq[i] * wl[mq[i]];
        if (sh[i]) out->n_shifted++;
        else out->n_direct++;
    }
    out->score = nq > 0 && nl > 0 ? dot / sqrt(nq * nl) : 0;
    if (out->score > 1) out->score = 1;
}

void npsw_hyb_scratch_free(npsw_hyb_scratch *s)
{
    if (!s) return;
    free(s->c);
    free(s->tmp);
    free(s->mq);
    free(s->ml);
    free(s->sh);
    free(s->jd);
    free(s->js);
    free(s->qd);
    free(s->qs);
    free(s->st);
    free(s->stk);
    free(s->pd);
    free(s->ps);
    memset(s, 0, sizeof *s);
}

/* Per-peak arrays for spectra of up to nq query and nl library peaks. */
static int alloc_peaks(npsw_hyb_scratch *s, uint32_t nq, uint32_t nl)
{
    size_t a = (size_t)nq + 1, b = (size_t)nl + 1;
    int32_t *mq = realloc(s->mq, a * sizeof *mq);
    if (mq) s->mq = mq;
    unsigned char *sh = realloc(s->sh, a);
    if (sh) s->sh = sh;
    uint32_t *jd = realloc(s->jd, a * sizeof *jd);
    if (jd) s->jd = jd;
    uint32_t *js = realloc(s->js, a * sizeof *js);
    if (js) s->js = js;
    unsigned char *st = realloc(s->st, 2 * a);
    if (st) s->st = st;
    uint32_t *stk = realloc(s->stk, 2 * a * sizeof *stk);
    if (stk) s->stk = stk;
    double *pd = realloc(s->pd, a * sizeof *pd);
    if (pd) s->pd = pd;
    double *ps = realloc(s->ps, a * sizeof *ps);
    if (ps) s->ps = ps;
    int32_t *ml = realloc(s->ml, b * sizeof *ml);
    if (ml) s->ml = ml;
    uint32_t *qd = realloc(s->qd, b * sizeof *qd);
    if (qd) s->qd = qd;
    uint32_t *qs = realloc(s->qs, b * sizeof *qs);
    if (qs) s->qs = qs;
    if (!mq || !sh || !jd || !js || !st || !stk || !pd || !ps || !ml || !qd || !qs)
        return NPSW_ENOMEM;
    s->max_q = nq;
    s->max_l = nl;
    return 0;
}

int npsw_hyb_scratch_init(npsw_hyb_scratch *s, uint32_t max_q, uint32_t max_l, size_t pairs)
{
    memset(s, 0, sizeof *s);
    s->cap = pairs < 16 ? 16 : pairs;
    s->c = malloc(s->cap * sizeof *s->c);
    s->tmp = malloc(s->cap * sizeof *s->tmp);
    if (s->c && s->tmp && alloc_peaks(s, max_q, max_l) == 0) return 0;
    npsw_hyb_scratch_free(s);
    return NPSW_ENOMEM;
}

/* Room for at least `want` pairs (doubling). */
static int grow_pairs(npsw_hyb_scratch *s, size_t want)
{
    if (want <= s->cap) return 0;
    size_t cap = s->cap;
    while (cap < want) cap *= 2;
    pair *c = realloc(s->c, cap * sizeof *c);
    if (!c) return NPSW_ENOMEM;
    s->c = c;
    pair *t = realloc(s->tmp, cap * sizeof *t);
    if (!t) return NPSW_ENOMEM;
    s->tmp = t;
    s->cap = cap;
    return 0;
}

static int grow_peaks(npsw_hyb_scratch *s, uint32_t nq, uint32_t nl)
{
    if (nq <= s->max_q && nl <= s->max_l) return 0;
    return alloc_peaks(s, nq > s->max_q ? nq : s->max_q, nl > s->max_l ? nl : s->max_l);
}

/* Sort into pair_before order. The pairs are generated in (shifted, i, j) order, pair_before's
 * order for equal products, so a stable sort by product (descending) gives exactly that order
 * (products of two floats are exact in double: equal products are true ties). Merge sort into
 * the scratch buffer, runs of 16 sorted by insertion first; no allocation. */
static void sort_pairs(pair *a, pair *tmp, size_t n)
{
    const size_t run = 16;
    for (size_t lo = 0; lo < n; lo += run) {
        size_t hi = lo + run < n ? lo + run : n;
        for (size_t k = lo + 1; k < hi; k++) {
            pair x = a[k];
            size_t j = k;
            while (j > lo && x.prod > a[j - 1].prod) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = x;
        }
    }
    pair *src = a, *dst = tmp;
    for (size_t width = run; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) dst[k++] = src[j].prod > src[i].prod ? src[j++] : src[i++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        pair *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, n * sizeof *a);
}

int npsw_hyb_score(const npsw_peaks *q, const double *wq, double nq2, const npsw_peaks *l,
                   const double *wl, double nl2, double delta, const npsw_score_params *p,
                   npsw_hyb_scratch *s, npsw_hybrid *out)
{
    memset(out, 0, sizeof *out);
    if (!q->n || !l->n) return 0;
    if (grow_peaks(s, q->n, l->n) < 0) return NPSW_ENOMEM;
    int32_t *mq = s->mq, *ml = s->ml;
    unsigned char *sh = s->sh;
    for (uint32_t i = 0; i < q->n; i++) mq[i] = -1, sh[i] = 0;
    for (uint32_t j = 0; j < l->n; j++) ml[j] = -1;
    size_t n = 0;
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
                if (n == s->cap && grow_pairs(s, n + 1) < 0) return NPSW_ENOMEM;
                s->c[n++] = (pair){(double)q->in[i] * (double)l->in[j], i, j, shifted};
            }
        }
    }
    pair *c = s->c;
    sort_pairs(c, s->tmp, n);
    for (size_t k = 0; k < n; k++)
        if (mq[c[k].i] < 0 && ml[c[k].j] < 0) {
            mq[c[k].i] = (int32_t)c[k].j;
            ml[c[k].j] = (int32_t)c[k].i;
            sh[c[k].i] = (unsigned char)c[k].shifted;
        }
    finish(q, wq, nq2, wl, nl2, mq, sh, out);
    return 0;
}

/* ---- nominal spectra with one peak per m/z: the greedy without sorting ------------------ */

/* The greedy takes a candidate pair iff no pair sharing one of its peaks comes before it
 * (pair_before) and is taken: processed in order, a pair finds both its peaks free exactly
 * then. With one peak per (whole-number) m/z on both sides a query peak has at most one library
 * partner at its m/z and one at m/z - delta, and a library peak at most one at its m/z and one
 * at m/z + delta, so a pair has at most two such neighbours: the other pair of its query peak
 * and the other pair of its library peak. Each pair's answer is found once, following earlier
 * neighbours only (a strict order, so the chain ends), with an explicit stack: no sorting.
 * Partners are looked up in the query's index by m/z (qidx[m]: the query peak at m/z m). */
enum { UNKNOWN = 0, PENDING, TAKEN, NOT_TAKEN };

int npsw_hyb_score_nominal(const npsw_peaks *q, const double *wq, double nq2, const npsw_peaks *l,
                           const double *wl, double nl2, int64_t delta, const uint32_t *qidx,
                           npsw_hyb_scratch *s, npsw_hybrid *out)
{
    memset(out, 0, sizeof *out);
    if (!q->n || !l->n) return 0;
    if (grow_peaks(s, q->n, l->n) < 0) return NPSW_ENOMEM;
    const uint32_t nq = q->n, nl = l->n, NONE = UINT32_MAX;
    uint32_t *jd = s->jd, *js = s->js, *qd = s->qd, *qs = s->qs, *stk = s->stk;
    double *pd = s->pd, *ps = s->ps; /* products of the direct and shifted pair per query peak */
    unsigned char *st = s->st; /* per pair: [i] direct pair of query peak i, [nq + i] shifted */
    for (uint32_t i = 0; i < nq; i++) jd[i] = js[i] = NONE;
    /* partners through the query's index by m/z: direct at the library m/z, shifted at
     * library m/z + delta */
    for (uint32_t j = 0; j < nl; j++) {
        int64_t m = (int64_t)l->mz[j];
        uint32_t a = qidx[m], b = delta ? qidx[m + delta] : NONE;
        qd[j] = a;
        qs[j] = b;
        if (a != NONE) jd[a] = j, pd[a] = (double)q->in[a] * (double)l->in[j];
        if (b != NONE) js[b] = j, ps[b] = (double)q->in[b] * (double)l->in[j];
    }
    memset(st, UNKNOWN, 2 * (size_t)nq);
    for (uint32_t j0 = 0; j0 < nl; j0++) {
        for (int d0 = 0; d0 < 2; d0++) {
            uint32_t i0 = d0 ? qs[j0] : qd[j0];
            if (i0 == NONE) continue;
            uint32_t e0 = d0 ? nq + i0 : i0;
            if (st[e0] != UNKNOWN) continue;
            size_t top = 0;
            stk[top++] = e0;
            st[e0] = PENDING;
            while (top) {
                const uint32_t e = stk[top - 1], d = e >= nq, i = d ? e - nq : e;
                const uint32_t j = d ? js[i] : jd[i];
                const double pe = d ? ps[i] : pd[i];
                /* the query peak's other pair, the library peak's other pair */
                const uint32_t f1 = d ? (jd[i] != NONE ? i : NONE) : (js[i] != NONE ? nq + i : NONE);
                const uint32_t f2 = d ? (qd[j] != NONE ? qd[j] : NONE) : (qs[j] != NONE ? nq + qs[j] : NONE);
                int verdict = TAKEN, wait = 0;
                for (int a = 0; a < 2; a++) {
                    uint32_t f = a ? f2 : f1;
                    if (f == NONE) continue;
                    const uint32_t fd = f >= nq, fi = fd ? f - nq : f, fj = fd ? js[fi] : jd[fi];
                    const double pf = fd ? ps[fi] : pd[fi];
                    /* pair_before(f, e) */
                    int before = pf != pe ? pf > pe : fd != d ? fd < d : fi != i ? fi < i : fj < j;
                    if (!before) continue;
                    if (st[f] == TAKEN) {
                        verdict = NOT_TAKEN;
                        break;
                    }
                    if (st[f] == UNKNOWN) { /* (PENDING cannot come earlier: the chain descends) */
                        st[f] = PENDING;
                        stk[top++] = f;
                        wait = 1;
                        break;
                    }
                }
                if (wait) continue;
                st[e] = (unsigned char)verdict;
                top--;
            }
        }
    }
    int32_t *mq = s->mq;
    unsigned char *sh = s->sh;
    for (uint32_t i = 0; i < nq; i++) {
        mq[i] = -1;
        sh[i] = 0;
        if (jd[i] != NONE && st[i] == TAKEN) mq[i] = (int32_t)jd[i];
        else if (js[i] != NONE && st[nq + i] == TAKEN) mq[i] = (int32_t)js[i], sh[i] = 1;
    }
    finish(q, wq, nq2, wl, nl2, mq, sh, out);
    return 0;
}

void npsw_hybrid_score(const npsw_peaks *q, const npsw_peaks *l, double delta,
                       const npsw_score_params *p, npsw_hybrid *out)
{
    memset(out, 0, sizeof *out);
    if (!q->n || !l->n) return;
    npsw_hyb_scratch s;
    double *wq = malloc(q->n * sizeof *wq), *wl = malloc(l->n * sizeof *wl);
    if (wq && wl && npsw_hyb_scratch_init(&s, q->n, l->n, 256) == 0) {
        double nq2, nl2;
        npsw_hyb_weights(q, p, wq, &nq2);
        npsw_hyb_weights(l, p, wl, &nl2);
        (void)npsw_hyb_score(q, wq, nq2, l, wl, nl2, delta, p, &s, out);
        npsw_hyb_scratch_free(&s);
    }
    free(wq);
    free(wl);
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

/* The reference's cosine over the accepted pairs, weights computed as it goes. */
static void ref_finish(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
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
                    pair c = {(double)q->in[i] * (double)l->in[j], i, j, s};
                    if (!found || pair_before(&c, &best)) best = c, found = 1;
                }
            }
        }
        if (!found) break;
        mq[best.i] = (int32_t)best.j;
        ml[best.j] = (int32_t)best.i;
        sh[best.i] = (unsigned char)best.shifted;
    }
    ref_finish(q, l, p, mq, sh, out);
done:
    free(mq);
    free(ml);
    free(sh);
}
