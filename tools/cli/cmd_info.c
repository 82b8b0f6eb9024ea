/* cmd_info.c - npswatch info: what a library file holds; --verify checks it. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npsw/libfile.h"

static void help(FILE *f)
{
    fprintf(f, "Usage: npswatch info [--verify] LIB.h5\n\n"
               "Prints the library's name, version, format, content SHA-256, cleaning parameters,\n"
               "input files, lineage (parent library, advisory, added entries, ancestry from the\n"
               "root), spectrum and peak counts, counts by source and by drug class, and the m/z\n"
               "range.\n\n"
               "Options:\n"
               "  --verify    recompute the content SHA-256, the peak index and the search index and\n"
               "              compare them\n"
               "              with the stored ones, and check the lineage's added entries\n"
               "              against the library (exit 1 on a mismatch)\n"
               "  -h, --help  this help\n");
}

typedef struct count {
    const char *key;
    uint64_t n;
} count;

static int count_cmp(const void *a, const void *b)
{
    const count *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* Source of spectrum i: the 'source' field, else the first word of the comments (SWGDRUG
 * records name their contributor there), else "(unknown)". */
static const char *source_of(const npsw_lib *lib, uint64_t i, char *buf, size_t size)
{
    const char *s = npsw_lib_meta(lib, i, NPSW_META_SOURCE);
    if (s[0]) return s;
    const char *cm = npsw_lib_meta(lib, i, NPSW_META_COMMENTS);
    size_t l = strcspn(cm, " \t\n;/");
    if (l >= size) l = size - 1;
    memcpy(buf, cm, l);
    buf[l] = '\0';
    return l ? buf : "(unknown)";
}

static const char *class_of(const npsw_lib *lib, uint64_t i, char *buf, size_t size)
{
    (void)buf;
    (void)size;
    const char *c = npsw_lib_meta(lib, i, NPSW_META_CLASS);
    return c[0] ? c : "(none: library format 1.0)";
}

/* Counts of a per-spectrum key, largest first, at most 20 lines. */
static void print_counts(const npsw_lib *lib, const char *title,
                         const char *(*key_of)(const npsw_lib *, uint64_t, char *, size_t))
{
    uint64_t n = npsw_lib_size(lib);
    count *c = calloc(n ? n : 1, sizeof *c);
    char **keys = calloc(n ? n : 1, sizeof *keys);
    size_t nc = 0;
    if (!c || !keys) goto done;
    for (uint64_t i = 0; i < n; i++) {
        char buf[64];
        const char *s = key_of(lib, i, buf, sizeof buf);
        size_t k = 0;
        while (k < nc && strcmp(c[k].key, s) != 0) k++;
        if (k == nc) {
            if (!(keys[nc] = strdup(s))) goto done;
            c[nc].key = keys[nc];
            nc++;
        }
        c[k].n++;
    }
    qsort(c, nc, sizeof *c, count_cmp);
    printf("%s:\n", title);
    for (size_t k = 0; k < nc && k < 20; k++) printf("  %-24s %llu\n", c[k].key, (unsigned long long)c[k].n);
    if (nc > 20) printf("  ... %zu more\n", nc - 20);
done:
    for (size_t k = 0; k < nc; k++) free(keys[k]);
    free(keys);
    free(c);
}

