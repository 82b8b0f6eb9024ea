/* search.c - exact top-K search through the inverted peak index.
 *
 * For a nominal-mass library, each query walks the postings of its peaks' m/z bins in ascending
 * m/z; every posting is a matched pair with one library spectrum. Per library spectrum the walk
 * accumulates the score itself (cosine, entropy) or follows the match-factor algorithm pair by
 * pair (mf, rmf, wmf), giving each touched spectrum its score up to rounding
 * (docs/algorithms.md, "Exact search"). Candidates are then scored with npsw_score_pair() in
 * decreasing order of that value, with a margin for rounding, until none left can beat the K-th
 * best score. Because every reported score comes from npsw_score_pair(), the hit list is
 * identical to the brute force's. Accurate-mass libraries are searched by scoring every spectrum
 * (within the precursor window when one is set).
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

static int is_mf_family(npsw_score_kind k)
{
    return k == NPSW_SCORE_MF || k == NPSW_SCORE_RMF || k == NPSW_SCORE_WMF;
}

/* Per-search tables derived from the library for the chosen score. */
typedef struct prepared {
    double *w;      /* per posting: I^a * mz^b, b = the score's m/z power */
    uint32_t *g;    /* per posting: global index of its library peak (while preparing only) */
    double *e;      /* entropy: per posting, entropy-weighted intensity b */
    double *elog;   /* entropy: per posting, b log2 b */
    double *nl_all; /* cosine: per spectrum, sum of w^2 over all peaks */
    double *lsuf;   /* MF family: per library peak, sum of w^2 over the counted peaks (intensity
                       above the threshold) of its spectrum from this peak upwards */
    uint32_t *cl;   /* MF family: per posting, counted library peaks before its peak (peaks in
                       library order, the whole library: differences count peaks in between) */
    double *rl;     /* MF family: per posting, sqrt(intensity) (the ratio term's weight) */
} prepared;

static void prepared_free(prepared *p)
{
    free(p->w);
    free(p->g);
    free(p->e);
    free(p->elog);
    free(p->nl_all);
    free(p->lsuf);
    free(p->cl);
    free(p->rl);
}

static double score_mz_power(const npsw_search_opts *o)
{
    return o->score == NPSW_SCORE_WMF ? o->params.wmf_mz_power : o->params.mz_power;
}

static int prepare(const npsw_lib *lib, const npsw_search_opts *o, prepared *p)
{
    memset(p, 0, sizeof *p);
    const npsw_nominal_index *x = &lib->idx;
    const uint64_t np = lib->n_peaks, n = lib->n;
    const double a = o->params.int_power, b = score_mz_power(o), thr = o->params.ignore_at_or_below;
    if (np >= UINT32_MAX) return NPSW_ELIMIT;
    p->w = malloc((np ? np : 1) * sizeof *p->w);
    p->g = malloc((np ? np : 1) * sizeof *p->g);
    uint64_t *fill = malloc(((size_t)x->max_mz + 1) * sizeof *fill);
    if (!p->w || !p->g || !fill) goto nomem;
    /* posting order: scatter every peak to its bin, as the index was built */
    memcpy(fill, x->bin_start, ((size_t)x->max_mz + 1) * sizeof *fill);
    for (uint64_t s = 0; s < n; s++)
        for (uint64_t k = lib->offsets[s]; k < lib->offsets[s + 1]; k++) {
            uint64_t at = fill[(uint32_t)lib->mz[k]]++;
            p->w[at] = npsw_weight(lib->in[k], lib->mz[k], a, b);
            p->g[at] = (uint32_t)k;
        }
    if (is_mf_family(o->score)) {
        p->lsuf = malloc((np ? np : 1) * sizeof *p->lsuf);
        p->cl = malloc((np ? np : 1) * sizeof *p->cl);
        p->rl = malloc((np ? np : 1) * sizeof *p->rl);
        uint32_t *before = malloc((np ? np : 1) * sizeof *before);
        if (!p->lsuf || !p->cl || !p->rl || !before) {
            free(before);
            goto nomem;
        }
        uint32_t c = 0;
        for (uint64_t k = 0; k < np; k++) {
            before[k] = c;
            c += lib->in[k] > thr;
        }
        for (uint64_t k = 0; k < np; k++) { /* to posting order: sequential reads in the walk */
            p->cl[k] = before[p->g[k]];
            p->rl[k] = sqrt((double)x->in[k]);
        }
        free(before);
        for (uint64_t s = 0; s < n; s++) {
            double acc = 0;
            for (uint64_t k = lib->offsets[s + 1]; k-- > lib->offsets[s];) {
                double w = npsw_weight(lib->in[k], lib->mz[k], a, b);
                if (lib->in[k] > thr) acc += w * w;
                p->lsuf[k] = acc;
            }
        }
    } else if (o->score == NPSW_SCORE_COSINE) {
        p->nl_all = calloc(n ? n : 1, sizeof *p->nl_all);
        if (!p->nl_all) goto nomem;
        for (uint64_t s = 0; s < n; s++)
            for (uint64_t k = lib->offsets[s]; k < lib->offsets[s + 1]; k++) {
                double w = npsw_weight(lib->in[k], lib->mz[k], a, b);
                p->nl_all[s] += w * w;
            }
    } else { /* entropy */
        p->e = malloc((np ? np : 1) * sizeof *p->e);
        p->elog = malloc((np ? np : 1) * sizeof *p->elog);
        double *ew = malloc((np ? np : 1) * sizeof *ew);
        if (!p->e || !p->elog || !ew) {
            free(ew);
            goto nomem;
        }
        for (uint64_t s = 0; s < n; s++)
            npsw_entropy_weights(lib->in + lib->offsets[s],
                                 (uint32_t)(lib->offsets[s + 1] - lib->offsets[s]),
                                 ew + lib->offsets[s]);
        for (uint64_t k = 0; k < np; k++) {
            p->e[k] = ew[p->g[k]];
            p->elog[k] = p->e[k] > 0 ? p->e[k] * log2(p->e[k]) : 0;
        }
        free(ew);
    }
    free(fill);
    free(p->g); /* not needed by the walk */
    p->g = NULL;
    return 0;
nomem:
    free(fill);
    return NPSW_ENOMEM;
}

