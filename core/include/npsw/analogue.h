/* npsw/analogue.h - building blocks of unknown-analogue detection (docs/analogues.md):
 * the table of substituent changes common in new psychoactive substances, the ranking of the
 * changes that explain a mass difference, and mass-shift finding by cross-correlation of binned
 * spectra with FFTW.
 */
#ifndef NPSW_ANALOGUE_H
#define NPSW_ANALOGUE_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/err.h"
#include "npsw/library.h"
#include "npsw/score.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- substituents ---------------------------------------------------------------------- */

/* Elements of the composition changes, in this order. */
enum { NPSW_EL_C, NPSW_EL_H, NPSW_EL_N, NPSW_EL_O, NPSW_EL_F, NPSW_EL_S, NPSW_EL_CL, NPSW_EL_BR,
       NPSW_EL_COUNT };

typedef struct npsw_substituent {
    const char *label;       /* "CH2", "F-for-H", ... */
    const char *description; /* what the change is, in words */
    double delta;            /* monoisotopic mass change of the molecule, Da (query - parent) */
    signed char comp[NPSW_EL_COUNT]; /* change of the molecular formula, atoms per element */
} npsw_substituent;

/* The documented table (docs/analogues.md); returns its length. */
size_t npsw_substituents(const npsw_substituent **table);

typedef struct npsw_delta_hypothesis {
    char label[96];   /* "+CH2", "-O", "+CH2 +Cl-for-H" */
    double delta;     /* the hypothesis' mass change, Da */
    double error;     /* |observed - delta|, Da */
    int n_terms;      /* 1 or 2 substituents */
    signed char comp[NPSW_EL_COUNT]; /* change of the molecular formula (sum of the terms) */
} npsw_delta_hypothesis;

/* Hypotheses that explain `observed` (query mass - parent mass, Da): every single substituent
 * and every combination of two (the same one twice included), each added or removed, whose mass
 * change is within `tol_da` of observed; with nominal != 0 the comparison is on nominal masses
 * (the rounded changes must be equal) and tol_da is ignored. Ranked by error, then by fewer
 * terms, then by table order; at most `max` are written. Returns how many were written. */
int npsw_explain_delta(double observed, double tol_da, int nominal, npsw_delta_hypothesis *out,
                       int max);

/* ---- molecular ion of an EI spectrum ---------------------------------------------------- */

typedef struct npsw_mion {
    double mz;          /* candidate nominal mass of M+. */
    double score;       /* relative plausibility, 0..1 (candidates sorted by it) */
    const char *reason; /* which rule proposed it (static string) */
} npsw_mion;

/* Candidates for the molecular ion M+. of a nominal EI spectrum (docs/analogues.md, "Molecular
 * ion"), most plausible first: the highest peak of at least 0.5 % of the base peak, moved down
 * when it looks like an isotope peak (13C M+1, or the M+2 of chlorine or bromine), and that peak
 * plus common small losses (15, 18, 17, 29, 31) for spectra whose molecular ion is absent.
 * Returns how many were written (0 for an empty spectrum). */
int npsw_molecular_ion(const npsw_peaks *p, npsw_mion *out, int max);

/* ---- diagnostic ions ------------------------------------------------------------------- */

typedef struct npsw_diagnostic {
    const char *cls;   /* class the ion points to (docs/classes.md names) */
    double mz;         /* nominal m/z */
    const char *ion;   /* what the ion is */
} npsw_diagnostic;

/* The documented table of diagnostic EI ions (docs/analogues.md); returns its length. */
size_t npsw_diagnostics(const npsw_diagnostic **table);

/* The table's ions present in a nominal spectrum with at least min_rel of the base peak
 * (e.g. 0.05), in table order; at most max written. Returns how many were written. */
int npsw_diagnostic_ions(const npsw_peaks *p, double min_rel, const npsw_diagnostic **out, int max);

/* ---- hybrid similarity (fragments + neutral losses) -------------------------------------- */

typedef struct npsw_hybrid {
    double score;        /* weighted cosine over direct and shifted pairs, 0..1 */
    uint32_t n_direct;   /* pairs matched at the same m/z (fragments without the change) */
    uint32_t n_shifted;  /* pairs matched at m/z + delta (fragments that carry the change) */
} npsw_hybrid;

