/* diag_eval.c - how well the diagnostic-ion table separates the drug classes of a real library.
 *
 *   npsw_diag_eval FILE.msp...   (classes from the names, docs/classes.md)
 *
 * For each class of the table: among the library's spectra of that class, the share showing at
 * least two of its diagnostic ions at >= 5 % of the base peak, and the same share among all other
 * spectra (false alarms). */
#include <stdio.h>
#include <string.h>

#include "bench_util.h"
#include "npsw/analogue.h"
#include "npsw/classes.h"
#include "npsw/clean.h"
#include "npsw/io.h"

typedef struct tally {
    const char *cls[8];
    int ncls;
    unsigned long in_n[8], in_hit[8], out_n[8], out_hit[8];
} tally;

static void one(npsw_spectrum *s, void *user)
{
    tally *t = user;
    npsw_clean_opts co = npsw_clean_opts_default();
    const char *truth = npsw_classify(s->meta[NPSW_META_NAME], s->meta[NPSW_META_SYNONYMS], NULL);
    if (npsw_clean(s, &co, NULL) <= 0) return;
    npsw_peaks p = {s->mz, s->intensity, s->n};
    const npsw_diagnostic *d[64];
    int nd = npsw_diagnostic_ions(&p, 0.05, d, 64);
    for (int c = 0; c < t->ncls; c++) {
        int k = 0;
        for (int j = 0; j < nd; j++) k += !strcmp(d[j]->cls, t->cls[c]);
        if (!strcmp(truth, t->cls[c])) t->in_n[c]++, t->in_hit[c] += k >= 2;
        else t->out_n[c]++, t->out_hit[c] += k >= 2;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: npsw_diag_eval FILE.msp...\n");
        return 1;
    }
    tally t;
    memset(&t, 0, sizeof t);
    const npsw_diagnostic *tab;
    size_t nt = npsw_diagnostics(&tab);
    for (size_t k = 0; k < nt; k++) {
        int seen = 0;
        for (int c = 0; c < t.ncls; c++) seen |= !strcmp(t.cls[c], tab[k].cls);
        if (!seen && t.ncls < 8) t.cls[t.ncls++] = tab[k].cls;
    }
    if (bench_each_spectrum(argv + 1, argc - 1, one, &t) < 0) return 1;
    printf("%-16s %8s %10s %12s\n", "class", "members", ">=2 ions", "others >=2");
    for (int c = 0; c < t.ncls; c++)
        printf("%-16s %8lu %10.3f %12.3f\n", t.cls[c], t.in_n[c],
               t.in_n[c] ? (double)t.in_hit[c] / t.in_n[c] : 0,
               t.out_n[c] ? (double)t.out_hit[c] / t.out_n[c] : 0);
    return 0;
}
