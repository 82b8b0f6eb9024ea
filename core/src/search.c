/* search.c - exact top-K search through the inverted peak index.
 *
 * For a nominal-mass library every library spectrum that shares a peak with the query gets its
 * score up to rounding: the match factors and the cosine from sums over matched pairs added up
 * by search_mf.c (vectorised), the entropy similarity from a walk over the postings of the
 * query's bins (docs/algorithms.md, "Exact search"). Candidates are then scored with npsw_score_pair() in
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
#include "search_mf.h"

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

const char *npsw_search_kernel_name(void) { return npsw_simd_name(npsw_simd_level()); }

/* ---- top-K ----------------------------------------------------------------------------- */

/* a ranks before b: higher score, then lower library index */
static int ranks_before(const npsw_hit *a, const npsw_hit *b)
{
    return a->score > b->score || (a->score == b->score && a->index < b->index);
}

int npsw_hit_before(const npsw_hit *a, const npsw_hit *b) { return ranks_before(a, b); }

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

/* Per-search tables derived from the library for the entropy walk. */
typedef struct prepared {
    uint32_t *g;    /* per posting: global index of its library peak (while preparing only) */
    double *e;      /* per posting, entropy-weighted intensity b */
    double *elog;   /* per posting, b log2 b */
} prepared;

static void prepared_free(prepared *p)
{
    free(p->g);
    free(p->e);
    free(p->elog);
}

static int prepare(const npsw_lib *lib, prepared *p)
{
    memset(p, 0, sizeof *p);
    const npsw_nominal_index *x = &lib->idx;
    const uint64_t np = lib->n_peaks, n = lib->n;
    if (np >= UINT32_MAX) return NPSW_ELIMIT;
    p->g = malloc((np ? np : 1) * sizeof *p->g);
    uint64_t *fill = malloc(((size_t)x->max_mz + 1) * sizeof *fill);
    if (!p->g || !fill) goto nomem;
    /* posting order: scatter every peak to its bin, as the index was built */
    memcpy(fill, x->bin_start, ((size_t)x->max_mz + 1) * sizeof *fill);
    for (uint64_t s = 0; s < n; s++)
        for (uint64_t k = lib->offsets[s]; k < lib->offsets[s + 1]; k++)
            p->g[fill[(uint32_t)lib->mz[k]]++] = (uint32_t)k;
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

/* Per-thread buffers, one entry per library spectrum (reset after each query for the spectra
 * it touched) or per query peak. */
typedef struct scratch {
    uint32_t *shared;   /* entropy: postings met (= matched peaks) */
    uint32_t *touched;  /* entropy: spectra met by this query, in order of first meeting */
    double *acc;        /* entropy: the sum of pair terms */
    cand *c;
    uint32_t *sel;      /* heap of candidate positions for the first pass */
    double *eq;         /* per query peak: entropy weight */
    double *eqlog;      /* per query peak: a log2 a of its entropy weight a */
    npsw_mfx_work *mfw; /* match factors, cosine */
} scratch;

static void scratch_free(scratch *w)
{
    free(w->shared);
    free(w->touched);
    free(w->acc);
    free(w->c);
    free(w->sel);
    free(w->eq);
    free(w->eqlog);
    npsw_mfx_work_free(w->mfw);
}

static int scratch_alloc(scratch *w, uint64_t n, uint32_t max_q, uint32_t nsel, const npsw_mfx *mfx)
{
    memset(w, 0, sizeof *w);
    size_t m = n ? n : 1, mq = (size_t)max_q + 1;
    int ok = (w->c = malloc(m * sizeof *w->c)) &&
             (w->sel = malloc((nsel ? nsel : 1) * sizeof *w->sel));
    if (ok && mfx)
        ok = (w->mfw = npsw_mfx_work_new(mfx, max_q)) != NULL;
    else if (ok)
        ok = (w->shared = calloc(m, sizeof *w->shared)) &&
             (w->touched = malloc(m * sizeof *w->touched)) && (w->acc = calloc(m, sizeof *w->acc)) &&
             (w->eq = malloc(mq * sizeof *w->eq)) &&
             (w->eqlog = malloc(mq * sizeof *w->eqlog));
    return ok ? 0 : NPSW_ENOMEM;
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

/* Score the nc candidates w->c (bounds >= their scores) until none left can beat the K-th
 * best: the nsel most promising first, so the K-th score rises early, then every other one
 * whose bound can still enter. */
static void score_candidates(const npsw_lib *lib, const npsw_peaks *qp, const npsw_search_opts *o,
                             uint32_t nsel, scratch *w, uint32_t nc, topk *t, uint64_t *n_scored)
{
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
            score_one(lib, c->s, qp, o, 0, t);
            ++*n_scored;
        }
        c->bound = -1; /* done */
    }
    for (uint32_t k = 0; k < nc; k++) {
        if (w->c[k].bound < 0 || !topk_may_enter(t, w->c[k].bound)) continue;
        score_one(lib, w->c[k].s, qp, o, 0, t);
        ++*n_scored;
    }
}

