/* search_stats.c - in-library timing of the exact search, with its pruning statistics.
 *
 * usage: npsw_search_stats -l LIB.h5 [options] QUERIES
 *   --score S        mf (default), rmf, cosine, entropy
 *   -k K             hits per query (default 5)
 *   --threads N      OpenMP threads (default 2)
 *   --mode M         indexed (npsw_search, default), brute (npsw_search_brute, the scalar
 *                    scorer on every library spectrum) or both (indexed, then brute, and the hit
 *                    lists compared: same indices, bit-identical scores)
 *   --max-queries N  only the first N query spectra
 *   --repeat R       time at least R runs and report the fastest (default 1)
 *   --min-time S     keep repeating until the timed runs add up to at least S seconds (default
 *                    0), so a fast search is not timed on a few milliseconds; fastest reported
 *   --dump FILE      write the hit lists of the indexed search (the last run) to FILE, one line
 *                    per hit: query (1-based), rank, hit_index (1-based), score as a C99 hex float
 *                    (%a: bit-exact); for comparing thread counts and kernels (NPSW_SIMD)
 *   --label L        first column of the output (default: the library file name)
 *   --header         print the header line first
 *
 * The library is opened and the queries are read and cleaned (with the library's cleaning
 * options, as `npswatch search` does) before the clock starts, so only npsw_search /
 * npsw_search_brute is timed (including its per-call preparation of weight tables).
 * Prints one TSV line per timed mode:
 *   label mode score k threads lib_spectra queries seconds queries_per_s candidates_per_query
 *   scored_per_query candidate_frac scored_frac identical runs
 * candidate_frac = library spectra sharing a peak with the query / library size; scored_frac =
 * spectra fully scored after pruning / library size (both averaged over queries; 1 for brute).
 * identical: "yes"/"no" on the brute line of --mode both, "-" otherwise. Exit 3 when not identical.
 * runs: how many timed runs the fastest was taken from.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "npsw/search.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: npsw_search_stats -l LIB.h5 [--score S] [-k K] [--threads N]\n"
               "         [--mode indexed|brute|both] [--max-queries N] [--repeat R]\n"
               "         [--min-time S] [--dump FILE] [--label L] [--header] QUERIES\n");
}

static void print_line(const char *label, const char *mode, const npsw_search_opts *o,
                       uint64_t nlib, size_t nq, double secs, double cand, double scored,
                       const char *identical, long runs)
{
    double nqd = nq ? (double)nq : 1, nld = nlib ? (double)nlib : 1;
    printf("%s\t%s\t%s\t%u\t%d\t%llu\t%zu\t%.6f\t%.1f\t%.1f\t%.1f\t%.6g\t%.6g\t%s\t%ld\n", label,
           mode, npsw_score_name(o->score), o->k, o->threads, (unsigned long long)nlib, nq, secs,
           secs > 0 ? (double)nq / secs : 0, cand / nqd, scored / nqd, cand / nqd / nld,
           scored / nqd / nld, identical, runs);
    fflush(stdout);
}

/* Compare two hit lists; prints the first difference. Returns 1 when identical. */
static int same_hits(size_t nq, uint32_t k, const npsw_hit *a, const uint32_t *na,
                     const npsw_hit *b, const uint32_t *nb)
{
    for (size_t q = 0; q < nq; q++) {
        if (na[q] != nb[q]) {
            fprintf(stderr, "search_stats: query %zu: %u indexed hits, %u brute-force hits\n", q + 1,
                    na[q], nb[q]);
            return 0;
        }
        for (uint32_t r = 0; r < na[q]; r++) {
            const npsw_hit *x = &a[q * k + r], *y = &b[q * k + r];
            if (x->index != y->index || x->score != y->score || x->all.mf != y->all.mf ||
                x->all.rmf != y->all.rmf || x->all.cosine != y->all.cosine ||
                x->all.entropy != y->all.entropy || x->all.n_matched != y->all.n_matched) {
                fprintf(stderr,
                        "search_stats: query %zu rank %u: indexed hit %llu score %.17g, brute-force "
                        "hit %llu score %.17g\n",
                        q + 1, r + 1, (unsigned long long)x->index + 1, x->score,
                        (unsigned long long)y->index + 1, y->score);
                return 0;
            }
        }
    }
    return 1;
}