/* Lineage (format 1.2): parent, advisory, added entries, ancestry from the root. */
static void print_lineage(const npsw_lib_info *li)
{
    const npsw_lib_lineage *g = &li->lineage;
    if (!g->parent_sha256[0]) {
        printf("lineage: none (%s)\n", li->format_major == 1 && li->format_minor < 2
                                             ? "library format before 1.2"
                                             : "built from files, a root library");
        return;
    }
    printf("lineage: parent \"%s\" version %s, content sha256 %s\n", g->parent_name,
           g->parent_version, g->parent_sha256);
    if (g->advisory_key[0])
        printf("lineage advisory: %s (ledger advisory id %lld)\n", g->advisory_key,
               (long long)g->advisory_id);
    else
        printf("lineage advisory: none\n");
    printf("lineage added: %zu %s\n", g->n_added, g->n_added == 1 ? "entry" : "entries");
    for (size_t i = 0; i < g->n_added; i++)
        printf("  entry %llu: accession %s, name \"%s\": %s\n",
               (unsigned long long)g->added[i].index + 1,
               g->added[i].accession[0] ? g->added[i].accession : "(none)", g->added[i].name,
               g->added[i].reason);
    printf("lineage ancestry (root first):\n");
    for (size_t i = 0; i < g->n_ancestors; i++) {
        const npsw_lib_ancestor *a = &g->ancestors[i];
        printf("  %zu. version %s  sha256 %s", i + 1, a->version, a->content_sha256);
        if (a->advisory_key[0]) printf("  advisory %s", a->advisory_key);
        printf("%s\n", i == 0 ? "  (root)" : "");
    }
    printf("  %zu. version %s  sha256 %s", g->n_ancestors + 1, li->version, li->content_sha256);
    if (g->advisory_key[0]) printf("  advisory %s", g->advisory_key);
    printf("  (this library)\n");
}

int cmd_info(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"verify", no_argument, NULL, 'v'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int verify = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'v') verify = 1;
        else if (c == 'h') {
            help(stdout);
            return EXIT_OK;
        } else {
            help(stderr);
            return EXIT_INPUT;
        }
    }
    if (optind + 1 != argc) {
        cli_msg("info: expected exactly one library file");
        help(stderr);
        return EXIT_INPUT;
    }
    const char *path = argv[optind];
    npsw_err e;
    npsw_err_clear(&e);
    npsw_lib *lib = npsw_lib_open(path, &e);
    if (!lib) {
        cli_err(&e);
        return cli_exit_code(e.code);
    }
    const npsw_lib_info *li = npsw_lib_get_info(lib);
    char clean[256];
    npsw_clean_opts_describe(&li->clean, clean, sizeof clean);
    uint64_t n = npsw_lib_size(lib), np = npsw_lib_npeaks(lib);
    double lo = 0, hi = 0;
    for (uint64_t i = 0; i < n; i++) {
        npsw_peaks p = npsw_lib_peaks(lib, i);
        if (!p.n) continue;
        if (lo == 0 || p.mz[0] < lo) lo = p.mz[0];
        if (p.mz[p.n - 1] > hi) hi = p.mz[p.n - 1];
    }
    printf("file: %s\nname: %s\nversion: %s\nformat: %d.%d\ncreated: %s\nbuilt by: npswatch %s\n",
           path, li->name, li->version, li->format_major, li->format_minor, li->created_utc,
           li->npsw_version);
    printf("content sha256: %s\nspectra: %llu\npeaks: %llu (%.1f per spectrum)\nm/z range: %g - %g\n",
           li->content_sha256, (unsigned long long)n, (unsigned long long)np,
           n ? (double)np / (double)n : 0.0, lo, hi);
    printf("cleaning: %s\n", clean);
    char sidx[300];
    npsw_lib_search_index_describe(lib, sidx, sizeof sidx);
    printf("search index: %s\n", sidx);
    printf("inputs:\n");
    for (size_t i = 0; i < li->n_inputs; i++)
        printf("  %s  sha256=%s  records=%llu skipped=%llu\n", li->inputs[i].path,
               li->inputs[i].sha256, (unsigned long long)li->inputs[i].n_records,
               (unsigned long long)li->inputs[i].n_skipped);
    print_lineage(li);
    print_counts(lib, "sources", source_of);
    print_counts(lib, "classes", class_of);
    int rc = EXIT_OK;
    if (verify) {
        if (npsw_lib_verify(lib, &e) < 0) {
            printf("verify: FAILED\n");
            char msg[NPSW_ERR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", e.msg);
            npsw_err_set(&e, e.code, path, 0, "%s", msg);
            cli_err(&e);
            rc = EXIT_INPUT;
        } else {
            printf("verify: ok (content sha256, peak index and search index recomputed and equal)\n");
        }
    }
    npsw_lib_free(lib);
    return rc;
}
