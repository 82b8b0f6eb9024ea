/* search_mf.h - internal to the search: the MF-family (mf, rmf, wmf) and cosine sums of every
 * library spectrum for one query, computed by vectorised kernels over the dense m/z bins and by an
 * exact scalar walk over the other postings (docs/algorithms.md, "Exact search").
 *
 *   npsw_mfx *x;  npsw_mfx_new(lib, &opts, &x);         once per search call
 *   npsw_mfx_work *w = npsw_mfx_work_new(x, max_q);    once per thread
 *   npsw_mfx_batch(x, w, queries, nq, level);          up to MFX_BATCH queries at a time
 *   c = npsw_mfx_result(w, j, &n);                     query j's candidates
 *
 * Each candidate's bound is at least the spectrum's score as npsw_score_pair() computes it (the
 * sums are the same terms added in another order and in single precision, and a margin covers
 * the rounding), so scoring candidates in decreasing order of bound until none can beat the
 * K-th score gives the exact top-K.
 */
#ifndef NPSW_SEARCH_MF_H
#define NPSW_SEARCH_MF_H

#include <stdint.h>

#include "library_internal.h"
#include "npsw/search.h"

#define MFX_BLOCK NPSW_MF_BLOCK /* library spectra per block: a batch's sums stay in the L2 cache */
#define MFX_BATCH 16u   /* queries searched together: a dense bin's lanes are read once for all */

/* SIMD levels of the kernels; NPSW_SIMD=scalar|avx2|avx512 caps the level picked. */
enum { NPSW_SIMD_SCALAR = 0, NPSW_SIMD_AVX2 = 1, NPSW_SIMD_AVX512 = 2 };
int npsw_simd_level(void); /* what the CPU supports, capped by $NPSW_SIMD */
const char *npsw_simd_name(int level);

typedef struct npsw_mfx npsw_mfx;
typedef struct npsw_mfx_work npsw_mfx_work;

typedef struct npsw_mfx_cand {
    double bound;    /* >= the spectrum's score */
    uint32_t s;      /* library index */
    uint32_t shared; /* matched peaks (npsw_scores.n_matched) */
} npsw_mfx_cand;

/* For a nominal library with its index and an MF-family or cosine score. NPSW_ENOMEM, 0, or 1 when the
 * library holds intensities or weights outside [1e-9, 1e9] (then *out is NULL and the caller
 * scores exhaustively). */
int npsw_mfx_new(const npsw_lib *lib, const npsw_search_opts *o, npsw_mfx **out);
void npsw_mfx_free(npsw_mfx *x);
npsw_mfx_work *npsw_mfx_work_new(const npsw_mfx *x, uint32_t max_query_peaks);
void npsw_mfx_work_free(npsw_mfx_work *w);

/* Which spectra may be hits, to drop candidates early. */
typedef struct npsw_mfx_filter {
    uint32_t k;              /* hits per query */
    uint32_t min_matched;    /* >= 1 */
    double precursor_tol;    /* > 0: precursor window, as npsw_search_opts.precursor_tol_da */
    const double *precursor; /* per query of the batch: its precursor m/z (or NULL) */
} npsw_mfx_filter;

/* Search nq <= MFX_BATCH queries (cleaned, kept alive until their results are read). Returns
 * the number taken, or NPSW_ENOMEM. */
int npsw_mfx_batch(const npsw_mfx *x, npsw_mfx_work *w, const npsw_peaks *qs, uint32_t nq,
                   const npsw_mfx_filter *f, int level);
/* Query j of the last batch: the library spectra that may be among its top K under the filter
 * (every one whose bound reaches the K-th largest lower bound of the others), with bounds;
 * *n = their number, or -1 when the query cannot use the index (an m/z that is not a whole
 * number, an intensity or weight outside [1e-9, 1e9]): the caller then scores every spectrum. */
const npsw_mfx_cand *npsw_mfx_result(const npsw_mfx_work *w, uint32_t j, int64_t *n);

#endif
