/* clean.c - the cleaning stage (see npsw/clean.h for the steps and docs/algorithms.md). */
#include "npsw/clean.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

npsw_clean_opts npsw_clean_opts_default(void)
{
    npsw_clean_opts o;
    memset(&o, 0, sizeof o);
    o.nominal = 1;
    o.bin_boundary = 0.649;
    o.merge = NPSW_MERGE_MAX;
    o.merge_tol_da = 0.0;
    o.round_intensity = 1;
    o.noise_floor = 0.0;
    o.precursor_margin_da = -1.0;
    return o;
}

npsw_clean_opts npsw_clean_opts_msms(void)
{
    npsw_clean_opts o = npsw_clean_opts_default();
    o.nominal = 0;
    o.merge = NPSW_MERGE_SUM;
    o.merge_tol_da = 0.01;
    o.round_intensity = 0;
    o.precursor_margin_da = 1.6;
    return o;
}

int npsw_clean_opts_check(const npsw_clean_opts *o, npsw_err *err)
{
    if (!(o->bin_boundary >= 0.01 && o->bin_boundary <= 0.99))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "bin boundary must be between 0.01 and 0.99 (got %g)", o->bin_boundary);
    if (o->merge != NPSW_MERGE_MAX && o->merge != NPSW_MERGE_SUM)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "merge rule must be max or sum");
    if (!(o->merge_tol_da >= 0 && o->merge_tol_da <= 1.0))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "merge tolerance must be between 0 and 1 Da (got %g)", o->merge_tol_da);
    if (!(o->noise_floor >= 0 && o->noise_floor < 1.0))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "noise floor is a fraction of the base peak in [0, 1) (got %g)",
                            o->noise_floor);
    if (!(o->precursor_margin_da < 0 || o->precursor_margin_da <= 1000))
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "precursor margin out of range");
    return 0;
}

void npsw_clean_opts_describe(const npsw_clean_opts *o, char *buf, size_t size)
{
    char prec[48] = "off";
    if (o->precursor_margin_da >= 0) snprintf(prec, sizeof prec, "%gDa", o->precursor_margin_da);
    if (o->nominal)
        snprintf(buf, size,
                 "mode=nominal bin_boundary=%.3f merge=%s scale=999 round=%s noise_floor=%g "
                 "precursor_cut=%s",
                 o->bin_boundary, o->merge == NPSW_MERGE_SUM ? "sum" : "max",
                 o->round_intensity ? "yes" : "no", o->noise_floor, prec);
    else
        snprintf(buf, size,
                 "mode=accurate merge=%s merge_tol=%gDa scale=999 round=%s noise_floor=%g "
                 "precursor_cut=%s",
                 o->merge == NPSW_MERGE_SUM ? "sum" : "max", o->merge_tol_da,
                 o->round_intensity ? "yes" : "no", o->noise_floor, prec);
}

double npsw_nominal_mz(double mz, double bin_boundary)
{
    return ceil(mz - bin_boundary);
}

/* Insertion sort for the common nearly-sorted case, qsort-free so it needs no scratch. Peaks
 * from files are almost always sorted already. */
static void sort_peaks(double *mz, float *in, uint32_t n)
{
    uint32_t i = 1;
    while (i < n && mz[i - 1] <= mz[i]) i++;
    if (i == n) return;
    /* shell sort: O(n^1.3), in place, stable enough for peaks (equal m/z get merged next) */
    static const uint32_t gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        uint32_t gap = gaps[g];
        for (uint32_t k = gap; k < n; k++) {
            double m = mz[k];
            float v = in[k];
            uint32_t j = k;
            while (j >= gap && (mz[j - gap] > m || (mz[j - gap] == m && in[j - gap] < v))) {
                mz[j] = mz[j - gap];
                in[j] = in[j - gap];
                j -= gap;
            }
            mz[j] = m;
            in[j] = v;
        }
    }
}

int npsw_clean(npsw_spectrum *s, const npsw_clean_opts *o, npsw_clean_report *rep)
{
    npsw_clean_report r;
    memset(&r, 0, sizeof r);
    r.n_in = s->n;
    double *mz = s->mz;
    float *in = s->intensity;
    uint32_t n = 0;
    /* 1 + 2 + 3: valid peaks, below the precursor, binned */
    for (uint32_t i = 0; i < s->n; i++) {
        double m = mz[i];
        float v = in[i];
        if (!isfinite(m) || !isfinite(v) || m <= 0 || v <= 0 || m > 1e7 ||
            (o->nominal && m > NPSW_NOMINAL_MAX_MZ)) {
            r.n_invalid++;
            continue;
        }
        if (o->precursor_margin_da >= 0 && s->precursor_mz > 0 &&
            m > s->precursor_mz - o->precursor_margin_da) {
            r.n_above_precursor++;
            continue;
        }
        if (o->nominal) m = npsw_nominal_mz(m, o->bin_boundary);
        if (m <= 0) {
            r.n_invalid++;
            continue;
        }
        mz[n] = m;
        in[n] = v;
        n++;
    }
    /* 4 */
    sort_peaks(mz, in, n);
    /* 5: merge runs of equal (nominal) or close (accurate) m/z. For accurate mass the merged
     * m/z is the intensity-weighted mean of the run. */
    uint32_t w = 0;
    for (uint32_t i = 0; i < n;) {
        uint32_t j = i + 1;
        double tol = o->nominal ? 0.0 : o->merge_tol_da;
        double sum = in[i], mx = in[i], wm = mz[i] * (double)in[i];
        while (j < n && mz[j] - mz[j - 1] <= tol) {
            sum += in[j];
            if (in[j] > mx) mx = in[j];
            wm += mz[j] * (double)in[j];
            j++;
        }
        mz[w] = (j - i == 1 || o->nominal) ? mz[i] : wm / sum;
        in[w] = (float)(o->merge == NPSW_MERGE_SUM ? sum : mx);
        r.n_merged += j - i - 1;
        w++;
        i = j;
    }
    n = w;
    /* 6 + 7 + 8 */
    float base = 0;
    for (uint32_t i = 0; i < n; i++)
        if (in[i] > base) base = in[i];
    w = 0;
    for (uint32_t i = 0; i < n; i++) {
        double v = 999.0 * ((double)in[i] / (double)base);
        if (o->round_intensity) {
            v = floor(v + 0.5);
            if (v <= 0) {
                r.n_rounded_out++;
                continue;
            }
        }
        if (v < o->noise_floor * 999.0) {
            r.n_below_floor++;
            continue;
        }
        mz[w] = mz[i];
        in[w] = (float)v;
        w++;
    }
    s->n = w;
    r.n_out = w;
    if (rep) *rep = r;
    return (int)w;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int npsw_profile_like(const double *mz, uint32_t n, uint32_t *n_close, uint32_t *n_gaps)
{
    *n_close = *n_gaps = 0;
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return NPSW_ENOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (isfinite(mz[i]) && mz[i] > 0) v[k++] = mz[i];
    qsort(v, k, sizeof *v, cmp_double);
    for (uint32_t i = 1; i < k; i++) {
        double gap = v[i] - v[i - 1];
        if (gap <= 0) continue;
        ++*n_gaps;
        if (gap < NPSW_PROFILE_GAP_DA) ++*n_close;
    }
    free(v);
    return k >= NPSW_PROFILE_MIN_PEAKS && *n_gaps > 0 && 2 * (uint64_t)*n_close >= *n_gaps;
}
