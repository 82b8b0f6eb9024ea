/* hybrid_index.c - exact top-k hybrid search through m/z and neutral-loss postings
 * (docs/analogues.md, "Fast hybrid search", has the proofs).
 *
 * Index (npsw_analogue_index, built once per library and peak weights): every spectrum with a
 * whole-number mass L_s gets a rank in (mass, index) order; each of its peaks j gives a posting
 * in the bin of its m/z and one in the bin of its neutral loss L_s - m/z_j, carrying the rank and
 * u_j = w_j / ||w_s|| rounded up. Within a bin the postings of the spectrum's heavy peaks come
 * first, then those of its light peaks (the largest set of its lightest peaks with squared unit
 * norm lambda_s <= HEAVY_EPS), each part in rank order, so the spectra within max_delta of a
 * query mass are one contiguous rank range found by binary search.
 *
 * Search of one query: a query peak i pairs with a library peak at its m/z (direct) or, for
 * query mass M, at the same neutral loss M - m/z_i (shifted: m/z_i = m/z_j + delta, delta =
 * M - L_s), one-to-one. Its peaks are walked heaviest first: all postings of the first ones (F),
 * the heavy postings of the others (H), adding qh_i u_j per rank (a row by m/z and one by loss
 * for each query mass). Then, per spectrum and query mass,
 *   hybrid <= row_mz + row_loss(M) + sqrt(R_H lambda_s)                      (postings' bound)
 *   hybrid <= sum_j u_j max(qh(m/z_j), qh(m/z_j + delta))                    (dense bound)
 * (qh_i = w_i / ||w_q||, R_H = sum of qh_i^2 over H). A first k-th score comes from scoring
 * exactly the most promising spectra after the first peaks; F grows until a spectrum reached by
 * none of its postings is well below it; then the spectra whose postings' bound reaches the k-th
 * score get the dense bound, and those whose dense bound does are scored exactly
 * (npsw_hyb_score_nominal, the brute force's result without sorting), highest bound first, until
 * none can enter. Bounds carry a margin for rounding and ties with the k-th score are scored
 * (they may win on index): the hits are the brute force's bit for bit.
 *
 * Spectra the postings cannot represent (a mass or m/z that is not a whole number within the
 * limits, peaks out of order) and every spectrum of an accurate-mass library are scored
 * exhaustively, as are queries whose m/z or masses are not whole numbers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hybrid_internal.h"
#include "library_internal.h"

#define MASS_LIMIT 100000.0 /* masses the postings represent: whole numbers 0..limit */
#define MZ_LIMIT 65535.0    /* m/z the postings represent: whole numbers 0..limit (16 bits) */
#define HEAVY_EPS 0.1 /* light peaks: at most this share of their spectrum's squared norm */
#define SEED_REST 0.5  /* seeds once the fully walked peaks hold half the query's squared norm */
#define SEED_EXTRA 16  /* seeds: the k + SEED_EXTRA best spectra by the postings' sum so far */
#define PLAN_GAMMA 0.3 /* all postings of more peaks until sqrt(R2 eps) < PLAN_GAMMA theta */
#define POW_TABLE 2048 /* powers of whole intensities and m/z below this come from a table */

/* A posting: the rank of its spectrum ((mass, index) order) in the high bits, its unit-norm
 * weight rounded up to a multiple of 1 / (2^ubits - 1) in the low ubits bits; so postings in
 * rank order are in numeric order. */
typedef uint32_t posting;

/* Postings by bin: bin b holds [start[b], split[b]) heavy and [split[b], start[b+1]) light
 * postings, each part in rank order. */
typedef struct bins {
    uint64_t nbins;
    uint64_t *start, *split;
    posting *p;
} bins;

struct npsw_analogue_index {
    const npsw_lib *lib;
    npsw_score_params p; /* nominal taken from the library */
    uint64_t n;
    double *mass;     /* per spectrum: npsw_hyb_lib_mass (NAN: none, never scored) */
    double *w;        /* per library peak: weight */
    double *norm2;    /* per spectrum: sum of squared weights, in peak order */
    uint32_t max_peaks;
    int indexed;      /* the postings are used (nominal library) */
    uint64_t *odd;    /* spectra with a mass scored exhaustively (all of them when !indexed) */
    uint64_t n_odd;
    /* regular spectra (with a mass, represented by the postings), ranked by (mass, index) */
    uint32_t nr;
    uint32_t *rs;     /* rank -> spectrum */
    double *rmass;    /* rank -> mass */
    double *rsl;      /* rank -> sqrt of the squared unit norm of its light peaks (<= sqrt eps);
                         -1: zero norm, never a hit */
    double *umass;    /* distinct masses, ascending */
    uint32_t *ucum;   /* ucum[a]: first rank with mass umass[a] (n_umass + 1 entries) */
    uint32_t n_umass;
    float *u;         /* while building: per library peak, unit-norm weight rounded up */
    int32_t *imz;     /* while building: per library peak, m/z */
    uint32_t *pk;     /* the peaks of the regular spectra in rank order, pk[roff[r] ..
                         roff[r + 1]): m/z << 16 | the unit-norm weight rounded up to a
                         multiple of 1/65535 */
    uint64_t *roff;   /* nr + 1 */
    unsigned ubits;   /* posting bits of the unit weight */
    float uscale;     /* 1 / (2^ubits - 1), rounded up */
    double eps;       /* light peaks: at most this share of a spectrum's squared norm */
    uint32_t max_mz;  /* bins by m/z: 0..max_mz */
    bins d;
    int64_t loss_lo;  /* bins by neutral loss (mass - m/z): loss_lo .. */
    bins l;
};

const npsw_score_params *npsw_hyb_index_params(const npsw_hyb_index *x) { return &x->p; }

static void bins_free(bins *b)
{
    free(b->start);
    free(b->split);
    free(b->p);
}

void npsw_hyb_index_free(npsw_hyb_index *x)
{
    if (!x) return;
    free(x->mass);
    free(x->w);
    free(x->norm2);
    free(x->odd);
    free(x->rs);
    free(x->rmass);
    free(x->rsl);
    free(x->umass);
    free(x->ucum);
    free(x->u);
    free(x->imz);
    free(x->pk);
    free(x->roff);
    bins_free(&x->d);
    bins_free(&x->l);
    free(x);
}

