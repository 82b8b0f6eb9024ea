/* shift.c - mass-shift finding by cross-correlation of binned spectra (docs/analogues.md).
 *
 * Both spectra become vectors over nominal m/z 0..max_mz with weights sqrt(intensity) scaled to
 * unit norm; their cross-correlation c(d) = sum_m Q(m + d) L(m) is IFFT(FFT(Q) conj(FFT(L))) on
 * a zero-padded length N >= 2 (max_mz + 1), so no shift wraps around. The plans are made once by
 * npsw_shift_finder_new() with FFTW_MEASURE; npsw_shift_find() uses FFTW's new-array execute
 * functions, which are thread-safe, with one scratch per thread.
 */
#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "npsw/analogue.h"

struct npsw_shift_finder {
    uint32_t max_mz;
    int n;             /* transform length */
    fftw_plan fwd, inv;
};

struct npsw_shift_scratch {
    double *a, *b;               /* real vectors, length n */
    fftw_complex *fa, *fb;       /* spectra, length n/2 + 1 */
};

static int transform_length(uint32_t max_mz)
{
    int n = 64;
    while ((uint32_t)n < 2 * (max_mz + 1)) n *= 2;
    return n;
}

npsw_shift_finder *npsw_shift_finder_new(uint32_t max_mz, npsw_err *err)
{
    if (max_mz == 0 || max_mz > 100000) {
        npsw_err_set(err, NPSW_EINVAL, NULL, 0, "shift finder: m/z range 1..100000 (got %u)", max_mz);
        return NULL;
    }
    npsw_shift_finder *f = calloc(1, sizeof *f);
    if (!f) goto nomem;
    f->max_mz = max_mz;
    f->n = transform_length(max_mz);
    double *a = fftw_malloc(sizeof(double) * (size_t)f->n);
    fftw_complex *fa = fftw_malloc(sizeof(fftw_complex) * (size_t)(f->n / 2 + 1));
    if (!a || !fa) {
        fftw_free(a);
        fftw_free(fa);
        free(f);
        goto nomem;
    }
    /* FFTW's planner is not thread-safe: plans are made here, once */
    f->fwd = fftw_plan_dft_r2c_1d(f->n, a, fa, FFTW_MEASURE);
    f->inv = fftw_plan_dft_c2r_1d(f->n, fa, a, FFTW_MEASURE);
    fftw_free(a);
    fftw_free(fa);
    if (!f->fwd || !f->inv) {
        npsw_shift_finder_free(f);
        npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "FFTW could not plan a transform of length %d", f->n);
        return NULL;
    }
    return f;
nomem:
    npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory for the shift finder");
    return NULL;
}

void npsw_shift_finder_free(npsw_shift_finder *f)
{
    if (!f) return;
    if (f->fwd) fftw_destroy_plan(f->fwd);
    if (f->inv) fftw_destroy_plan(f->inv);
    free(f);
}

npsw_shift_scratch *npsw_shift_scratch_new(const npsw_shift_finder *f)
{
    npsw_shift_scratch *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->a = fftw_malloc(sizeof(double) * (size_t)f->n);
    s->b = fftw_malloc(sizeof(double) * (size_t)f->n);
    s->fa = fftw_malloc(sizeof(fftw_complex) * (size_t)(f->n / 2 + 1));
    s->fb = fftw_malloc(sizeof(fftw_complex) * (size_t)(f->n / 2 + 1));
    if (!s->a || !s->b || !s->fa || !s->fb) {
        npsw_shift_scratch_free(s);
        return NULL;
    }
    return s;
}

void npsw_shift_scratch_free(npsw_shift_scratch *s)
{
    if (!s) return;
    fftw_free(s->a);
    fftw_free(s->b);
    fftw_free(s->fa);
    fftw_free(s->fb);
    free(s);
}

/* Unit-norm sqrt(intensity) weights binned at the nominal m/z (nearest integer). */
static void bin_weights(const npsw_peaks *p, uint32_t max_mz, double *v, size_t len)
{
    memset(v, 0, len * sizeof *v);
    double norm = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        double m = floor(p->mz[i] + 0.5);
        if (!(m >= 0 && m <= max_mz) || !(p->in[i] > 0)) continue;
        v[(size_t)m] += sqrt((double)p->in[i]);
    }
    for (size_t m = 0; m <= max_mz; m++) norm += v[m] * v[m];
    if (norm > 0) {
        norm = 1 / sqrt(norm);
        for (size_t m = 0; m <= max_mz; m++) v[m] *= norm;
    }
}

