/* search_mf.c - the MF-family sums of every library spectrum for one query (search_mf.h).
 *
 * Every quantity of the match factor is a sum over matched pairs once each pair knows whether
 * it carries a ratio term: the pair at m/z m has one when both spectra have a peak at
 * m' = max(previous counted query peak, previous counted library peak) (docs/algorithms.md,
 * "Exact search"). So the pairs can be visited in any order, bin by bin:
 *
 *  - dense bins (peaks in at least 1/8 of the library): one lane per library spectrum, 15 bytes
 *    (weight, two intensity ratios, and the distances to the previous counted peak and to the
 *    one or two peaks at or below the threshold after it), added up by a branch-free kernel
 *    that the compiler vectorises for AVX-512, AVX2 or plain C (picked at run time);
 *  - all other postings (sparse bins, and lanes whose previous peaks are more than 63 m/z
 *    away or that follow three or more peaks at or below the threshold) by an exact scalar walk.
 *
 * Sums are single precision; the bound adds a margin larger than their rounding error.
 */
#include "search_mf.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "library_internal.h"

/* ---- SIMD level ------------------------------------------------------------------------- */

int npsw_simd_level(void)
{
    int level = NPSW_SIMD_SCALAR;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) level = NPSW_SIMD_AVX2;
    if (level == NPSW_SIMD_AVX2 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        level = NPSW_SIMD_AVX512;
#endif
    const char *e = getenv("NPSW_SIMD");
    if (e && *e) {
        int cap = !strcmp(e, "scalar") ? NPSW_SIMD_SCALAR
                  : !strcmp(e, "avx2") ? NPSW_SIMD_AVX2
                                       : NPSW_SIMD_AVX512;
        if (cap < level) level = cap;
    }
    return level;
}

const char *npsw_simd_name(int level)
{
    return level == NPSW_SIMD_AVX512 ? "avx512" : level == NPSW_SIMD_AVX2 ? "avx2" : "scalar";
}

/* ---- layout ------------------------------------------------------------------------------ */

#define LANE_PRESENT 0x80u /* the spectrum has a peak in this bin, handled by the lane */
#define LANE_COUNTED 0x40u /* ... with an intensity above the threshold */
#define LANE_DIST 0x3fu    /* m/z distance to the previous counted peak (0: none) */
#define MAX_DIST 63

/* scalar postings */
#define XP_COUNTED 1u
#define XP_UNCOUNTED_BEFORE 2u /* peaks at or below the threshold between pl and this one */
#define XP_UNCOUNTED_MANY 4u   /* ... more than one */

typedef struct xpost {
    uint32_t s;    /* library spectrum */
    uint32_t g;    /* global index of the library peak */
    int32_t pl;    /* m/z of the previous counted peak of s (-1: none) */
    int32_t pa;    /* m/z of the nearest peak at or below the threshold after pl (-1: none) */
    float w, lam, lam_a; /* weight; sqrt(I at pl) / sqrt(I); sqrt(I at pa) / sqrt(I) */
    uint8_t fl;
} xpost;
_Static_assert(sizeof(xpost) == NPSW_MF_XPOST_BYTES, "xpost is the stored record layout");

struct npsw_mfx {
    const npsw_lib *lib;
    npsw_score_kind kind;
    double a, b, thr;
    uint64_t n;           /* library spectra */
    /* where they are in the index: a part of a library file (npsw_lib_open_shard) searches with
     * the whole file's stored index, its spectrum s being the index's base + s and its peak g
     * the index's gbase + g; stride = lanes per dense bin (the whole file's spectra); blocks
     * blk0 .. blk1 - 1 hold them (for a whole library: 0, 0, n, 0 .. nblk) */
    uint64_t base, gbase, stride;
    uint32_t blk0, blk1;
    uint32_t max_mz;
    uint32_t nd;          /* dense bins */
    uint32_t *dense_of;   /* per nominal m/z: its dense bin or UINT32_MAX */
    float *wl, *lam, *lam_a, *lam_a2; /* nd x n */
    uint8_t *code, *dpa, *dpa2;
    uint64_t *xp_start;   /* per nominal m/z: its scalar postings xp[xp_start[m] .. [m+1]) */
    xpost *xp;            /* ... in library order within a bin */
    uint32_t nblk;        /* blocks of MFX_BLOCK library spectra */
    uint64_t *xp_blk;     /* per m/z and block: first scalar posting of the block's spectra
                             ((max_mz + 1) x (nblk + 1)) */
    double *lnorm; /* per spectrum: sum of w^2 over its counted peaks */
    float *llo;    /* per spectrum: its lowest m/z (0 when empty) */
    uint64_t nxp;  /* scalar postings */
    int borrowed;  /* the arrays belong to the library's stored index (lib->mfi) */
};

/* One query of a batch. */
typedef struct qslot {
    const npsw_peaks *q;
    int usable;     /* every m/z a whole number */
    double *rq, *wq, *qsuf, *qsuf_mz;
    int32_t *pq;    /* per peak: m/z of the previous counted query peak (-1: none) */
    int32_t *qat;   /* per nominal m/z <= max_mz: query peak there (-1: none) */
    double qmax;
    npsw_mfx_cand *out;
    uint32_t nout, cap;
    double *lb;     /* min-heap of the k largest lower bounds of eligible candidates */
    uint32_t nlb;
} qslot;

/* A query peak of the batch, for the walk bin by bin. */
typedef struct qevent {
    uint32_t bin, slot, i;
} qevent;

struct npsw_mfx_work {
    qslot slot[MFX_BATCH];
    float *sums; /* MFX_BATCH x 8 x MFX_BLOCK: per slot acc, srm, sm, xll, xuu, nuu, n2, nm
                  (nuu: matched pairs with both sides at or below the threshold) */
    qevent *ev;
    uint32_t max_q;
};

enum { S_ACC, S_SRM, S_SM, S_XLL, S_XUU, S_NUU, S_N2, S_NM, S_COUNT };

