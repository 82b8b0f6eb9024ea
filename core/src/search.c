/* search.c - exact top-K search with an inverted peak index and score upper bounds.
 *
 * For a nominal-mass library, each query walks the postings of its peaks' m/z bins and
 * accumulates, per library spectrum, the parts of the score that only shared peaks contribute
 * (dot product, shared count, entropy terms). From these follows an upper bound on the final
 * score (docs/algorithms.md, "Exact pruning"); spectra are then fully scored with
 * npsw_score_pair() in decreasing order of bound until no remaining bound can beat the K-th best
 * score. Because every reported score comes from npsw_score_pair(), the hit list is identical to
 * the brute force's. Accurate-mass libraries are searched by scoring every spectrum (within the
 * precursor window when one is set).
 */
#include "npsw/search.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "library_internal.h"

npsw_search_opts npsw_search_opts_default(void)
{
    npsw_search_opts o;
    memset(&o, 0, sizeof o);
    o.k = 5;
    o.score = NPSW_SCORE_WMF;
    o.threads = 0;
    o.params = npsw_score_params_default();
    o.precursor_tol_da = 0;
    o.min_matched = 1;
    return o;
}

int npsw_search_opts_check(const npsw_search_opts *o, npsw_err *err)
{
    if (o->k < 1 || o->k > NPSW_MAX_K)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "k must be between 1 and %d (got %u)",
                            NPSW_MAX_K, o->k);
    if ((unsigned)o->score >= NPSW_SCORE_COUNT)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "unknown score");
    if (o->threads < 0 || o->threads > 1024)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "threads must be between 0 and 1024");
    if (!(o->precursor_tol_da >= 0 && o->precursor_tol_da <= 1000))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "precursor tolerance out of range");
    return npsw_score_params_check(&o->params, err);
}

const char *npsw_search_kernel_name(void) { return "scalar"; }

/* ---- top-K ----------------------------------------------------------------------------- */

/* a ranks before b: higher score, then lower library index */
static int ranks_before(const npsw_hit *a, const npsw_hit *b)
{
    return a->score > b->score || (a->score == b->score && a->index < b->index);
}

/* A heap whose root is the worst of the kept hits. */
typedef struct topk {
    npsw_hit *h;
    uint32_t n, k;
} topk;

static void topk_sift_down(topk *t, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < t->n && ranks_before(&t->h[w], &t->h[l])) w = l;
        if (r < t->n && ranks_before(&t->h[w], &t->h[r])) w = r;
        if (w == i) return;
        npsw_hit tmp = t->h[i];
        t->h[i] = t->h[w];
        t->h[w] = tmp;
        i = w;
    }
}

static void topk_push(topk *t, const npsw_hit *x)
{
    if (t->n < t->k) {
        uint32_t i = t->n++;
        t->h[i] = *x;
        while (i > 0) {
            uint32_t p = (i - 1) / 2;
            if (!ranks_before(&t->h[p], &t->h[i])) break;
            npsw_hit tmp = t->h[i];
            t->h[i] = t->h[p];
            t->h[p] = tmp;
            i = p;
        }
    } else if (ranks_before(x, &t->h[0])) {
        t->h[0] = *x;
        topk_sift_down(t, 0);
    }
}

/* Can a spectrum with this upper bound still enter? (ties may win on index, so >=) */
static int topk_may_enter(const topk *t, double bound)
{
    return t->n < t->k || bound >= t->h[0].score;
}

static int hit_cmp(const void *a, const void *b)
{
    const npsw_hit *x = a, *y = b;
    return ranks_before(x, y) ? -1 : ranks_before(y, x) ? 1 : 0;
}

/* Sort the kept hits and compute every score for them. */
static uint32_t topk_finish(topk *t, const npsw_lib *lib, const npsw_spectrum *q,
                            const npsw_search_opts *o)
{
    qsort(t->h, t->n, sizeof *t->h, hit_cmp);
    npsw_peaks qp = {q->mz, q->intensity, q->n};
    for (uint32_t i = 0; i < t->n; i++) {
        npsw_peaks lp = npsw_lib_peaks(lib, t->h[i].index);
        npsw_score_pair(&qp, &lp, &o->params, &t->h[i].all);
    }
    return t->n;
}

