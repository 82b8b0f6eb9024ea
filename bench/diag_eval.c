/* diag_eval.c - how well the diagnostic-ion table separates the drug classes of a real library.
 *
 *   npsw_diag_eval FILE.msp...   (classes from the names, docs/classes.md)
 *
 * For each class of the table: among the library's spectra of that class, the share showing at
 * least two of its diagnostic ions at >= 5 % of the base peak, and the same share among all other
 * spectra (false alarms). */
#include <stdio.h>
#include <string.h>

#include "npsw/analogue.h"
#include "npsw/classes.h"
#include "npsw/clean.h"
#include "npsw/io.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: npsw_diag_eval FILE.msp...\n");
        return 1;
    }
    const char *cls[8];
    int ncls = 0;
    const npsw_diagnostic *t;
    size_t nt = npsw_diagnostics(&t);
    for (size_t k = 0; k < nt; k++) {
        int seen = 0;
        for (int c = 0; c < ncls; c++) seen |= !strcmp(cls[c], t[k].cls);
        if (!seen && ncls < 8) cls[ncls++] = t[k].cls;
    }
    unsigned long in_n[8] = {0}, in_hit[8] = {0}, out_n[8] = {0}, out_hit[8] = {0};
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
            const char *truth = npsw_classify(s->meta[NPSW_META_NAME], s->meta[NPSW_META_SYNONYMS], NULL);
            if (npsw_clean(s, &co, NULL) <= 0) continue;
            npsw_peaks p = {s->mz, s->intensity, s->n};
            const npsw_diagnostic *d[64];
            int nd = npsw_diagnostic_ions(&p, 0.05, d, 64);
            for (int c = 0; c < ncls; c++) {
                int k = 0;
                for (int j = 0; j < nd; j++) k += !strcmp(d[j]->cls, cls[c]);
                if (!strcmp(truth, cls[c])) in_n[c]++, in_hit[c] += k >= 2;
                else out_n[c]++, out_hit[c] += k >= 2;
            }
        }
        npsw_spectra_free(&sp);
    }
    printf("%-16s %8s %10s %12s\n", "class", "members", ">=2 ions", "others >=2");
    for (int c = 0; c < ncls; c++)
        printf("%-16s %8lu %10.3f %12.3f\n", cls[c], in_n[c], in_n[c] ? (double)in_hit[c] / in_n[c] : 0,
               out_n[c] ? (double)out_hit[c] / out_n[c] : 0);
    return 0;
}