static float *sums_of(const npsw_mfx_work *w, uint32_t slot, int which)
{
    return w->sums + ((size_t)slot * S_COUNT + (size_t)which) * MFX_BLOCK;
}

typedef struct dense_args {
    uint32_t n;
    const float *wl, *lam, *lam_a, *lam_a2;
    const uint8_t *code, *dpa, *dpa2;
    const float *tab, *tabc;
    float wq, xuu_add, kap, mz;
    int qc, dq, rmf, simple, cos;
    float *acc, *srm, *sm, *xll, *xuu, *nuu, *n2, *nm;
} dense_args;

/* the loops have no dependence between lanes (restrict pointers, one spectrum per lane) */
#if defined(__GNUC__) && !defined(__clang__)
#define NPSW_IVDEP _Pragma("GCC ivdep")
#else
#define NPSW_IVDEP
#endif

#define KERNEL_NAME dense_scalar
#if defined(__GNUC__) && !defined(__clang__)
#define KERNEL_ATTR __attribute__((optimize("no-tree-vectorize"))) /* the plain reference path */
#else
#define KERNEL_ATTR
#endif
#include "search_mf_kernel.h"
#undef KERNEL_NAME
#undef KERNEL_ATTR
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_X86_KERNELS 1
#define KERNEL_NAME dense_avx2
#define KERNEL_ATTR __attribute__((target("avx2,fma")))
#include "search_mf_kernel.h"
#undef KERNEL_NAME
#undef KERNEL_ATTR
#define KERNEL_NAME dense_avx512
#if defined(__clang__)
#define KERNEL_ATTR __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#else /* GCC would use 256-bit vectors on some CPUs; 512 measured faster here */
#define KERNEL_ATTR \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,prefer-vector-width=512")))
#endif
#include "search_mf_kernel.h"
#undef KERNEL_NAME
#undef KERNEL_ATTR
#endif

static void dense_run(int level, const dense_args *g)
{
#ifdef HAVE_X86_KERNELS
    if (level == NPSW_SIMD_AVX512)
        dense_avx512(g);
    else if (level == NPSW_SIMD_AVX2)
        dense_avx2(g);
    else
        dense_scalar(g);
#else
    (void)level;
    dense_scalar(g);
#endif
}

/* ---- building ---------------------------------------------------------------------------- */

void npsw_mfx_free(npsw_mfx *x)
{
    if (!x) return;
    if (x->borrowed) {
        free(x);
        return;
    }
    free(x->dense_of);
    free(x->wl);
    free(x->lam);
    free(x->lam_a);
    free(x->lam_a2);
    free(x->code);
    free(x->dpa);
    free(x->dpa2);
    free(x->xp_start);
    free(x->xp);
    free(x->xp_blk);
    free(x->lnorm);
    free(x->llo);
    free(x);
}

#define LANE_BYTES (4 * sizeof(float) + 3) /* wl, lam, lam_a, lam_a2, code, dpa, dpa2 */

static const npsw_nominal_index *g_occ_index; /* for occ_desc (qsort has no context) */
#pragma omp threadprivate(g_occ_index)

static int occ_desc(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    uint64_t ox = g_occ_index->bin_start[x + 1] - g_occ_index->bin_start[x];
    uint64_t oy = g_occ_index->bin_start[y + 1] - g_occ_index->bin_start[y];
    return ox > oy ? -1 : ox < oy ? 1 : (x > y) - (x < y);
}

/* What the walk over one spectrum's peaks knows at peak k. */
typedef struct peak_ctx {
    int32_t pl;        /* previous counted peak (-1) */
    double pl_root;
    int nunc;          /* peaks at or below the threshold since pl (or the start) */
    int32_t pa, pa2;   /* the nearest and second nearest of those (-1) */
    double pa_root, pa2_root;
} peak_ctx;

static int lane_ok(const peak_ctx *c, int32_t m)
{
    if (c->pl >= 0 && m - c->pl > MAX_DIST) return 0;
    if (c->nunc > 2) return 0;
    if (c->nunc >= 1 && m - c->pa > MAX_DIST) return 0;
    if (c->nunc >= 2 && m - c->pa2 > MAX_DIST) return 0;
    return 1;
}

/* Spectrum s's peaks: pass 0 counts its scalar postings per bin in cur; pass 1 writes its dense
 * lanes and its scalar postings at cur[m] (advanced). */
static void index_spectrum(npsw_mfx *x, uint64_t s, int pass, uint64_t *cur)
{
    const npsw_lib *lib = x->lib;
    const double a = x->a, b = x->b, thr = x->thr;
    peak_ctx c = {-1, 0, 0, -1, -1, 0, 0};
    for (uint64_t k = lib->offsets[s]; k < lib->offsets[s + 1]; k++) {
        const int32_t m = (int32_t)lib->mz[k];
        const double in = lib->in[k], root = sqrt(in);
        const int counted = in > thr;
        const uint32_t dn = x->dense_of[m];
        if (pass == 1) {
            const float w = (float)npsw_weight(in, m, a, b);
            const float lam = c.pl >= 0 ? (float)(c.pl_root / root) : 0;
            const float lam_a = c.nunc ? (float)(c.pa_root / root) : 0;
            if (dn != UINT32_MAX && lane_ok(&c, m)) {
                size_t at = (size_t)dn * x->n + s;
                x->wl[at] = w;
                x->lam[at] = lam;
                x->lam_a[at] = lam_a;
                x->lam_a2[at] = c.nunc >= 2 ? (float)(c.pa2_root / root) : 0;
                x->code[at] = (uint8_t)(LANE_PRESENT | (counted ? LANE_COUNTED : 0) |
                                        (c.pl >= 0 ? (uint32_t)(m - c.pl) : 0));
                x->dpa[at] = (uint8_t)(c.nunc >= 1 ? m - c.pa : 0);
                x->dpa2[at] = (uint8_t)(c.nunc >= 2 ? m - c.pa2 : 0);
            } else {
                xpost *p = &x->xp[cur[m]++];
                p->s = (uint32_t)s;
                p->g = (uint32_t)k;
                p->pl = c.pl;
                p->pa = c.nunc ? c.pa : -1;
                p->w = w;
                p->lam = lam;
                p->lam_a = lam_a;
                p->fl = (uint8_t)((counted ? XP_COUNTED : 0) |
                                  (c.nunc ? XP_UNCOUNTED_BEFORE : 0) |
                                  (c.nunc > 1 ? XP_UNCOUNTED_MANY : 0));
            }
        } else if (dn == UINT32_MAX || !lane_ok(&c, m)) {
            cur[m]++;
        }
        if (counted) {
            c.pl = m;
            c.pl_root = root;
            c.nunc = 0;
            c.pa = c.pa2 = -1;
        } else {
            c.nunc++;
            c.pa2 = c.pa;
            c.pa2_root = c.pa_root;
            c.pa = m;
            c.pa_root = root;
        }
    }
}