void npsw_shift_correlation(const npsw_shift_finder *f, npsw_shift_scratch *s,
                            const npsw_peaks *q, const npsw_peaks *l, int max_shift, double *corr)
{
    const int n = f->n;
    bin_weights(q, f->max_mz, s->a, (size_t)n);
    bin_weights(l, f->max_mz, s->b, (size_t)n);
    fftw_execute_dft_r2c(f->fwd, s->a, s->fa);
    fftw_execute_dft_r2c(f->fwd, s->b, s->fb);
    for (int k = 0; k <= n / 2; k++) { /* Q * conj(L) */
        double re = s->fa[k][0] * s->fb[k][0] + s->fa[k][1] * s->fb[k][1];
        double im = s->fa[k][1] * s->fb[k][0] - s->fa[k][0] * s->fb[k][1];
        s->fa[k][0] = re;
        s->fa[k][1] = im;
    }
    fftw_execute_dft_c2r(f->inv, s->fa, s->a); /* unnormalised: divide by n */
    for (int d = -max_shift; d <= max_shift; d++) {
        /* |d| <= max_mz < n / 2: no wrap-around; larger shifts cannot overlap at all */
        double v = abs(d) > (int)f->max_mz ? 0 : s->a[(d + n) % n] / n;
        corr[d + max_shift] = fabs(v) < 1e-12 ? 0 : v; /* round-off around zero */
    }
}

void npsw_shift_correlation_ref(const npsw_peaks *q, const npsw_peaks *l, uint32_t max_mz,
                                int max_shift, double *corr)
{
    /* the same weights, then every pair of peaks once */
    double nq = 0, nl = 0;
    double *wq = malloc((q->n + 1) * sizeof *wq), *wl = malloc((l->n + 1) * sizeof *wl);
    long *mq = malloc((q->n + 1) * sizeof *mq), *ml = malloc((l->n + 1) * sizeof *ml);
    for (int d = -max_shift; d <= max_shift; d++) corr[d + max_shift] = 0;
    if (!wq || !wl || !mq || !ml) goto done;
    /* merge peaks falling in one bin first, as the binned vectors do */
    uint32_t a = 0, b = 0;
    for (uint32_t i = 0; i < q->n; i++) {
        double m = floor(q->mz[i] + 0.5);
        if (!(m >= 0 && m <= max_mz) || !(q->in[i] > 0)) continue;
        if (a && mq[a - 1] == (long)m) wq[a - 1] += sqrt((double)q->in[i]);
        else mq[a] = (long)m, wq[a++] = sqrt((double)q->in[i]);
    }
    for (uint32_t j = 0; j < l->n; j++) {
        double m = floor(l->mz[j] + 0.5);
        if (!(m >= 0 && m <= max_mz) || !(l->in[j] > 0)) continue;
        if (b && ml[b - 1] == (long)m) wl[b - 1] += sqrt((double)l->in[j]);
        else ml[b] = (long)m, wl[b++] = sqrt((double)l->in[j]);
    }
    for (uint32_t i = 0; i < a; i++) nq += wq[i] * wq[i];
    for (uint32_t j = 0; j < b; j++) nl += wl[j] * wl[j];
    if (!(nq > 0 && nl > 0)) goto done;
    for (uint32_t i = 0; i < a; i++)
        for (uint32_t j = 0; j < b; j++) {
            long d = mq[i] - ml[j];
            if (d >= -max_shift && d <= max_shift) corr[d + max_shift] += wq[i] * wl[j];
        }
    for (int d = -max_shift; d <= max_shift; d++) corr[d + max_shift] /= sqrt(nq * nl);
done:
    free(wq);
    free(wl);
    free(mq);
    free(ml);
}

int npsw_shift_find(const npsw_shift_finder *f, npsw_shift_scratch *s, const npsw_peaks *q,
                    const npsw_peaks *l, int max_shift, npsw_shift *best, int n_best)
{
    if (max_shift < 0 || n_best <= 0) return 0;
    if (max_shift > (int)f->max_mz) max_shift = (int)f->max_mz;
    double corr_stack[2 * 1024 + 1];
    double *corr = 2 * max_shift + 1 <= (int)(sizeof corr_stack / sizeof *corr_stack)
                       ? corr_stack
                       : malloc((size_t)(2 * max_shift + 1) * sizeof *corr);
    if (!corr) return 0;
    npsw_shift_correlation(f, s, q, l, max_shift, corr);
    int nb = 0;
    for (int d = -max_shift; d <= max_shift; d++) {
        double v = corr[d + max_shift];
        if (!(v > 0)) continue;
        npsw_shift c = {d, v};
        /* insertion into a short sorted list: higher score, then smaller |d|, then d > 0 */
        int i = nb < n_best ? nb++ : n_best;
        while (i > 0) {
            const npsw_shift *p = &best[i - 1];
            int before = c.score > p->score ||
                         (c.score == p->score && (abs(c.shift) < abs(p->shift) ||
                                                  (abs(c.shift) == abs(p->shift) && c.shift > p->shift)));
            if (!before) break;
            if (i < n_best) best[i] = *p;
            i--;
        }
        if (i < n_best) best[i] = c;
    }
    if (corr != corr_stack) free(corr);
    return nb;
}