static int is_whole(double v, double limit) { return v >= 0 && v <= limit && v == floor(v); }

/* Can the postings represent spectrum s (with a mass)? Whole-number mass and m/z within the
 * limit, m/z strictly ascending (one peak per m/z, hence one per loss). */
static int regular(const npsw_lib *lib, uint64_t s, double mass)
{
    if (!is_whole(mass, MASS_LIMIT)) return 0;
    double prev = -1;
    for (uint64_t k = lib->offsets[s]; k < lib->offsets[s + 1]; k++) {
        double m = lib->mz[k];
        if (!is_whole(m, MZ_LIMIT) || m <= prev) return 0;
        prev = m;
    }
    return 1;
}

typedef struct spec_key {
    double mass;
    uint64_t s;
} spec_key;

static int key_cmp(const void *a, const void *b)
{
    const spec_key *x = a, *y = b;
    if (x->mass != y->mass) return x->mass < y->mass ? -1 : 1;
    return (x->s > y->s) - (x->s < y->s);
}

/* The float nearest above u (u >= 0 finite): an upper bound in single precision. */
static float round_up(double u)
{
    float f = (float)u;
    if ((double)f < u) {
        uint32_t b;
        memcpy(&b, &f, sizeof b);
        b++; /* the next float up (f >= 0 finite) */
        memcpy(&f, &b, sizeof f);
    }
    return f;
}

typedef struct wsort {
    double w;
    uint32_t i;
} wsort;

/* Sort by weight descending, then index (merge sort into the caller's buffer). */
static int wsort_before(const wsort *a, const wsort *b)
{
    return a->w > b->w || (a->w == b->w && a->i < b->i);
}

static void sort_weights(wsort *a, wsort *tmp, uint32_t n)
{
    wsort *src = a, *dst = tmp;
    for (uint32_t width = 1; width < n; width *= 2) {
        for (uint32_t lo = 0; lo < n; lo += 2 * width) {
            uint32_t mid = lo + width < n ? lo + width : n;
            uint32_t hi = mid + width < n ? mid + width : n;
            uint32_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) dst[k++] = wsort_before(&src[j], &src[i]) ? src[j++] : src[i++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        wsort *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, n * sizeof *a);
}

/* The light peaks of one spectrum: the largest set of its smallest weights whose squares sum to
 * at most budget, found by a weighted quickselect on a[0..n) (reordered); they get heavy[] = 0. */
static void take_light(wsort *a, uint32_t n, double budget, unsigned char *heavy)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        double p = a[lo + (hi - lo) / 2].w;
        uint32_t lt = lo, i = lo, gt = hi; /* [lo, lt) < p, [lt, gt) == p, [gt, hi) > p */
        while (i < gt) {
            wsort t = a[i];
            if (t.w < p) a[i++] = a[lt], a[lt++] = t;
            else if (t.w > p) a[i] = a[--gt], a[gt] = t;
            else i++;
        }
        double below = 0;
        for (uint32_t k = lo; k < lt; k++) below += a[k].w * a[k].w;
        if (below > budget) { /* the light set lies within the smaller ones */
            hi = lt;
            continue;
        }
        for (uint32_t k = lo; k < lt; k++) heavy[a[k].i] = 0;
        budget -= below;
        uint32_t k = lt;
        for (; k < gt && p * p <= budget; k++) heavy[a[k].i] = 0, budget -= p * p;
        if (k < gt) break;
        lo = gt;
    }
}

/* Unit weights, m/z as integers and the heavy peaks (flag per peak) of the regular spectra:
 * all but the largest set of the lightest peaks holding at most eps of the squared norm. */
static int split_heavy(npsw_hyb_index *x, unsigned char *heavy, int threads)
{
    const npsw_lib *lib = x->lib;
    int failed = 0;
#pragma omp parallel num_threads(threads)
    {
        wsort *a = malloc(((size_t)x->max_peaks + 1) * sizeof *a);
        if (!a) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 256)
        for (uint32_t r = 0; r < x->nr; r++) {
            if (!a) continue;
            uint64_t s = x->rs[r], off = lib->offsets[s];
            uint32_t np = (uint32_t)(lib->offsets[s + 1] - off);
            double n2 = x->norm2[s], norm = sqrt(n2);
            /* unit weights rounded up: w / norm, from above (the product with 1 / norm is
             * within 2 ulp; the bounds' margin covers that) */
            double inv = n2 > 0 ? 1 / norm : 0;
            for (uint32_t j = 0; j < np; j++) {
                x->imz[off + j] = (int32_t)lib->mz[off + j];
                x->u[off + j] = round_up(x->w[off + j] * inv);
                double u16 = ceil((double)x->u[off + j] * 65535);
                x->pk[x->roff[r] + j] =
                    (uint32_t)x->imz[off + j] << 16 | (uint32_t)(u16 < 65535 ? u16 : 65535);
                heavy[off + j] = 1;
                a[j] = (wsort){x->w[off + j], j};
            }
            if (!(n2 > 0)) {
                x->rsl[r] = -1;
                continue;
            }
            take_light(a, np, x->eps * n2, heavy + off);
            double lambda = 0;
            for (uint32_t j = 0; j < np; j++)
                if (!heavy[off + j]) {
                    double v = x->w[off + j] / norm;
                    lambda += v * v;
                }
            x->rsl[r] = sqrt(lambda);
        }
        free(a);
    }
    return failed ? NPSW_ENOMEM : 0;
}

/* Counting sort of the regular spectra's peaks, in rank order, into bins, heavy part first.
 * loss = 0: bins by m/z; 1: by mass - m/z (offset lo). */