/* The single-precision sums keep their relative accuracy (no underflow or overflow of any
 * product) when every intensity and weight lies within this range; spectra with others (only
 * possible without intensity rounding) are scored exhaustively instead. */
#define SAFE_LO 1e-9
#define SAFE_HI 1e9

static int safe_peak(double in, double mz, double a, double b)
{
    double w = npsw_weight(in, mz, a, b);
    return in >= SAFE_LO && in <= SAFE_HI && w >= SAFE_LO && w <= SAFE_HI;
}

/* Point x's arrays at a stored index. */
static void borrow(npsw_mfx *x, const npsw_mf_index *s)
{
    x->borrowed = 1;
    x->max_mz = s->max_mz;
    x->nd = s->nd;
    x->nblk = s->nblk;
    x->nxp = s->nxp;
    x->dense_of = s->dense_of;
    x->wl = s->wl;
    x->lam = s->lam;
    x->lam_a = s->lam_a;
    x->lam_a2 = s->lam_a2;
    x->code = s->code;
    x->dpa = s->dpa;
    x->dpa2 = s->dpa2;
    x->xp_start = s->xp_start;
    x->xp = s->xp;
    x->xp_blk = s->xp_blk;
    x->base = s->base;
    x->gbase = s->gbase;
    x->stride = s->n;
    x->lnorm = s->lnorm + s->base;
    x->llo = s->llo + s->base;
    x->blk0 = (uint32_t)(s->base / MFX_BLOCK);
    x->blk1 = x->n ? (uint32_t)((s->base + x->n - 1) / MFX_BLOCK + 1) : x->blk0;
}

int npsw_mfx_new(const npsw_lib *lib, const npsw_search_opts *o, npsw_mfx **out)
{
    *out = NULL;
    const double a = o->params.int_power,
                 b = o->score == NPSW_SCORE_WMF ? o->params.wmf_mz_power : o->params.mz_power;
    /* cosine counts every peak: a threshold below any intensity */
    const double thr = o->score == NPSW_SCORE_COSINE ? -1 : o->params.ignore_at_or_below;
    const npsw_mf_index *st = &lib->mfi;
    const int fits = lib->part ? st->base + lib->n <= st->n && lib->idx.max_mz <= st->max_mz
                               : st->n == lib->n && st->max_mz == lib->idx.max_mz;
    const int stored = st->present && st->int_power == a && st->mz_power == b &&
                       st->threshold == thr && fits && !getenv("NPSW_NO_STORED_INDEX");
    if (!stored) /* (a stored index exists only for libraries that pass this) */
        for (uint64_t k = 0; k < lib->n_peaks; k++)
            if (!safe_peak(lib->in[k], lib->mz[k], a, b)) return 1;
    npsw_mfx *x = calloc(1, sizeof *x);
    if (!x) return NPSW_ENOMEM;
    const npsw_nominal_index *ix = &lib->idx;
    const uint64_t n = lib->n, np = lib->n_peaks;
    x->lib = lib;
    x->kind = o->score;
    x->a = a;
    x->b = b;
    x->thr = thr;
    x->n = n;
    x->stride = n;
    if (stored) {
        borrow(x, st);
        *out = x;
        return 0;
    }
    x->max_mz = ix->max_mz;
    const uint32_t nb = ix->max_mz + 1;
    x->dense_of = malloc(nb * sizeof *x->dense_of);
    x->xp_start = calloc((size_t)nb + 1, sizeof *x->xp_start);
    if (!x->dense_of || !x->xp_start) goto nomem;
    /* dense bins: peaks in at least 1/8 of the library, the fullest first while their lanes take
     * no more than the larger of 256 MiB and the peak data itself (m/z and intensity) */
    uint32_t *order = malloc(nb * sizeof *order);
    if (!order) goto nomem;
    uint32_t ncand = 0;
    for (uint32_t m = 0; m < nb; m++) {
        uint64_t occ = ix->bin_start[m + 1] - ix->bin_start[m];
        x->dense_of[m] = UINT32_MAX;
        if (n >= 8 && occ * 8 >= n) order[ncand++] = m;
    }
    g_occ_index = ix;
    qsort(order, ncand, sizeof *order, occ_desc);
    const double budget = fmax(256.0 * 1024 * 1024, (double)np * (sizeof *lib->mz + sizeof *lib->in));
    const double per_bin = (double)n * LANE_BYTES;
    for (uint32_t r = 0; r < ncand && (double)(r + 1) * per_bin <= budget; r++)
        x->dense_of[order[r]] = 1; /* numbered in m/z order below */
    free(order);
    for (uint32_t m = 0; m < nb; m++)
        if (x->dense_of[m] != UINT32_MAX) x->dense_of[m] = x->nd++;
    size_t lanes = (size_t)x->nd * n;
    if (lanes) {
        /* zeros in absent lanes: the kernels multiply them by 0 and must not meet a NaN */
        x->wl = calloc(lanes, sizeof *x->wl);
        x->lam = calloc(lanes, sizeof *x->lam);
        x->lam_a = calloc(lanes, sizeof *x->lam_a);
        x->lam_a2 = calloc(lanes, sizeof *x->lam_a2);
        x->code = calloc(lanes, 1);
        x->dpa = calloc(lanes, 1);
        x->dpa2 = calloc(lanes, 1);
        if (!x->wl || !x->lam || !x->lam_a || !x->lam_a2 || !x->code || !x->dpa || !x->dpa2)
            goto nomem;
    }
    /* two passes over the peaks, spectra split between threads in order: count the scalar
     * postings per bin and thread, then fill (each thread from its own start in every bin, so
     * a bin's postings stay in library order) */
    int nt = omp_get_max_threads();
    if ((uint64_t)nt > n / 1024 + 1) nt = (int)(n / 1024 + 1);
    uint64_t *cur = calloc((size_t)nt * (nb + 1), sizeof *cur);
    if (!cur) goto nomem;
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num();
        for (uint64_t s = n * (uint64_t)t / (uint64_t)nt; s < n * (uint64_t)(t + 1) / (uint64_t)nt; s++)
            index_spectrum(x, s, 0, cur + (size_t)t * (nb + 1));
    }
    uint64_t tot = 0;
    for (uint32_t m = 0; m < nb; m++) {
        x->xp_start[m] = tot;
        for (int t = 0; t < nt; t++) {
            uint64_t c = cur[(size_t)t * (nb + 1) + m];
            cur[(size_t)t * (nb + 1) + m] = tot;
            tot += c;
        }
    }
    x->xp_start[nb] = tot;
    x->nxp = tot;
    x->xp = calloc(tot ? tot : 1, sizeof *x->xp); /* zeroed padding: the records are stored */
    if (!x->xp) {
        free(cur);
        goto nomem;
    }