/* ---- shared helpers -------------------------------------------------------------------- */

static int precursor_ok(const npsw_lib *lib, uint64_t s, const npsw_spectrum *q, double tol)
{
    if (tol <= 0 || !(q->precursor_mz > 0)) return 1;
    double p = lib->precursor_mz[s];
    return p > 0 && fabs(p - q->precursor_mz) <= tol;
}

static void score_one(const npsw_lib *lib, uint64_t s, const npsw_peaks *qp,
                      const npsw_search_opts *o, int use_ref, topk *t)
{
    npsw_peaks lp = npsw_lib_peaks(lib, s);
    npsw_hit h;
    if (use_ref)
        npsw_score_pair_ref(qp, &lp, &o->params, &h.all);
    else /* only the ranking score; the others are filled in for the final hits */
        npsw_score_pair_want(qp, &lp, &o->params, 1u << o->score, &h.all);
    h.score = npsw_scores_get(&h.all, o->score);
    h.index = s;
    if (h.score > 0 && h.all.n_matched >= (o->min_matched ? o->min_matched : 1)) topk_push(t, &h);
}

static npsw_peaks query_peaks(const npsw_spectrum *q)
{
    npsw_peaks v = {q->mz, q->intensity, q->n};
    return v;
}

static npsw_search_opts effective_opts(const npsw_lib *lib, const npsw_search_opts *o)
{
    npsw_search_opts e = *o;
    e.params.nominal = lib->info.clean.nominal;
    return e;
}

/* ---- brute force ----------------------------------------------------------------------- */

int npsw_search_brute(const npsw_lib *lib, const npsw_spectrum *queries, size_t nq,
                      const npsw_search_opts *o_in, int use_ref, npsw_hit *hits, uint32_t *nhits,
                      npsw_err *err)
{
    npsw_search_opts o = effective_opts(lib, o_in);
    int rc = npsw_search_opts_check(&o, err);
    if (rc < 0) return rc;
    int nthreads = o.threads > 0 ? o.threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 4) num_threads(nthreads)
    for (size_t qi = 0; qi < nq; qi++) {
        topk t = {hits + qi * o.k, 0, o.k};
        npsw_peaks qp = query_peaks(&queries[qi]);
        if (qp.n)
            for (uint64_t s = 0; s < lib->n; s++)
                if (precursor_ok(lib, s, &queries[qi], o.precursor_tol_da))
                    score_one(lib, s, &qp, &o, use_ref, &t);
        nhits[qi] = topk_finish(&t, lib, &queries[qi], &o);
    }
    return 0;
}

/* ---- indexed search -------------------------------------------------------------------- */

/* Per-search tables derived from the library for the chosen weights. */
typedef struct prepared {
    double *w;      /* per posting: I^a * mz^b */
    double *e;      /* per posting: entropy-weighted intensity (entropy score only) */
    double *nl_thr; /* per spectrum: sum of w^2 over peaks above the MF threshold */
    double *nl_all; /* per spectrum: sum of w^2 over all peaks */
    double *w2;     /* wmf only, per posting: I^a * mz^wmf_mz_power */
    double *lsuf2;  /* wmf only, per posting: sum of w2^2 over the peaks of its spectrum from this
                       one upwards that are above the MF threshold */
} prepared;

static void prepared_free(prepared *p)
{
    free(p->w);
    free(p->e);
    free(p->nl_thr);
    free(p->nl_all);
    free(p->w2);
    free(p->lsuf2);
}

