/* cmd_bench.c - npswatch bench CONFIG -o DIR: reproducible accuracy and speed experiments
 * (docs/cli.md "bench", bench/README.md "npswatch bench"): recall@k per score, ROC and
 * precision-recall of the in-library vs not-in-library decision, the drug-class confusion
 * matrix, queries/s per thread count, build time and peak memory, external hit tables scored on
 * the same truth; TSV, JSON and PNG plots. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "bench_config.h"
#include "cli.h"
#include "npsw/analyse.h"
#include "npsw/benchmark.h"
#include "npsw/classes.h"
#include "npsw/config.h"
#include "npsw/libfile.h"
#include "npsw/plot.h"

#define MAX_CLASSES 64
#define HIST_BINS 20

static void help(FILE *f)
{
    fprintf(f,
            "Usage: npswatch bench CONFIG -o DIR\n\n"
            "Runs the experiments a configuration file describes (docs/cli.md, \"bench\"): for\n"
            "each dataset, builds or opens the library, searches the queries with every method\n"
            "and thread count, runs the analogue analysis, scores external hit tables, and\n"
            "writes to DIR: results.tsv, results.json, curves.tsv, confusion.tsv, queries.tsv\n"
            "and PNG plots (recall@k, ROC, precision-recall, score distributions, throughput).\n"
            "Recall counts library search results, not identifications.\n\n"
            "Options:\n"
            "  -o, --output DIR    output directory (created if missing; files in it replaced)\n"
            "  --no-plots          write no PNG files\n"
            "  -h, --help          this help\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double peak_rss_mib(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return NAN;
    return (double)ru.ru_maxrss / 1024.0; /* Linux: KiB */
}

/* ---- per-dataset state ---------------------------------------------------------------- */

typedef struct bq {
    const npsw_spectrum *s;
    int evaluated;      /* has a truth row */
    int in_lib;         /* truth: a correct library spectrum exists (after any leave-out) */
    uint64_t *tgt;      /* correct library indices, ascending */
    size_t n_tgt;
    char **ik14;        /* InChIKey first blocks named by the truth (for external tables) */
    size_t n_ik;
    char cls[NPSW_CLASS_LEN]; /* true class, "" = unknown */
    int group;          /* leave_out: compound left out ("out" query), else -1 */
    uint64_t self;      /* leave_out: the spectrum left out ("in" query), else UINT64_MAX */
} bq;

typedef struct method_res {
    char name[BENCH_NAME_MAX + 16];
    uint32_t *rank;     /* per query: rank of the first correct hit (1-based), 0 = none */
    double *top1;       /* per query: score of the first hit (0 when none) */
    int has_score;
    double qps[BENCH_MAX_LIST];
    int has_qps;
    int identical;      /* hits equal for every thread count */
    npsw_curve curve;
    int has_curve;
} method_res;

typedef struct dsrun {
    const bench_dataset *ds;
    npsw_lib *lib;
    int built;
    double build_s, rss_after_build, rss_after;
    uint64_t n_lib;
    npsw_spectra lspec;  /* leave_out: the library's spectra as queries */
    cli_inputs qin;
    bq *q;
    size_t nq;
    size_t nq_all;       /* queries read (nq is fewer with max_queries) */
    size_t n_eval, n_in, truth_rows, truth_unmatched;
    int *group;          /* leave_out: compound of each library spectrum */
    int maxg;
    method_res m[NPSW_SCORE_COUNT + BENCH_MAX_EXT + 1];
    size_t nm;
    /* analysis */
    int has_analysis;
    double an_qps;
    npsw_analysis *an;
    method_res anm;      /* p_in_library as the decision score */
    char classes[MAX_CLASSES][NPSW_CLASS_LEN];
    size_t n_classes;
    uint64_t conf[MAX_CLASSES][MAX_CLASSES];
    uint64_t verdicts[3];
} dsrun;

static int add_target(bq *x, uint64_t i)
{
    for (size_t j = 0; j < x->n_tgt; j++)
        if (x->tgt[j] == i) return 0;
    uint64_t *t = realloc(x->tgt, (x->n_tgt + 1) * sizeof *t);
    if (!t) return -1;
    x->tgt = t;
    size_t j = x->n_tgt++;
    while (j > 0 && t[j - 1] > i) t[j] = t[j - 1], j--;
    t[j] = i;
    return 0;
}

static int is_target(const bq *x, uint64_t i)
{
    size_t lo = 0, hi = x->n_tgt;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (x->tgt[mid] < i) lo = mid + 1;
        else hi = mid;
    }
    return lo < x->n_tgt && x->tgt[lo] == i;
}

static int excluded(const bq *x, const int *group, uint64_t i)
{
    if (x->group >= 0) return group[i] == x->group;
    return i == x->self;
}

typedef struct excl_ctx {
    const bq *q;
    const int *group;
} excl_ctx;

static int excluded_cb(uint64_t i, void *u)
{
    const excl_ctx *x = u;
    return excluded(x->q, x->group, i);
}

static void dsrun_free(dsrun *r)
{
    for (size_t i = 0; i < r->nq; i++) {
        free(r->q[i].tgt);
        for (size_t j = 0; j < r->q[i].n_ik; j++) free(r->q[i].ik14[j]);
        free(r->q[i].ik14);
    }
    free(r->q);
    for (size_t i = 0; i < r->nm; i++) {
        free(r->m[i].rank);
        free(r->m[i].top1);
        npsw_curve_free(&r->m[i].curve);
    }
    free(r->anm.rank);
    free(r->anm.top1);
    npsw_curve_free(&r->anm.curve);
    free(r->an);
    free(r->group);
    npsw_spectra_free(&r->lspec);
    cli_inputs_free(&r->qin);
    npsw_lib_free(r->lib);
    memset(r, 0, sizeof *r);
}

/* ---- library and queries ---------------------------------------------------------------- */

static int ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcasecmp(s + a - b, suf);
}

static int load_library(dsrun *r)
{
    const bench_dataset *ds = r->ds;
    npsw_err e;
    npsw_err_clear(&e);
    double t0 = now_s();
    if (ends_with(ds->library, ".h5") || ends_with(ds->library, ".hdf5")) {
        r->lib = npsw_lib_open(ds->library, &e);
        if (!r->lib) {
            cli_err(&e);
            return cli_exit_code(e.code);
        }
    } else {
        cli_inputs in;
        npsw_read_opts ro = npsw_read_opts_default();
        char *paths[1] = {ds->library};
        int rc = cli_read_inputs(paths, 1, &ro, 0, 1, 0, &in);
        if (rc != EXIT_OK) {
            cli_inputs_free(&in);
            return rc;
        }
        if (npsw_classify_spectra(in.spectra.v, in.spectra.n) < 0) {
            cli_inputs_free(&in);
            cli_msg("bench: out of memory");
            return EXIT_INTERNAL;
        }
        npsw_clean_opts co = npsw_clean_opts_default();
        r->lib = npsw_lib_build(in.spectra.v, in.spectra.n, &co, ds->name, "bench", in.files,
                                in.n_files, NULL, &e);
        cli_inputs_free(&in);
        if (!r->lib) {
            cli_err(&e);
            return cli_exit_code(e.code);
        }
        r->built = 1;
    }
    r->build_s = now_s() - t0;
    r->n_lib = npsw_lib_size(r->lib);
    r->rss_after_build = peak_rss_mib();
    return EXIT_OK;
}

/* Compounds: InChIKey first block + formula, else lower-case name + formula. */
static void compound_key(const npsw_lib *lib, uint64_t i, char *out, size_t size)
{
    char ik[32], nm[128], fo[128];
    snprintf(ik, sizeof ik, "%s", npsw_lib_meta(lib, i, NPSW_META_INCHIKEY));
    snprintf(nm, sizeof nm, "%s", npsw_lib_meta(lib, i, NPSW_META_NAME));
    snprintf(fo, sizeof fo, "%s", npsw_lib_meta(lib, i, NPSW_META_FORMULA));
    if (strlen(ik) >= 14) {
        snprintf(out, size, "%.14s|%s", ik, fo);
    } else {
        for (char *p = nm; *p; p++) *p = (char)tolower((unsigned char)*p);
        snprintf(out, size, "%s|%s", nm, fo);
    }
}