static int build_bins(npsw_hyb_index *x, const unsigned char *heavy, int loss, uint64_t nbins,
                      int64_t lo, bins *b)
{
    const npsw_lib *lib = x->lib;
    const double umax = (double)((1u << x->ubits) - 1);
    b->nbins = nbins;
    b->start = calloc(nbins + 1, sizeof *b->start);
    b->split = calloc(nbins ? nbins : 1, sizeof *b->split);
    uint64_t *fill_h = malloc((nbins ? nbins : 1) * sizeof *fill_h);
    uint64_t *fill_l = malloc((nbins ? nbins : 1) * sizeof *fill_l);
    if (!b->start || !b->split || !fill_h || !fill_l) goto nomem;
    uint64_t np = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t r = 0; r < x->nr; r++) {
            if (x->rsl[r] < 0) continue; /* never a hit: every score is 0 */
            uint64_t s = x->rs[r];
            int64_t mass = (int64_t)x->rmass[r];
            for (uint64_t k = lib->offsets[s]; k < lib->offsets[s + 1]; k++) {
                uint64_t bin = (uint64_t)((loss ? mass - x->imz[k] : x->imz[k]) - lo);
                if (pass == 0) {
                    b->start[bin + 1]++;
                    b->split[bin] += heavy[k];
                    np++;
                } else {
                    uint64_t at = heavy[k] ? fill_h[bin]++ : fill_l[bin]++;
                    double qu = ceil((double)x->u[k] * umax); /* exact product: from above */
                    b->p[at] = (posting)r << x->ubits | (uint32_t)(qu < umax ? qu : umax);
                }
            }
        }
        if (pass == 1) break;
        for (uint64_t i = 0; i < nbins; i++) {
            b->start[i + 1] += b->start[i];
            fill_h[i] = b->start[i];
            b->split[i] += b->start[i];
            fill_l[i] = b->split[i];
        }
        b->p = malloc((np ? np : 1) * sizeof *b->p);
        if (!b->p) goto nomem;
    }
    free(fill_h);
    free(fill_l);
    return 0;
nomem:
    free(fill_h);
    free(fill_l);
    return NPSW_ENOMEM;
}

npsw_hyb_index *npsw_hyb_index_new(const npsw_lib *lib, const npsw_score_params *params,
                                   int threads, npsw_err *err)
{
    npsw_hyb_index *x = calloc(1, sizeof *x);
    spec_key *keys = NULL;
    unsigned char *heavy = NULL, *reg = NULL;
    if (!x) goto nomem;
    if (threads < 1) threads = 1;
    x->lib = lib;
    x->p = *params;
    x->p.nominal = lib->info.clean.nominal;
    x->n = lib->n;
    x->eps = HEAVY_EPS;
    size_t n1 = lib->n ? lib->n : 1, np1 = lib->n_peaks ? lib->n_peaks : 1;
    x->mass = malloc(n1 * sizeof *x->mass);
    x->norm2 = malloc(n1 * sizeof *x->norm2);
    x->w = malloc(np1 * sizeof *x->w);
    x->odd = malloc(n1 * sizeof *x->odd);
    keys = malloc(n1 * sizeof *keys);
    reg = malloc(n1);
    if (!x->mass || !x->norm2 || !x->w || !x->odd || !keys || !reg) goto nomem;
    /* masses, weights, norms; the regular spectra sorted by (mass, index) */
    x->indexed = x->p.nominal && lib->n < ((uint64_t)1 << 24); /* ranks in 24 bits */
    /* I^a and (m/z)^b of whole numbers from tables: the same function on the same numbers, so
     * the same bits as npsw_hyb_weights (the exact scores depend on it) */
    double tin[POW_TABLE], tmz[POW_TABLE];
    for (int v = 0; v < POW_TABLE; v++) {
        tin[v] = npsw_pow_fast(v, x->p.int_power);
        tmz[v] = npsw_pow_fast(v, x->p.mz_power);
    }
    uint32_t max_peaks = 0;
#pragma omp parallel for schedule(dynamic, 256) num_threads(threads) reduction(max : max_peaks)
    for (uint64_t s = 0; s < lib->n; s++) {
        npsw_peaks lp = npsw_lib_peaks(lib, s);
        double *w = x->w + lib->offsets[s], n2 = 0;
        for (uint32_t j = 0; j < lp.n; j++) {
            float in = lp.in[j];
            double mz = lp.mz[j];
            double pi = in >= 0 && in < POW_TABLE && in == (float)(int)in
                            ? tin[(int)in] : npsw_pow_fast(in, x->p.int_power);
            double pm = mz >= 0 && mz < POW_TABLE && mz == (double)(int)mz
                            ? tmz[(int)mz] : npsw_pow_fast(mz, x->p.mz_power);
            w[j] = pi * pm; /* npsw_weight(in, mz, a, b) */
            n2 += w[j] * w[j];
        }
        x->norm2[s] = n2;
        if (lp.n > max_peaks) max_peaks = lp.n;
        x->mass[s] = npsw_hyb_lib_mass(lib, s, x->p.nominal);
        reg[s] = !isnan(x->mass[s]) && x->indexed && regular(lib, s, x->mass[s]) &&
                 isfinite(x->norm2[s]);
    }
    x->max_peaks = max_peaks;
    uint64_t nk = 0;
    for (uint64_t s = 0; s < lib->n; s++) {
        if (isnan(x->mass[s])) continue;
        if (reg[s]) keys[nk++] = (spec_key){x->mass[s], s};
        else x->odd[x->n_odd++] = s;
    }
    if (!x->indexed) goto done;
    qsort(keys, nk, sizeof *keys, key_cmp);
    x->nr = (uint32_t)nk;
    size_t nr1 = nk ? nk : 1;
    x->rs = malloc(nr1 * sizeof *x->rs);
    x->rmass = malloc(nr1 * sizeof *x->rmass);
    x->rsl = malloc(nr1 * sizeof *x->rsl);
    x->umass = malloc(nr1 * sizeof *x->umass);
    x->ucum = malloc((nk + 1) * sizeof *x->ucum);
    x->u = malloc(np1 * sizeof *x->u);
    x->imz = malloc(np1 * sizeof *x->imz);
    x->pk = malloc(np1 * sizeof *x->pk);
    x->roff = malloc((nk + 1) * sizeof *x->roff);
    heavy = malloc(np1);
    if (!x->rs || !x->rmass || !x->rsl || !x->umass || !x->ucum || !x->u || !x->imz || !x->pk ||
        !x->roff || !heavy)
        goto nomem;
    /* postings: the rank in as few bits as it needs, the unit weight in the others (8 to 24:
     * exact as a float) */
    unsigned rbits = 8;
    while (rbits < 24 && ((uint64_t)1 << rbits) < nk) rbits++;
    x->ubits = 32 - rbits;
    x->uscale = round_up(1.0 / (double)((1u << x->ubits) - 1));
    for (uint32_t r = 0; r < x->nr; r++) {
        x->rs[r] = (uint32_t)keys[r].s;
        x->rmass[r] = keys[r].mass;
        if (r == 0 || keys[r].mass != keys[r - 1].mass) {
            x->ucum[x->n_umass] = r;
            x->umass[x->n_umass++] = keys[r].mass;
        }
    }
    x->ucum[x->n_umass] = x->nr;
    x->roff[0] = 0;
    for (uint32_t r = 0; r < x->nr; r++)
        x->roff[r + 1] = x->roff[r] + (lib->offsets[x->rs[r] + 1] - lib->offsets[x->rs[r]]);
    if (split_heavy(x, heavy, threads) < 0) goto nomem;
    /* bin ranges */
    int64_t max_mz = 0, lo = 0, hi = 0;
    int first = 1;
    for (uint32_t r = 0; r < x->nr; r++) {
        uint64_t s = x->rs[r];
        for (uint64_t k = lib->offsets[s]; k < lib->offsets[s + 1]; k++) {
            int64_t v = (int64_t)x->rmass[r] - x->imz[k];
            if (x->imz[k] > max_mz) max_mz = x->imz[k];
            if (first || v < lo) lo = v;
            if (first || v > hi) hi = v;
            first = 0;
        }
    }
    x->max_mz = (uint32_t)max_mz;
    x->loss_lo = lo;
    int rc_d = 0, rc_l = 0;
#pragma omp parallel sections num_threads(threads > 1 ? 2 : 1)
    {
#pragma omp section
        rc_d = build_bins(x, heavy, 0, (uint64_t)max_mz + 1, 0, &x->d);
#pragma omp section
        rc_l = build_bins(x, heavy, 1, (uint64_t)(hi - lo + 1), lo, &x->l);
    }
    if (rc_d < 0 || rc_l < 0) goto nomem;
    free(x->u);
    free(x->imz);
    x->u = NULL;
    x->imz = NULL;
done:
    free(keys);
    free(heavy);
    free(reg);
    return x;
nomem:
    free(keys);
    free(heavy);
    free(reg);
    npsw_hyb_index_free(x);
    npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory building the hybrid search index");
    return NULL;
}

