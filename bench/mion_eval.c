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

#include "npsw/analogue.h"
#include "npsw/clean.h"
#include "npsw/io.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: npsw_mion_eval FILE.msp...\n");
        return 1;
    }
    unsigned long n = 0, top1 = 0, top3 = 0, present = 0;
    npsw_clean_opts co = npsw_clean_opts_default();
    for (int a = 1; a < argc; a++) {
        npsw_read_opts ro = npsw_read_opts_default();
        npsw_spectra sp = {0};
        npsw_err e;
        if (npsw_read_file(argv[a], &ro, 0, &sp, NULL, &e) < 0) {
            fprintf(stderr, "%s: %s\n", argv[a], e.msg);
            return 1;
        }
        for (size_t i = 0; i < sp.n; i++) {
            npsw_spectrum *s = &sp.v[i];
            if (!(s->mw > 0) || npsw_clean(s, &co, NULL) <= 0) continue;
            double mw = floor(s->mw + 0.5), base = 0, at = 0;
            npsw_peaks p = {s->mz, s->intensity, s->n};
            for (uint32_t k = 0; k < p.n; k++) {
                if (p.in[k] > base) base = p.in[k];
                if (p.mz[k] == mw) at = p.in[k];
            }
            npsw_mion c[3];
            int m = npsw_molecular_ion(&p, c, 3);
            n++;
            present += at >= 0.005 * base;
            top1 += m > 0 && c[0].mz == mw;
            for (int k = 0; k < m; k++)
                if (c[k].mz == mw) {
                    top3++;
                    break;
                }
        }
        npsw_spectra_free(&sp);
    }
    printf("spectra %lu  MW first %.3f  MW in first 3 %.3f  MW peak present (>= 0.5%% of base) %.3f\n",
           n, n ? (double)top1 / n : 0, n ? (double)top3 / n : 0, n ? (double)present / n : 0);
    return 0;
}
