/* score_ref.c - the plain reference implementation of every score, written separately from
 * score.c so the tests can check one against the other. It favours obviousness over speed:
 * quadratic matching, explicit event lists, each formula written out as in docs/algorithms.md.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "npsw/score.h"

enum { EV_BOTH, EV_QUERY, EV_LIB };

typedef struct event {
    double mz;    /* position: the query peak's m/z for matched pairs */
    int type;
    size_t order; /* position in the unsorted list: keeps the sort stable */
    double iu, il; /* intensities (0 when absent) */
    double mzu, mzl;
    double eu, el; /* entropy-weighted intensities */
} event;

/* Nominal mass: m/z values are unique integers after cleaning, so a lookup table from m/z to
 * library peak gives the (necessarily one-to-one) matches. */
static void ref_match_nominal(const npsw_peaks *q, const npsw_peaks *l, int *mq, int *ml)
{
    double top = 0;
    for (uint32_t j = 0; j < l->n; j++)
        if (l->mz[j] > top) top = l->mz[j];
    size_t size = (size_t)top + 2;
    int *at = malloc(size * sizeof *at);
    if (!at) return;
    for (size_t m = 0; m < size; m++) at[m] = -1;
    for (uint32_t j = 0; j < l->n; j++) at[(size_t)l->mz[j]] = (int)j;
    for (uint32_t i = 0; i < q->n; i++) {
        double m = q->mz[i];
        if (m >= 0 && m < (double)size && m == (double)(size_t)m && at[(size_t)m] >= 0) {
            mq[i] = at[(size_t)m];
            ml[at[(size_t)m]] = (int)i;
        }
    }
    free(at);
}

/* Accurate mass: greedy one-to-one matching by scanning for the best remaining pair each time:
 * largest intensity product, then smallest |dmz|, then smallest query index, then library
 * index. */
static void ref_match(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
                      int *mq, int *ml)
{
    for (uint32_t i = 0; i < q->n; i++) mq[i] = -1;
    for (uint32_t j = 0; j < l->n; j++) ml[j] = -1;
    if (p->nominal) {
        ref_match_nominal(q, l, mq, ml);
        return;
    }
    for (;;) {
        long bi = -1, bj = -1;
        double bprod = 0, bd = 0;
        for (uint32_t i = 0; i < q->n; i++) {
            if (mq[i] >= 0) continue;
            for (uint32_t j = 0; j < l->n; j++) {
                if (ml[j] >= 0) continue;
                double d = fabs(q->mz[i] - l->mz[j]);
                if (d > p->tol_da + p->tol_ppm * 1e-6 * q->mz[i]) continue;
                double prod = (double)q->in[i] * (double)l->in[j];
                if (bi < 0 || prod > bprod || (prod == bprod && d < bd)) {
                    bi = i, bj = j, bprod = prod, bd = d;
                }
            }
        }
        if (bi < 0) return;
        mq[bi] = (int)bj;
        ml[bj] = (int)bi;
    }
}