/* ---- per-thread buffers ----------------------------------------------------------------- */

typedef struct cand {
    double ub; /* a bound, or the postings' sum while picking seeds */
    uint32_t r;
} cand;

struct npsw_hyb_worker {
    int nm_max;
    uint32_t max_q;
    uint32_t qtab_n;      /* query table: m/z -pad .. qtab_n + pad - 1 */
    uint32_t pad;         /* >= |query mass - library mass| within max_delta */
    uint32_t nr;
    /* per rank; zeroed over the query's mass window after each query */
    float *acc;           /* [(1 + nm_max) * nr]: row 0 sums qh_i u_j over postings by m/z,
                             row 1 + m over postings by neutral loss for query mass m (float:
                             the bound gets a margin for its rounding) */
    double *b2;           /* [nm_max * nr]: the dense bound per query mass */
    unsigned char *done;  /* scored exactly */
    float *sum;           /* per rank of the window: row 0 + the largest valid loss row; -1: no
                             query mass within max_delta */
    cand *c;
    /* per query peak, and the query's unit weights by m/z */
    double *wq, *qh, *rsuf;
    float *qtab_mem, *qtab; /* unit query weight by m/z (rounded up); qtab = qtab_mem + pad */
    uint32_t *qidx_mem, *qidx; /* query peak by m/z (UINT32_MAX: none), padded the same way */
    wsort *ord, *ord_tmp;
    npsw_hyb_scratch hs;
};

void npsw_hyb_worker_free(npsw_hyb_worker *w)
{
    if (!w) return;
    free(w->acc);
    free(w->b2);
    free(w->done);
    free(w->sum);
    free(w->c);
    free(w->wq);
    free(w->qh);
    free(w->rsuf);
    free(w->qtab_mem);
    free(w->qidx_mem);
    free(w->ord);
    free(w->ord_tmp);
    npsw_hyb_scratch_free(&w->hs);
    free(w);
}

npsw_hyb_worker *npsw_hyb_worker_new(const npsw_hyb_index *x, uint32_t max_q, int n_masses,
                                     double max_query_mz, double max_delta)
{
    npsw_hyb_worker *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    size_t mq = (size_t)max_q + 1;
    w->nm_max = n_masses < 1 ? 1 : n_masses;
    w->max_q = max_q;
    int ok = npsw_hyb_scratch_init(&w->hs, max_q, x->max_peaks, 2 * (size_t)max_q + 64) == 0;
    ok = ok && (w->wq = malloc(mq * sizeof *w->wq)) && (w->qh = malloc(mq * sizeof *w->qh)) &&
         (w->rsuf = malloc((mq + 1) * sizeof *w->rsuf)) &&
         (w->ord = malloc(mq * sizeof *w->ord)) && (w->ord_tmp = malloc(mq * sizeof *w->ord_tmp));
    if (ok && x->indexed) {
        double top = max_query_mz > x->max_mz ? max_query_mz : x->max_mz;
        if (!(top <= MZ_LIMIT)) top = MZ_LIMIT;
        w->qtab_n = (uint32_t)top + 1;
        /* query masses and library masses are whole numbers up to 2 and 1 times MASS_LIMIT */
        double pad = max_delta >= 0 && max_delta < 2 * MASS_LIMIT ? ceil(max_delta) : 2 * MASS_LIMIT;
        w->pad = (uint32_t)pad + 1;
        w->nr = x->nr;
        size_t nr = x->nr ? x->nr : 1, nm = (size_t)w->nm_max;
        ok = (w->acc = calloc(nr * (nm + 1), sizeof *w->acc)) &&
             (w->b2 = calloc(nr * nm, sizeof *w->b2)) && (w->done = calloc(nr, 1)) &&
             (w->sum = malloc(nr * sizeof *w->sum)) &&
             (w->c = malloc(nr * sizeof *w->c)) && (w->qtab_mem = calloc((size_t)w->qtab_n + 2 * (size_t)w->pad, sizeof *w->qtab_mem));
        ok = ok && (w->qidx_mem = malloc(((size_t)w->qtab_n + 2 * (size_t)w->pad) * sizeof *w->qidx_mem));
        if (ok) {
            w->qtab = w->qtab_mem + w->pad;
            w->qidx = w->qidx_mem + w->pad;
            memset(w->qidx_mem, 0xff, ((size_t)w->qtab_n + 2 * (size_t)w->pad) * sizeof *w->qidx_mem);
        }
    }
    if (!ok) {
        npsw_hyb_worker_free(w);
        return NULL;
    }
    return w;
}

