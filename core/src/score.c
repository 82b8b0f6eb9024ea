/* score.c - MF, RMF, cosine and entropy similarity of two cleaned spectra.
 *
 * npsw_score_pair() is the implementation the search uses: peaks are matched one-to-one (equal
 * nominal m/z, or within tolerance with the tie rule of docs/algorithms.md), then one pass in
 * ascending m/z accumulates every score. npsw_score_pair_ref() (score_ref.c) is the independent
 * plain version the tests compare against.
 */
#include "npsw/score.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const score_names[NPSW_SCORE_COUNT] = {"mf", "rmf", "wmf", "cosine",
                                                           "entropy"};

const char *npsw_score_name(npsw_score_kind k)
{
    return (unsigned)k < NPSW_SCORE_COUNT ? score_names[k] : "?";
}

int npsw_score_from_name(const char *name)
{
    for (int i = 0; i < NPSW_SCORE_COUNT; i++)
        if (name && strcmp(name, score_names[i]) == 0) return i;
    return NPSW_EINVAL;
}

npsw_score_params npsw_score_params_default(void)
{
    npsw_score_params p;
    memset(&p, 0, sizeof p);
    p.nominal = 1;
    p.tol_da = 0.01;
    p.tol_ppm = 0.0;
    p.int_power = 0.5;
    p.mz_power = 0.5;
    p.ignore_at_or_below = 1.0;
    p.wmf_mz_power = 1.0;
    return p;
}

int npsw_score_params_check(const npsw_score_params *p, npsw_err *err)
{
    if (!(p->tol_da >= 0 && p->tol_da <= 1.0))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "m/z tolerance must be between 0 and 1 Da (got %g)", p->tol_da);
    if (!(p->tol_ppm >= 0 && p->tol_ppm <= 1000))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "ppm tolerance must be between 0 and 1000 (got %g)", p->tol_ppm);
    if (!p->nominal && p->tol_da == 0 && p->tol_ppm == 0)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "accurate-mass matching needs a tolerance in Da or ppm");
    if (!(p->int_power > 0 && p->int_power <= 4) || !(p->mz_power >= 0 && p->mz_power <= 6))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "weight powers out of range (intensity power in (0,4], m/z power "
                            "in [0,6])");
    if (!(p->wmf_mz_power >= 0 && p->wmf_mz_power <= 6))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "wmf m/z power out of range [0,6]");
    if (!(p->ignore_at_or_below >= 0 && p->ignore_at_or_below < 999))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "intensity threshold out of range");
    return 0;
}

static npsw_peaks cut_below(const npsw_peaks *x, double lo)
{
    uint32_t i = 0;
    while (i < x->n && x->mz[i] < lo) i++;
    npsw_peaks v = {x->mz + i, x->in + i, x->n - i};
    return v;
}

void npsw_score_range(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
                      npsw_peaks *q_out, npsw_peaks *l_out)
{
    double lo = p->mz_min;
    if (p->common_range && q->n && l->n) {
        double m = q->mz[0] > l->mz[0] ? q->mz[0] : l->mz[0];
        if (m > lo) lo = m;
    }
    *q_out = cut_below(q, lo);
    *l_out = cut_below(l, lo);
}

int npsw_mf_display(double x)
{
    if (!(x > 0)) return 0;
    double v = floor(1000.0 * x);
    return v > 999 ? 999 : (int)v;
}

double npsw_entropy_pair_term(double a, double b)
{
    double ab = a + b;
    double t = ab * log2(ab);
    if (a > 0) t -= a * log2(a);
    if (b > 0) t -= b * log2(b);
    return t / 2;
}