/* Hybrid similarity of query q with library spectrum l for a mass difference delta = M(query) -
 * M(library) (Moorthy et al., Anal Chem 2017): a query peak matches a library peak at the same
 * m/z or at library m/z + delta (within the tolerance of p; nominal spectra: equal nominal m/z).
 * Peaks are paired one-to-one, greedily by the larger intensity product, a direct pair before a
 * shifted one of equal product, then by lower indices; the score is the cosine of the paired
 * weights I^a mz^b (p's int_power and mz_power, each peak its own m/z) over all peaks of both. */
void npsw_hybrid_score(const npsw_peaks *q, const npsw_peaks *l, double delta,
                       const npsw_score_params *p, npsw_hybrid *out);
/* Plain reference of the same (quadratic search for the best remaining pair). */
void npsw_hybrid_score_ref(const npsw_peaks *q, const npsw_peaks *l, double delta,
                           const npsw_score_params *p, npsw_hybrid *out);

/* ---- analogue candidates ------------------------------------------------------------------ */

typedef struct npsw_analogue_opts {
    uint32_t k;            /* candidates kept, default 5 */
    double max_delta;      /* |M(query) - M(library)| considered, Da; default 150 */
    int n_mion;            /* EI: molecular-ion candidates of the query tried, default 2 */
    npsw_score_params params; /* weights and tolerances (nominal is taken from the library) */
} npsw_analogue_opts;

npsw_analogue_opts npsw_analogue_opts_default(void);

typedef struct npsw_analogue_hit {
    uint64_t index;        /* library spectrum */
    double query_mass;     /* the query mass used (a molecular-ion candidate or the precursor) */
    double delta;          /* query_mass - library mass */
    npsw_hybrid hybrid;    /* hybrid similarity at that delta */
} npsw_analogue_hit;

/* The ranking of analogue candidates: a comes before b when its hybrid score is higher, or
 * equal with a lower library index. */
int npsw_analogue_hit_before(const npsw_analogue_hit *a, const npsw_analogue_hit *b);

/* The k library spectra most similar to the query under hybrid matching: for every library
 * spectrum with a known mass (precursor m/z for MS/MS, else MW) and every query mass candidate
 * (the precursor, or the first n_mion molecular-ion candidates of an EI query), delta = query
 * mass - library mass within max_delta, the best hybrid score (of equal scores, the first query
 * mass's); only scores > 0. Ranked by score, then library index; at most k written into hits.
 * Returns the number of hits (0 when k is 0 or the query is empty).
 * Exact and fast (docs/analogues.md, "Fast hybrid search"): the same hits as
 * npsw_analogue_candidates_brute(), bit for bit, through the library's prepared index
 * (npsw_analogue_index_new), which is kept for the next call with the same library and peak
 * weights (built on the first call; thread-safe: concurrent calls share it; the memory is
 * released by npsw_analogue_cache_clear() or when another library is searched). */
int npsw_analogue_candidates(const npsw_lib *lib, const npsw_spectrum *query,
                             const npsw_analogue_opts *o, npsw_analogue_hit *hits);
/* Free the index kept by npsw_analogue_candidates() (once no call is using it). */
void npsw_analogue_cache_clear(void);

/* The reference for tests and benchmarks: the same ranking computed exhaustively, every library
 * spectrum with a mass and every query mass within max_delta scored by npsw_hybrid_score(). */
int npsw_analogue_candidates_brute(const npsw_lib *lib, const npsw_spectrum *query,
                                   const npsw_analogue_opts *o, npsw_analogue_hit *hits);

typedef struct npsw_analogue_stats {
    uint64_t n_queries;
    uint64_t n_pairs;      /* (library spectrum, query mass) pairs within max_delta: the hybrid
                              scores the brute force computes */
    uint64_t n_scored;     /* hybrid scores computed exactly by the fast search */
    uint64_t n_postings;   /* m/z and neutral-loss postings visited */
    uint64_t n_exhaustive; /* queries searched exhaustively (accurate-mass library, a query whose
                              m/z are not whole numbers) */
} npsw_analogue_stats;