/* Match factors and cosine, query j of the batch just summed (search_mf.c): exact scoring of
 * candidates. */
static void search_one_mf(const npsw_lib *lib, uint32_t j, const npsw_spectrum *q,
                          const npsw_search_opts *o, uint32_t nsel, scratch *w, topk *t,
                          uint64_t *n_cand, uint64_t *n_scored)
{
    npsw_peaks qp = query_peaks(q);
    int64_t nm;
    const npsw_mfx_cand *mc = npsw_mfx_result(w->mfw, j, &nm);
    if (nm < 0) { /* the query cannot use the index: score every spectrum */
        for (uint64_t s = 0; s < lib->n; s++)
            if (precursor_ok(lib, s, q, o->precursor_tol_da)) score_one(lib, s, &qp, o, 0, t);
        *n_cand += lib->n;
        *n_scored += lib->n;
        return;
    }
    uint32_t nc = 0, min_matched = o->min_matched ? o->min_matched : 1;
    for (int64_t k = 0; k < nm; k++)
        if (mc[k].shared >= min_matched && precursor_ok(lib, mc[k].s, q, o->precursor_tol_da))
            w->c[nc++] = (cand){mc[k].bound, mc[k].s};
    *n_cand += nc;
    score_candidates(lib, &qp, o, nsel, w, nc, t, n_scored);
}

/* Entropy: walk the postings of the query's bins, accumulating each touched spectrum's score
 * itself (up to rounding), then score candidates exactly. */
static void search_one_entropy(const npsw_lib *lib, const prepared *p, const npsw_spectrum *q,
                               const npsw_search_opts *o, uint32_t nsel, scratch *w, topk *t,
                               uint64_t *n_cand, uint64_t *n_scored)
{
    const npsw_nominal_index *x = &lib->idx;
    npsw_peaks qp = query_peaks(q);
    npsw_entropy_weights(qp.in, qp.n, w->eq);
    for (uint32_t i = 0; i < qp.n; i++)
        w->eqlog[i] = w->eq[i] > 0 ? w->eq[i] * log2(w->eq[i]) : 0;
    /* 1. walk the postings of the query's bins */
    uint32_t nt = 0;
    for (uint32_t i = 0; i < qp.n; i++) {
        double m = qp.mz[i];
        if (m < 0 || m > x->max_mz) continue;
        uint32_t bin = (uint32_t)m;
        for (uint64_t k = x->bin_start[bin]; k < x->bin_start[bin + 1]; k++) {
            uint32_t s = x->spec[k];
            if (w->shared[s]++ == 0) w->touched[nt++] = s;
            /* the pair term of npsw_entropy_pair_term() with a log2 a, b log2 b precomputed:
             * one log2 per posting */
            double ab = w->eq[i] + p->e[k];
            w->acc[s] += (ab * log2(ab) - w->eqlog[i] - p->elog[k]) / 2;
        }
    }
    /* 2. values (near-exact: only the summation order differs), reset as we go */
    uint32_t nc = 0;
    uint32_t min_matched = o->min_matched ? o->min_matched : 1;
    for (uint32_t k = 0; k < nt; k++) {
        uint32_t s = w->touched[k];
        double v = w->acc[s];
        /* leave room for rounding: the reported score comes from npsw_score_pair() */
        double bnd = v * (1 + 1e-9) + 1e-12;
        if (v > 0 && w->shared[s] >= min_matched && precursor_ok(lib, s, q, o->precursor_tol_da))
            w->c[nc++] = (cand){bnd, s};
        w->acc[s] = 0;
        w->shared[s] = 0;
    }
    *n_cand += nc;
    score_candidates(lib, &qp, o, nsel, w, nc, t, n_scored);
}

