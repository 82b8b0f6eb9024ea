/* npsw/score.h - similarity scores between two cleaned spectra.
 *
 * Every score has one fast implementation (npsw_score_pair, a single merge pass used by the
 * search) and one plain reference (npsw_score_pair_ref, written independently for the tests).
 * Formulas and sources: docs/algorithms.md.
 *
 *   mf       NIST identity match factor (dot-product term with weights I^a * mz^b, default
 *            a = 0.5, b = 0.5 i.e. sqrt(I * mz), plus the adjacent-peak ratio term), 0..1
 *   rmf      reverse match factor: the same, ignoring query peaks absent from the library
 *            spectrum, 0..1
 *   wmf      mass-weighted match factor: the MF algorithm with dot-product weights
 *            I^a * mz^wmf_mz_power (default sqrt(I) * mz), over the m/z range both spectra
 *            cover; npswatch's default ranking score (docs/algorithms.md says why), 0..1
 *   cosine   cosine of the weight vectors I^a * mz^b, 0..1
 *   entropy  spectral entropy similarity (Li et al., Nat Methods 2021), 0..1
 *
 * MF and RMF are shown on NIST's 0..999 scale by npsw_mf_display().
 */
#ifndef NPSW_SCORE_H
#define NPSW_SCORE_H

#include <math.h>
#include <stdint.h>

#include "npsw/err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum npsw_score_kind {
    NPSW_SCORE_MF = 0,
    NPSW_SCORE_RMF,
    NPSW_SCORE_WMF,
    NPSW_SCORE_COSINE,
    NPSW_SCORE_ENTROPY,
    NPSW_SCORE_COUNT
} npsw_score_kind;

const char *npsw_score_name(npsw_score_kind k);
/* "mf", "rmf", "wmf", "cosine", "entropy" -> kind; NPSW_EINVAL otherwise. */
int npsw_score_from_name(const char *name);

/* A read-only view of a cleaned spectrum's peaks (ascending m/z, base peak 999). */
typedef struct npsw_peaks {
    const double *mz;
    const float *in;
    uint32_t n;
} npsw_peaks;

typedef struct npsw_score_params {
    int nominal;        /* 1: peaks match when their nominal m/z are equal */
    double tol_da;      /* accurate mode: |dmz| <= tol_da + tol_ppm * 1e-6 * mz; default 0.01 */
    double tol_ppm;     /* default 0 */
    double int_power;   /* a, default 0.5 */
    double mz_power;    /* b, default 0.5 (NIST identity: sqrt(I * mz)); 1994 paper: a 0.6, b 3 */
    double ignore_at_or_below; /* MF/RMF ignore peaks with intensity <= this (NIST: 1) */
    double mz_min;      /* peaks below this m/z are ignored by every score; default 0 */
    int common_range;   /* 1: also ignore peaks below the other spectrum's lowest m/z, i.e.
                           compare within the m/z range both spectra cover; default 0 */
    double wmf_mz_power; /* m/z power of the wmf weights; default 1.0 */
} npsw_score_params;

/* The peaks of q and l that the scores compare: both cut at the same lower m/z limit
 * (mz_min, and with common_range the larger of the two lowest m/z). Views into the inputs. */
void npsw_score_range(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
                      npsw_peaks *q_out, npsw_peaks *l_out);

npsw_score_params npsw_score_params_default(void);
int npsw_score_params_check(const npsw_score_params *p, npsw_err *err) NPSW_WUR;

typedef struct npsw_scores {
    double mf, rmf, wmf, cosine, entropy; /* 0..1 */
    uint32_t n_matched;              /* peaks matched one-to-one */
} npsw_scores;

/* All scores of query q against library spectrum l. */
void npsw_score_pair(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
                     npsw_scores *out);
/* Only the scores whose bits (1u << kind) are set in `want`; the others are left 0. Each score
 * has the same value as from npsw_score_pair(). The search ranks with this. */
void npsw_score_pair_want(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
                          unsigned want, npsw_scores *out);
#define NPSW_SCORES_ALL ((1u << NPSW_SCORE_COUNT) - 1)

/* The one-to-one peak pairs the scores count (docs/algorithms.md, "Peak matching"), exactly
 * those of npsw_score_pair (n_matched): mq[i] = index of the library peak matched with query
 * peak i, or -1 (unmatched, or outside the compared range of npsw_score_range); ml[j] likewise
 * for library peak j. Peaks sorted by m/z, as the scores take them. Returns the number of pairs,
 * or NPSW_ENOMEM. */
int npsw_match_peaks(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
                     int32_t *mq, int32_t *ml);

/* Plain reference implementation of the same scores (slow; for tests). */
void npsw_score_pair_ref(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
                         npsw_scores *out);

static inline double npsw_scores_get(const npsw_scores *s, npsw_score_kind k)
{
    return k == NPSW_SCORE_MF ? s->mf
         : k == NPSW_SCORE_RMF ? s->rmf
         : k == NPSW_SCORE_WMF ? s->wmf
         : k == NPSW_SCORE_COSINE ? s->cosine
                                  : s->entropy;
}

/* The weight of a peak, I^a * mz^b, computed as the product of the two powers; the common
 * exponents 0.5 and 1 take sqrt() and the identity instead of pow() (same value up to pow's
 * rounding, much faster). Every implementation uses this one function, so they agree bitwise. */
static inline double npsw_pow_fast(double x, double e)
{
    return e == 0.5 ? sqrt(x) : e == 1.0 ? x : pow(x, e);
}
static inline double npsw_weight(double in, double mz, double a, double b)
{
    return npsw_pow_fast(in, a) * npsw_pow_fast(mz, b);
}

/* NIST's displayed integer: floor(1000 * x), capped at 999, 0 for x <= 0. */
int npsw_mf_display(double x);

/* Entropy-weighted intensities (Li et al. 2021) of a spectrum: p_i = I_i / sum I; S = -sum p ln
 * p; if S < 3 each p_i -> p_i^(0.25 + 0.25 S) and renormalised. Writes n values into out. */
void npsw_entropy_weights(const float *in, uint32_t n, double *out);

/* One matched pair's contribution to the entropy similarity:
 * ((a+b) log2(a+b) - a log2 a - b log2 b) / 2. */
double npsw_entropy_pair_term(double a, double b);

#ifdef __cplusplus
}
#endif
#endif