/* ---- one query ---------------------------------------------------------------------------- */

typedef struct query {
    npsw_peaks qp;
    const double *wq;
    double nq2;
    double qmass[NPSW_HYB_MAX_MASSES];
    int nm;
    int ascending; /* whole-number m/z, strictly ascending (npsw_hyb_score_nominal applies) */
    npsw_score_params p; /* the search's (nominal: the library's); weights as the index's */
} query;

/* The brute force's step for library spectrum s (analogue.c): each query mass within max_delta
 * whose bit is set in mask, scored exactly; the best, the first of equal scores. Returns 1 and
 * fills *best when a mass was scored, 0 when none, NPSW_ENOMEM. */
static int eval(const npsw_hyb_index *x, npsw_hyb_worker *w, const query *Q,
                const npsw_analogue_opts *o, uint64_t s, unsigned mask, int regular_s,
                npsw_analogue_hit *best, npsw_analogue_stats *st)
{
    /* both sides strictly ascending whole numbers: the same score without sorting */
    int fast = regular_s && Q->ascending;
    double lm = x->mass[s];
    npsw_peaks lp = npsw_lib_peaks(x->lib, s);
    const double *wl = x->w + x->lib->offsets[s];
    int have = 0;
    for (int m = 0; m < Q->nm; m++) {
        if (!(mask >> m & 1u)) continue;
        double delta = Q->qmass[m] - lm;
        if (fabs(delta) > o->max_delta) continue;
        npsw_analogue_hit h = {s, Q->qmass[m], delta, {0, 0, 0}};
        int rc = fast ? npsw_hyb_score_nominal(&Q->qp, Q->wq, Q->nq2, &lp, wl, x->norm2[s],
                                               (int64_t)delta, w->qidx, &w->hs, &h.hybrid)
                      : npsw_hyb_score(&Q->qp, Q->wq, Q->nq2, &lp, wl, x->norm2[s], delta, &Q->p,
                                       &w->hs, &h.hybrid);
        if (rc < 0) return NPSW_ENOMEM;
        st->n_scored++;
        if (!have || h.hybrid.score > best->hybrid.score) *best = h, have = 1;
    }
    return have;
}

/* eval, then keep a hit with a score above 0. */
static int eval_keep(const npsw_hyb_index *x, npsw_hyb_worker *w, const query *Q,
                     const npsw_analogue_opts *o, uint64_t s, unsigned mask, int regular_s,
                     npsw_analogue_hit *hits, uint32_t *n, npsw_analogue_stats *st)
{
    npsw_analogue_hit best;
    int have = eval(x, w, Q, o, s, mask, regular_s, &best, st);
    if (have < 0) return have;
    if (have && best.hybrid.score > 0) npsw_hyb_keep(hits, n, o->k, &best);
    return 0;
}

/* Room for rounding: the bounds are sums in another order than the exact score's. */
static double margin(double b) { return b * (1 + 1e-9) + 1e-12; }

/* Can a spectrum with this bound (margin included) still enter the hits? Ties may win on the
 * library index, hence >=. */
static int may_enter(const npsw_analogue_hit *hits, uint32_t n, uint32_t k, double b)
{
    return n < k || b >= hits[k - 1].hybrid.score;
}

/* Every spectrum with a mass, as the brute force does. */
static int search_exhaustive(const npsw_hyb_index *x, npsw_hyb_worker *w, const query *Q,
                             const npsw_analogue_opts *o, npsw_analogue_hit *hits, uint32_t *n,
                             npsw_analogue_stats *st)
{
    st->n_exhaustive++;
    for (uint64_t s = 0; s < x->n; s++) {
        if (isnan(x->mass[s])) continue;
        uint64_t before = st->n_scored;
        if (eval_keep(x, w, Q, o, s, ~0u, 0, hits, n, st) < 0) return NPSW_ENOMEM;
        st->n_pairs += st->n_scored - before;
    }
    return 0;
}

/* Candidates: a max-heap by bound (ties: lower rank first). */
static int cand_above(const cand *a, const cand *b)
{
    return a->ub > b->ub || (a->ub == b->ub && a->r < b->r);
}

static void cand_sift_down(cand *h, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && cand_above(&h[l], &h[m])) m = l;
        if (r < n && cand_above(&h[r], &h[m])) m = r;
        if (m == i) return;
        cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* The ranks within max_delta of each query mass: [lo[m], hi[m]), and their union [ulo, uhi). */
typedef struct window {
    uint32_t lo[NPSW_HYB_MAX_MASSES], hi[NPSW_HYB_MAX_MASSES];
    uint32_t ulo, uhi;
} window;

static unsigned valid_masses(const query *Q, const window *wd, uint32_t r)
{
    unsigned mask = 0;
    for (int m = 0; m < Q->nm; m++)
        if (r >= wd->lo[m] && r < wd->hi[m]) mask |= 1u << m;
    return mask;
}

/* Postings [*b, *e) of one part of a bin with a rank in [lo, hi) (binary searches). */
static void rank_range(const posting *p, unsigned ubits, uint64_t *b, uint64_t *e, uint32_t lo,
                       uint32_t hi)
{
    const uint64_t klo = (uint64_t)lo << ubits, khi = (uint64_t)hi << ubits;
    uint64_t a = *b, z = *e;
    while (a < z) {
        uint64_t mid = a + (z - a) / 2;
        if (p[mid] < klo) a = mid + 1;
        else z = mid;
    }
    uint64_t start = a;
    z = *e;
    while (a < z) {
        uint64_t mid = a + (z - a) / 2;
        if (p[mid] < khi) a = mid + 1;
        else z = mid;
    }
    *b = start;
    *e = a;
}