static int prepare(const npsw_lib *lib, const npsw_search_opts *o, prepared *p)
{
    memset(p, 0, sizeof *p);
    const npsw_nominal_index *x = &lib->idx;
    uint64_t np = x->bin_start[x->max_mz + 1];
    const double a = o->params.int_power, b = o->params.mz_power, thr = o->params.ignore_at_or_below;
    p->w = malloc((np ? np : 1) * sizeof *p->w);
    p->nl_thr = calloc(lib->n ? lib->n : 1, sizeof *p->nl_thr);
    p->nl_all = calloc(lib->n ? lib->n : 1, sizeof *p->nl_all);
    if (!p->w || !p->nl_thr || !p->nl_all) return NPSW_ENOMEM;
    for (uint32_t m = 0; m <= x->max_mz; m++) {
        double mzb = npsw_pow_fast((double)m, b);
        for (uint64_t k = x->bin_start[m]; k < x->bin_start[m + 1]; k++) p->w[k] = npsw_pow_fast(x->in[k], a) * mzb;
    }
    for (uint64_t s = 0; s < lib->n; s++) {
        for (uint64_t k = lib->offsets[s]; k < lib->offsets[s + 1]; k++) {
            double w = npsw_pow_fast(lib->in[k], a) * npsw_pow_fast(lib->mz[k], b);
            p->nl_all[s] += w * w;
            if (lib->in[k] > thr) p->nl_thr[s] += w * w;
        }
    }
    if (o->score == NPSW_SCORE_WMF) {
        const double b2 = o->params.wmf_mz_power;
        p->w2 = malloc((np ? np : 1) * sizeof *p->w2);
        p->lsuf2 = malloc((np ? np : 1) * sizeof *p->lsuf2);
        double *suf = malloc((lib->n_peaks ? lib->n_peaks : 1) * sizeof *suf);
        uint64_t *fill = malloc(((size_t)x->max_mz + 1) * sizeof *fill);
        if (!p->w2 || !p->lsuf2 || !suf || !fill) {
            free(suf);
            free(fill);
            return NPSW_ENOMEM;
        }
        for (uint64_t s = 0; s < lib->n; s++) {
            double acc = 0;
            for (uint64_t k = lib->offsets[s + 1]; k-- > lib->offsets[s];) {
                double w = npsw_pow_fast(lib->in[k], a) * npsw_pow_fast(lib->mz[k], b2);
                if (lib->in[k] > thr) acc += w * w;
                suf[k] = acc;
            }
        }
        memcpy(fill, x->bin_start, ((size_t)x->max_mz + 1) * sizeof *fill);
        for (uint64_t s = 0; s < lib->n; s++)
            for (uint64_t k = lib->offsets[s]; k < lib->offsets[s + 1]; k++) {
                uint64_t at = fill[(uint32_t)lib->mz[k]]++;
                p->w2[at] = npsw_pow_fast(lib->in[k], a) * npsw_pow_fast(lib->mz[k], b2);
                p->lsuf2[at] = suf[k];
            }
        free(suf);
        free(fill);
    }
    if (o->score == NPSW_SCORE_ENTROPY) {
        /* entropy weights per spectrum, then scattered to posting order */
        p->e = malloc((np ? np : 1) * sizeof *p->e);
        double *ew = malloc((lib->n_peaks ? lib->n_peaks : 1) * sizeof *ew);
        uint64_t *fill = malloc(((size_t)x->max_mz + 1) * sizeof *fill);
        if (!p->e || !ew || !fill) {
            free(ew);
            free(fill);
            return NPSW_ENOMEM;
        }
        for (uint64_t s = 0; s < lib->n; s++)
            npsw_entropy_weights(lib->in + lib->offsets[s],
                                 (uint32_t)(lib->offsets[s + 1] - lib->offsets[s]),
                                 ew + lib->offsets[s]);
        memcpy(fill, x->bin_start, ((size_t)x->max_mz + 1) * sizeof *fill);
        for (uint64_t s = 0; s < lib->n; s++)
            for (uint64_t k = lib->offsets[s]; k < lib->offsets[s + 1]; k++)
                p->e[fill[(uint32_t)lib->mz[k]]++] = ew[k];
        free(ew);
        free(fill);
    }
    return 0;
}

typedef struct cand {
    double bound;
    uint32_t s;
} cand;