#pragma omp parallel num_threads(nt)
    {
        int t = omp_get_thread_num();
        for (uint64_t s = n * (uint64_t)t / (uint64_t)nt; s < n * (uint64_t)(t + 1) / (uint64_t)nt; s++)
            index_spectrum(x, s, 1, cur + (size_t)t * (nb + 1));
    }
    free(cur);
    x->nblk = (uint32_t)((n + MFX_BLOCK - 1) / MFX_BLOCK);
    x->blk1 = x->nblk;
    x->xp_blk = malloc((size_t)nb * (x->nblk + 1) * sizeof *x->xp_blk);
    if (!x->xp_blk) goto nomem;
    for (uint32_t m = 0; m < nb; m++) {
        uint64_t k = x->xp_start[m], *row = x->xp_blk + (size_t)m * (x->nblk + 1);
        for (uint32_t bk = 0; bk <= x->nblk; bk++) {
            uint64_t s0 = (uint64_t)bk * MFX_BLOCK;
            while (k < x->xp_start[m + 1] && x->xp[k].s < s0) k++;
            row[bk] = k;
        }
    }
    x->lnorm = malloc((n ? n : 1) * sizeof *x->lnorm);
    x->llo = malloc((n ? n : 1) * sizeof *x->llo);
    if (!x->lnorm || !x->llo) goto nomem;
#pragma omp parallel for schedule(static)
    for (uint64_t s = 0; s < n; s++) {
        double acc = 0;
        for (uint64_t k = lib->offsets[s + 1]; k-- > lib->offsets[s];) {
            double w = npsw_weight(lib->in[k], lib->mz[k], a, b);
            if (lib->in[k] > thr) acc += w * w;
        }
        x->lnorm[s] = acc;
        x->llo[s] = lib->offsets[s + 1] > lib->offsets[s] ? (float)lib->mz[lib->offsets[s]] : 0;
    }
    *out = x;
    return 0;
nomem:
    npsw_mfx_free(x);
    return NPSW_ENOMEM;
}

/* ---- the stored index (lib->mfi) ------------------------------------------------------- */

void npsw_mf_index_arrays(npsw_mf_index *ix, npsw_mf_array out[NPSW_MF_NARRAYS])
{
    const uint64_t nb = (uint64_t)ix->max_mz + 1, lanes = (uint64_t)ix->nd * ix->n;
    const npsw_mf_array a[NPSW_MF_NARRAYS] = {
        {"dense_of", (void **)&ix->dense_of, NPSW_MF_U32, 4, nb},
        {"lane_weight", (void **)&ix->wl, NPSW_MF_F32, 4, lanes},
        {"lane_ratio", (void **)&ix->lam, NPSW_MF_F32, 4, lanes},
        {"lane_ratio_low1", (void **)&ix->lam_a, NPSW_MF_F32, 4, lanes},
        {"lane_ratio_low2", (void **)&ix->lam_a2, NPSW_MF_F32, 4, lanes},
        {"lane_code", (void **)&ix->code, NPSW_MF_U8, 1, lanes},
        {"lane_dist_low1", (void **)&ix->dpa, NPSW_MF_U8, 1, lanes},
        {"lane_dist_low2", (void **)&ix->dpa2, NPSW_MF_U8, 1, lanes},
        {"postings_start", (void **)&ix->xp_start, NPSW_MF_U64, 8, nb + 1},
        {"postings", &ix->xp, NPSW_MF_U8, 1, ix->nxp * NPSW_MF_XPOST_BYTES},
        {"postings_block", (void **)&ix->xp_blk, NPSW_MF_U64, 8, nb * (ix->nblk + 1)},
        {"norm", (void **)&ix->lnorm, NPSW_MF_F64, 8, ix->n},
        {"lowest_mz", (void **)&ix->llo, NPSW_MF_F32, 4, ix->n},
    };
    memcpy(out, a, sizeof a);
}

void npsw_mf_index_free(npsw_mf_index *ix)
{
    npsw_mf_array a[NPSW_MF_NARRAYS];
    npsw_mf_index_arrays(ix, a);
    for (int i = 0; i < NPSW_MF_NARRAYS; i++)
        if (ix->owned & (1u << i)) free(*a[i].ptr);
    if (ix->map) munmap(ix->map, ix->map_len);
    memset(ix, 0, sizeof *ix);
}