void npsw_entropy_weights(const float *in, uint32_t n, double *out)
{
    double sum = 0;
    for (uint32_t i = 0; i < n; i++) sum += in[i];
    if (!(sum > 0)) {
        for (uint32_t i = 0; i < n; i++) out[i] = 0;
        return;
    }
    double s = 0;
    for (uint32_t i = 0; i < n; i++) {
        out[i] = in[i] / sum;
        if (out[i] > 0) s -= out[i] * log(out[i]);
    }
    if (s < 3) {
        double w = 0.25 + 0.25 * s, t = 0;
        for (uint32_t i = 0; i < n; i++) t += out[i] = pow(out[i], w);
        for (uint32_t i = 0; i < n; i++) out[i] /= t;
    }
}

/* ---- matching -------------------------------------------------------------------------- */

typedef struct cand {
    double prod, dmz;
    uint32_t i, j;
} cand;

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->prod != y->prod) return x->prod > y->prod ? -1 : 1;
    if (x->dmz != y->dmz) return x->dmz < y->dmz ? -1 : 1;
    if (x->i != y->i) return x->i < y->i ? -1 : 1;
    return x->j < y->j ? -1 : (x->j > y->j);
}

static double tolerance(const npsw_score_params *p, double mz)
{
    return p->tol_da + p->tol_ppm * 1e-6 * mz;
}

/* Fill mq[i] = matched library index or -1, ml[j] likewise. Returns the number of pairs, or -1
 * when out of memory. Accurate mode: all pairs within tolerance, greedily taken by the larger
 * intensity product, then the smaller |dmz|, then lower indices (docs/algorithms.md). */
static int match_peaks(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
                       int32_t *mq, int32_t *ml)
{
    for (uint32_t i = 0; i < q->n; i++) mq[i] = -1;
    for (uint32_t j = 0; j < l->n; j++) ml[j] = -1;
    int npairs = 0;
    if (p->nominal) {
        uint32_t i = 0, j = 0;
        while (i < q->n && j < l->n) {
            if (q->mz[i] < l->mz[j]) i++;
            else if (q->mz[i] > l->mz[j]) j++;
            else {
                mq[i] = (int32_t)j;
                ml[j] = (int32_t)i;
                npairs++;
                i++, j++;
            }
        }
        return npairs;
    }
    cand stackbuf[512];
    cand *c = stackbuf;
    size_t nc = 0, cap = sizeof stackbuf / sizeof stackbuf[0];
    uint32_t lo = 0;
    for (uint32_t i = 0; i < q->n; i++) {
        double t = tolerance(p, q->mz[i]);
        double slack = t * 1e-9 + 1e-12; /* the window only narrows the search; the test is below */
        while (lo < l->n && l->mz[lo] < q->mz[i] - t - slack) lo++;
        for (uint32_t j = lo; j < l->n && l->mz[j] <= q->mz[i] + t + slack; j++) {
            if (!(fabs(q->mz[i] - l->mz[j]) <= t)) continue;
            if (nc == cap) {
                size_t ncap = cap * 2;
                cand *nb = malloc(ncap * sizeof *nb);
                if (!nb) {
                    if (c != stackbuf) free(c);
                    return -1;
                }
                memcpy(nb, c, nc * sizeof *nb);
                if (c != stackbuf) free(c);
                c = nb;
                cap = ncap;
            }
            c[nc].prod = (double)q->in[i] * (double)l->in[j];
            c[nc].dmz = fabs(q->mz[i] - l->mz[j]);
            c[nc].i = i;
            c[nc].j = j;
            nc++;
        }
    }
    qsort(c, nc, sizeof *c, cand_cmp);
    for (size_t k = 0; k < nc; k++) {
        if (mq[c[k].i] < 0 && ml[c[k].j] < 0) {
            mq[c[k].i] = (int32_t)c[k].j;
            ml[c[k].j] = (int32_t)c[k].i;
            npairs++;
        }
    }
    if (c != stackbuf) free(c);
    return npairs;
}

