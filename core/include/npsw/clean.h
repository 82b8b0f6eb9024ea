/* npsw/clean.h - explicit, recorded spectrum cleaning.
 *
 * Steps, always in this order (docs/algorithms.md, "Cleaning"):
 *   1. drop peaks with a non-finite or non-positive m/z or intensity (and, in nominal mode, m/z
 *      above NPSW_NOMINAL_MAX_MZ);
 *   2. optionally (MS/MS) drop peaks above precursor m/z - precursor_margin_da;
 *   3. nominal mode only: bin m/z to integers, nominal = ceil(mz - bin_boundary): a peak rounds
 *      up only when its fractional part exceeds bin_boundary. The default 0.649 is AMDIS's rule
 *      (Khrisanfov & Samokhin, RCM 2022), which keeps positive mass defects of organic ions in
 *      their nominal bin; 0.5 gives ordinary rounding (halves go down);
 *   4. sort by m/z;
 *   5. merge peaks with equal m/z (nominal) or closer than merge_tol_da (accurate): maximum
 *      intensity for EI (NIST convention), sum for MS/MS;
 *   6. scale the base peak to 999;
 *   7. optionally round intensities to integers (NIST convention) and drop those that become 0;
 *   8. optionally drop peaks below noise_floor x base peak.
 */
#ifndef NPSW_CLEAN_H
#define NPSW_CLEAN_H

#include <stdint.h>

#include "npsw/err.h"
#include "npsw/spectrum.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Nominal-mass spectra stop here: peaks above are dropped as invalid in step 1. */
#define NPSW_NOMINAL_MAX_MZ 100000

enum npsw_merge { NPSW_MERGE_MAX = 0, NPSW_MERGE_SUM = 1 };

typedef struct npsw_clean_opts {
    int nominal;             /* 1: nominal-mass (EI) spectra; 0: accurate mass. Default 1 */
    double bin_boundary;     /* nominal = ceil(mz - bin_boundary); default 0.649 (AMDIS) */
    int merge;               /* enum npsw_merge; default MAX */
    double merge_tol_da;     /* accurate mode: merge peaks closer than this; default 0.0 */
    int round_intensity;     /* 1: round the 999-scaled intensities to integers; default 1 */
    double noise_floor;      /* drop peaks < noise_floor * base peak; 0..1; default 0 */
    double precursor_margin_da; /* < 0: off (default); >= 0: drop peaks > precursor - margin */
} npsw_clean_opts;

npsw_clean_opts npsw_clean_opts_default(void);
/* Options for accurate-mass MS/MS spectra: nominal 0, merge sum, merge_tol 0.01 Da, no
 * intensity rounding, precursor margin 1.6 Da. */
npsw_clean_opts npsw_clean_opts_msms(void);
/* Reject impossible values with a message. */
int npsw_clean_opts_check(const npsw_clean_opts *o, npsw_err *err) NPSW_WUR;
/* One-line description of the options, e.g. "nominal bin_boundary=0.649 merge=max ...". */
void npsw_clean_opts_describe(const npsw_clean_opts *o, char *buf, size_t size);

typedef struct npsw_clean_report {
    uint32_t n_in;          /* peaks before */
    uint32_t n_invalid;     /* dropped in step 1 */
    uint32_t n_merged;      /* removed by merging in step 4 */
    uint32_t n_rounded_out; /* dropped in step 6 */
    uint32_t n_below_floor; /* dropped in step 7 */
    uint32_t n_above_precursor; /* dropped in step 8 */
    uint32_t n_out;         /* peaks after */
} npsw_clean_report;

/* Clean `s` in place. Returns the number of peaks left (0 is allowed: an empty spectrum matches
 * nothing), or an error. `rep` may be NULL. */
int npsw_clean(npsw_spectrum *s, const npsw_clean_opts *o, npsw_clean_report *rep) NPSW_WUR;

/* Does a peak list look like profile (continuum) data read as peaks? Centroided spectra have
 * one peak per ion: nominal EI lists are at least 1 Da apart, accurate centroids rarely closer
 * than 0.5 Da except for a few isotope fine-structure pairs. Profile data sample each ion
 * every 0.01-0.2 Da, so most neighbouring points are close. Rule: at least
 * NPSW_PROFILE_MIN_PEAKS peaks with a valid m/z, and at least half of the gaps between
 * neighbouring distinct m/z (sorted) below NPSW_PROFILE_GAP_DA. Equal m/z are not counted (they
 * are duplicates, which cleaning merges). Returns 1 (profile-like) or 0, and the number of close
 * gaps and of gaps counted; NPSW_ENOMEM when the sorted copy cannot be made. Cleaning does not
 * act on it: nominal binning would fold a profile into nonsense that still scores, so callers
 * (npswatch lint) report it for a person to centroid the data at the source. */
#define NPSW_PROFILE_MIN_PEAKS 10
#define NPSW_PROFILE_GAP_DA 0.5
int npsw_profile_like(const double *mz, uint32_t n, uint32_t *n_close, uint32_t *n_gaps) NPSW_WUR;

/* Nominal m/z of an accurate m/z under the binning rule. */
double npsw_nominal_mz(double mz, double bin_boundary);

#ifdef __cplusplus
}
#endif
#endif