typedef struct cand {
    double bound;
    uint32_t s;
} cand;

#define NO_PEAK UINT32_MAX

/* MF family: the NIST algorithm followed pair by pair for one library spectrum
 * (docs/algorithms.md, "Exact search"); one cache line, so a posting touches one line. */
typedef struct mf_state {
    double acc;           /* sum of w_q w_l over counted pairs */
    double xuu;           /* MF, WMF: w_q^2 of counted pairs whose query side is at or below the
                             threshold; RMF: w_q^2 of all counted pairs */
    double xll;           /* w_l^2 of counted pairs whose library side is at or below it */
    double srm, sm;       /* ratio term sums */
    double prev_rl;       /* previous counted pair: sqrt of its library intensity */
    uint32_t n1, n2;      /* counted pairs, ratio terms */
    uint32_t lastq;       /* previous counted pair: query peak (NO_PEAK: none yet) */
    uint32_t prev_cl;     /* previous counted pair: counted library peaks up to and including it */
} mf_state;

/* Per-thread buffers, one entry per library spectrum (reset after each query for the spectra
 * it touched) or per query peak. */
typedef struct scratch {
    uint32_t *shared;  /* postings met (= matched peaks) */
    uint32_t *touched; /* spectra met by this query, in order of first meeting */
    double *acc;       /* cosine: dot product; entropy: the sum of pair terms */
    mf_state *mf;      /* MF family */
    cand *c;
    uint32_t *sel;     /* heap of candidate positions for the first pass */
    double *wq, *eq, *qsuf, *rq; /* per query peak: weight, entropy weight, suffix sum of counted
                                    w^2, sqrt(intensity) */
    double *eqlog;     /* per query peak: a log2 a of its entropy weight a */
    double *qsuf_mz;   /* wmf: per nominal m/z m <= qmax, qsuf of the first query peak >= m */
    double qmax;       /* the query's highest m/z */
    uint32_t *cq;      /* per query peak: counted query peaks before it */
} scratch;

static void scratch_free(scratch *w)
{
    free(w->shared);
    free(w->touched);
    free(w->acc);
    free(w->mf);
    free(w->c);
    free(w->sel);
    free(w->wq);
    free(w->eq);
    free(w->qsuf);
    free(w->rq);
    free(w->eqlog);
    free(w->qsuf_mz);
    free(w->cq);
}