typedef struct scratch {
    double *acc, *acc2, *acc3;
    uint32_t *shared, *counted;
    uint32_t *touched;
    cand *c;
    uint32_t *sel; /* heap of candidate positions for the first pass */
    double *wq, *eq, *wq2, *qsuf2;
} scratch;

static void scratch_free(scratch *w)
{
    free(w->acc);
    free(w->acc2);
    free(w->acc3);
    free(w->shared);
    free(w->counted);
    free(w->touched);
    free(w->c);
    free(w->sel);
    free(w->wq);
    free(w->eq);
    free(w->wq2);
    free(w->qsuf2);
}

static int scratch_alloc(scratch *w, uint64_t n, uint32_t max_q, uint32_t nsel)
{
    memset(w, 0, sizeof *w);
    size_t m = n ? n : 1;
    w->acc = calloc(m, sizeof *w->acc);
    w->acc2 = calloc(m, sizeof *w->acc2);
    w->acc3 = calloc(m, sizeof *w->acc3);
    w->shared = calloc(m, sizeof *w->shared);
    w->counted = calloc(m, sizeof *w->counted);
    w->touched = malloc(m * sizeof *w->touched);
    w->c = malloc(m * sizeof *w->c);
    w->sel = malloc((nsel ? nsel : 1) * sizeof *w->sel);
    w->wq = malloc((max_q ? max_q : 1) * sizeof *w->wq);
    w->eq = malloc((max_q ? max_q : 1) * sizeof *w->eq);
    w->wq2 = malloc((max_q ? max_q : 1) * sizeof *w->wq2);
    w->qsuf2 = malloc(((size_t)max_q + 1) * sizeof *w->qsuf2);
    return (w->acc && w->acc2 && w->acc3 && w->shared && w->counted && w->touched && w->c &&
            w->sel && w->wq && w->eq && w->wq2 && w->qsuf2)
               ? 0
               : NPSW_ENOMEM;
}

/* Upper bound of the ranking score of spectrum s from the accumulated shared-peak sums. */
static double upper_bound(npsw_score_kind kind, const scratch *w, const prepared *p, uint32_t s,
                          double nq_thr, double nq_all)
{
    double bnd;
    switch (kind) {
    case NPSW_SCORE_MF:
    case NPSW_SCORE_RMF: {
        uint32_t c = w->counted[s];
        if (c == 0) return 0;
        double den = (kind == NPSW_SCORE_MF ? nq_thr : w->acc2[s]) * p->nl_thr[s];
        double t = den > 0 ? w->acc[s] * w->acc[s] / den : 1;
        if (t > 1) t = 1;
        /* MF = (n1 t1 + n2 t2)/(n1 + n2) with t1 <= t, t2 <= 1, n1 = c, n2 <= c - 1 */
        bnd = (c * t + (c - 1)) / (2.0 * c - 1);
        break;
    }
    case NPSW_SCORE_WMF: {
        /* wmf compares from lo = the higher of the two lowest m/z. The first shared bin m0 (the
         * first one met, since query peaks ascend) is >= lo, so the query's and the library's
         * counted peaks from m0 up (acc2, acc3) bound the two norms from below. */
        uint32_t c = w->counted[s];
        if (c == 0) return 0;
        double den = w->acc2[s] * w->acc3[s];
        double t = den > 0 ? w->acc[s] * w->acc[s] / den : 1;
        if (t > 1) t = 1;
        bnd = (c * t + (c - 1)) / (2.0 * c - 1);
        break;
    }
    case NPSW_SCORE_COSINE: {
        double den = nq_all * p->nl_all[s];
        bnd = den > 0 ? w->acc[s] / sqrt(den) : 0;
        break;
    }
    default: bnd = w->acc[s]; break;
    }
    /* summation order differs from npsw_score_pair(): leave room for rounding */
    return bnd * (1 + 1e-9) + 1e-12;
}