int npsw_mf_index_build(const npsw_lib *lib, npsw_mf_index *out)
{
    memset(out, 0, sizeof *out);
    if (!lib->info.clean.nominal || !lib->idx.bin_start) return 1;
    npsw_lib tmp = *lib; /* without its stored index, so that one is computed */
    memset(&tmp.mfi, 0, sizeof tmp.mfi);
    npsw_search_opts o = npsw_search_opts_default();
    npsw_mfx *x;
    int rc = npsw_mfx_new(&tmp, &o, &x);
    if (rc) return rc;
    *out = (npsw_mf_index){.present = 1,       .int_power = x->a, .mz_power = x->b,
                           .threshold = x->thr, .n = x->n,         .max_mz = x->max_mz,
                           .nd = x->nd,         .nblk = x->nblk,   .nxp = x->nxp,
                           .dense_of = x->dense_of, .wl = x->wl,   .lam = x->lam,
                           .lam_a = x->lam_a,   .lam_a2 = x->lam_a2, .code = x->code,
                           .dpa = x->dpa,       .dpa2 = x->dpa2,   .xp_start = x->xp_start,
                           .xp = x->xp,         .xp_blk = x->xp_blk, .lnorm = x->lnorm,
                           .llo = x->llo,       .owned = (1u << NPSW_MF_NARRAYS) - 1};
    free(x); /* the arrays now belong to out */
    return 0;
}

int npsw_mf_index_check_shape(const npsw_mf_index *ix, uint64_t n, uint32_t max_mz,
                              const char **what)
{
    const uint32_t nb = ix->max_mz + 1;
    if (ix->n != n || ix->max_mz != max_mz ||
        ix->nblk != (uint32_t)((n + MFX_BLOCK - 1) / MFX_BLOCK) || ix->nd > nb) {
        *what = "sizes that do not fit the library";
        return NPSW_EFORMAT;
    }
    uint32_t next = 0;
    for (uint32_t m = 0; m < nb; m++)
        if (ix->dense_of[m] != UINT32_MAX && ix->dense_of[m] != next++) {
            *what = "dense_of";
            return NPSW_EFORMAT;
        }
    if (next != ix->nd) {
        *what = "dense_of";
        return NPSW_EFORMAT;
    }
    if (ix->xp_start[0] != 0 || ix->xp_start[nb] != ix->nxp) {
        *what = "postings_start";
        return NPSW_EFORMAT;
    }
    for (uint32_t m = 0; m < nb; m++) {
        const uint64_t *row = ix->xp_blk + (size_t)m * (ix->nblk + 1);
        if (ix->xp_start[m + 1] < ix->xp_start[m] || row[0] != ix->xp_start[m] ||
            row[ix->nblk] != ix->xp_start[m + 1]) {
            *what = "postings_start";
            return NPSW_EFORMAT;
        }
        for (uint32_t b = 0; b < ix->nblk; b++)
            if (row[b + 1] < row[b]) {
                *what = "postings_block";
                return NPSW_EFORMAT;
            }
    }
    return 0;
}

int npsw_lib_check_mf_index(const npsw_lib *lib, npsw_err *err)
{
    if (!lib->mfi.present) return 0;
    npsw_mf_index fresh;
    int rc = npsw_mf_index_build(lib, &fresh);
    if (rc < 0) return npsw_err_set(err, rc, NULL, 0, "out of memory checking the search index");
    npsw_mf_index st = lib->mfi;
    int same = rc == 0 && st.int_power == fresh.int_power && st.mz_power == fresh.mz_power &&
               st.threshold == fresh.threshold && st.nd == fresh.nd && st.nxp == fresh.nxp &&
               st.max_mz == fresh.max_mz && st.nblk == fresh.nblk && st.n == fresh.n;
    if (same) {
        npsw_mf_array a[NPSW_MF_NARRAYS], b[NPSW_MF_NARRAYS];
        npsw_mf_index_arrays(&st, a);
        npsw_mf_index_arrays(&fresh, b);
        for (int i = 0; i < NPSW_MF_NARRAYS && same; i++)
            same = a[i].count == 0 || memcmp(*a[i].ptr, *b[i].ptr, a[i].count * a[i].elsize) == 0;
    }
    npsw_mf_index_free(&fresh);
    if (!same)
        return npsw_err_set(err, NPSW_ECHECKSUM, "/index/mf", 0,
                            "the stored search index does not match the spectra; rebuild the "
                            "library with 'npswatch build'");
    return 0;
}

void npsw_mfx_work_free(npsw_mfx_work *w)
{
    if (!w) return;
    for (uint32_t j = 0; j < MFX_BATCH; j++) {
        qslot *q = &w->slot[j];
        free(q->rq);
        free(q->wq);
        free(q->qsuf);
        free(q->qsuf_mz);
        free(q->pq);
        free(q->qat);
        free(q->out);
        free(q->lb);
    }
    free(w->sums);
    free(w->ev);
    free(w);
}

npsw_mfx_work *npsw_mfx_work_new(const npsw_mfx *x, uint32_t max_q)
{
    npsw_mfx_work *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    size_t mq = (size_t)max_q + 1, nb = (size_t)x->max_mz + 2;
    int ok = (w->sums = calloc((size_t)MFX_BATCH * S_COUNT * MFX_BLOCK, sizeof(float))) &&
             (w->ev = malloc((size_t)MFX_BATCH * mq * sizeof *w->ev));
    for (uint32_t j = 0; ok && j < MFX_BATCH; j++) {
        qslot *q = &w->slot[j];
        ok = (q->rq = malloc(mq * sizeof *q->rq)) && (q->wq = malloc(mq * sizeof *q->wq)) &&
             (q->qsuf = malloc(mq * sizeof *q->qsuf)) &&
             (q->qsuf_mz = malloc(nb * sizeof *q->qsuf_mz)) &&
             (q->pq = malloc(mq * sizeof *q->pq)) && (q->qat = malloc(nb * sizeof *q->qat)) &&
             (q->lb = malloc(NPSW_MAX_K * sizeof *q->lb));
        q->cap = 0;
        if (ok)
            for (size_t i = 0; i < nb; i++) q->qat[i] = -1;
    }
    if (!ok) {
        npsw_mfx_work_free(w);
        return NULL;
    }
    w->max_q = max_q;
    return w;
}