static int scratch_alloc(scratch *w, uint64_t n, uint32_t max_q, uint32_t nsel, int mf_family,
                         uint32_t max_mz)
{
    memset(w, 0, sizeof *w);
    size_t m = n ? n : 1, mq = (size_t)max_q + 1;
    int ok = (w->shared = calloc(m, sizeof *w->shared)) && (w->touched = malloc(m * sizeof *w->touched)) &&
             (w->acc = calloc(m, sizeof *w->acc)) && (w->c = malloc(m * sizeof *w->c)) &&
             (w->sel = malloc((nsel ? nsel : 1) * sizeof *w->sel)) &&
             (w->wq = malloc(mq * sizeof *w->wq)) && (w->eq = malloc(mq * sizeof *w->eq)) &&
             (w->qsuf = malloc(mq * sizeof *w->qsuf)) && (w->rq = malloc(mq * sizeof *w->rq)) &&
             (w->eqlog = malloc(mq * sizeof *w->eqlog)) &&
             (w->qsuf_mz = malloc(((size_t)max_mz + 2) * sizeof *w->qsuf_mz)) &&
             (w->cq = malloc(mq * sizeof *w->cq));
    if (ok && mf_family) {
        ok = (w->mf = calloc(m, sizeof *w->mf)) != NULL;
        if (ok)
            for (size_t i = 0; i < m; i++) w->mf[i].lastq = NO_PEAK;
    }
    return ok ? 0 : NPSW_ENOMEM;
}

/* The MF-family score of spectrum s from its accumulated pair-by-pair sums: the same quantities
 * npsw_score_pair() computes, summed in another order (so equal up to rounding). */