/* Add qh u over the postings of walk step t (query peak ord[t]): the heavy part (light = 0) or
 * the light part (1) of its m/z bin and of its neutral-loss bin for each query mass. */
static void walk_peak(const npsw_hyb_index *x, npsw_hyb_worker *w, const query *Q,
                      const window *wd, uint32_t t, int light, npsw_analogue_stats *st)
{
    const uint32_t i = w->ord[t].i, nr = w->nr;
    const double mz = Q->qp.mz[i];
    const float qf = round_up(w->qh[t]) * x->uscale; /* rounding: the bound's margin */
    const unsigned ub = x->ubits;
    const uint32_t um = (1u << ub) - 1;
    if (mz <= x->max_mz) {
        uint32_t bin = (uint32_t)mz;
        uint64_t b = light ? x->d.split[bin] : x->d.start[bin];
        uint64_t e = light ? x->d.start[bin + 1] : x->d.split[bin];
        rank_range(x->d.p, ub, &b, &e, wd->ulo, wd->uhi);
        st->n_postings += e - b;
        float *acc = w->acc;
        const posting *p = x->d.p;
#pragma GCC unroll 4
        for (uint64_t j = b; j < e; j++) acc[p[j] >> ub] += qf * (float)(p[j] & um);
    }
    for (int m = 0; m < Q->nm; m++) {
        if (wd->lo[m] >= wd->hi[m]) continue;
        int64_t bin = (int64_t)(Q->qmass[m] - mz) - x->loss_lo;
        if (bin < 0 || (uint64_t)bin >= x->l.nbins) continue;
        uint64_t b = light ? x->l.split[bin] : x->l.start[bin];
        uint64_t e = light ? x->l.start[bin + 1] : x->l.split[bin];
        rank_range(x->l.p, ub, &b, &e, wd->lo[m], wd->hi[m]);
        st->n_postings += e - b;
        float *acc = w->acc + (size_t)(m + 1) * nr;
        const posting *p = x->l.p;
#pragma GCC unroll 4
        for (uint64_t j = b; j < e; j++) acc[p[j] >> ub] += qf * (float)(p[j] & um);
    }
}

/* The dense bound of rank r for each query mass in mask into w->b2 (margin included); the
 * largest. Each library peak j pairs with at most one query peak, at its m/z or at m/z + delta:
 * the sum over j of u_j max(qtab(mz_j), qtab(mz_j + delta)). */
static double dense_bound(const npsw_hyb_index *x, npsw_hyb_worker *w, const query *Q,
                          unsigned mask, uint32_t r)
{
    const uint32_t *pk = x->pk + x->roff[r];
    const uint64_t np = x->roff[r + 1] - x->roff[r];
    const float *qt = w->qtab;
    double best = -1;
    for (int m = 0; m < Q->nm; m++) {
        if (!(mask >> m & 1u)) continue;
        int64_t d = (int64_t)(Q->qmass[m] - x->rmass[r]);
        double acc = 0;
        if (d == 0) {
            for (uint64_t j = 0; j < np; j++) acc += (double)(pk[j] & 0xffff) * qt[pk[j] >> 16];
        } else { /* |d| <= max_delta < pad: inside the table */
            const float *qs = qt + d;
            for (uint64_t j = 0; j < np; j++) {
                float v = qt[pk[j] >> 16], v2 = qs[pk[j] >> 16];
                acc += (double)(pk[j] & 0xffff) * (v2 > v ? v2 : v);
            }
        }
        acc *= 1.0 / 65535; /* the products and sum are exact to 1e-16: the margin covers it */
        acc = acc > 0 ? margin(acc) : 0; /* 0: no pair at all, the score is 0 */
        w->b2[(size_t)m * w->nr + r] = acc;
        if (acc > best) best = acc;
    }
    return best;
}

/* Score rank r exactly for the masses in mask whose dense bound can still enter. */
static int score_rank(const npsw_hyb_index *x, npsw_hyb_worker *w, const query *Q,
                      const npsw_analogue_opts *o, unsigned mask, uint32_t r,
                      npsw_analogue_hit *hits, uint32_t *n, npsw_analogue_stats *st)
{
    unsigned use = 0;
    for (int m = 0; m < Q->nm; m++) {
        double b = w->b2[(size_t)m * w->nr + r];
        if ((mask >> m & 1u) && b > 0 && may_enter(hits, *n, o->k, b)) use |= 1u << m;
    }
    w->done[r] = 1;
    return use ? eval_keep(x, w, Q, o, x->rs[r], use, 1, hits, n, st) : 0;
}

/* w->sum over the window: per rank, row 0 plus the largest loss row of a query mass within
 * max_delta (-1 when there is none). By segments of constant masses: plain loops. */
static void row_sums(npsw_hyb_worker *w, const query *Q, const window *wd)
{
    uint32_t cut[2 * NPSW_HYB_MAX_MASSES + 2], nc = 0;
    cut[nc++] = wd->ulo;
    cut[nc++] = wd->uhi;
    for (int m = 0; m < Q->nm; m++)
        if (wd->lo[m] < wd->hi[m]) cut[nc++] = wd->lo[m], cut[nc++] = wd->hi[m];
    for (uint32_t a = 1; a < nc; a++) /* sort the cuts (few) */
        for (uint32_t b = a; b > 0 && cut[b - 1] > cut[b]; b--) {
            uint32_t t = cut[b];
            cut[b] = cut[b - 1];
            cut[b - 1] = t;
        }
    const float *a0 = w->acc;
    float *sum = w->sum;
    for (uint32_t c = 0; c + 1 < nc; c++) {
        uint32_t lo = cut[c], hi = cut[c + 1];
        if (lo >= hi) continue;
        unsigned mask = valid_masses(Q, wd, lo);
        if (!mask) {
            for (uint32_t r = lo; r < hi; r++) sum[r] = -1;
            continue;
        }
        int first = 1;
        for (int m = 0; m < Q->nm; m++) {
            if (!(mask >> m & 1u)) continue;
            const float *am = w->acc + (size_t)(m + 1) * w->nr;
            if (first)
                for (uint32_t r = lo; r < hi; r++) sum[r] = am[r];
            else
                for (uint32_t r = lo; r < hi; r++) sum[r] = am[r] > sum[r] ? am[r] : sum[r];
            first = 0;
        }
        for (uint32_t r = lo; r < hi; r++) sum[r] += a0[r];
    }
}

