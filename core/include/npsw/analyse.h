/* npsw/analyse.h - the analogue analysis of a query (docs/analogues.md, "Analysis"): identity
 * search, hybrid analogue search, mass shifts by cross-correlation, substituent hypotheses,
 * drug-class prediction from neighbours and diagnostic ions, and a verdict (in_library,
 * analogue, unknown) with a calibrated confidence.
 *
 * These are library search results for an analyst to weigh, never identifications.
 */
#ifndef NPSW_ANALYSE_H
#define NPSW_ANALYSE_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/analogue.h"
#include "npsw/err.h"
#include "npsw/library.h"
#include "npsw/search.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NPSW_ANALYSE_MAX_K 32     /* identity hits and analogue candidates kept per query */
#define NPSW_ANALYSE_MAX_SUBST 3  /* substituent hypotheses reported */
#define NPSW_ANALYSE_MAX_DIAG 16  /* diagnostic ions reported */
#define NPSW_ANALYSE_MAX_SHIFT 3  /* cross-correlation shifts reported */
#define NPSW_CLASS_LEN 48

typedef enum npsw_verdict {
    NPSW_VERDICT_IN_LIBRARY = 0, /* the best identity hit is most likely the same substance */
    NPSW_VERDICT_ANALOGUE,       /* not in the library, but a relative is: see analogue */
    NPSW_VERDICT_UNKNOWN         /* neither */
} npsw_verdict;

const char *npsw_verdict_name(npsw_verdict v);

typedef struct npsw_analyse_opts {
    uint32_t k;                  /* identity hits and analogue candidates; default 5 */
    npsw_search_opts search;     /* identity search (its k is set from k) */
    npsw_analogue_opts analogue; /* hybrid search (its k is set from k) */
    double diag_min_rel;         /* diagnostic ions: share of the base peak, default 0.05 */
    int threads;                 /* 0 = OpenMP default */
} npsw_analyse_opts;

npsw_analyse_opts npsw_analyse_opts_default(void);

/* One substituent hypothesis with the evidence that ranked it. */
typedef struct npsw_subst_hyp {
    npsw_delta_hypothesis h;
    double evidence;   /* higher ranks first; see docs/analogues.md, "Substituent evidence" */
    char why[96];      /* the evidence in words ("" when none beyond the mass) */
} npsw_subst_hyp;

/* Per query. The hit lists are inputs of npsw_analyse_decide and outputs of npsw_analyse. */
typedef struct npsw_analysis {
    /* identity search: hits[0..n_hits), ranked by the search score */
    npsw_hit hits[NPSW_ANALYSE_MAX_K];
    uint32_t n_hits;
    /* hybrid search: cands[0..n_cands), ranked by hybrid score */
    npsw_analogue_hit cands[NPSW_ANALYSE_MAX_K];
    uint32_t n_cands;

    npsw_verdict verdict;
    double confidence;        /* calibrated probability of the verdict, 0..1 */
    double p_in_library;      /* calibrated P(the substance is in the library) */
    double p_analogue;        /* P(not in library, but a relative is) */

    int has_analogue;         /* analogue = the best candidate with a mass difference */
    npsw_analogue_hit analogue;
    double analogue_cosine;   /* plain cosine of the query with the analogue (no shift) */
    double shift_support;     /* cross-correlation at the analogue's mass difference, 0..1 */
    int analogue_from_shift;  /* the analogue's query mass came from a cross-correlation shift */

    npsw_shift shifts[NPSW_ANALYSE_MAX_SHIFT]; /* best shifts against the top identity hit */
    int n_shifts;

    npsw_subst_hyp subst[NPSW_ANALYSE_MAX_SUBST];
    int n_subst;

    char predicted_class[NPSW_CLASS_LEN]; /* docs/classes.md names; "other" when nothing says */
    double class_confidence;  /* calibrated P(predicted class is right), 0..1 */
    double class_share;       /* the class's share of the votes */

    const npsw_diagnostic *diag[NPSW_ANALYSE_MAX_DIAG];
    int n_diag;
} npsw_analysis;