static void sel_sift_down(uint32_t *h, uint32_t n, const cand *c, uint32_t i)
{
    for (;;) { /* min-heap on bound */
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && c[h[l]].bound < c[h[m]].bound) m = l;
        if (r < n && c[h[r]].bound < c[h[m]].bound) m = r;
        if (m == i) return;
        uint32_t t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void search_one_indexed(const npsw_lib *lib, const prepared *p, const npsw_spectrum *q,
                               const npsw_search_opts *o, uint32_t nsel, scratch *w, topk *t,
                               uint64_t *n_cand, uint64_t *n_scored)
{
    const npsw_nominal_index *x = &lib->idx;
    npsw_peaks qp = query_peaks(q);
    const double a = o->params.int_power, b = o->params.mz_power, thr = o->params.ignore_at_or_below;
    const npsw_score_kind kind = o->score;
    double nq_thr = 0, nq_all = 0;
    for (uint32_t i = 0; i < qp.n; i++) {
        w->wq[i] = npsw_pow_fast(qp.in[i], a) * npsw_pow_fast(qp.mz[i], b);
        nq_all += w->wq[i] * w->wq[i];
        if (qp.in[i] > thr) nq_thr += w->wq[i] * w->wq[i];
    }
    if (kind == NPSW_SCORE_ENTROPY) npsw_entropy_weights(qp.in, qp.n, w->eq);
    if (kind == NPSW_SCORE_WMF) {
        w->qsuf2[qp.n] = 0;
        for (uint32_t i = qp.n; i-- > 0;) {
            w->wq2[i] = npsw_pow_fast(qp.in[i], a) * npsw_pow_fast(qp.mz[i], o->params.wmf_mz_power);
            w->qsuf2[i] = w->qsuf2[i + 1] + (qp.in[i] > thr ? w->wq2[i] * w->wq2[i] : 0);
        }
    }
    /* 1. accumulate over the postings of the query's bins */
    uint32_t nt = 0;
    for (uint32_t i = 0; i < qp.n; i++) {
        double m = qp.mz[i];
        if (m < 0 || m > x->max_mz) continue;
        uint32_t bin = (uint32_t)m;
        double iq = qp.in[i], wq = w->wq[i];
        for (uint64_t k = x->bin_start[bin]; k < x->bin_start[bin + 1]; k++) {
            uint32_t s = x->spec[k];
            if (w->shared[s]++ == 0) {
                w->touched[nt++] = s;
                if (kind == NPSW_SCORE_WMF) { /* first (lowest) shared bin */
                    w->acc2[s] = w->qsuf2[i];
                    w->acc3[s] = p->lsuf2[k];
                }
            }
            switch (kind) {
            case NPSW_SCORE_WMF:
                if (iq > thr || x->in[k] > thr) {
                    w->counted[s]++;
                    w->acc[s] += w->wq2[i] * p->w2[k];
                }
                break;
            case NPSW_SCORE_MF:
            case NPSW_SCORE_RMF:
                if (iq > thr || x->in[k] > thr) {
                    w->counted[s]++;
                    w->acc[s] += wq * p->w[k];
                    w->acc2[s] += wq * wq;
                }
                break;
            case NPSW_SCORE_COSINE: w->acc[s] += wq * p->w[k]; break;
            default: w->acc[s] += npsw_entropy_pair_term(w->eq[i], p->e[k]); break;
            }
        }
    }
    /* 2. bounds; reset the accumulators as we go */
    uint32_t nc = 0;
    uint32_t min_matched = o->min_matched ? o->min_matched : 1;
    for (uint32_t k = 0; k < nt; k++) {
        uint32_t s = w->touched[k];
        double bnd = upper_bound(kind, w, p, s, nq_thr, nq_all);
        if (bnd > 0 && w->shared[s] >= min_matched && precursor_ok(lib, s, q, o->precursor_tol_da))
            w->c[nc++] = (cand){bnd, s};
        w->acc[s] = w->acc2[s] = w->acc3[s] = 0;
        w->shared[s] = w->counted[s] = 0;
    }
    *n_cand += nc;
    /* 3. score the nsel most promising first, so the K-th score rises early */
    uint32_t ns = 0;
    for (uint32_t k = 0; k < nc; k++) {
        if (ns < nsel) {
            w->sel[ns] = k;
            uint32_t i = ns++;
            while (i > 0) {
                uint32_t par = (i - 1) / 2;
                if (w->c[w->sel[par]].bound <= w->c[w->sel[i]].bound) break;
                uint32_t tmp = w->sel[i];
                w->sel[i] = w->sel[par];
                w->sel[par] = tmp;
                i = par;
            }
        } else if (w->c[k].bound > w->c[w->sel[0]].bound) {
            w->sel[0] = k;
            sel_sift_down(w->sel, ns, w->c, 0);
        }
    }
    for (uint32_t k = 0; k < ns; k++) {
        cand *c = &w->c[w->sel[k]];
        if (topk_may_enter(t, c->bound)) {
            score_one(lib, c->s, &qp, o, 0, t);
            ++*n_scored;
        }
        c->bound = -1; /* done */
    }
    /* 4. everything else whose bound can still beat the K-th score */
    for (uint32_t k = 0; k < nc; k++) {
        if (w->c[k].bound < 0 || !topk_may_enter(t, w->c[k].bound)) continue;
        score_one(lib, w->c[k].s, &qp, o, 0, t);
        ++*n_scored;
    }
}

int npsw_search(const npsw_lib *lib, const npsw_spectrum *queries, size_t nq,
                const npsw_search_opts *o_in, npsw_hit *hits, uint32_t *nhits,
                npsw_search_stats *stats, npsw_err *err)
{
    npsw_search_opts o = effective_opts(lib, o_in);
    int rc = npsw_search_opts_check(&o, err);
    if (rc < 0) return rc;
    if (stats) memset(stats, 0, sizeof *stats);
    /* The index bounds assume the whole m/z range; the optional range limits are searched
     * exhaustively (still exact). */
    if (!lib->info.clean.nominal || !lib->idx.bin_start || o.params.common_range ||
        o.params.mz_min > 0) {
        rc = npsw_search_brute(lib, queries, nq, &o, 0, hits, nhits, err);
        if (rc == 0 && stats) {
            stats->n_queries = nq;
            stats->n_candidates = stats->n_scored = (uint64_t)nq * lib->n;
        }
        return rc;
    }
    prepared p;
    if (prepare(lib, &o, &p) < 0) {
        prepared_free(&p);
        return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory preparing the search");
    }
    uint32_t max_q = 1;
    for (size_t i = 0; i < nq; i++)
        if (queries[i].n > max_q) max_q = queries[i].n;
    uint32_t nsel = o.k * 4 < 64 ? 64 : o.k * 4;
    int nthreads = o.threads > 0 ? o.threads : omp_get_max_threads();
    int failed = 0;
    uint64_t n_cand = 0, n_scored = 0, done = 0;
#pragma omp parallel num_threads(nthreads) reduction(+ : n_cand, n_scored)
    {
        scratch w;
        int ok = scratch_alloc(&w, lib->n, max_q, nsel) == 0;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 8)
        for (size_t qi = 0; qi < nq; qi++) {
            topk t = {hits + qi * o.k, 0, o.k};
            if (ok && queries[qi].n)
                search_one_indexed(lib, &p, &queries[qi], &o, nsel, &w, &t, &n_cand, &n_scored);
            nhits[qi] = topk_finish(&t, lib, &queries[qi], &o);
            if (o.progress) {
                uint64_t d;
#pragma omp atomic capture
                d = ++done;
                if (omp_get_thread_num() == 0 && (d % 64 == 0 || d == nq))
                    o.progress(o.progress_user, d, nq);
            }
        }
        scratch_free(&w);
    }
    prepared_free(&p);
    if (failed) return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory for search buffers");
    if (stats) {
        stats->n_queries = nq;
        stats->n_candidates = n_cand;
        stats->n_scored = n_scored;
    }
    return 0;
}