/* The top seeds by the postings' sum so far into w->c[0..*nc) (a min-heap: its root is the
 * worst kept), ties to the lower rank. */
static void pick_seeds(npsw_hyb_worker *w, const window *wd, uint32_t want, uint32_t *nc)
{
    cand *h = w->c;
    for (uint32_t r = wd->ulo; r < wd->uhi; r++) {
        double v = w->sum[r];
        if (!(v > 0) || (*nc == want && !(v > h[0].ub))) continue;
        cand c = {v, r};
        if (*nc < want) {
            uint32_t p = (*nc)++;
            h[p] = c;
            while (p > 0 && cand_above(&h[(p - 1) / 2], &h[p])) {
                cand t = h[p];
                h[p] = h[(p - 1) / 2];
                h[(p - 1) / 2] = t;
                p = (p - 1) / 2;
            }
            continue;
        }
        h[0] = c;
        for (uint32_t p = 0;;) {
            uint32_t l = 2 * p + 1, rr = l + 1, m = p;
            if (l < *nc && cand_above(&h[m], &h[l])) m = l;
            if (rr < *nc && cand_above(&h[m], &h[rr])) m = rr;
            if (m == p) break;
            cand t = h[p];
            h[p] = h[m];
            h[m] = t;
            p = m;
        }
    }
}

/* Pop candidates (a max-heap of dense bounds) and score them exactly while one can enter. */
static int score_heap(const npsw_hyb_index *x, npsw_hyb_worker *w, const query *Q,
                      const npsw_analogue_opts *o, const window *wd, uint32_t nc,
                      npsw_analogue_hit *hits, uint32_t *n, npsw_analogue_stats *st)
{
    for (uint32_t a = nc / 2; a-- > 0;) cand_sift_down(w->c, nc, a);
    while (nc > 0 && w->c[0].ub > 0 && may_enter(hits, *n, o->k, w->c[0].ub)) {
        uint32_t r = w->c[0].r;
        w->c[0] = w->c[--nc];
        cand_sift_down(w->c, nc, 0);
        int rc = score_rank(x, w, Q, o, valid_masses(Q, wd, r), r, hits, n, st);
        if (rc < 0) return rc;
    }
    return 0;
}

