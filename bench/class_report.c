/* class_report.c - the drug-class rules applied to a library: counts per class and examples, to
 * check the rules by eye (docs/classes.md).
 *
 *   npsw_class_report [--all] FILE.msp...   (--all: every name with its class, as TSV) */
#include <stdio.h>
#include <string.h>

#include "bench_util.h"
#include "npsw/classes.h"
#include "npsw/io.h"

enum { MAXC = 64 };
typedef struct tally {
    int all, nc;
    const char *names[MAXC];
    unsigned long counts[MAXC], total;
} tally;

static void one(npsw_spectrum *s, void *user)
{
    tally *t = user;
    const char *why;
    const char *c = npsw_classify(s->meta[NPSW_META_NAME], s->meta[NPSW_META_SYNONYMS], &why);
    if (t->all) printf("%s\t%s\t%s\n", c, why, npsw_spectrum_meta(s, NPSW_META_NAME));
    int k = 0;
    while (k < t->nc && strcmp(t->names[k], c)) k++;
    if (k == t->nc && t->nc < MAXC) t->names[t->nc++] = c;
    if (k < MAXC) t->counts[k]++;
    t->total++;
}

int main(int argc, char **argv)
{
    tally t;
    memset(&t, 0, sizeof t);
    t.all = argc > 1 && !strcmp(argv[1], "--all");
    if (argc < 2 + t.all) {
        fprintf(stderr, "usage: npsw_class_report [--all] FILE.msp...\n");
        return 1;
    }
    if (bench_each_spectrum(argv + 1 + t.all, argc - 1 - t.all, one, &t) < 0) return 1;
    if (!t.all)
        for (int k = 0; k < t.nc; k++)
            printf("%-32s %6lu  %.3f\n", t.names[k], t.counts[k], (double)t.counts[k] / t.total);
    return 0;
}