/* What a search of one library with one set of options needs, made once: the MF-family tables
 * (search_mf.c) or the entropy tables, or neither when the search is exhaustive. */
struct npsw_search_index {
    const npsw_lib *lib;
    npsw_search_opts o; /* effective options (nominal from the library) */
    int brute;          /* scored exhaustively */
    int mff;            /* MF family or cosine: mfx, else p */
    prepared p;
    npsw_mfx *mfx;
};

static int search_index_make(const npsw_lib *lib, const npsw_search_opts *o_in,
                             npsw_search_index **out, npsw_err *err)
{
    *out = NULL;
    npsw_search_index *ix = calloc(1, sizeof *ix);
    if (!ix) return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory preparing the search");
    ix->lib = lib;
    ix->o = effective_opts(lib, o_in);
    int rc = npsw_search_opts_check(&ix->o, err);
    if (rc < 0) {
        free(ix);
        return rc;
    }
    /* The index bounds assume the whole m/z range; the optional range limits are searched
     * exhaustively (still exact). */
    if (!lib->info.clean.nominal || !lib->idx.bin_start || ix->o.params.common_range ||
        ix->o.params.mz_min > 0) {
        ix->brute = 1;
        *out = ix;
        return 0;
    }
    /* match factors and cosine: summed by search_mf.c */
    ix->mff = is_mf_family(ix->o.score) || ix->o.score == NPSW_SCORE_COSINE;
    rc = ix->mff ? npsw_mfx_new(lib, &ix->o, &ix->mfx) : prepare(lib, &ix->p);
    if (rc < 0) {
        npsw_search_index_free(ix);
        return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory preparing the search");
    }
    /* rc > 0: intensities the single-precision sums cannot take: score exhaustively */
    if (rc > 0) ix->brute = 1;
    *out = ix;
    return 0;
}

npsw_search_index *npsw_search_index_new(const npsw_lib *lib, const npsw_search_opts *o,
                                         npsw_err *err)
{
    npsw_search_index *ix;
    return search_index_make(lib, o, &ix, err) < 0 ? NULL : ix;
}

void npsw_search_index_free(npsw_search_index *ix)
{
    if (!ix) return;
    prepared_free(&ix->p);
    npsw_mfx_free(ix->mfx);
    free(ix);
}

int npsw_search(const npsw_lib *lib, const npsw_spectrum *queries, size_t nq,
                const npsw_search_opts *o_in, npsw_hit *hits, uint32_t *nhits,
                npsw_search_stats *stats, npsw_err *err)
{
    if (stats) memset(stats, 0, sizeof *stats);
    npsw_search_index *ix;
    int rc = search_index_make(lib, o_in, &ix, err);
    if (rc < 0) return rc;
    rc = npsw_search_with(ix, queries, nq, o_in->threads, o_in->progress, o_in->progress_user,
                              hits, nhits, stats, err);
    npsw_search_index_free(ix);
    return rc;
}