/* The m/z and neutral-loss postings of a library for the peak weights of o->params (int_power,
 * mz_power), built with up to `threads` threads (0: OpenMP's default), for any number of
 * searches by any number of threads (read-only). For nominal libraries; an accurate-mass
 * library gets one too (its searches are exhaustive). NULL when out of memory or threads is out
 * of range (err says which). */
typedef struct npsw_analogue_index npsw_analogue_index;
npsw_analogue_index *npsw_analogue_index_new(const npsw_lib *lib, const npsw_analogue_opts *o,
                                             int threads, npsw_err *err);
void npsw_analogue_index_free(npsw_analogue_index *ix); /* accepts NULL */

/* Batch hybrid search: for query i, exactly npsw_analogue_candidates_brute()'s hits into
 * hits[i * o->k ...] and their number into nhits[i] (hits: room for nq * o->k). Nominal
 * libraries are searched through m/z and neutral-loss postings with exact pruning (built here,
 * before the threads start); accurate-mass libraries exhaustively. Queries run in parallel with
 * OpenMP (threads: 0 = OpenMP's default), one buffer set per thread; the results do not depend
 * on the thread count. stats may be NULL. Returns 0, NPSW_EINVAL for bad options (threads < 0
 * or > 1024) or NPSW_ENOMEM. */
int npsw_analogue_search(const npsw_lib *lib, const npsw_spectrum *queries, size_t nq,
                         const npsw_analogue_opts *o, int threads, npsw_analogue_hit *hits,
                         uint32_t *nhits, npsw_analogue_stats *stats, npsw_err *err) NPSW_WUR;
/* The same with an index made by npsw_analogue_index_new() for the same library (not freed
 * meanwhile) and the same peak weights (else NPSW_EINVAL): the postings are built once for many
 * searches. */
int npsw_analogue_search_index(const npsw_analogue_index *ix, const npsw_spectrum *queries,
                               size_t nq, const npsw_analogue_opts *o, int threads,
                               npsw_analogue_hit *hits, uint32_t *nhits,
                               npsw_analogue_stats *stats, npsw_err *err) NPSW_WUR;

/* ---- mass shifts by cross-correlation -------------------------------------------------- */

typedef struct npsw_shift_finder npsw_shift_finder;
typedef struct npsw_shift_scratch npsw_shift_scratch;

typedef struct npsw_shift {
    int shift;     /* query m/z - library m/z, in nominal bins */
    double score;  /* correlation of the unit-norm binned weights at that shift, 0..1 */
} npsw_shift;

/* A finder for nominal spectra up to m/z max_mz: FFTW plans of length >= 2 (max_mz + 1) made
 * once here (FFTW_MEASURE; not thread-safe: create before the threads start). */
npsw_shift_finder *npsw_shift_finder_new(uint32_t max_mz, npsw_err *err);
void npsw_shift_finder_free(npsw_shift_finder *f);
/* Per-thread buffers for npsw_shift_find (FFTW-aligned). */
npsw_shift_scratch *npsw_shift_scratch_new(const npsw_shift_finder *f);
void npsw_shift_scratch_free(npsw_shift_scratch *s);

/* Cross-correlation c(d) = sum_m Q(m + d) L(m) of the binned weights sqrt(intensity), each
 * scaled to unit norm, for |d| <= max_shift; writes the n_best shifts with the highest c(d)
 * (ties: smaller |d|, then positive first) into best. Thread-safe with one scratch per thread.
 * Peaks above the finder's max_mz are ignored. Returns how many were written. */
int npsw_shift_find(const npsw_shift_finder *f, npsw_shift_scratch *s, const npsw_peaks *q,
                    const npsw_peaks *l, int max_shift, npsw_shift *best, int n_best);

/* The same correlation, computed directly from the peak pairs (O(n_q n_l)); for tests and as the
 * scalar reference. corr[d + max_shift] receives c(d) for d in [-max_shift, max_shift]. */
void npsw_shift_correlation_ref(const npsw_peaks *q, const npsw_peaks *l, uint32_t max_mz,
                                int max_shift, double *corr);
/* All c(d) by FFT into corr (same layout as the reference). */
void npsw_shift_correlation(const npsw_shift_finder *f, npsw_shift_scratch *s,
                            const npsw_peaks *q, const npsw_peaks *l, int max_shift,
                            double *corr);

#ifdef __cplusplus
}
#endif
#endif