typedef struct keyidx {
    char key[272];
    uint64_t i;
} keyidx;

static int keyidx_cmp(const void *a, const void *b)
{
    const keyidx *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* leave_out = compound: "out" queries (every spectrum of a compound left out; truth: not in
 * library) for every sample-th compound, and "in" queries (only the spectrum itself left out,
 * the compound's other spectra are correct) for those compounds with two or more spectra. */
static int make_lco_queries(dsrun *r)
{
    uint64_t n = r->n_lib;
    keyidx *k = malloc((n ? n : 1) * sizeof *k);
    r->group = malloc((n ? n : 1) * sizeof *r->group);
    if (!k || !r->group) {
        free(k);
        cli_msg("bench: out of memory");
        return EXIT_INTERNAL;
    }
    for (uint64_t i = 0; i < n; i++) {
        compound_key(r->lib, i, k[i].key, sizeof k[i].key);
        k[i].i = i;
    }
    qsort(k, n, sizeof *k, keyidx_cmp);
    int ng = 0;
    int *gsize = calloc(n ? n : 1, sizeof *gsize);
    int *gfirst = calloc(n ? n : 1, sizeof *gfirst);
    if (!gsize || !gfirst) {
        free(k), free(gsize), free(gfirst);
        cli_msg("bench: out of memory");
        return EXIT_INTERNAL;
    }
    for (uint64_t j = 0; j < n; j++) {
        if (j == 0 || strcmp(k[j].key, k[j - 1].key)) ng++;
        r->group[k[j].i] = ng - 1;
    }
    free(k);
    /* groups numbered by key order; order them by first library index for a stable sample */
    for (int g = 0; g < ng; g++) gfirst[g] = -1;
    int rank = 0;
    int *grank = calloc((size_t)ng + 1, sizeof *grank);
    if (!grank) {
        free(gsize), free(gfirst);
        cli_msg("bench: out of memory");
        return EXIT_INTERNAL;
    }
    for (uint64_t i = 0; i < n; i++) {
        int g = r->group[i];
        gsize[g]++;
        if (gfirst[g] < 0) gfirst[g] = (int)i, grank[g] = rank++;
    }
    r->maxg = 0;
    for (int g = 0; g < ng; g++)
        if (gsize[g] > r->maxg) r->maxg = gsize[g];
    uint32_t smp = r->ds->sample ? r->ds->sample : 1;
    size_t cap = 2 * (size_t)n + 1;
    r->q = calloc(cap, sizeof *r->q);
    r->lspec.v = calloc(cap, sizeof *r->lspec.v); /* one copy per query: at most 2n */
    r->lspec.cap = cap;
    if (!r->q || !r->lspec.v) {
        free(gsize), free(gfirst), free(grank);
        cli_msg("bench: out of memory");
        return EXIT_INTERNAL;
    }
    int rc = EXIT_OK;
    for (int pass = 0; pass < 2 && rc == EXIT_OK; pass++)
        for (uint64_t i = 0; i < n; i++) {
            int g = r->group[i];
            if (grank[g] % (int)smp) continue;
            if (pass == 0 && gfirst[g] != (int)i) continue; /* one "out" query per compound */
            if (pass == 1 && gsize[g] < 2) continue;
            if (r->ds->max_queries && r->nq >= r->ds->max_queries) break;
            npsw_spectrum *s = &r->lspec.v[r->lspec.n];
            memset(s, 0, sizeof *s);
            if (npsw_lib_get_spectrum(r->lib, i, s) < 0) {
                cli_msg("bench: out of memory");
                rc = EXIT_INTERNAL;
                break;
            }
            r->lspec.n++;
            bq *x = &r->q[r->nq++];
            x->s = s;
            x->evaluated = 1;
            x->group = pass == 0 ? g : -1;
            x->self = pass == 0 ? UINT64_MAX : i;
            snprintf(x->cls, sizeof x->cls, "%s", npsw_lib_meta(r->lib, i, NPSW_META_CLASS));
            if (pass == 1)
                for (uint64_t j = gfirst[g]; j < n; j++)
                    if (r->group[j] == g && j != i && add_target(x, j) < 0) {
                        cli_msg("bench: out of memory");
                        rc = EXIT_INTERNAL;
                        break;
                    }
            x->in_lib = x->n_tgt > 0;
        }
    free(gsize), free(gfirst), free(grank);
    r->nq_all = r->nq;
    return rc;
}

/* Split a TSV line in place; returns the number of fields (at most max). */
static size_t split_tab(char *s, char **f, size_t max)
{
    size_t n = 0;
    s[strcspn(s, "\r\n")] = '\0';
    while (n < max) {
        f[n++] = s;
        char *t = strchr(s, '\t');
        if (!t) break;
        *t = '\0';
        s = t + 1;
    }
    return n;
}

static int col_of(char **h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(h[i], name)) return (int)i;
    return -1;
}

/* Queries a row names: by 1-based index, or by accession (all queries with it). */
static int parse_index(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long u = strtoull(s, &end, 10);
    if (!*s || *end || errno || s[0] == '-' || u > max) return -1;
    *out = u;
    return 0;
}

#define MAXF 64

static int add_ik(bq *x, const char *ik)
{
    for (size_t j = 0; j < x->n_ik; j++)
        if (!strcmp(x->ik14[j], ik)) return 0;
    char **t = realloc(x->ik14, (x->n_ik + 1) * sizeof *t);
    if (!t) return -1;
    x->ik14 = t;
    if (!(t[x->n_ik] = strdup(ik))) return -1;
    x->n_ik++;
    return 0;
}

static int load_truth(dsrun *r)
{
    const char *path = r->ds->truth;
    FILE *f = fopen(path, "r");
    if (!f) {
        cli_msg("%s: cannot open: %s", path, strerror(errno));
        return EXIT_INPUT;
    }
    char *line = NULL;
    size_t cap = 0;
    unsigned ln = 0;
    int rc = EXIT_OK, cq = -1, cacc = -1, clib = -1, cik = -1, ccls = -1, header = 0;
    char *fl[MAXF];
    /* library InChIKey first blocks, sorted, to resolve inchikey14 targets */
    keyidx *lk = malloc((r->n_lib ? r->n_lib : 1) * sizeof *lk);
    if (!lk) {
        fclose(f);
        cli_msg("bench: out of memory");
        return EXIT_INTERNAL;
    }
    for (uint64_t i = 0; i < r->n_lib; i++) {
        snprintf(lk[i].key, sizeof lk[i].key, "%.14s", npsw_lib_meta(r->lib, i, NPSW_META_INCHIKEY));
        lk[i].i = i;
    }
    qsort(lk, r->n_lib, sizeof *lk, keyidx_cmp);
    while (rc == EXIT_OK && getline(&line, &cap, f) >= 0) {
        ln++;
        if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0') continue;
        size_t nf = split_tab(line, fl, MAXF);
        if (!header) {
            header = 1;
            cq = col_of(fl, nf, "query_index");
            cacc = col_of(fl, nf, "query_accession");
            clib = col_of(fl, nf, "library_index");
            cik = col_of(fl, nf, "inchikey14");
            ccls = col_of(fl, nf, "class");
            if ((cq < 0 && cacc < 0) || (clib < 0 && cik < 0)) {
                cli_msg("%s:%u: the header needs query_index or query_accession, and "
                        "library_index or inchikey14 (tab-separated)",
                        path, ln);
                rc = EXIT_INPUT;
            }
            continue;
        }
        int need = cq > cacc ? cq : cacc;
        if (clib > need) need = clib;
        if (cik > need) need = cik;
        if (ccls > need) need = ccls;
        if ((int)nf <= need) {
            cli_msg("%s:%u: %zu fields, the header has at least %d", path, ln, nf, need + 1);
            rc = EXIT_INPUT;
            break;
        }
        r->truth_rows++;
        /* targets of the row */
        uint64_t li = 0;
        const char *ik = NULL;
        if (clib >= 0 && fl[clib][0] && strcmp(fl[clib], "-")) {
            if (parse_index(fl[clib], r->n_lib, &li) < 0) {
                cli_msg("%s:%u: library_index '%s' is not a number from 0 to %llu (the library "
                        "size; 0 = not in the library)",
                        path, ln, fl[clib], (unsigned long long)r->n_lib);
                rc = EXIT_INPUT;
                break;
            }
        }
        if (cik >= 0 && fl[cik][0] && strcmp(fl[cik], "-")) {
            if (strlen(fl[cik]) != 14) {
                cli_msg("%s:%u: inchikey14 '%s' is not 14 characters (the first block of an "
                        "InChIKey; '-' or empty = not in the library)",
                        path, ln, fl[cik]);
                rc = EXIT_INPUT;
                break;
            }
            ik = fl[cik];
        }
        int matched = 0;
        size_t q0 = 0, q1 = r->nq; /* the queries the row may name */
        if (cq >= 0) {
            uint64_t v;
            if (parse_index(fl[cq], r->nq_all, &v) < 0 || v == 0) {
                cli_msg("%s:%u: query_index '%s' is not a number from 1 to %zu (the number "
                        "of queries)",
                        path, ln, fl[cq], r->nq_all);
                rc = EXIT_INPUT;
                break;
            }
            if (v > r->nq) continue; /* beyond max_queries */
            q0 = (size_t)v - 1;
            q1 = q0 + 1;
        }
        for (size_t qi = q0; qi < q1; qi++) {
            if (cq < 0 && strcmp(npsw_spectrum_meta(r->q[qi].s, NPSW_META_ACCESSION), fl[cacc]))
                continue;
            bq *x = &r->q[qi];
            matched = 1;
            x->evaluated = 1;
            if (li && add_target(x, li - 1) < 0) rc = EXIT_INTERNAL;
            if (ik) {
                if (add_ik(x, ik) < 0) rc = EXIT_INTERNAL;
                keyidx key;
                snprintf(key.key, sizeof key.key, "%s", ik);
                key.i = 0;
                size_t lo = 0, hi = r->n_lib;
                while (lo < hi) {
                    size_t mid = (lo + hi) / 2;
                    if (keyidx_cmp(&lk[mid], &key) < 0) lo = mid + 1;
                    else hi = mid;
                }
                for (; lo < r->n_lib && !strcmp(lk[lo].key, ik) && rc == EXIT_OK; lo++)
                    if (add_target(x, lk[lo].i) < 0) rc = EXIT_INTERNAL;
            }
            if (ccls >= 0 && fl[ccls][0] && strcmp(fl[ccls], "-"))
                snprintf(x->cls, sizeof x->cls, "%s", fl[ccls]);
            if (rc != EXIT_OK) break;
        }
        if (rc == EXIT_INTERNAL) cli_msg("bench: out of memory");
        if (!matched && rc == EXIT_OK) r->truth_unmatched++;
    }
    if (rc == EXIT_OK && !header) {
        cli_msg("%s: empty truth table (no header line)", path);
        rc = EXIT_INPUT;
    }
    free(line);
    free(lk);
    fclose(f);
    for (size_t i = 0; i < r->nq; i++) r->q[i].in_lib = r->q[i].n_tgt > 0;
    return rc;
}

static int load_queries(dsrun *r)
{
    const bench_dataset *ds = r->ds;
    if (ds->leave_out) return make_lco_queries(r);
    npsw_read_opts ro = npsw_read_opts_default();
    int rc = cli_read_queries("bench", r->lib, (char **)r->ds->queries, (int)r->ds->n_queries, &ro, 0, &r->qin);
    if (rc != EXIT_OK) return rc;
    size_t n = r->qin.spectra.n;
    if (ds->max_queries && n > ds->max_queries) n = ds->max_queries;
    r->q = calloc(n, sizeof *r->q);
    if (!r->q) {
        cli_msg("bench: out of memory");
        return EXIT_INTERNAL;
    }
    for (size_t i = 0; i < n; i++) {
        r->q[i].s = &r->qin.spectra.v[i];
        r->q[i].group = -1;
        r->q[i].self = UINT64_MAX;
    }
    r->nq = n;
    r->nq_all = r->qin.spectra.n;
    return load_truth(r);
}

/* ---- running the methods ---------------------------------------------------------------- */

static int method_alloc(method_res *m, size_t nq)
{
    m->rank = calloc(nq ? nq : 1, sizeof *m->rank);
    m->top1 = calloc(nq ? nq : 1, sizeof *m->top1);
    return m->rank && m->top1 ? 0 : -1;
}

static int make_curve(const dsrun *r, method_res *m)
{
    size_t n = 0;
    double *s = malloc((r->nq ? r->nq : 1) * sizeof *s);
    int *p = malloc((r->nq ? r->nq : 1) * sizeof *p);
    if (!s || !p) {
        free(s), free(p);
        return EXIT_INTERNAL;
    }
    for (size_t i = 0; i < r->nq; i++)
        if (r->q[i].evaluated) s[n] = m->top1[i], p[n++] = r->q[i].in_lib;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = n ? npsw_curve_compute(s, p, n, &m->curve, &e) : 0;
    free(s), free(p);
    if (rc < 0) {
        cli_msg("bench: %s: %s", m->name, e.msg);
        return cli_exit_code(rc);
    }
    /* the decision is measured only when both truth groups are there */
    m->has_curve = n > 0 && m->curve.n_pos > 0 && m->curve.n_neg > 0;
    if (!m->has_curve) npsw_curve_free(&m->curve);
    return EXIT_OK;
}

static int run_search(dsrun *r, const bench_config *c, int kind, method_res *m)
{
    uint32_t kmax = c->ks[c->n_k - 1];
    uint32_t kk = kmax + (r->ds->leave_out ? (uint32_t)r->maxg : 0);
    if (kk > NPSW_MAX_K) kk = NPSW_MAX_K;
    snprintf(m->name, sizeof m->name, "%s", npsw_score_name((npsw_score_kind)kind));
    size_t nq = r->nq;
    npsw_spectrum *qs = malloc((nq ? nq : 1) * sizeof *qs);
    npsw_hit *h0 = malloc((nq ? nq : 1) * kk * sizeof *h0), *h1 = malloc((nq ? nq : 1) * kk * sizeof *h1);
    uint32_t *n0 = malloc((nq ? nq : 1) * sizeof *n0), *n1 = malloc((nq ? nq : 1) * sizeof *n1);
    int rc = EXIT_OK;
    if (!qs || !h0 || !h1 || !n0 || !n1 || method_alloc(m, nq) < 0) {
        cli_msg("bench: out of memory");
        rc = EXIT_INTERNAL;
        goto done;
    }
    for (size_t i = 0; i < nq; i++) qs[i] = *r->q[i].s; /* shallow, read only */
    m->identical = 1;
    for (size_t t = 0; t < c->n_threads; t++) {
        npsw_search_opts so = npsw_search_opts_default();
        so.k = kk;
        so.score = (npsw_score_kind)kind;
        so.threads = (int)c->threads[t];
        npsw_err e;
        npsw_err_clear(&e);
        double t0 = now_s();
        int s = npsw_search(r->lib, qs, nq, &so, t ? h1 : h0, t ? n1 : n0, NULL, &e);
        double dt = now_s() - t0;
        if (s < 0) {
            cli_err(&e);
            rc = cli_exit_code(s);
            goto done;
        }
        m->qps[t] = dt > 0 ? (double)nq / dt : NAN;
        if (t) /* same hits (index and score) whatever the thread count */
            for (size_t q = 0; q < nq && m->identical; q++) {
                if (n0[q] != n1[q]) m->identical = 0;
                for (uint32_t j = 0; j < n0[q] && m->identical; j++)
                    m->identical = h0[q * kk + j].index == h1[q * kk + j].index &&
                                   h0[q * kk + j].score == h1[q * kk + j].score;
            }
    }
    m->has_qps = 1;
    m->has_score = 1;
    for (size_t q = 0; q < nq; q++) {
        const bq *x = &r->q[q];
        uint32_t rank = 0;
        for (uint32_t j = 0; j < n0[q]; j++) {
            uint64_t li = h0[q * kk + j].index;
            if (r->ds->leave_out && excluded(x, r->group, li)) continue;
            rank++;
            if (rank == 1) m->top1[q] = h0[q * kk + j].score;
            if (rank > kmax) break;
            if (is_target(x, li)) {
                m->rank[q] = rank;
                break;
            }
        }
    }
    rc = make_curve(r, m);
done:
    free(qs), free(h0), free(h1), free(n0), free(n1);
    return rc;
}

static size_t class_index(dsrun *r, const char *cls)
{
    for (size_t i = 0; i < r->n_classes; i++)
        if (!strcmp(r->classes[i], cls)) return i;
    if (r->n_classes == MAX_CLASSES) return MAX_CLASSES - 1; /* the last slot collects the rest */
    snprintf(r->classes[r->n_classes], NPSW_CLASS_LEN, "%s", cls);
    return r->n_classes++;
}

static int run_analysis(dsrun *r, const bench_config *c)
{
    size_t nq = r->nq;
    npsw_analyse_opts o = npsw_analyse_opts_default();
    o.threads = (int)c->threads[c->n_threads - 1];
    uint32_t extra = r->ds->leave_out ? (uint32_t)r->maxg : 0;
    o.k = o.k + extra > NPSW_ANALYSE_MAX_K ? NPSW_ANALYSE_MAX_K : o.k + extra;
    npsw_spectrum *qs = malloc((nq ? nq : 1) * sizeof *qs);
    r->an = calloc(nq ? nq : 1, sizeof *r->an);
    snprintf(r->anm.name, sizeof r->anm.name, "analysis");
    if (!qs || !r->an || method_alloc(&r->anm, nq) < 0) {
        free(qs);
        cli_msg("bench: out of memory");
        return EXIT_INTERNAL;
    }
    for (size_t i = 0; i < nq; i++) qs[i] = *r->q[i].s;
    npsw_err e;
    npsw_err_clear(&e);
    double t0 = now_s();
    int s = npsw_analyse(r->lib, qs, nq, &o, r->an, &e);
    double dt = now_s() - t0;
    if (s < 0) {
        free(qs);
        cli_err(&e);
        return cli_exit_code(s);
    }
    r->an_qps = dt > 0 ? (double)nq / dt : NAN;
    if (r->ds->leave_out) { /* filter the left-out spectra, then decide again */
        npsw_analyser *an = npsw_analyser_new(r->lib, &e);
        npsw_analyse_scratch *sc = an ? npsw_analyse_scratch_new(an) : NULL;
        if (!sc) {
            npsw_analyser_free(an);
            free(qs);
            cli_msg("bench: out of memory");
            return EXIT_INTERNAL;
        }
        npsw_analyse_opts od = o;
        od.k = npsw_analyse_opts_default().k;
        for (size_t i = 0; i < nq; i++) {
            npsw_analysis *a = &r->an[i];
            uint32_t m = 0;
            for (uint32_t j = 0; j < a->n_hits; j++)
                if (!excluded(&r->q[i], r->group, a->hits[j].index) && m < od.k)
                    a->hits[m++] = a->hits[j];
            a->n_hits = m;
            m = 0;
            for (uint32_t j = 0; j < a->n_cands; j++)
                if (!excluded(&r->q[i], r->group, a->cands[j].index) && m < od.k)
                    a->cands[m++] = a->cands[j];
            a->n_cands = m;
            excl_ctx xc = {&r->q[i], r->group};
            npsw_analyse_decide(an, sc, qs + i, &od, excluded_cb, &xc, a);
        }
        npsw_analyse_scratch_free(sc);
        npsw_analyser_free(an);
    }
    free(qs);
    r->has_analysis = 1;
    r->anm.has_score = 1;
    for (size_t i = 0; i < nq; i++) {
        const npsw_analysis *a = &r->an[i];
        r->anm.top1[i] = a->p_in_library;
        if (!r->q[i].evaluated) continue;
        if ((unsigned)a->verdict < 3) r->verdicts[a->verdict]++;
        if (r->q[i].cls[0]) {
            size_t t = class_index(r, r->q[i].cls), p = class_index(r, a->predicted_class);
            r->conf[t][p]++;
        }
    }
    return make_curve(r, &r->anm);
}

/* External hit table (TSV): query_index or query_accession, rank, hit_index or hit_inchikey,
 * optional score. '#' lines are skipped; rank 0 rows (no hit) are allowed. */
static int run_external(dsrun *r, const bench_config *c, const bench_external *x, method_res *m)
{
    snprintf(m->name, sizeof m->name, "%s", x->name);
    if (method_alloc(m, r->nq) < 0) {
        cli_msg("bench: out of memory");
        return EXIT_INTERNAL;
    }
    uint32_t kmax = c->ks[c->n_k - 1];
    FILE *f = fopen(x->path, "r");
    if (!f) {
        cli_msg("%s: cannot open: %s", x->path, strerror(errno));
        return EXIT_INPUT;
    }
    char *line = NULL, *fl[MAXF];
    size_t cap = 0;
    unsigned ln = 0;
    int rc = EXIT_OK, header = 0, cq = -1, cacc = -1, crank = -1, chi = -1, cik = -1, cs = -1;
    while (rc == EXIT_OK && getline(&line, &cap, f) >= 0) {
        ln++;
        if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0') continue;
        size_t nf = split_tab(line, fl, MAXF);
        if (!header) {
            header = 1;
            cq = col_of(fl, nf, "query_index");
            cacc = col_of(fl, nf, "query_accession");
            crank = col_of(fl, nf, "rank");
            chi = col_of(fl, nf, "hit_index");
            cik = col_of(fl, nf, "hit_inchikey");
            cs = col_of(fl, nf, "score");
            m->has_score = cs >= 0;
            if ((cq < 0 && cacc < 0) || crank < 0 || (chi < 0 && cik < 0)) {
                cli_msg("%s:%u: the header needs query_index or query_accession, rank, and "
                        "hit_index or hit_inchikey (tab-separated; see docs/cli.md, \"bench\")",
                        x->path, ln);
                rc = EXIT_INPUT;
            }
            continue;
        }
        int need = cq > cacc ? cq : cacc;
        if (crank > need) need = crank;
        if (chi > need) need = chi;
        if (cik > need) need = cik;
        if (cs > need) need = cs;
        if ((int)nf <= need) {
            cli_msg("%s:%u: %zu fields, the header has at least %d", x->path, ln, nf, need + 1);
            rc = EXIT_INPUT;
            break;
        }
        uint64_t rank, hi = 0;
        if (parse_index(fl[crank], NPSW_MAX_K * 1000ull, &rank) < 0) {
            cli_msg("%s:%u: rank '%s' is not a whole number >= 0", x->path, ln, fl[crank]);
            rc = EXIT_INPUT;
            break;
        }
        if (rank == 0) continue;
        if (chi >= 0 && (parse_index(fl[chi], r->n_lib, &hi) < 0 || hi == 0)) {
            cli_msg("%s:%u: hit_index '%s' is not a number from 1 to %llu (the library size)",
                    x->path, ln, fl[chi], (unsigned long long)r->n_lib);
            rc = EXIT_INPUT;
            break;
        }
        double sc = 0;
        if (cs >= 0) {
            char *end;
            sc = strtod(fl[cs], &end);
            if (end == fl[cs] || *end || !isfinite(sc)) {
                cli_msg("%s:%u: score '%s' is not a finite number", x->path, ln, fl[cs]);
                rc = EXIT_INPUT;
                break;
            }
        }
        size_t q0 = 0, q1 = r->nq;
        if (cq >= 0) {
            uint64_t v;
            if (parse_index(fl[cq], r->nq_all, &v) < 0 || v == 0) {
                cli_msg("%s:%u: query_index '%s' is not a number from 1 to %zu (the number "
                        "of queries)",
                        x->path, ln, fl[cq], r->nq_all);
                rc = EXIT_INPUT;
                break;
            }
            if (v > r->nq) continue; /* beyond max_queries */
            q0 = (size_t)v - 1;
            q1 = q0 + 1;
        }
        for (size_t qi = q0; qi < q1; qi++) {
            if (cq < 0 && strcmp(npsw_spectrum_meta(r->q[qi].s, NPSW_META_ACCESSION), fl[cacc]))
                continue;
            const bq *q = &r->q[qi];
            if (rank == 1) m->top1[qi] = sc;
            int ok = 0;
            if (chi >= 0) ok = is_target(q, hi - 1);
            else
                for (size_t j = 0; j < q->n_ik && !ok; j++) ok = !strncmp(fl[cik], q->ik14[j], 14);
            if (ok && rank <= kmax && (m->rank[qi] == 0 || rank < m->rank[qi]))
                m->rank[qi] = (uint32_t)rank;
        }
    }
    if (rc == EXIT_OK && !header) {
        cli_msg("%s: empty hit table (no header line)", x->path);
        rc = EXIT_INPUT;
    }
    free(line);
    fclose(f);
    if (rc == EXIT_OK && m->has_score) rc = make_curve(r, m);
    return rc;
}

/* ---- output ----------------------------------------------------------------------------- */

static double recall_of(const dsrun *r, const method_res *m, uint32_t k)
{
    uint32_t *rk = malloc((r->nq ? r->nq : 1) * sizeof *rk);
    if (!rk) return NAN;
    size_t n = 0;
    for (size_t i = 0; i < r->nq; i++)
        if (r->q[i].evaluated && r->q[i].in_lib) rk[n++] = m->rank[i];
    double v = npsw_recall_at_k(rk, n, k);
    free(rk);
    return v;
}

static cJSON *num(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static void tsv_row(FILE *f, const char *ds, const char *method, const char *measure,
                    const char *param, double v)
{
    if (isfinite(v)) fprintf(f, "%s\t%s\t%s\t%s\t%.6g\n", ds, method, measure, param, v);
    else fprintf(f, "%s\t%s\t%s\t%s\tNA\n", ds, method, measure, param);
}

static int write_tables(const bench_config *c, dsrun *runs, size_t nr, const char *dir,
                        const char *cfgpath, const char *utc)
{
    char path[4096];
    cli_out o;
    int rc;
    /* results.tsv */
    snprintf(path, sizeof path, "%s/results.tsv", dir);
    if ((rc = cli_out_open(&o, path)) != EXIT_OK) return rc;
    fprintf(o.f, "# npswatch %s bench %s, %s\n", NPSW_VERSION, cfgpath, utc);
    fprintf(o.f, "dataset\tmethod\tmeasure\tparameter\tvalue\n");
    for (size_t d = 0; d < nr; d++) {
        dsrun *r = &runs[d];
        const char *dn = r->ds->name;
        tsv_row(o.f, dn, "-", "library_spectra", "", (double)r->n_lib);
        tsv_row(o.f, dn, "-", r->built ? "build_s" : "open_s", "", r->build_s);
        tsv_row(o.f, dn, "-", "peak_rss_mib_after_build", "", r->rss_after_build);
        tsv_row(o.f, dn, "-", "peak_rss_mib", "", r->rss_after);
        tsv_row(o.f, dn, "-", "queries", "", (double)r->nq);
        tsv_row(o.f, dn, "-", "queries_evaluated", "", (double)r->n_eval);
        tsv_row(o.f, dn, "-", "queries_in_library", "", (double)r->n_in);
        for (size_t i = 0; i < r->nm; i++) {
            method_res *m = &r->m[i];
            char p[32];
            for (size_t k = 0; k < c->n_k; k++) {
                snprintf(p, sizeof p, "k=%u", c->ks[k]);
                tsv_row(o.f, dn, m->name, "recall", p, recall_of(r, m, c->ks[k]));
            }
            if (m->has_qps) {
                for (size_t t = 0; t < c->n_threads; t++) {
                    snprintf(p, sizeof p, "threads=%u", c->threads[t]);
                    tsv_row(o.f, dn, m->name, "queries_per_s", p, m->qps[t]);
                }
                tsv_row(o.f, dn, m->name, "identical_across_threads", "", m->identical);
            }
            if (m->has_curve) {
                tsv_row(o.f, dn, m->name, "auc_roc", "top-1 score", m->curve.auc_roc);
                tsv_row(o.f, dn, m->name, "avg_precision", "top-1 score", m->curve.avg_precision);
            }
        }
        if (r->has_analysis) {
            char p[32];
            snprintf(p, sizeof p, "threads=%u", c->threads[c->n_threads - 1]);
            tsv_row(o.f, dn, "analysis", "queries_per_s", p, r->an_qps);
            if (r->anm.has_curve) {
                tsv_row(o.f, dn, "analysis", "auc_roc", "p_in_library", r->anm.curve.auc_roc);
                tsv_row(o.f, dn, "analysis", "avg_precision", "p_in_library",
                        r->anm.curve.avg_precision);
            }
            uint64_t tot = 0, ok = 0;
            for (size_t t = 0; t < r->n_classes; t++)
                for (size_t p2 = 0; p2 < r->n_classes; p2++) {
                    tot += r->conf[t][p2];
                    if (t == p2) ok += r->conf[t][p2];
                }
            tsv_row(o.f, dn, "analysis", "class_accuracy", "", tot ? (double)ok / (double)tot : NAN);
            for (int v = 0; v < 3; v++)
                tsv_row(o.f, dn, "analysis", "verdict_count", npsw_verdict_name((npsw_verdict)v),
                        (double)r->verdicts[v]);
        }
    }
    if ((rc = cli_out_commit(&o)) != EXIT_OK) return rc;

    /* curves.tsv */
    snprintf(path, sizeof path, "%s/curves.tsv", dir);
    if ((rc = cli_out_open(&o, path)) != EXIT_OK) return rc;
    fprintf(o.f, "dataset\tdecision\tthreshold\ttp\tfp\tfpr\ttpr\tprecision\n");
    for (size_t d = 0; d < nr; d++)
        for (size_t i = 0; i <= runs[d].nm; i++) {
            method_res *m = i < runs[d].nm ? &runs[d].m[i] : &runs[d].anm;
            if (!m->has_curve) continue;
            for (size_t j = 0; j < m->curve.n_pts; j++) {
                const npsw_curve_point *p = &m->curve.pts[j];
                fprintf(o.f, "%s\t%s\t%.6g\t%llu\t%llu\t%.6g\t%.6g\t%.6g\n", runs[d].ds->name,
                        m->name, p->threshold, (unsigned long long)p->tp,
                        (unsigned long long)p->fp, p->fpr, p->tpr, p->precision);
            }
        }
    if ((rc = cli_out_commit(&o)) != EXIT_OK) return rc;

    /* confusion.tsv */
    snprintf(path, sizeof path, "%s/confusion.tsv", dir);
    if ((rc = cli_out_open(&o, path)) != EXIT_OK) return rc;
    fprintf(o.f, "dataset\ttrue_class\tpredicted_class\tcount\n");
    for (size_t d = 0; d < nr; d++)
        for (size_t t = 0; t < runs[d].n_classes; t++)
            for (size_t p = 0; p < runs[d].n_classes; p++)
                if (runs[d].conf[t][p])
                    fprintf(o.f, "%s\t%s\t%s\t%llu\n", runs[d].ds->name, runs[d].classes[t],
                            runs[d].classes[p], (unsigned long long)runs[d].conf[t][p]);
    if ((rc = cli_out_commit(&o)) != EXIT_OK) return rc;

    /* queries.tsv */
    snprintf(path, sizeof path, "%s/queries.tsv", dir);
    if ((rc = cli_out_open(&o, path)) != EXIT_OK) return rc;
    fprintf(o.f, "dataset\tquery_index\tquery_name\tevaluated\tin_library\ttrue_class\tmethod"
                 "\trank\ttop1_score\tverdict\tpredicted_class\n");
    for (size_t d = 0; d < nr; d++) {
        dsrun *r = &runs[d];
        for (size_t q = 0; q < r->nq; q++) {
            for (size_t i = 0; i <= r->nm; i++) {
                method_res *m = i < r->nm ? &r->m[i] : &r->anm;
                if (i == r->nm && !r->has_analysis) continue;
                fprintf(o.f, "%s\t%zu\t", r->ds->name, q + 1);
                out_tsv_field(o.f, npsw_spectrum_meta(r->q[q].s, NPSW_META_NAME));
                fprintf(o.f, "\t%d\t%d\t%s\t%s\t", r->q[q].evaluated, r->q[q].in_lib,
                        r->q[q].cls[0] ? r->q[q].cls : "-", m->name);
                if (i < r->nm) fprintf(o.f, "%u\t%.6g\t-\t-\n", m->rank[q], m->top1[q]);
                else
                    fprintf(o.f, "-\t%.6g\t%s\t%s\n", m->top1[q],
                            npsw_verdict_name(r->an[q].verdict), r->an[q].predicted_class);
            }
        }
    }
    if ((rc = cli_out_commit(&o)) != EXIT_OK) return rc;

    /* results.json */
    cJSON *root = cJSON_CreateObject();
    if (!root) return EXIT_INTERNAL;
    cJSON_AddStringToObject(root, "npswatch", NPSW_VERSION);
    cJSON_AddStringToObject(root, "config", cfgpath);
    cJSON_AddStringToObject(root, "name", c->name);
    cJSON_AddStringToObject(root, "utc", utc);
    cJSON_AddStringToObject(root, "note", "library search results, not identifications");
    cJSON *ka = cJSON_AddArrayToObject(root, "k"), *ta = cJSON_AddArrayToObject(root, "threads");
    for (size_t k = 0; k < c->n_k; k++) cJSON_AddItemToArray(ka, cJSON_CreateNumber(c->ks[k]));
    for (size_t t = 0; t < c->n_threads; t++)
        cJSON_AddItemToArray(ta, cJSON_CreateNumber(c->threads[t]));
    cJSON *dsa = cJSON_AddArrayToObject(root, "datasets");
    for (size_t d = 0; d < nr; d++) {
        dsrun *r = &runs[d];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddItemToArray(dsa, j);
        cJSON_AddStringToObject(j, "name", r->ds->name);
        cJSON *lj = cJSON_AddObjectToObject(j, "library");
        cJSON_AddStringToObject(lj, "path", r->ds->library);
        cJSON_AddNumberToObject(lj, "spectra", (double)r->n_lib);
        cJSON_AddStringToObject(lj, "content_sha256", npsw_lib_get_info(r->lib)->content_sha256);
        cJSON_AddStringToObject(lj, "load", r->built ? "built in memory" : "opened");
        cJSON_AddItemToObject(lj, r->built ? "build_s" : "open_s", num(r->build_s));
        cJSON_AddItemToObject(lj, "peak_rss_mib_after_build", num(r->rss_after_build));
        cJSON_AddItemToObject(j, "peak_rss_mib", num(r->rss_after));
        cJSON_AddStringToObject(j, "mode", r->ds->leave_out ? "leave-compound-out" : "queries");
        cJSON_AddNumberToObject(j, "queries", (double)r->nq);
        cJSON_AddNumberToObject(j, "queries_evaluated", (double)r->n_eval);
        cJSON_AddNumberToObject(j, "queries_in_library", (double)r->n_in);
        cJSON *ma = cJSON_AddArrayToObject(j, "methods");
        for (size_t i = 0; i <= r->nm; i++) {
            method_res *m = i < r->nm ? &r->m[i] : &r->anm;
            if (i == r->nm && !r->has_analysis) continue;
            cJSON *mj = cJSON_CreateObject();
            cJSON_AddItemToArray(ma, mj);
            cJSON_AddStringToObject(mj, "name", m->name);
            cJSON_AddStringToObject(mj, "kind", i < r->nm ? (m->has_qps ? "search" : "external")
                                                          : "analysis");
            if (i < r->nm) {
                cJSON *rj = cJSON_AddObjectToObject(mj, "recall");
                for (size_t k = 0; k < c->n_k; k++) {
                    char key[16];
                    snprintf(key, sizeof key, "%u", c->ks[k]);
                    cJSON_AddItemToObject(rj, key, num(recall_of(r, m, c->ks[k])));
                }
            }
            if (m->has_qps) {
                cJSON *qj = cJSON_AddObjectToObject(mj, "queries_per_s");
                for (size_t t = 0; t < c->n_threads; t++) {
                    char key[16];
                    snprintf(key, sizeof key, "%u", c->threads[t]);
                    cJSON_AddItemToObject(qj, key, num(m->qps[t]));
                }
                cJSON_AddBoolToObject(mj, "identical_across_threads", m->identical);
            }
            if (i == r->nm) {
                char key[16];
                snprintf(key, sizeof key, "%u", c->threads[c->n_threads - 1]);
                cJSON *qj = cJSON_AddObjectToObject(mj, "queries_per_s");
                cJSON_AddItemToObject(qj, key, num(r->an_qps));
            }
            if (m->has_curve) {
                cJSON *cj = cJSON_AddObjectToObject(mj, "decision");
                cJSON_AddStringToObject(cj, "score", i < r->nm ? "top-1 score" : "p_in_library");
                cJSON_AddNumberToObject(cj, "positives", (double)m->curve.n_pos);
                cJSON_AddNumberToObject(cj, "negatives", (double)m->curve.n_neg);
                cJSON_AddItemToObject(cj, "auc_roc", num(m->curve.auc_roc));
                cJSON_AddItemToObject(cj, "avg_precision", num(m->curve.avg_precision));
            }
        }
        if (r->has_analysis) {
            cJSON *cj = cJSON_AddObjectToObject(j, "class_confusion");
            cJSON *cl = cJSON_AddArrayToObject(cj, "classes");
            cJSON *mx = cJSON_AddArrayToObject(cj, "matrix");
            for (size_t t = 0; t < r->n_classes; t++) {
                cJSON_AddItemToArray(cl, cJSON_CreateString(r->classes[t]));
                cJSON *row = cJSON_CreateArray();
                cJSON_AddItemToArray(mx, row);
                for (size_t p = 0; p < r->n_classes; p++)
                    cJSON_AddItemToArray(row, cJSON_CreateNumber((double)r->conf[t][p]));
            }
            cJSON_AddStringToObject(cj, "rows", "true class");
            cJSON_AddStringToObject(cj, "columns", "predicted class");
            cJSON *vj = cJSON_AddObjectToObject(j, "verdicts");
            for (int v = 0; v < 3; v++)
                cJSON_AddNumberToObject(vj, npsw_verdict_name((npsw_verdict)v), (double)r->verdicts[v]);
        }
    }
    char *txt = cJSON_Print(root);
    cJSON_Delete(root);
    if (!txt) {
        cli_msg("bench: out of memory");
        return EXIT_INTERNAL;
    }
    snprintf(path, sizeof path, "%s/results.json", dir);
    if ((rc = cli_out_open(&o, path)) != EXIT_OK) {
        free(txt);
        return rc;
    }
    fprintf(o.f, "%s\n", txt);
    free(txt);
    return cli_out_commit(&o);
}

/* ---- plots -------------------------------------------------------------------------------- */

typedef struct plotter {
    const char *dir, *utc;
    npsw_png_text prov[2];
    char footer[512];
    int rc;
} plotter;

static void plot(plotter *p, const char *file, const npsw_series *s, size_t ns,
                 const npsw_lines_opts *o)
{
    if (p->rc != EXIT_OK || ns == 0) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", p->dir, file);
    npsw_lines_opts oo = *o;
    oo.footer = p->footer;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = npsw_plot_lines(s, ns, &oo, p->prov, 2, path, NULL, &e);
    if (rc == NPSW_EEMPTY) return; /* nothing to draw: no file */
    if (rc < 0) {
        cli_msg("bench: %s: %s", path, e.msg);
        p->rc = cli_exit_code(rc);
    }
}

static int write_plots(const bench_config *c, dsrun *runs, size_t nr, const char *dir,
                       const char *utc)
{
    plotter p = {dir, utc, {{"Software", "npswatch " NPSW_VERSION}, {"Creation Time", utc}}, "", 0};
    snprintf(p.footer, sizeof p.footer, "npswatch %s bench, %s", NPSW_VERSION, utc);
    enum { NM = NPSW_SCORE_COUNT + BENCH_MAX_EXT + 2 };
    double xs[NM][BENCH_MAX_LIST], ys[NM][BENCH_MAX_LIST];
    npsw_series s[NM];
    char file[256], title[256];
    for (size_t d = 0; d < nr && p.rc == EXIT_OK; d++) {
        dsrun *r = &runs[d];
        const char *dn = r->ds->name;
        size_t ns = 0;
        npsw_lines_opts o = npsw_lines_opts_default();
        /* recall@k */
        if (r->n_in) {
            for (size_t i = 0; i < r->nm && ns < NPSW_LINES_MAX_SERIES; i++, ns++) {
                for (size_t k = 0; k < c->n_k; k++) {
                    xs[ns][k] = c->ks[k];
                    ys[ns][k] = recall_of(r, &r->m[i], c->ks[k]);
                }
                s[ns] = (npsw_series){r->m[i].name, xs[ns], ys[ns], c->n_k, 1, 0};
            }
            snprintf(title, sizeof title, "Recall@k: %s", dn);
            char sub[256];
            snprintf(sub, sizeof sub, "%zu queries whose compound is in the library", r->n_in);
            o.title = title;
            o.subtitle = sub;
            o.x_label = "k (hits examined)";
            o.y_label = "recall (correct compound in the top k)";
            o.y_min = 0;
            o.y_max = 1;
            o.x_log = c->ks[c->n_k - 1] >= 50;
            snprintf(file, sizeof file, "%s_recall_at_k.png", dn);
            plot(&p, file, s, ns, &o);
        }
        /* ROC and precision-recall of the in-library decision */
        method_res *ms[NM];
        size_t nms = 0;
        for (size_t i = 0; i < r->nm; i++)
            if (r->m[i].has_curve && r->m[i].curve.n_pos && r->m[i].curve.n_neg) ms[nms++] = &r->m[i];
        if (r->anm.has_curve && r->anm.curve.n_pos && r->anm.curve.n_neg) ms[nms++] = &r->anm;
        if (nms > NPSW_LINES_MAX_SERIES) nms = NPSW_LINES_MAX_SERIES;
        for (int pr = 0; pr < 2 && nms; pr++) {
            double *buf[NM] = {0};
            char names[NM][128];
            for (size_t i = 0; i < nms; i++) {
                const npsw_curve *cv = &ms[i]->curve;
                buf[i] = malloc(2 * cv->n_pts * sizeof(double));
                if (!buf[i]) {
                    p.rc = EXIT_INTERNAL;
                    break;
                }
                for (size_t j = 0; j < cv->n_pts; j++) {
                    buf[i][j] = pr ? cv->pts[j].tpr : cv->pts[j].fpr;
                    buf[i][cv->n_pts + j] = pr ? cv->pts[j].precision : cv->pts[j].tpr;
                }
                snprintf(names[i], sizeof names[i], "%s (%s %.3f)", ms[i]->name,
                         pr ? "AP" : "AUC", pr ? cv->avg_precision : cv->auc_roc);
                s[i] = (npsw_series){names[i], buf[i], buf[i] + cv->n_pts,
                                     pr ? cv->n_pts - 1 : cv->n_pts, 0, 0};
                if (pr) s[i].x++, s[i].y++; /* the precision-recall curve from the first threshold */
            }
            if (p.rc == EXIT_OK) {
                o = npsw_lines_opts_default();
                snprintf(title, sizeof title, "%s: %s", pr ? "Precision-recall" : "ROC", dn);
                char sub[256];
                snprintf(sub, sizeof sub,
                         "in library (%llu) vs not (%llu); search methods: top-1 score, "
                         "analysis: p_in_library",
                         (unsigned long long)ms[0]->curve.n_pos,
                         (unsigned long long)ms[0]->curve.n_neg);
                o.title = title;
                o.subtitle = sub;
                o.x_label = pr ? "recall (true-positive rate)" : "false-positive rate";
                o.y_label = pr ? "precision" : "true-positive rate";
                o.x_min = o.y_min = 0;
                o.x_max = o.y_max = 1;
                o.diagonal = !pr;
                snprintf(file, sizeof file, "%s_%s.png", dn, pr ? "pr" : "roc");
                plot(&p, file, s, nms, &o);
            }
            for (size_t i = 0; i < nms; i++) free(buf[i]);
        }
        /* score distributions: top-1 score (and p_in_library), in library vs not */
        for (size_t i = 0; i <= r->nm && p.rc == EXIT_OK; i++) {
            method_res *m = i < r->nm ? &r->m[i] : &r->anm;
            if (i == r->nm && !r->has_analysis) break;
            if (!m->has_score || (i < r->nm && !m->has_qps)) continue; /* external: any scale */
            double hx[HIST_BINS], hy[2][HIST_BINS];
            uint64_t cnt[2][HIST_BINS] = {{0}}, tot[2] = {0, 0};
            for (size_t q = 0; q < r->nq; q++) {
                if (!r->q[q].evaluated) continue;
                double v = m->top1[q];
                int b = (int)floor(v * HIST_BINS);
                if (b < 0) b = 0;
                if (b >= HIST_BINS) b = HIST_BINS - 1;
                cnt[r->q[q].in_lib][b]++;
                tot[r->q[q].in_lib]++;
            }
            size_t nsr = 0;
            npsw_series hs[2];
            char hn[2][64];
            for (int g = 1; g >= 0; g--) {
                if (!tot[g]) continue;
                for (int b = 0; b < HIST_BINS; b++) {
                    hx[b] = (b + 0.5) / HIST_BINS;
                    hy[g][b] = (double)cnt[g][b] / (double)tot[g];
                }
                snprintf(hn[g], sizeof hn[g], "%s (%llu)", g ? "in library" : "not in library",
                         (unsigned long long)tot[g]);
                hs[nsr++] = (npsw_series){hn[g], hx, hy[g], HIST_BINS, 1, 0};
            }
            o = npsw_lines_opts_default();
            snprintf(title, sizeof title, "%s distribution: %s, %s",
                     i < r->nm ? "Top-1 score" : "p_in_library", m->name, dn);
            o.title = title;
            o.subtitle = "share of the queries of each truth group per bin of width 0.05";
            o.x_label = i < r->nm ? "top-1 score" : "calibrated P(in library)";
            o.y_label = "share of queries";
            o.x_min = 0;
            o.x_max = 1;
            snprintf(file, sizeof file, "%s_scores_%s.png", dn, m->name);
            plot(&p, file, hs, nsr, &o);
        }
        /* throughput vs threads */
        ns = 0;
        for (size_t i = 0; i < r->nm && ns < NPSW_LINES_MAX_SERIES; i++) {
            if (!r->m[i].has_qps) continue;
            size_t n = 0;
            for (size_t t = 0; t < c->n_threads; t++)
                if (isfinite(r->m[i].qps[t])) { /* a batch too short to time has no rate */
                    xs[ns][n] = c->threads[t];
                    ys[ns][n++] = r->m[i].qps[t];
                }
            s[ns] = (npsw_series){r->m[i].name, xs[ns], ys[ns], n, 1, 0};
            ns++;
        }
        o = npsw_lines_opts_default();
        snprintf(title, sizeof title, "Search throughput: %s", dn);
        char sub[256];
        snprintf(sub, sizeof sub, "%zu queries, %llu library spectra, k = %u (in-library timing)",
                 r->nq, (unsigned long long)r->n_lib, c->ks[c->n_k - 1]);
        o.title = title;
        o.subtitle = sub;
        o.x_label = "threads";
        o.y_label = "queries per second";
        snprintf(file, sizeof file, "%s_throughput_threads.png", dn);
        plot(&p, file, s, ns, &o);
    }
    /* throughput vs library size: at the largest thread count, datasets by size */
    if (nr >= 2 && p.rc == EXIT_OK) {
        size_t ord[BENCH_MAX_DATASETS], ns = 0;
        for (size_t d = 0; d < nr; d++) ord[d] = d;
        for (size_t i = 1; i < nr; i++)
            for (size_t j = i; j > 0 && runs[ord[j - 1]].n_lib > runs[ord[j]].n_lib; j--) {
                size_t t = ord[j];
                ord[j] = ord[j - 1];
                ord[j - 1] = t;
            }
        size_t T = c->n_threads - 1;
        for (size_t mi = 0; mi < c->n_methods && ns < NPSW_LINES_MAX_SERIES; mi++) {
            size_t n = 0;
            for (size_t d = 0; d < nr && n < BENCH_MAX_LIST; d++) {
                dsrun *r = &runs[ord[d]];
                if (mi < r->nm && r->m[mi].has_qps && r->n_lib > 0 && isfinite(r->m[mi].qps[T])) {
                    xs[ns][n] = (double)r->n_lib;
                    ys[ns][n++] = r->m[mi].qps[T];
                }
            }
            s[ns] = (npsw_series){npsw_score_name((npsw_score_kind)c->methods[mi]), xs[ns], ys[ns],
                                  n, 1, 0};
            ns++;
        }
        npsw_lines_opts o = npsw_lines_opts_default();
        char sub[128];
        snprintf(sub, sizeof sub, "%u thread%s, one point per dataset", c->threads[T],
                 c->threads[T] == 1 ? "" : "s");
        o.title = "Search throughput vs library size";
        o.subtitle = sub;
        o.x_label = "library spectra";
        o.y_label = "queries per second";
        o.x_log = 1;
        plot(&p, "throughput_size.png", s, ns, &o);
    }
    return p.rc;
}

/* ---- the command -------------------------------------------------------------------------- */

static int make_dir(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode)) return EXIT_OK;
        cli_msg("bench: %s exists and is not a directory", dir);
        return EXIT_INPUT;
    }
    if (mkdir(dir, 0777) != 0) {
        cli_msg("bench: cannot create %s: %s", dir, strerror(errno));
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

enum { OPT_NO_PLOTS = OPT_CLI_LAST };

int cmd_bench(int argc, char **argv)
{
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"no-plots", no_argument, NULL, OPT_NO_PLOTS},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *outdir = NULL;
    int plots = 1, ch;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o': outdir = optarg; break;
        case OPT_NO_PLOTS: plots = 0; break;
        case 'h': help(stdout); return EXIT_OK;
        default: help(stderr); return EXIT_INPUT;
        }
    }
    if (optind != argc - 1 || !outdir) {
        cli_msg("bench: expected one CONFIG file and -o DIR");
        help(stderr);
        return EXIT_INPUT;
    }
    const char *cfgpath = argv[optind];
    bench_config *c = calloc(1, sizeof *c);
    dsrun *runs = NULL;
    if (!c) {
        cli_msg("bench: out of memory");
        return EXIT_INTERNAL;
    }
    int rc = bench_config_load(cfgpath, c);
    if (rc != EXIT_OK) {
        free(c);
        return rc;
    }
    if ((rc = make_dir(outdir)) != EXIT_OK) goto done;
    if (!(runs = calloc(c->n_ds, sizeof *runs))) {
        cli_msg("bench: out of memory");
        rc = EXIT_INTERNAL;
        goto done;
    }
    char utc[32];
    npsw_utc_now(utc);
    for (size_t d = 0; d < c->n_ds && rc == EXIT_OK; d++) {
        dsrun *r = &runs[d];
        r->ds = &c->ds[d];
        cli_msg("bench: dataset %s: library %s", r->ds->name, r->ds->library);
        if ((rc = load_library(r)) != EXIT_OK) break;
        if ((rc = load_queries(r)) != EXIT_OK) break;
        for (size_t i = 0; i < r->nq; i++) {
            r->n_eval += (size_t)r->q[i].evaluated;
            r->n_in += (size_t)(r->q[i].evaluated && r->q[i].in_lib);
        }
        cli_msg("bench: dataset %s: %llu library spectra (%s in %.2f s), %zu queries, %zu with "
                "truth, %zu of them in the library",
                r->ds->name, (unsigned long long)r->n_lib, r->built ? "built" : "opened",
                r->build_s, r->nq, r->n_eval, r->n_in);
        if (r->truth_unmatched)
            cli_msg("warning: %s: %zu truth rows name no query", r->ds->truth, r->truth_unmatched);
        if (!r->n_eval) {
            cli_msg("bench: dataset %s: no query has a truth row: nothing to measure (check the "
                    "query_index / query_accession column of %s)",
                    r->ds->name, r->ds->truth ? r->ds->truth : "the truth");
            rc = EXIT_INPUT;
            break;
        }
        for (size_t i = 0; i < c->n_methods && rc == EXIT_OK; i++)
            rc = run_search(r, c, c->methods[i], &r->m[r->nm++]);
        for (size_t i = 0; i < r->ds->n_ext && rc == EXIT_OK; i++)
            rc = run_external(r, c, &r->ds->ext[i], &r->m[r->nm++]);
        if (rc == EXIT_OK && c->analysis) rc = run_analysis(r, c);
        r->rss_after = peak_rss_mib();
    }
    if (rc == EXIT_OK) rc = write_tables(c, runs, c->n_ds, outdir, cfgpath, utc);
    if (rc == EXIT_OK && plots) rc = write_plots(c, runs, c->n_ds, outdir, utc);
    if (rc == EXIT_OK) {
        /* a short summary on stderr */
        for (size_t d = 0; d < c->n_ds; d++)
            for (size_t i = 0; i < runs[d].nm; i++)
                cli_msg("bench: %s %s: recall@%u %.3f, @%u %.3f", runs[d].ds->name,
                        runs[d].m[i].name, c->ks[0], recall_of(&runs[d], &runs[d].m[i], c->ks[0]),
                        c->ks[c->n_k - 1],
                        recall_of(&runs[d], &runs[d].m[i], c->ks[c->n_k - 1]));
        cli_msg("bench: results in %s", outdir);
    }
done:
    if (runs)
        for (size_t d = 0; d < c->n_ds; d++) dsrun_free(&runs[d]);
    free(runs);
    bench_config_free(c);
    free(c);
    return rc;
}