int npsw_search_with(const npsw_search_index *ix, const npsw_spectrum *queries, size_t nq,
                     int threads, npsw_progress_fn progress, void *progress_user, npsw_hit *hits,
                     uint32_t *nhits, npsw_search_stats *stats, npsw_err *err)
{
    const npsw_lib *lib = ix->lib;
    npsw_search_opts o = ix->o;
    o.threads = threads;
    o.progress = progress;
    o.progress_user = progress_user;
    int rc = npsw_search_opts_check(&o, err);
    if (rc < 0) return rc;
    if (stats) memset(stats, 0, sizeof *stats);
    if (ix->brute) {
        rc = npsw_search_brute(lib, queries, nq, &o, 0, hits, nhits, err);
        if (rc == 0 && stats) {
            stats->n_queries = nq;
            stats->n_candidates = stats->n_scored = (uint64_t)nq * lib->n;
        }
        return rc;
    }
    const prepared *pp = &ix->p;
    npsw_mfx *mfx = ix->mfx;
    const int mff = ix->mff;
    const int level = npsw_simd_level();
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
        int ok = scratch_alloc(&w, lib->n, max_q, nsel, mfx) == 0;
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
        if (mff) {
            /* batches of MFX_BATCH queries share the passes over the dense bins */
            const size_t nbatch = (nq + MFX_BATCH - 1) / MFX_BATCH;
            npsw_peaks bq[MFX_BATCH];
            double bprec[MFX_BATCH];
            npsw_mfx_filter filt = {o.k, o.min_matched ? o.min_matched : 1, o.precursor_tol_da,
                                    bprec};
#pragma omp for schedule(dynamic, 1)
            for (size_t bi = 0; bi < nbatch; bi++) {
                size_t q0 = bi * MFX_BATCH, qn = nq - q0 < MFX_BATCH ? nq - q0 : MFX_BATCH;
                for (size_t j = 0; j < qn; j++) {
                    bq[j] = query_peaks(&queries[q0 + j]);
                    bprec[j] = queries[q0 + j].precursor_mz;
                }
                if (ok && npsw_mfx_batch(mfx, w.mfw, bq, (uint32_t)qn, &filt, level) < 0) {
                    ok = 0;
#pragma omp atomic write
                    failed = 1;
                }
                for (size_t j = 0; j < qn; j++) {
                    size_t qi = q0 + j;
                    topk t = {hits + qi * o.k, 0, o.k};
                    if (ok && queries[qi].n)
                        search_one_mf(lib, (uint32_t)j, &queries[qi], &o, nsel, &w, &t, &n_cand,
                                      &n_scored);
                    nhits[qi] = topk_finish(&t, lib, &queries[qi], &o);
                }
                if (o.progress) {
                    uint64_t d;
#pragma omp atomic capture
                    d = done += qn;
                    if (omp_get_thread_num() == 0) o.progress(o.progress_user, d, nq);
                }
            }
        } else {
#pragma omp for schedule(dynamic, 8)
            for (size_t qi = 0; qi < nq; qi++) {
                topk t = {hits + qi * o.k, 0, o.k};
                if (ok && queries[qi].n)
                    search_one_entropy(lib, pp, &queries[qi], &o, nsel, &w, &t, &n_cand,
                                       &n_scored);
                nhits[qi] = topk_finish(&t, lib, &queries[qi], &o);
                if (o.progress) {
                    uint64_t d;
#pragma omp atomic capture
                    d = ++done;
                    if (omp_get_thread_num() == 0 && (d % 64 == 0 || d == nq))
                        o.progress(o.progress_user, d, nq);
                }
            }
        }
        scratch_free(&w);
    }
    if (failed) return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory for search buffers");
    if (stats) {
        stats->n_queries = nq;
        stats->n_candidates = n_cand;
        stats->n_scored = n_scored;
    }
    return 0;
}