/* Analyse nq cleaned queries (cleaned as the library was): identity search, hybrid search,
 * then npsw_analyse_decide for each. out has nq entries. Results do not depend on the number
 * of threads. */
int npsw_analyse(const npsw_lib *lib, const npsw_spectrum *queries, size_t nq,
                 const npsw_analyse_opts *o, npsw_analysis *out, npsw_err *err) NPSW_WUR;

/* An analysis prepared once for many calls (the HTTP service analyses each submission as it
 * comes, from several threads): the identity-search and hybrid-search indices and the
 * analyser npsw_analyse() builds on every call, for one library and one set of options
 * (o->threads is the thread count used to build them). Read-only after creation: any number
 * of threads may call npsw_analyse_with() at once. The library must outlive it. Creating it
 * plans FFTW transforms: not thread-safe, make it before the threads start. */
typedef struct npsw_analyse_ctx npsw_analyse_ctx;
npsw_analyse_ctx *npsw_analyse_ctx_new(const npsw_lib *lib, const npsw_analyse_opts *o,
                                       npsw_err *err);
void npsw_analyse_ctx_free(npsw_analyse_ctx *c); /* accepts NULL */
/* npsw_analyse() with a prepared context and `threads` OpenMP threads (0 = OpenMP default):
 * the same results, bit for bit. */
int npsw_analyse_with(const npsw_analyse_ctx *c, const npsw_spectrum *queries, size_t nq,
                      int threads, npsw_analysis *out, npsw_err *err) NPSW_WUR;

/* What npsw_analyse_decide needs of a library, made once (FFTW plans, spectrum norms; not
 * thread-safe to create), and per-thread buffers. */
typedef struct npsw_analyser npsw_analyser;
typedef struct npsw_analyse_scratch npsw_analyse_scratch;
npsw_analyser *npsw_analyser_new(const npsw_lib *lib, npsw_err *err);
void npsw_analyser_free(npsw_analyser *an);
npsw_analyse_scratch *npsw_analyse_scratch_new(const npsw_analyser *an);
void npsw_analyse_scratch_free(npsw_analyse_scratch *s);

/* Everything after the two searches, from a->hits and a->cands as they are (a caller may
 * filter them first, e.g. to leave a compound out in an evaluation): table-shift and
 * cross-correlation candidates, analogue, substituents, class, verdict. `exclude` (may be NULL)
 * says which library spectra the added candidates must not be (user data `xu`). */
void npsw_analyse_decide(const npsw_analyser *an, npsw_analyse_scratch *s,
                         const npsw_spectrum *q, const npsw_analyse_opts *o,
                         int (*exclude)(uint64_t index, void *xu), void *xu, npsw_analysis *a);

/* ---- the analysis of a library split into parts (tools/mpi, docs/mpi.md) -------------------
 *
 * npsw_analyse = identity search + hybrid search + table scan (each a top list over every
 * library spectrum, each spectrum scored on its own) + the rest of npsw_analyse_decide (which
 * looks only at the spectra on those lists). Over a library split into parts, the three lists
 * of each part, merged by their orders (npsw_hit ranking of search.h, npsw_analogue_hit_before,
 * npsw_table_pair_before) are those of the whole; npsw_analyse_decide_table on a library part
 * that holds every listed spectrum, with an analyser made by npsw_analyser_new_part, then gives
 * the whole library's result. */

/* The options of npsw_analyse's identity search and hybrid search for o. */
void npsw_analyse_stage_opts(const npsw_analyse_opts *o, npsw_search_opts *so,
                             npsw_analogue_opts *ao);

/* The largest m/z of a library that sizes the cross-correlation FFTs (whole number, at most
 * 100000); of a whole library: the largest of its parts' values. */
uint32_t npsw_analyser_max_mz(const npsw_lib *lib);
/* npsw_analyser_new for a part of a library whose npsw_analyser_max_mz is whole_max_mz, so
 * that the FFT lengths are the whole library's; fft == 0 makes no FFT plans (enough for
 * npsw_analyse_table_scan). npsw_analyser_new(lib) = npsw_analyser_new_part(lib,
 * npsw_analyser_max_mz(lib), 1). */
