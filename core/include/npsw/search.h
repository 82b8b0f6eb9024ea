/* npsw/search.h - exact top-K identity search of cleaned query spectra against a library.
 *
 * The ranking is exact: the hits equal those of scoring every library spectrum with
 * npsw_score_pair() (npsw_search_brute), ordered by score (descending) and then library index
 * (ascending). Only hits with a score above 0 (at least one matched peak) are returned.
 * Results do not depend on the number of threads. See docs/algorithms.md, "Search".
 */
#ifndef NPSW_SEARCH_H
#define NPSW_SEARCH_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/err.h"
#include "npsw/library.h"
#include "npsw/score.h"
#include "npsw/spectrum.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NPSW_MAX_K 1000

typedef struct npsw_search_opts {
    uint32_t k;               /* hits per query; default 5, at most NPSW_MAX_K */
    npsw_score_kind score;    /* ranking score; default NPSW_SCORE_WMF */
    int threads;              /* 0 = OpenMP default */
    npsw_score_params params; /* matching and weights; nominal is taken from the library */
    double precursor_tol_da;  /* > 0: only library spectra whose precursor m/z is within this of
                                 the query's (both must have one); default 0 = off */
    uint32_t min_matched;     /* hits need at least this many matched peaks (inclusive); default 1 */
    npsw_progress_fn progress; /* called from one thread now and then; may be NULL */
    void *progress_user;
} npsw_search_opts;

npsw_search_opts npsw_search_opts_default(void);
int npsw_search_opts_check(const npsw_search_opts *o, npsw_err *err) NPSW_WUR;

typedef struct npsw_hit {
    uint64_t index;   /* 0-based library index */
    double score;     /* the ranking score, 0..1 */
    npsw_scores all;  /* every score of the pair */
} npsw_hit;

typedef struct npsw_search_stats {
    uint64_t n_queries;
    uint64_t n_candidates;   /* library spectra sharing at least one peak with a query */
    uint64_t n_scored;       /* of those, fully scored after pruning */
} npsw_search_stats;

/* The ranking of hits: a comes before b when its score is higher, or equal with a lower library
 * index. The search returns the first k library spectra in this order; hit lists of disjoint
 * parts of a library, merged in this order, give the whole library's (tools/mpi). */
int npsw_hit_before(const npsw_hit *a, const npsw_hit *b);

/* Search nq cleaned queries. hits has room for nq * o->k entries; hits of query q are
 * hits[q*k .. q*k + nhits[q]). stats may be NULL. */
int npsw_search(const npsw_lib *lib, const npsw_spectrum *queries, size_t nq,
                const npsw_search_opts *o, npsw_hit *hits, uint32_t *nhits,
                npsw_search_stats *stats, npsw_err *err) NPSW_WUR;

/* A search prepared once for many calls (the service searches one query at a time from many
 * threads): the index tables npsw_search() builds on each call, for one library and one set of
 * options. Read-only after creation: any number of threads may call npsw_search_with() on it at
 * once. The library must outlive it. NULL on bad options or out of memory (err says which). */
typedef struct npsw_search_index npsw_search_index;
npsw_search_index *npsw_search_index_new(const npsw_lib *lib, const npsw_search_opts *o,
                                         npsw_err *err);
void npsw_search_index_free(npsw_search_index *ix); /* accepts NULL */
/* npsw_search() with a prepared index: the options are the index's, with this call's thread
 * count and progress callback (may be NULL). Same hits, bit for bit. */
int npsw_search_with(const npsw_search_index *ix, const npsw_spectrum *queries, size_t nq,
                     int threads, npsw_progress_fn progress, void *progress_user, npsw_hit *hits,
                     uint32_t *nhits, npsw_search_stats *stats, npsw_err *err) NPSW_WUR;

/* The same by scoring every library spectrum (no index, no pruning). use_ref != 0 scores with
 * the plain reference implementation npsw_score_pair_ref(). For tests and benchmarks. */
int npsw_search_brute(const npsw_lib *lib, const npsw_spectrum *queries, size_t nq,
                      const npsw_search_opts *o, int use_ref, npsw_hit *hits, uint32_t *nhits,
                      npsw_err *err) NPSW_WUR;

/* Which kernel implementation is in use ("scalar" for now; see --version). */
const char *npsw_search_kernel_name(void);

#ifdef __cplusplus
}
#endif
#endif