/* ---- one query --------------------------------------------------------------------------- */

/* MF, WMF, scalar posting whose query has its previous counted peak pq above the library's,
 * the library having peaks at or below the threshold in between: R when one of them is at
 * pq, else 0. */
static double mf_ratio_uncounted(const npsw_mfx *x, const xpost *p, double m, int32_t pq,
                                 double kap)
{
    if (p->pa == pq) return kap * p->lam_a;
    if (p->pa < pq || !(p->fl & XP_UNCOUNTED_MANY)) return 0;
    (void)m;
    const npsw_lib *lib = x->lib;
    uint64_t s = p->s - x->base, g0 = p->g - x->gbase;
    if (s >= lib->n || g0 >= lib->n_peaks) return 0; /* a damaged stored index */
    uint64_t lo = lib->offsets[s], g = g0;
    while (g-- > lo && lib->mz[g] > pq) {}
    if (g + 1 > lo && lib->mz[g] == pq)
        return kap * sqrt((double)lib->in[g]) / sqrt((double)lib->in[g0]);
    return 0;
}

/* RMF, scalar posting after peaks at or below the threshold: R of the last pair in [pl, m)
 * with a side above the threshold (query-only peaks do not break the chain), or 0. */
static double rmf_ratio_slow(const npsw_mfx *x, const qslot *w, const npsw_peaks *q,
                             const xpost *p, uint32_t i)
{
    const npsw_lib *lib = x->lib;
    uint64_t s = p->s - x->base, g = p->g - x->gbase;
    if (s >= lib->n || g >= lib->n_peaks) return 0; /* a damaged stored index */
    uint64_t lo = lib->offsets[s];
    double rl_m = sqrt((double)lib->in[g]);
    while (g-- > lo) {
        int32_t at = (int32_t)lib->mz[g];
        int32_t j = at >= 0 && (uint32_t)at <= x->max_mz ? w->qat[at] : -1;
        if (j >= 0 && (q->in[j] > x->thr || lib->in[g] > x->thr))
            return (w->rq[i] * sqrt((double)lib->in[g])) / (w->rq[j] * rl_m);
        if (lib->in[g] > x->thr) return 0;
    }
    return 0;
}

/* The score of spectrum s from its sums at t (npsw_score_pair()'s quantities). */
static double mf_value(const npsw_mfx *x, const npsw_mfx_work *w, const qslot *qs, uint32_t j,
                       uint64_t s, uint32_t t)
{
    const npsw_lib *lib = x->lib;
    const npsw_peaks *q = qs->q;
    const double xuu = sums_of(w, j, S_XUU)[t], xll = sums_of(w, j, S_XLL)[t];
    double uu, ll;
    if (x->kind == NPSW_SCORE_COSINE) { /* every peak counted: the norms are the full ones */
        double den = qs->qsuf[0] * x->lnorm[s], v = sums_of(w, j, S_ACC)[t];
        v = den > 0 ? v / sqrt(den) : 0;
        return v > 1 ? 1 : v;
    }
    if (x->kind == NPSW_SCORE_RMF) {
        uu = xuu;
        ll = x->lnorm[s] + xll;
    } else if (x->kind == NPSW_SCORE_MF) {
        uu = qs->qsuf[0] + xuu;
        ll = x->lnorm[s] + xll;
    } else { /* wmf: from the higher of the two lowest m/z */
        double qlo = q->mz[0], llo = x->llo[s];
        if (llo > qlo) {
            uu = (llo <= qs->qmax ? qs->qsuf_mz[(uint32_t)llo] : 0) + xuu;
            ll = x->lnorm[s] + xll;
        } else {
            /* the library's counted peaks from qlo up: its norm less the few below qlo, or, when
             * those carry half of it or more (the difference would lose precision), summed */
            const uint64_t end = lib->offsets[s + 1];
            uint64_t g = lib->offsets[s];
            double below = 0;
            for (; g < end && lib->mz[g] < qlo; g++)
                if (lib->in[g] > x->thr) {
                    double wl = npsw_weight(lib->in[g], lib->mz[g], x->a, x->b);
                    below += wl * wl;
                }
            if (below <= 0.5 * x->lnorm[s]) {
                ll = x->lnorm[s] - below;
            } else {
                ll = 0;
                for (; g < end; g++)
                    if (lib->in[g] > x->thr) {
                        double wl = npsw_weight(lib->in[g], lib->mz[g], x->a, x->b);
                        ll += wl * wl;
                    }
            }
            uu = qs->qsuf[0] + xuu;
            ll += xll;
        }
    }
    if (!(uu > 0) || !(ll > 0)) return 0;
    double acc = sums_of(w, j, S_ACC)[t];
    double t1 = acc * acc / (uu * ll);
    if (t1 > 1) t1 = 1;
    double n1 = sums_of(w, j, S_NM)[t] - sums_of(w, j, S_NUU)[t], n2 = sums_of(w, j, S_N2)[t];
    double sm = sums_of(w, j, S_SM)[t], srm = sums_of(w, j, S_SRM)[t];
    if (!(sm > 0)) return t1;
    return (t1 * n1 + (srm / sm) * n2) / (n1 + n2);
}