npsw_analyser *npsw_analyser_new_part(const npsw_lib *lib, uint32_t whole_max_mz, int fft,
                                      npsw_err *err);

#define NPSW_ANALYSE_TABLE_KEEP 10 /* table-shift pairs scored exactly per query */

/* A table-shift pair (docs/analogues.md, "Table shifts"): a library spectrum (index in the
 * analyser's library) whose fragments line up with the query's shifted by `shift` Da. */
typedef struct npsw_table_pair {
    uint64_t index;
    int shift;
    double score;
} npsw_table_pair;

/* a comes before b: higher score, then lower library index */
int npsw_table_pair_before(const npsw_table_pair *a, const npsw_table_pair *b);
/* The table scan of npsw_analyse_decide: the best NPSW_ANALYSE_TABLE_KEEP pairs (at most one
 * per spectrum, in npsw_table_pair_before order) into best; returns how many (0 for queries
 * with a precursor, accurate-mass libraries, empty queries). */
int npsw_analyse_table_scan(const npsw_analyser *an, npsw_analyse_scratch *s,
                            const npsw_spectrum *q, const npsw_analyse_opts *o,
                            int (*exclude)(uint64_t index, void *xu), void *xu,
                            npsw_table_pair *best);
/* npsw_analyse_decide with the table scan's result given (indices in an's library):
 * npsw_analyse_decide = npsw_analyse_table_scan + this. */
void npsw_analyse_decide_table(const npsw_analyser *an, npsw_analyse_scratch *s,
                               const npsw_spectrum *q, const npsw_analyse_opts *o,
                               int (*exclude)(uint64_t index, void *xu), void *xu,
                               const npsw_table_pair *table, int n_table, npsw_analysis *a);

/* The rest of npsw_analyse for nq queries whose lists are made: identity hits (hits + q*k,
 * nh[q]) and hybrid candidates (cands + q*k, nc[q]), indices in an's library; the table scan's
 * pairs (pairs + q*NPSW_ANALYSE_TABLE_KEEP, npairs[q]) or, with pairs NULL, the scan made here
 * (npsw_analyse_decide). In parallel on `threads` (0: all). 0 or NPSW_ENOMEM. */
int npsw_analyse_finish(const npsw_analyser *an, const npsw_spectrum *queries, size_t nq,
                        const npsw_analyse_opts *o, int threads, const npsw_hit *hits,
                        const uint32_t *nh, const npsw_analogue_hit *cands, const uint32_t *nc,
                        const npsw_table_pair *pairs, const uint32_t *npairs, npsw_analysis *out,
                        npsw_err *err);

/* One query's analysis as one line of JSON without its newline: the record of `npswatch
 * analogues --format json` (docs/cli.md), also the C API's (npsw_api_analyse_json). qi is the
 * query's 0-based position, file its file name (NULL: ""). Library spectra are reported by
 * index (1-based in the JSON) and described from lib's row row(index, user), or row index when
 * row is NULL (a part holding the listed spectra maps whole indices to its rows). Returns a
 * malloc'd string to free(), or NULL when out of memory. */
char *npsw_analysis_json(const npsw_lib *lib, uint64_t (*row)(uint64_t index, void *user),
                         void *user, size_t qi, const npsw_spectrum *q, const char *file,
                         const npsw_analysis *a);

/* ---- calibration (core/src/calibration.c, fitted by bench/analogue_calibrate.py) ----------- */

/* The features the calibrated models use, for the evaluation and for tests. */
typedef struct npsw_analysis_features {
    double id_score, id_mf, id_rmf;     /* best identity hit (0 when none) */
    double an_score, an_gain, an_explained, an_shift, an_shifted_share;
    double class_share, class_top;      /* class vote share; best neighbour similarity */
    double class_drug, class_drug_share; /* predicted class is not "other" (1/0); times share */
} npsw_analysis_features;

void npsw_analysis_features_get(const npsw_analysis *a, npsw_analysis_features *f);
/* Where the coefficients came from (data, command, date). */
const char *npsw_calibration_source(void);

#ifdef __cplusplus
}
#endif
#endif