static int ev_cmp(const void *a, const void *b)
{
    const event *x = a, *y = b;
    if (x->mz != y->mz) return x->mz < y->mz ? -1 : 1;
    int ox = x->type == EV_LIB, oy = y->type == EV_LIB; /* query-side events first */
    if (ox != oy) return ox - oy;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* NIST identity match factor over the events at or above m/z lo (an event's m/z is its query
 * peak's for matched pairs) with weights I^a * mz^b; reverse = ignore query-only peaks. */
static double ref_mf(const event *ev_all, size_t n_all, const npsw_score_params *p, int reverse,
                     double lo, double b)
{
    const double a = p->int_power, thr = p->ignore_at_or_below;
    size_t first = 0;
    while (first < n_all && ev_all[first].mz < lo) first++;
    const event *ev = ev_all + first;
    size_t n = n_all - first;
    double sul = 0, suu = 0, sll = 0;
    unsigned n1 = 0;
    /* term 1: weighted cosine squared */
    for (size_t k = 0; k < n; k++) {
        const event *e = &ev[k];
        double wu = e->iu > 0 ? npsw_pow_fast(e->iu, a) * npsw_pow_fast(e->mzu, b) : 0;
        double wl = e->il > 0 ? npsw_pow_fast(e->il, a) * npsw_pow_fast(e->mzl, b) : 0;
        if (e->type == EV_BOTH && (e->iu > thr || e->il > thr)) {
            sul += wu * wl;
            suu += wu * wu;
            sll += wl * wl;
            n1++;
        } else if (e->type == EV_QUERY && !reverse && e->iu > thr) {
            suu += wu * wu;
        } else if (e->type == EV_LIB && e->il > thr) {
            sll += wl * wl;
        }
    }
    if (n1 == 0 || suu <= 0 || sll <= 0) return 0;
    double t1 = sul * sul / (suu * sll);
    if (t1 > 1) t1 = 1;
    /* term 2: ratios of adjacent peaks present in both; a counted peak in only one spectrum
     * breaks the chain, ignored peaks (<= threshold) do not */
    double srm = 0, sm = 0;
    unsigned n2 = 0;
    const event *prev = NULL;
    for (size_t k = 0; k < n; k++) {
        const event *e = &ev[k];
        if (e->type == EV_BOTH) {
            if (!(e->iu > thr || e->il > thr)) continue;
            if (prev) {
                double num = sqrt(e->iu) * sqrt(prev->il);
                double den = sqrt(prev->iu) * sqrt(e->il);
                if (num > 0 && den > 0) {
                    double ratio = num / den;
                    if (ratio > 1) ratio = den / num;
                    srm += e->mzu * ratio;
                    sm += e->mzu;
                    n2++;
                }
            }
            prev = e;
        } else if ((e->type == EV_QUERY && !reverse && e->iu > thr) ||
                   (e->type == EV_LIB && e->il > thr)) {
            prev = NULL;
        }
    }
    if (sm <= 0) return t1;
    return (t1 * n1 + (srm / sm) * n2) / (n1 + n2);
}

/* Copy of the peaks at or above lo (the caller frees the arrays). */
static npsw_peaks ref_cut(const npsw_peaks *x, double lo)
{
    npsw_peaks v = {malloc((x->n + 1) * sizeof(double)), malloc((x->n + 1) * sizeof(float)), 0};
    double *mz = (double *)v.mz;
    float *in = (float *)v.in;
    for (uint32_t i = 0; mz && in && i < x->n; i++)
        if (x->mz[i] >= lo) mz[v.n] = x->mz[i], in[v.n] = x->in[i], v.n++;
    return v;
}

static void ref_pair(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
                     npsw_scores *out);

void npsw_score_pair_ref(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
                         npsw_scores *out)
{
    double lo = p->mz_min;
    if (p->common_range && q->n && l->n) {
        double qmin = q->mz[0], lmin = l->mz[0];
        for (uint32_t i = 0; i < q->n; i++) qmin = q->mz[i] < qmin ? q->mz[i] : qmin;
        for (uint32_t j = 0; j < l->n; j++) lmin = l->mz[j] < lmin ? l->mz[j] : lmin;
        lo = qmin > lo ? qmin : lo;
        lo = lmin > lo ? lmin : lo;
    }
    npsw_peaks qc = ref_cut(q, lo), lc = ref_cut(l, lo);
    ref_pair(&qc, &lc, p, out);

    free((void *)qc.mz);
    free((void *)qc.in);
    free((void *)lc.mz);
    free((void *)lc.in);
}

static void ref_pair(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
                     npsw_scores *out)
{
    memset(out, 0, sizeof *out);
    if (!q->n || !l->n) return;
    int *mq = malloc(q->n * sizeof *mq), *ml = malloc(l->n * sizeof *ml);
    double *eq = malloc(q->n * sizeof *eq), *el = malloc(l->n * sizeof *el);
    event *ev = malloc((q->n + l->n) * sizeof *ev);
    if (!mq || !ml || !eq || !el || !ev) goto done;
    ref_match(q, l, p, mq, ml);
    npsw_entropy_weights(q->in, q->n, eq);
    npsw_entropy_weights(l->in, l->n, el);
    size_t n = 0;
    for (uint32_t i = 0; i < q->n; i++) {
        event e = {q->mz[i], EV_QUERY, n, q->in[i], 0, q->mz[i], 0, eq[i], 0};
        if (mq[i] >= 0) {
            e.type = EV_BOTH;
            e.il = l->in[mq[i]];
            e.mzl = l->mz[mq[i]];
            e.el = el[mq[i]];
            out->n_matched++;
        }
        ev[n++] = e;
    }
    for (uint32_t j = 0; j < l->n; j++)
        if (ml[j] < 0) ev[n] = (event){l->mz[j], EV_LIB, n, 0, l->in[j], 0, l->mz[j], 0, el[j]}, n++;
    qsort(ev, n, sizeof *ev, ev_cmp);
    if (out->n_matched == 0) goto done;
    out->mf = ref_mf(ev, n, p, 0, 0, p->mz_power);
    out->rmf = ref_mf(ev, n, p, 1, 0, p->mz_power);
    /* wmf: from the higher of the two lowest m/z, with its own m/z power */
    double qlo = q->mz[0], llo = l->mz[0];
    out->wmf = ref_mf(ev, n, p, 0, qlo > llo ? qlo : llo, p->wmf_mz_power);
    double dot = 0, nu = 0, nl = 0, ent = 0;
    for (size_t k = 0; k < n; k++) {
        double wu = ev[k].iu > 0 ? npsw_pow_fast(ev[k].iu, p->int_power) * npsw_pow_fast(ev[k].mzu, p->mz_power) : 0;
        double wl = ev[k].il > 0 ? npsw_pow_fast(ev[k].il, p->int_power) * npsw_pow_fast(ev[k].mzl, p->mz_power) : 0;
        dot += wu * wl;
        nu += wu * wu;
        nl += wl * wl;
        if (ev[k].type == EV_BOTH) ent += npsw_entropy_pair_term(ev[k].eu, ev[k].el);
    }
    out->cosine = dot / sqrt(nu * nl);
    if (out->cosine > 1) out->cosine = 1;
    out->entropy = ent < 0 ? 0 : ent > 1 ? 1 : ent;
done:
    free(mq);
    free(ml);
    free(eq);
    free(el);
    free(ev);
}