static double mf_family_value(const npsw_lib *lib, const prepared *p, const scratch *w,
                              const npsw_peaks *qp, npsw_score_kind kind, uint32_t s)
{
    const mf_state *f = &w->mf[s];
    if (f->n1 == 0) return 0;
    uint64_t off = lib->offsets[s], end = lib->offsets[s + 1];
    double uu, ll;
    if (kind == NPSW_SCORE_RMF) {
        uu = f->xuu;
        ll = p->lsuf[off] + f->xll;
    } else if (kind == NPSW_SCORE_MF) {
        uu = w->qsuf[0] + f->xuu;
        ll = p->lsuf[off] + f->xll;
    } else { /* wmf: from the higher of the two lowest m/z */
        double qlo = qp->mz[0], llo = lib->mz[off];
        if (llo > qlo) {
            /* nominal m/z: the query's suffix sums by m/z are a table */
            uu = (llo <= w->qmax ? w->qsuf_mz[(uint32_t)llo] : 0) + f->xuu;
            ll = p->lsuf[off] + f->xll;
        } else {
            /* library peaks below the query's lowest m/z: few, so a scan beats a search */
            uint64_t g = off;
            while (g < end && lib->mz[g] < qlo) g++;
            uu = w->qsuf[0] + f->xuu;
            ll = (g < end ? p->lsuf[g] : 0) + f->xll;
        }
    }
    if (!(uu > 0) || !(ll > 0)) return 0;
    double t1 = f->acc * f->acc / (uu * ll);
    if (t1 > 1) t1 = 1;
    if (!(f->sm > 0)) return t1;
    return (t1 * f->n1 + (f->srm / f->sm) * f->n2) / (f->n1 + f->n2);
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
    const double a = o->params.int_power, b = score_mz_power(o), thr = o->params.ignore_at_or_below;
    const npsw_score_kind kind = o->score;
    const int mff = is_mf_family(kind), rmf = kind == NPSW_SCORE_RMF;
    double nq_all = 0;
    w->qsuf[qp.n] = 0;
    for (uint32_t i = qp.n; i-- > 0;) {
        w->wq[i] = npsw_weight(qp.in[i], qp.mz[i], a, b);
        nq_all += w->wq[i] * w->wq[i];
        w->qsuf[i] = w->qsuf[i + 1] + (qp.in[i] > thr ? w->wq[i] * w->wq[i] : 0);
    }
    if (kind == NPSW_SCORE_WMF) {
        /* query m/z beyond the library's range never match; the table stops at max_mz + 1 */
        w->qmax = qp.n ? qp.mz[qp.n - 1] : 0;
        if (w->qmax > x->max_mz + 1) w->qmax = x->max_mz + 1;
        uint32_t i = 0;
        for (uint32_t m = 0; m <= (uint32_t)w->qmax; m++) {
            while (i < qp.n && qp.mz[i] < m) i++;
            w->qsuf_mz[m] = w->qsuf[i];
        }
    }
    w->cq[0] = 0;
    for (uint32_t i = 0; i < qp.n; i++) {
        w->cq[i + 1] = w->cq[i] + (qp.in[i] > thr);
        w->rq[i] = sqrt((double)qp.in[i]);
    }
    if (kind == NPSW_SCORE_ENTROPY) {
        npsw_entropy_weights(qp.in, qp.n, w->eq);
        for (uint32_t i = 0; i < qp.n; i++)
            w->eqlog[i] = w->eq[i] > 0 ? w->eq[i] * log2(w->eq[i]) : 0;
    }
    /* 1. walk the postings of the query's bins in ascending m/z */
    uint32_t nt = 0;
    for (uint32_t i = 0; i < qp.n; i++) {
        double m = qp.mz[i];
        if (m < 0 || m > x->max_mz) continue;
        uint32_t bin = (uint32_t)m;
        const double iq = qp.in[i], wq = w->wq[i];
        for (uint64_t k = x->bin_start[bin]; k < x->bin_start[bin + 1]; k++) {
            uint32_t s = x->spec[k];
            if (w->shared[s]++ == 0) w->touched[nt++] = s;
            if (!mff) {
                if (kind == NPSW_SCORE_COSINE) {
                    w->acc[s] += wq * p->w[k];
                } else { /* the pair term of npsw_entropy_pair_term() with a log2 a, b log2 b
                            precomputed: one log2 per posting */
                    double ab = w->eq[i] + p->e[k];
                    w->acc[s] += (ab * log2(ab) - w->eqlog[i] - p->elog[k]) / 2;
                }
                continue;
            }
            const double il = x->in[k], wl = p->w[k];
            if (!(iq > thr || il > thr)) continue; /* both ignored: no effect at all */
            mf_state *f = &w->mf[s];
            const uint32_t cl = p->cl[k];
            f->n1++;
            f->acc += wq * wl;
            if (rmf || iq <= thr) f->xuu += wq * wq;
            if (il <= thr) f->xll += wl * wl;
            uint32_t pq = f->lastq;
            /* a counted peak in only one spectrum between this pair and the previous one breaks
             * the chain; RMF does not count query-only peaks */
            if (pq != NO_PEAK && cl == f->prev_cl && (rmf || w->cq[i] == w->cq[pq + 1])) {
                double num = w->rq[i] * f->prev_rl, den = w->rq[pq] * p->rl[k];
                if (num > 0 && den > 0) {
                    f->srm += m * (num < den ? num / den : den / num);
                    f->sm += m;
                    f->n2++;
                }
            }
            f->lastq = i;
            f->prev_rl = p->rl[k];
            f->prev_cl = cl + (il > thr);
        }
    }
    /* 2. values (near-exact: only the summation order differs), reset as we go */
    uint32_t nc = 0;
    uint32_t min_matched = o->min_matched ? o->min_matched : 1;
    for (uint32_t k = 0; k < nt; k++) {
        uint32_t s = w->touched[k];
        double v;
        if (mff) {
            v = mf_family_value(lib, p, w, &qp, kind, s);
            memset(&w->mf[s], 0, sizeof w->mf[s]);
            w->mf[s].lastq = NO_PEAK;
        } else if (kind == NPSW_SCORE_COSINE) {
            double den = nq_all * p->nl_all[s];
            v = den > 0 ? w->acc[s] / sqrt(den) : 0;
        } else {
            v = w->acc[s];
        }
        /* leave room for rounding: the reported score comes from npsw_score_pair() */
        double bnd = v * (1 + 1e-9) + 1e-12;
        if (v > 0 && w->shared[s] >= min_matched && precursor_ok(lib, s, q, o->precursor_tol_da))
            w->c[nc++] = (cand){bnd, s};
        w->acc[s] = 0;
        w->shared[s] = 0;
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
        int ok = scratch_alloc(&w, lib->n, max_q, nsel, is_mf_family(o.score), lib->idx.max_mz) == 0;
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