/* The query's weights, suffix sums, previous counted peaks and peaks by m/z. */
static void slot_prepare(const npsw_mfx *x, qslot *w, const npsw_peaks *q)
{
    const double a = x->a, b = x->b, thr = x->thr;
    w->q = q;
    w->nout = 0;
    w->nlb = 0;
    w->usable = 1;
    for (uint32_t i = 0; i < q->n; i++)
        if (q->mz[i] != floor(q->mz[i]) || q->mz[i] < 0 || !safe_peak(q->in[i], q->mz[i], a, b))
            w->usable = 0;
    if (!w->usable) return;
    w->qsuf[q->n] = 0;
    for (uint32_t i = q->n; i-- > 0;) {
        w->wq[i] = npsw_weight(q->in[i], q->mz[i], a, b);
        w->qsuf[i] = w->qsuf[i + 1] + (q->in[i] > thr ? w->wq[i] * w->wq[i] : 0);
    }
    if (x->kind == NPSW_SCORE_WMF) {
        w->qmax = q->n ? q->mz[q->n - 1] : 0;
        if (w->qmax > x->max_mz + 1) w->qmax = x->max_mz + 1;
        uint32_t i = 0;
        for (uint32_t m = 0; m <= (uint32_t)w->qmax; m++) {
            while (i < q->n && q->mz[i] < m) i++;
            w->qsuf_mz[m] = w->qsuf[i];
        }
    }
    int32_t prev = -1;
    for (uint32_t i = 0; i < q->n; i++) {
        w->rq[i] = sqrt((double)q->in[i]);
        w->pq[i] = prev;
        if (q->mz[i] <= x->max_mz) w->qat[(uint32_t)q->mz[i]] = (int32_t)i;
        if (q->in[i] > thr) prev = (int32_t)q->mz[i];
    }
}

static void slot_release(const npsw_mfx *x, qslot *w)
{
    if (!w->usable) return;
    for (uint32_t i = 0; i < w->q->n; i++)
        if (w->q->mz[i] <= x->max_mz) w->qat[(uint32_t)w->q->mz[i]] = -1;
}

static int precursor_in(const npsw_lib *lib, uint64_t s, const npsw_mfx_filter *f, uint32_t j)
{
    double qp = f->precursor ? f->precursor[j] : 0;
    if (f->precursor_tol <= 0 || !(qp > 0)) return 1;
    double p = lib->precursor_mz[s];
    return p > 0 && fabs(p - qp) <= f->precursor_tol;
}

