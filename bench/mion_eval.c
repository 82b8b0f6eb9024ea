/* mion_eval.c - how often npsw_molecular_ion() proposes the true nominal mass of real EI spectra.
 *
 *   npsw_mion_eval FILE.msp...      (records need an MW: line; e.g. ../shared/data SWGDRUG 3.4)
 *
 * Prints the fraction of spectra whose MW is the first candidate and among the first three, and
 * how many spectra show a peak at MW at all (>= 0.5 % of the base peak: the best any rule reading
 * the highest peaks can do without inventing masses). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "npsw/analogue.h"
#include "npsw/clean.h"
#include "npsw/io.h"

typedef struct tally {
    unsigned long n, top1, top3, present;
} tally;

static void one(npsw_spectrum *s, void *user)
{
    tally *t = user;
    npsw_clean_opts co = npsw_clean_opts_default();
    if (!(s->mw > 0) || npsw_clean(s, &co, NULL) <= 0) return;
    double mw = floor(s->mw + 0.5), base = 0, at = 0;
    npsw_peaks p = {s->mz, s->intensity, s->n};
    for (uint32_t k = 0; k < p.n; k++) {
        if (p.in[k] > base) base = p.in[k];
        if (p.mz[k] == mw) at = p.in[k];
    }
    npsw_mion c[3];
    int m = npsw_molecular_ion(&p, c, 3);
    t->n++;
    t->present += at >= 0.005 * base;
    t->top1 += m > 0 && c[0].mz == mw;
    for (int k = 0; k < m; k++)
        if (c[k].mz == mw) {
            t->top3++;
            break;
        }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: npsw_mion_eval FILE.msp...\n");
        return 1;
    }
    tally t = {0, 0, 0, 0};
    if (bench_each_spectrum(argv + 1, argc - 1, one, &t) < 0) return 1;
    printf("spectra %lu  MW first %.3f  MW in first 3 %.3f  MW peak present (>= 0.5%% of base) %.3f\n",
           t.n, t.n ? (double)t.top1 / t.n : 0, t.n ? (double)t.top3 / t.n : 0,
           t.n ? (double)t.present / t.n : 0);
    return 0;
}