/* The hit lists as text (bit-exact scores), for comparing runs. Returns 0 or -1. */
static int write_hits(const char *path, size_t nq, uint32_t k, const npsw_hit *h,
                      const uint32_t *nh)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "search_stats: cannot write %s\n", path);
        return -1;
    }
    for (size_t q = 0; q < nq; q++)
        for (uint32_t r = 0; r < nh[q]; r++)
            fprintf(f, "%zu\t%u\t%llu\t%a\n", q + 1, r + 1,
                    (unsigned long long)h[q * k + r].index + 1, h[q * k + r].score);
    if (fclose(f) != 0) {
        fprintf(stderr, "search_stats: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    enum { O_SCORE = 1000, O_THREADS, O_MODE, O_MAXQ, O_REPEAT, O_MINTIME, O_DUMP, O_LABEL, O_HEADER };
    static const struct option longopts[] = {
        {"library", required_argument, NULL, 'l'}, {"score", required_argument, NULL, O_SCORE},
        {"threads", required_argument, NULL, O_THREADS}, {"mode", required_argument, NULL, O_MODE},
        {"max-queries", required_argument, NULL, O_MAXQ},
        {"repeat", required_argument, NULL, O_REPEAT}, {"min-time", required_argument, NULL, O_MINTIME},
        {"dump", required_argument, NULL, O_DUMP}, {"label", required_argument, NULL, O_LABEL},
        {"header", no_argument, NULL, O_HEADER}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *libpath = NULL, *label = NULL, *mode = "indexed", *dump = NULL;
    double min_time = 0;
    npsw_search_opts o = npsw_search_opts_default();
    o.threads = 2;
    long maxq = 0, repeat = 1;
    int header = 0, c;
    while ((c = getopt_long(argc, argv, "l:k:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': libpath = optarg; break;
        case 'k': o.k = (uint32_t)atol(optarg); break;
        case O_SCORE: {
            int s = npsw_score_from_name(optarg);
            if (s < 0) {
                fprintf(stderr, "search_stats: unknown score '%s'\n", optarg);
                return 1;
            }
            o.score = (npsw_score_kind)s;
            break;
        }
        case O_THREADS: o.threads = atoi(optarg); break;
        case O_MODE: mode = optarg; break;
        case O_MAXQ: maxq = atol(optarg); break;
        case O_REPEAT: repeat = atol(optarg); break;
        case O_MINTIME: min_time = atof(optarg); break;
        case O_DUMP: dump = optarg; break;
        case O_LABEL: label = optarg; break;
        case O_HEADER: header = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    int do_indexed = !strcmp(mode, "indexed") || !strcmp(mode, "both");
    int do_brute = !strcmp(mode, "brute") || !strcmp(mode, "both");
    if (!libpath || optind != argc - 1 || (!do_indexed && !do_brute) || repeat < 1 || maxq < 0 ||
        o.threads < 1 || !(min_time >= 0)) {
        usage(stderr);
        return 1;
    }
    if (!label) {
        const char *s = strrchr(libpath, '/');
        label = s ? s + 1 : libpath;
    }
    npsw_err e;
    npsw_err_clear(&e);
    if (npsw_search_opts_check(&o, &e) < 0) {
        fprintf(stderr, "search_stats: %s\n", e.msg);
        return 1;
    }
    npsw_lib *lib = bench_open_lib(libpath);
    if (!lib) return 2;
    npsw_spectra qs;
    if (bench_load_queries(argv[optind], lib, (size_t)maxq, &qs) < 0) {
        npsw_lib_free(lib);
        return 1;
    }
    size_t nq = qs.n;
    uint64_t nlib = npsw_lib_size(lib);
    npsw_hit *hi = malloc((nq ? nq : 1) * o.k * sizeof *hi);
    npsw_hit *hb = malloc((nq ? nq : 1) * o.k * sizeof *hb);
    uint32_t *ni = calloc(nq ? nq : 1, sizeof *ni), *nb = calloc(nq ? nq : 1, sizeof *nb);
    if (!hi || !hb || !ni || !nb) {
        fprintf(stderr, "search_stats: out of memory\n");
        return 2;
    }
    if (header)
        printf("label\tmode\tscore\tk\tthreads\tlib_spectra\tqueries\tseconds\tqueries_per_s\t"
               "candidates_per_query\tscored_per_query\tcandidate_frac\tscored_frac\tidentical\t"
               "runs\n");
    int rc = 0;
    if (do_indexed) {
        double best = -1, total = 0;
        long runs = 0;
        npsw_search_stats st;
        memset(&st, 0, sizeof st);
        while (runs < repeat || total < min_time) {
            double t0 = bench_now();
            if (npsw_search(lib, qs.v, nq, &o, hi, ni, &st, &e) < 0) {
                fprintf(stderr, "search_stats: npsw_search: %s\n", e.msg);
                return 2;
            }
            double dt = bench_now() - t0;
            if (best < 0 || dt < best) best = dt;
            total += dt;
            runs++;
        }
        print_line(label, "indexed", &o, nlib, nq, best, (double)st.n_candidates,
                   (double)st.n_scored, "-", runs);
        if (dump && write_hits(dump, nq, o.k, hi, ni) < 0) return 2;
    }
    if (do_brute) {
        double best = -1, total = 0;
        long runs = 0;
        while (runs < repeat || total < min_time) {
            double t0 = bench_now();
            if (npsw_search_brute(lib, qs.v, nq, &o, 0, hb, nb, &e) < 0) {
                fprintf(stderr, "search_stats: npsw_search_brute: %s\n", e.msg);
                return 2;
            }
            double dt = bench_now() - t0;
            if (best < 0 || dt < best) best = dt;
            total += dt;
            runs++;
        }
        const char *ident = "-";
        if (do_indexed) {
            int same = same_hits(nq, o.k, hi, ni, hb, nb);
            ident = same ? "yes" : "no";
            if (!same) rc = 3;
        }
        double all = (double)nlib * (double)nq;
        print_line(label, "brute", &o, nlib, nq, best, all, all, ident, runs);
    }
    free(hi);
    free(hb);
    free(ni);
    free(nb);
    npsw_spectra_free(&qs);
    npsw_lib_free(lib);
    return rc;
}
