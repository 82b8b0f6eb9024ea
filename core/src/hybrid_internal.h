/* hybrid_internal.h - shared by hybrid.c (the exact hybrid score with caller scratch),
 * hybrid_index.c (the index and the per-query fast search) and analogue.c (the public API).
 * Not installed. docs/analogues.md, "Fast hybrid search". */
#ifndef NPSW_HYBRID_INTERNAL_H
#define NPSW_HYBRID_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/analogue.h"

/* ---- exact hybrid score with caller scratch (hybrid.c) ---------------------------------- */

typedef struct npsw_hyb_pair {
    double prod;
    uint32_t i, j;
    int shifted;
} npsw_hyb_pair;

/* Buffers of npsw_hyb_score: allocated once, grown (never shrunk) when a comparison needs more;
 * in a search that is sized from the largest query and library spectrum, nothing is allocated
 * per comparison. */
typedef struct npsw_hyb_scratch {
    npsw_hyb_pair *c, *tmp; /* candidate pairs and the merge sort's buffer, cap each */
    size_t cap;
    int32_t *mq, *ml;       /* partners, max_q + 1 and max_l + 1 */
    unsigned char *sh;      /* max_q + 1 */
    uint32_t *jd, *js;      /* npsw_hyb_score_nominal: partners of the query peaks (max_q + 1), */
    uint32_t *qd, *qs;      /* of the library peaks (max_l + 1), */
    unsigned char *st;      /* the state of each pair (2 (max_q + 1)) */
    uint32_t *stk;          /* and its stack (2 (max_q + 1)) */
    double *pd, *ps;        /* products of each query peak's direct and shifted pair */
    uint32_t max_q, max_l;
} npsw_hyb_scratch;

/* Room for spectra of up to max_q / max_l peaks and `pairs` candidate pairs. 0 or NPSW_ENOMEM. */
int npsw_hyb_scratch_init(npsw_hyb_scratch *s, uint32_t max_q, uint32_t max_l, size_t pairs);
void npsw_hyb_scratch_free(npsw_hyb_scratch *s);

/* Peak weights npsw_weight(I, mz, p->int_power, p->mz_power) into w and their sum of squares,
 * summed in peak order, into *norm2 (the norm npsw_hybrid_score uses). */
void npsw_hyb_weights(const npsw_peaks *x, const npsw_score_params *p, double *w, double *norm2);

/* npsw_hybrid_score with the weights and sums of squares of both spectra given (from
 * npsw_hyb_weights; the same numbers give the same result bit for bit) and caller scratch.
 * Returns 0, or NPSW_ENOMEM (out zeroed) when the scratch could not grow. */
int npsw_hyb_score(const npsw_peaks *q, const double *wq, double nq2, const npsw_peaks *l,
                   const double *wl, double nl2, double delta, const npsw_score_params *p,
                   npsw_hyb_scratch *s, npsw_hybrid *out);

/* The same result as npsw_hyb_score, without sorting, for nominal spectra (p->nominal) whose
 * m/z are strictly ascending whole numbers on both sides and a whole-number delta: then every
 * candidate pair has at most two conflicting pairs (hybrid.c). qidx[m] is the index of the
 * query peak at m/z m (UINT32_MAX: none), defined for every library m/z m and m + delta. */
int npsw_hyb_score_nominal(const npsw_peaks *q, const double *wq, double nq2, const npsw_peaks *l,
                           const double *wl, double nl2, int64_t delta, const uint32_t *qidx,
                           npsw_hyb_scratch *s, npsw_hybrid *out);

/* ---- analogue candidates: pieces shared by the brute force and the fast search ----------- */

#define NPSW_HYB_MAX_MASSES 8

/* The query masses the brute force tries (precursor, or the first n_mion molecular-ion
 * candidates), in its order; returns how many (0..NPSW_HYB_MAX_MASSES). */
int npsw_hyb_query_masses(const npsw_spectrum *q, const npsw_analogue_opts *o, int nominal,
                          double *qmass);
/* The library mass of spectrum s as the brute force takes it (precursor for accurate-mass
 * libraries, else MW; rounded for nominal ones); NAN when it has none (skipped). */
double npsw_hyb_lib_mass(const npsw_lib *lib, uint64_t s, int nominal);
/* h ranks before g: higher score, then lower library index. */
int npsw_hyb_hit_before(const npsw_analogue_hit *h, const npsw_analogue_hit *g);
/* Insert h into the sorted list hits[0..*n) of at most k (k >= 1). */
void npsw_hyb_keep(npsw_analogue_hit *hits, uint32_t *n, uint32_t k, const npsw_analogue_hit *h);

/* ---- the fast search (hybrid_index.c) ---------------------------------------------------- */

/* Per-library tables for one set of weight parameters: library masses, peak weights, norms,
 * and for nominal libraries the m/z and neutral-loss postings. Read-only once built. The
 * public npsw_analogue_index is this. */
typedef struct npsw_analogue_index npsw_hyb_index;
/* Per-thread buffers (one entry per library spectrum, per query peak, and the exact scorer's). */
typedef struct npsw_hyb_worker npsw_hyb_worker;

/* Built with up to `threads` OpenMP threads. NULL (err set) when out of memory. */
npsw_hyb_index *npsw_hyb_index_new(const npsw_lib *lib, const npsw_score_params *params,
                                   int threads, npsw_err *err);
void npsw_hyb_index_free(npsw_hyb_index *x);
/* The parameters it was made for (nominal: the library's). */
const npsw_score_params *npsw_hyb_index_params(const npsw_hyb_index *x);
/* Buffers for queries of up to max_q peaks, n_masses query masses and m/z up to max_query_mz,
 * searched with this max_delta. NULL: no memory. */
npsw_hyb_worker *npsw_hyb_worker_new(const npsw_hyb_index *x, uint32_t max_q, int n_masses,
                                     double max_query_mz, double max_delta);
void npsw_hyb_worker_free(npsw_hyb_worker *w);

/* One query: exactly the brute force's hits (npsw_analogue_candidates_brute) into hits (room
 * for o->k >= 1), their number into *nhits; counters added to *st. 0 or NPSW_ENOMEM. */
int npsw_hyb_search_one(const npsw_hyb_index *x, npsw_hyb_worker *w, const npsw_spectrum *q,
                        const npsw_analogue_opts *o, npsw_analogue_hit *hits, uint32_t *nhits,
                        npsw_analogue_stats *st);

#endif
