/* class_report.c - the drug-class rules applied to a library: counts per class and examples, to
 * check the rules by eye (docs/classes.md).
 *
 *   npsw_class_report [--all] FILE.msp...   (--all: every name with its class, as TSV) */
#include <stdio.h>
#include <string.h>

#include "npsw/classes.h"
#include "npsw/io.h"

int main(int argc, char **argv)
{
    int all = argc > 1 && !strcmp(argv[1], "--all");
    if (argc < 2 + all) {
        fprintf(stderr, "usage: npsw_class_report [--all] FILE.msp...\n");
        return 1;
    }
    enum { MAXC = 64 };
    const char *names[MAXC];
    unsigned long counts[MAXC] = {0}, total = 0;
    int nc = 0;
    for (int a = 1 + all; a < argc; a++) {
        npsw_read_opts ro = npsw_read_opts_default();
        npsw_spectra sp = {0};
        npsw_err e;
        if (npsw_read_file(argv[a], &ro, 0, &sp, NULL, &e) < 0) {
            fprintf(stderr, "%s: %s\n", argv[a], e.msg);
            return 1;
        }
        for (size_t i = 0; i < sp.n; i++) {
            const char *why;
            const char *c = npsw_classify(sp.v[i].meta[0], sp.v[i].meta[1], &why);
            if (all) printf("%s\t%s\t%s\n", c, why, sp.v[i].meta[0] ? sp.v[i].meta[0] : "");
            int k = 0;
            while (k < nc && strcmp(names[k], c)) k++;
            if (k == nc && nc < MAXC) names[nc++] = c;
            if (k < MAXC) counts[k]++;
            total++;
        }
        npsw_spectra_free(&sp);
    }
    if (!all)
        for (int k = 0; k < nc; k++) printf("%-32s %6lu  %.3f\n", names[k], counts[k], (double)counts[k] / total);
    return 0;
}