int npsw_match_peaks(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
                     int32_t *mq, int32_t *ml)
{
    npsw_peaks qr, lr;
    npsw_score_range(q, l, p, &qr, &lr);
    const uint32_t q0 = (uint32_t)(qr.mz - q->mz), l0 = (uint32_t)(lr.mz - l->mz);
    for (uint32_t i = 0; i < q0; i++) mq[i] = -1;
    for (uint32_t j = 0; j < l0; j++) ml[j] = -1;
    int n = match_peaks(&qr, &lr, p, mq + q0, ml + l0);
    if (n < 0) return NPSW_ENOMEM;
    for (uint32_t i = q0; i < q->n; i++) /* indices into the whole lists */
        if (mq[i] >= 0) mq[i] += (int32_t)l0;
    for (uint32_t j = l0; j < l->n; j++)
        if (ml[j] >= 0) ml[j] += (int32_t)q0;
    return n;
}

/* ---- the one-pass scorer --------------------------------------------------------------- */

typedef struct mf_acc {
    double sum_ul, sum_uu, sum_ll, sum_rm, sum_m;
    double prev_u, prev_l;
    int chain;
    uint32_t n1, n2;
} mf_acc;

static void mf_both(mf_acc *a, double mz, double iu, double il, double wu, double wl, double thr)
{
    if (!(iu > thr || il > thr)) return; /* both at or below the threshold: ignored entirely */
    a->sum_ul += wu * wl;
    a->sum_uu += wu * wu;
    a->sum_ll += wl * wl;
    a->n1++;
    double ru = sqrt(iu), rl = sqrt(il);
    if (a->chain) {
        double num = ru * a->prev_l, den = a->prev_u * rl;
        if (num > 0 && den > 0) {
            a->sum_rm += mz * (num < den ? num / den : den / num);
            a->sum_m += mz;
            a->n2++;
        }
    }
    a->chain = 1;
    a->prev_u = ru;
    a->prev_l = rl;
}

static void mf_only_u(mf_acc *a, double iu, double wu, double thr)
{
    if (iu > thr) {
        a->chain = 0;
        a->sum_uu += wu * wu;
    }
}

static void mf_only_l(mf_acc *a, double il, double wl, double thr)
{
    if (il > thr) {
        a->chain = 0;
        a->sum_ll += wl * wl;
    }
}

static double mf_value(const mf_acc *a)
{
    if (a->n1 == 0 || !(a->sum_uu > 0) || !(a->sum_ll > 0)) return 0;
    double t1 = a->sum_ul * a->sum_ul / (a->sum_uu * a->sum_ll);
    if (t1 > 1) t1 = 1;
    if (!(a->sum_m > 0)) return t1;
    double t2 = a->sum_rm / a->sum_m;
    return (t1 * a->n1 + t2 * a->n2) / (a->n1 + a->n2);
}

#define STACK_PEAKS 1024

void npsw_score_pair(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
                     npsw_scores *out)
{
    npsw_score_pair_want(q, l, p, NPSW_SCORES_ALL, out);
}