static int search_indexed(const npsw_hyb_index *x, npsw_hyb_worker *w, const query *Q,
                          const npsw_analogue_opts *o, npsw_analogue_hit *hits, uint32_t *n,
                          npsw_analogue_stats *st)
{
    const uint32_t k = o->k;
    int rc = 0;
    /* spectra the postings do not represent: exhaustively */
    for (uint64_t a = 0; a < x->n_odd; a++) {
        uint64_t before = st->n_scored;
        if (eval_keep(x, w, Q, o, x->odd[a], ~0u, 0, hits, n, st) < 0) return NPSW_ENOMEM;
        st->n_pairs += st->n_scored - before;
    }
    /* per query mass, the ranks whose mass is within max_delta: the brute force's test on the
     * distinct masses (whole numbers, so a contiguous range of them) */
    window wd;
    wd.ulo = UINT32_MAX;
    wd.uhi = 0;
    for (int m = 0; m < Q->nm; m++) {
        wd.lo[m] = wd.hi[m] = 0;
        int has = 0;
        uint32_t a0 = 0, a1 = 0;
        for (uint32_t a = 0; a < x->n_umass; a++) {
            if (fabs(Q->qmass[m] - x->umass[a]) > o->max_delta) continue;
            if (!has) a0 = a, has = 1;
            a1 = a;
        }
        if (!has) continue;
        wd.lo[m] = x->ucum[a0];
        wd.hi[m] = x->ucum[a1 + 1];
        st->n_pairs += wd.hi[m] - wd.lo[m];
        if (wd.lo[m] < wd.ulo) wd.ulo = wd.lo[m];
        if (wd.hi[m] > wd.uhi) wd.uhi = wd.hi[m];
    }
    if (wd.ulo >= wd.uhi || !(Q->nq2 > 0)) return 0; /* nothing in range, or every score 0 */
    /* query peaks heaviest first with unit weights qh; rsuf[t]: sum of qh^2 from step t on; the
     * query's tables by m/z: unit weight (rounded up) and peak index */
    const uint32_t nqp = Q->qp.n;
    const double qn = sqrt(Q->nq2);
    for (uint32_t i = 0; i < nqp; i++) w->ord[i] = (wsort){Q->wq[i], i};
    sort_weights(w->ord, w->ord_tmp, nqp);
    w->rsuf[nqp] = 0;
    for (uint32_t t = nqp; t-- > 0;) {
        w->qh[t] = w->ord[t].w / qn;
        w->rsuf[t] = w->rsuf[t + 1] + w->qh[t] * w->qh[t];
        uint32_t mz = (uint32_t)Q->qp.mz[w->ord[t].i];
        float qf = round_up(w->qh[t]);
        if (qf > w->qtab[mz]) w->qtab[mz] = qf;
        w->qidx[mz] = w->ord[t].i; /* Q->ascending: one peak per m/z */
    }
    /* Walk steps [0, t1) go through all postings of their peak, [t1, nqp) through the heavy
     * ones only. Per spectrum and query mass (docs/analogues.md, "Fast hybrid search"):
     *   hybrid <= acc_mz + acc_loss + sqrt(R2) sqrt(lambda_s),
     * R2 = sum of qh^2 over [t1, nqp) (Cauchy-Schwarz on the pairs of those query peaks with
     * light library peaks, whose squared unit norm is lambda_s <= eps). */
    uint32_t t1 = 0, nc = 0;
    /* 1. all postings of the heaviest peaks (half the query's squared norm), then a first k-th
     * score from the most promising spectra so far */
    while (t1 < nqp && (t1 == 0 || w->rsuf[t1] > SEED_REST)) {
        walk_peak(x, w, Q, &wd, t1, 0, st);
        walk_peak(x, w, Q, &wd, t1++, 1, st);
    }
    row_sums(w, Q, &wd);
    pick_seeds(w, &wd, k + SEED_EXTRA, &nc);
    for (uint32_t a = 0; a < nc; a++) {
        uint32_t r = w->c[a].r;
        w->c[a] = (cand){dense_bound(x, w, Q, valid_masses(Q, &wd, r), r), r};
    }
    if ((rc = score_heap(x, w, Q, o, &wd, nc, hits, n, st)) < 0) goto reset;
    /* 2. all postings of more of the heaviest peaks while the bound of a spectrum met by none of
     * them, sqrt(R2 eps), is not below PLAN_GAMMA times the k-th score; the heavy postings of the
     * others. Fewer than k hits: no pruning, all postings of every peak. */
    double r2 = 0;
    for (;;) {
        r2 = 0;
        for (uint32_t t = t1; t < nqp; t++) r2 += w->qh[t] * w->qh[t];
        if (t1 >= nqp || (*n == k && margin(sqrt(r2 * x->eps)) < PLAN_GAMMA * hits[k - 1].hybrid.score))
            break;
        walk_peak(x, w, Q, &wd, t1, 0, st);
        walk_peak(x, w, Q, &wd, t1++, 1, st);
    }
    for (uint32_t t = t1; t < nqp; t++) walk_peak(x, w, Q, &wd, t, 0, st);
    /* 3. candidates: every rank of the window (touched or not) whose postings' bound reaches the
     * k-th score; then their dense bounds (in rank order: the peaks are stored so), for the
     * query masses whose own postings' bound reaches it; then exact scores from the highest
     * dense bound while one can still enter */
    const double sr2 = sqrt(r2);
    /* float rows: at most 2 nqp terms each; the rounding of each term and each sum */
    const double fe = 1 + (2.0 * nqp + 16) * 2.4e-7;
    const double th = *n == k ? hits[k - 1].hybrid.score : -1;
    row_sums(w, Q, &wd);
    nc = 0;
    for (uint32_t r = wd.ulo; r < wd.uhi; r++) {
        double v = w->sum[r] * fe + sr2 * x->rsl[r];
        /* v <= 0: no pair at all, the score is 0 */
        if (!(v > 0) || !(margin(v) >= th) || w->done[r] || x->rsl[r] < 0 || w->sum[r] < 0) continue;
        w->c[nc++] = (cand){margin(v), r};
    }
    uint32_t nd = 0;
    for (uint32_t a = 0; a < nc; a++) {
        uint32_t r = w->c[a].r;
        if (a + 4 < nc) {
            const uint32_t *ahead = x->pk + x->roff[w->c[a + 4].r];
            for (int line = 0; line < 4; line++) __builtin_prefetch(ahead + 16 * line);
        }
        unsigned mask = valid_masses(Q, &wd, r), use = 0;
        double tail = sr2 * x->rsl[r], d0 = w->acc[r];
        for (int m = 0; m < Q->nm; m++) {
            if (!(mask >> m & 1u)) continue;
            double v = (d0 + w->acc[(size_t)(m + 1) * w->nr + r]) * fe + tail;
            if (v > 0 && margin(v) >= th) use |= 1u << m;
            else w->b2[(size_t)m * w->nr + r] = 0;
        }
        double b = use ? dense_bound(x, w, Q, use, r) : 0;
        if (b > 0 && b >= th) w->c[nd++] = (cand){b, r};
    }
    rc = score_heap(x, w, Q, o, &wd, nd, hits, n, st);
reset:
    for (int m = 0; m <= w->nm_max; m++)
        memset(w->acc + (size_t)m * w->nr + wd.ulo, 0, (wd.uhi - wd.ulo) * sizeof *w->acc);
    memset(w->done + wd.ulo, 0, wd.uhi - wd.ulo);
    for (uint32_t i = 0; i < nqp; i++) {
        w->qtab[(uint32_t)Q->qp.mz[i]] = 0;
        w->qidx[(uint32_t)Q->qp.mz[i]] = UINT32_MAX;
    }
    return rc;
}

/* Whole numbers in range for the postings and the query table. */
static int query_whole(const npsw_hyb_worker *w, const query *Q)
{
    for (int m = 0; m < Q->nm; m++)
        if (!is_whole(Q->qmass[m], 2 * MASS_LIMIT)) return 0;
    for (uint32_t i = 0; i < Q->qp.n; i++)
        if (!is_whole(Q->qp.mz[i], MZ_LIMIT) || Q->qp.mz[i] >= w->qtab_n) return 0;
    return isfinite(Q->nq2);
}

static int ascending(const npsw_peaks *p)
{
    for (uint32_t i = 0; i < p->n; i++)
        if (!is_whole(p->mz[i], MZ_LIMIT) || (i > 0 && !(p->mz[i] > p->mz[i - 1]))) return 0;
    return 1;
}

int npsw_hyb_search_one(const npsw_hyb_index *x, npsw_hyb_worker *w, const npsw_spectrum *q,
                        const npsw_analogue_opts *o, npsw_analogue_hit *hits, uint32_t *nhits,
                        npsw_analogue_stats *st)
{
    *nhits = 0;
    st->n_queries++;
    if (!o->k || !q->n) return 0;
    query Q;
    Q.qp = (npsw_peaks){q->mz, q->intensity, q->n};
    Q.nm = npsw_hyb_query_masses(q, o, x->p.nominal, Q.qmass);
    if (Q.nm > w->nm_max) return NPSW_ENOMEM; /* the worker is made for these options */
    if (!Q.nm) return 0;
    if (q->n > w->max_q) return NPSW_ENOMEM; /* ... and for the batch's queries */
    Q.p = o->params;
    Q.p.nominal = x->p.nominal;
    npsw_hyb_weights(&Q.qp, &Q.p, w->wq, &Q.nq2);
    Q.wq = w->wq;
    Q.ascending = x->indexed && ascending(&Q.qp);
    uint32_t n = 0;
    int rc = x->indexed && query_whole(w, &Q) ? search_indexed(x, w, &Q, o, hits, &n, st)
                                              : search_exhaustive(x, w, &Q, o, hits, &n, st);
    *nhits = rc < 0 ? 0 : n;
    return rc;
}