static int ev_cmp(const void *a, const void *b)
{
    const qevent *x = a, *y = b;
    if (x->bin != y->bin) return x->bin < y->bin ? -1 : 1;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* Query peak e's sums over the block's spectra [b0, b0 + bn). */
static void add_peak(const npsw_mfx *x, npsw_mfx_work *w, const qevent *e, uint64_t b0,
                     uint32_t bn, uint32_t blk, int level)
{
    const qslot *qs = &w->slot[e->slot];
    const npsw_peaks *q = qs->q;
    const uint32_t i = e->i, bin = e->bin;
    const double thr = x->thr, m = q->mz[i];
    const int rmf = x->kind == NPSW_SCORE_RMF, qc = q->in[i] > thr;
    const int cosine = x->kind == NPSW_SCORE_COSINE;
    const int32_t pq = qs->pq[i];
    const double wq = qs->wq[i], rq = qs->rq[i];
    const double kap = pq >= 0 ? rq / qs->rq[qs->qat[pq]] : 0;
    const double xuu_add = (rmf || !qc) ? wq * wq : 0;
    float *acc = sums_of(w, e->slot, S_ACC), *srm = sums_of(w, e->slot, S_SRM);
    float *sm = sums_of(w, e->slot, S_SM), *xll = sums_of(w, e->slot, S_XLL);
    float *xuu = sums_of(w, e->slot, S_XUU), *nuu = sums_of(w, e->slot, S_NUU);
    float *n2 = sums_of(w, e->slot, S_N2), *nm = sums_of(w, e->slot, S_NM);
    const uint32_t dn = x->dense_of[bin];
    if (dn != UINT32_MAX) {
        /* tab[d]: rq / rq of the query peak at m - d (MF, WMF: only up to the previous
         * counted one; RMF: any); tabc[d]: the same for counted query peaks only. Not needed
         * (simple) when the previous query peak is the previous counted one. */
        float tab[MAX_DIST + 1], tabc[MAX_DIST + 1];
        const int simple = !rmf && (pq >= 0 ? qs->qat[pq] == (int32_t)i - 1 : i == 0);
        tab[0] = tabc[0] = 0;
        for (int d = 1; !simple && !cosine && d <= MAX_DIST; d++) {
            int32_t at = (int32_t)bin - d;
            int32_t j = at >= 0 ? qs->qat[at] : -1;
            double v = j >= 0 ? rq / qs->rq[j] : 0;
            tab[d] = (float)((rmf || pq < 0 || at >= pq) ? v : 0);
            tabc[d] = (float)(j >= 0 && q->in[j] > thr ? v : 0);
        }
        int dq = pq < 0 ? 255 : ((int)bin - pq > MAX_DIST ? MAX_DIST + 1 : (int)bin - pq);
        size_t at = (size_t)dn * x->stride + x->base + b0;
        dense_args g = {bn, x->wl + at, x->lam + at, x->lam_a + at, x->lam_a2 + at, x->code + at,
                        x->dpa + at, x->dpa2 + at, tab, tabc, (float)wq, (float)xuu_add,
                        (float)kap, (float)m, qc, dq, rmf, simple, cosine, acc, srm, sm, xll, xuu, nuu, n2,
                        nm};
        dense_run(level, &g);
    }
    /* scalar postings: exact chain rules, see mf_ratio_uncounted / rmf_ratio_slow */
    const uint64_t *row = x->xp_blk + (size_t)bin * (x->nblk + 1);
    for (uint64_t k = row[blk]; k < row[blk + 1]; k++) {
        const xpost *p = &x->xp[k];
        /* spectra of the block outside this library (a part's first and last blocks), or, in a
         * damaged stored index, anywhere else */
        const uint64_t t64 = (uint64_t)p->s - (x->base + b0);
        if (t64 >= bn) continue;
        const uint32_t t = (uint32_t)t64;
        nm[t] += 1;
        if (cosine) {
            acc[t] += (float)(wq * p->w);
            continue;
        }
        const int lc = p->fl & XP_COUNTED;
        if (!qc && !lc) {
            nuu[t] += 1;
            continue;
        }
        acc[t] += (float)(wq * p->w);
        if (!lc) xll[t] += p->w * p->w;
        xuu[t] += (float)xuu_add;
        double R = 0;
        const int32_t pl = p->pl;
        if (rmf) {
            if (!(p->fl & XP_UNCOUNTED_BEFORE)) {
                int32_t j = pl >= 0 ? qs->qat[pl] : -1;
                if (j >= 0) R = rq / qs->rq[j] * p->lam;
            } else {
                R = rmf_ratio_slow(x, qs, q, p, i);
            }
        } else if (pl == pq) {
            if (pq >= 0) R = kap * p->lam;
        } else if (pl > pq) {
            int32_t j = qs->qat[pl];
            if (j >= 0) R = rq / qs->rq[j] * p->lam;
        } else if (p->fl & XP_UNCOUNTED_BEFORE) {
            R = mf_ratio_uncounted(x, p, m, pq, kap);
        }
        if (R > 0) {
            srm[t] += (float)(m * (R < 1 ? R : 1 / R));
            sm[t] += (float)m;
            n2[t] += 1;
        }
    }
}

/* Keep the k largest lower bounds: a spectrum whose bound is below the k-th of them cannot be a
 * hit. Returns that threshold (-1 while fewer than k). */
static double lb_push(qslot *sl, uint32_t k, double lb)
{
    double *h = sl->lb;
    if (sl->nlb < k) {
        uint32_t i = sl->nlb++;
        h[i] = lb;
        while (i > 0 && h[(i - 1) / 2] > h[i]) {
            double t = h[i];
            h[i] = h[(i - 1) / 2];
            h[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (lb > h[0]) {
        h[0] = lb;
        for (uint32_t i = 0;;) {
            uint32_t l = 2 * i + 1, r = l + 1, m = i;
            if (l < k && h[l] < h[m]) m = l;
            if (r < k && h[r] < h[m]) m = r;
            if (m == i) break;
            double t = h[i];
            h[i] = h[m];
            h[m] = t;
            i = m;
        }
    }
    return sl->nlb < k ? -1 : h[0];
}

/* Append a candidate, dropping those that fell below the threshold when the list is full. */
static int out_push(qslot *sl, double theta, const npsw_mfx_cand *c)
{
    if (sl->nout == sl->cap) {
        uint32_t keep = 0;
        for (uint32_t i = 0; i < sl->nout; i++)
            if (sl->out[i].bound >= theta) sl->out[keep++] = sl->out[i];
        sl->nout = keep;
        if (keep * 2 > sl->cap || sl->cap == 0) {
            uint32_t ncap = sl->cap ? sl->cap * 2 : 1024;
            npsw_mfx_cand *no = realloc(sl->out, (size_t)ncap * sizeof *no);
            if (!no) return NPSW_ENOMEM;
            sl->out = no;
            sl->cap = ncap;
        }
    }
    sl->out[sl->nout++] = *c;
    return 0;
}

int npsw_mfx_batch(const npsw_mfx *x, npsw_mfx_work *w, const npsw_peaks *qs, uint32_t nq,
                   const npsw_mfx_filter *f, int level)
{
    int rc = 0;
    const npsw_lib *lib = x->lib;
    if (nq > MFX_BATCH) nq = MFX_BATCH;
    uint32_t ne = 0;
    for (uint32_t j = 0; j < nq; j++) {
        qslot *sl = &w->slot[j];
        slot_prepare(x, sl, &qs[j]);
        if (!sl->usable) continue;
        for (uint32_t i = 0; i < qs[j].n && qs[j].mz[i] <= x->max_mz; i++)
            w->ev[ne++] = (qevent){(uint32_t)qs[j].mz[i], j, i};
    }
    /* bin by bin, so that a dense bin's lanes are read once for all queries with a peak there */
    qsort(w->ev, ne, sizeof *w->ev, ev_cmp);
    for (uint32_t blk = x->blk0; blk < x->blk1; blk++) {
        /* the block's spectra that are this library's: local [b0, b0 + bn) */
        const uint64_t w0 = (uint64_t)blk * MFX_BLOCK, w1 = w0 + MFX_BLOCK;
        const uint64_t b0 = w0 > x->base ? w0 - x->base : 0;
        const uint64_t e0 = w1 - x->base < x->n ? w1 - x->base : x->n;
        const uint32_t bn = (uint32_t)(e0 - b0);
        for (uint32_t k = 0; k < ne; k++) add_peak(x, w, &w->ev[k], b0, bn, blk, level);
        /* values; reset the sums */
        for (uint32_t j = 0; j < nq; j++) {
            qslot *sl = &w->slot[j];
            if (!sl->usable) continue;
            float *nm = sums_of(w, j, S_NM), *nuu = sums_of(w, j, S_NUU);
            for (uint32_t t = 0; t < bn; t++) {
                if (nm[t] == 0) continue;
                uint64_t s = b0 + t;
                if (nm[t] > nuu[t] && nm[t] >= f->min_matched && precursor_in(lib, s, f, j)) {
                    double v = mf_value(x, w, sl, j, s, t);
                    if (v > 0) {
                        /* single-precision sums: relative error below (terms) x 2^-23 each;
                         * the margin covers four times that for both spectra's peaks */
                        double terms = (double)sl->q->n +
                                       (double)(lib->offsets[s + 1] - lib->offsets[s]);
                        double rel = 4 * (terms + 8) * 1.2e-7;
                        npsw_mfx_cand c = {v * (1 + rel) + 1e-9, (uint32_t)s, (uint32_t)nm[t]};
                        double theta = lb_push(sl, f->k, v * (1 - rel) - 1e-9);
                        if (c.bound >= theta && out_push(sl, theta, &c) < 0) rc = NPSW_ENOMEM;
                    }
                }
            }
            for (int k = 0; k < S_COUNT; k++) memset(sums_of(w, j, k), 0, bn * sizeof(float));
        }
    }
    for (uint32_t j = 0; j < nq; j++) slot_release(x, &w->slot[j]);
    return rc < 0 ? rc : (int)nq;
}

const npsw_mfx_cand *npsw_mfx_result(const npsw_mfx_work *w, uint32_t j, int64_t *n)
{
    const qslot *sl = &w->slot[j];
    *n = sl->usable ? (int64_t)sl->nout : -1;
    return sl->out;
}