void npsw_score_pair_want(const npsw_peaks *q_in, const npsw_peaks *l_in,
                          const npsw_score_params *p, unsigned want, npsw_scores *out)
{
    memset(out, 0, sizeof *out);
    npsw_peaks qv, lv;
    npsw_score_range(q_in, l_in, p, &qv, &lv);
    const npsw_peaks *q = &qv, *l = &lv;
    if (q->n == 0 || l->n == 0) return;
    int32_t mq_s[STACK_PEAKS], ml_s[STACK_PEAKS];
    double eq_s[STACK_PEAKS], el_s[STACK_PEAKS];
    int32_t *mq = mq_s, *ml = ml_s;
    double *eq = eq_s, *el = el_s;
    int heap = q->n > STACK_PEAKS || l->n > STACK_PEAKS;
    if (heap) {
        mq = malloc(q->n * sizeof *mq);
        ml = malloc(l->n * sizeof *ml);
        eq = malloc(q->n * sizeof *eq);
        el = malloc(l->n * sizeof *el);
        if (!mq || !ml || !eq || !el) goto done;
    }
    int np = match_peaks(q, l, p, mq, ml);
    if (np <= 0) goto done;
    out->n_matched = (uint32_t)np;
    const int want_ent = want & (1u << NPSW_SCORE_ENTROPY);
    const int want_nist = want & ((1u << NPSW_SCORE_MF) | (1u << NPSW_SCORE_RMF) | (1u << NPSW_SCORE_COSINE));
    const int want_wmf = want & (1u << NPSW_SCORE_WMF);
    if (want_ent) {
        npsw_entropy_weights(q->in, q->n, eq);
        npsw_entropy_weights(l->in, l->n, el);
    }

    const double a = p->int_power, b = p->mz_power, thr = p->ignore_at_or_below;
    const double b2 = p->wmf_mz_power;
    /* wmf compares the m/z range both spectra cover */
    const double lo = q->mz[0] > l->mz[0] ? q->mz[0] : l->mz[0];
    mf_acc f, r, g;
    memset(&f, 0, sizeof f);
    memset(&r, 0, sizeof r);
    memset(&g, 0, sizeof g);
    double cu = 0, cl = 0, cul = 0, ent = 0;
    /* Walk query peaks and unmatched library peaks together in ascending m/z; a matched pair
     * sits at its query peak's position. */
    uint32_t i = 0, j = 0;
    while (i < q->n || j < l->n) {
        if (j < l->n && ml[j] >= 0) { /* matched library peaks are handled with their query peak */
            j++;
            continue;
        }
        if (i < q->n && (j >= l->n || q->mz[i] <= l->mz[j])) {
            double iu = q->in[i], pu = npsw_pow_fast(iu, a);
            double wu = want_nist ? pu * npsw_pow_fast(q->mz[i], b) : 0;
            double wu2 = want_wmf ? pu * npsw_pow_fast(q->mz[i], b2) : 0;
            int in_range = q->mz[i] >= lo;
            cu += wu * wu;
            if (mq[i] >= 0) {
                uint32_t k = (uint32_t)mq[i];
                double il = l->in[k], pl = npsw_pow_fast(il, a);
                if (want_nist) {
                    double wl = pl * npsw_pow_fast(l->mz[k], b);
                    cl += wl * wl;
                    cul += wu * wl;
                    mf_both(&f, q->mz[i], iu, il, wu, wl, thr);
                    mf_both(&r, q->mz[i], iu, il, wu, wl, thr);
                }
                if (want_ent) ent += npsw_entropy_pair_term(eq[i], el[k]);
                if (want_wmf && in_range)
                    mf_both(&g, q->mz[i], iu, il, wu2, pl * npsw_pow_fast(l->mz[k], b2), thr);
            } else {
                if (want_nist) mf_only_u(&f, iu, wu, thr); /* RMF ignores query-only peaks */
                if (want_wmf && in_range) mf_only_u(&g, iu, wu2, thr);
            }
            i++;
        } else {
            double il = l->in[j], pl = npsw_pow_fast(il, a);
            if (want_nist) {
                double wl = pl * npsw_pow_fast(l->mz[j], b);
                cl += wl * wl;
                mf_only_l(&f, il, wl, thr);
                mf_only_l(&r, il, wl, thr);
            }
            if (want_wmf && l->mz[j] >= lo) mf_only_l(&g, il, pl * npsw_pow_fast(l->mz[j], b2), thr);
            j++;
        }
    }
    out->mf = mf_value(&f);
    out->rmf = mf_value(&r);
    out->wmf = mf_value(&g);
    out->cosine = (cu > 0 && cl > 0) ? cul / sqrt(cu * cl) : 0;
    if (out->cosine > 1) out->cosine = 1;
    out->entropy = ent < 0 ? 0 : ent > 1 ? 1 : ent;
done:
    if (heap) {
        free(mq);
        free(ml);
        free(eq);
        free(el);
    }
}
