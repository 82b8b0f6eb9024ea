/* hybrid_bench.c - in-library timing of the exact hybrid (analogue) search against its brute
 * force, measured in the same run (bench/README.md, "Hybrid search").
 *
 * usage: npsw_hybrid_bench -l LIBRARY [options] QUERIES
 *   -l LIBRARY        an npswatch library (.h5) or spectra (MSP, MGF, ...) built in memory with
 *                     the default (nominal EI) cleaning; spectra need an MW (or precursor) line
 *   -k K              hits per query (default 5)
 *   --threads LIST    thread counts of the fast search, comma-separated (default 1,2)
 *   --brute-queries N queries for the brute-force comparison (default 50; 0 = all); the fast
 *                     search is timed again on the same queries, with the largest thread count
 *   --max-queries N   only the first N query spectra
 *   --repeat R        time R runs of each fast search and report the fastest (default 3)
 *   --label L         first column of the output (default: the library file name)
 *
 * Queries are read and cleaned with the library's cleaning options before the clock starts.
 * Timed: npsw_analogue_index_new() alone (`index_build`); npsw_analogue_search() whole, which
 * builds the index first (`fast`); npsw_analogue_search_index() with an index built beforehand
 * (`fast_prepared`); each for every thread count, the fastest of --repeat runs. Prints TSV lines
 *   label what threads queries seconds value unit
 * what: library_spectra, index_build (seconds), fast, fast_prepared (queries/s), scored_frac (hybrid scores
 * computed / (library spectrum, query mass) pairs within max_delta, i.e. those the brute force
 * computes), pairs_per_query, scored_per_query, postings_per_query, exhaustive_queries,
 * identical_threads (fast hits equal for every thread count, yes=1), then on the first
 * --brute-queries queries with the largest thread count: fast_subset, fast_subset_prepared,
 * brute_subset (queries/s), ratio_fast_brute (brute time / prepared fast time),
 * ratio_fast_brute_batch (brute time / fast time including the index build) and
 * identical_brute (fast == brute: same hits, order, scores, masses, deltas and pair counts, bit
 * for bit, yes=1). Exit 3 when not identical.
 */
#include <getopt.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "npsw/analogue.h"

static npsw_lib *load_library(const char *path)
{
    size_t len = strlen(path);
    if (len > 3 && !strcmp(path + len - 3, ".h5")) return bench_open_lib(path);
    npsw_read_opts ro = npsw_read_opts_default();
    npsw_spectra sp = {0};
    npsw_err e;
    npsw_err_clear(&e);
    if (npsw_read_file(path, &ro, 0, &sp, NULL, &e) < 0) {
        char buf[1024];
        fprintf(stderr, "hybrid_bench: %s\n", npsw_err_format(&e, buf, sizeof buf));
        return NULL;
    }
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_lib *lib = npsw_lib_build(sp.v, sp.n, &co, path, "bench", NULL, 0, NULL, &e);
    if (!lib) fprintf(stderr, "hybrid_bench: building %s: %s\n", path, e.msg);
    npsw_spectra_free(&sp);
    return lib;
}

static int same_hit(const npsw_analogue_hit *a, const npsw_analogue_hit *b)
{
    return a->index == b->index && a->query_mass == b->query_mass && a->delta == b->delta &&
           a->hybrid.score == b->hybrid.score && a->hybrid.n_direct == b->hybrid.n_direct &&
           a->hybrid.n_shifted == b->hybrid.n_shifted;
}

/* 1 when the two hit lists are equal bit for bit; prints the first difference. */
static int same_lists(const char *what, size_t nq, uint32_t k, const npsw_analogue_hit *a,
                      const uint32_t *na, const npsw_analogue_hit *b, const uint32_t *nb)
{
    for (size_t q = 0; q < nq; q++) {
        if (na[q] != nb[q]) {
            fprintf(stderr, "hybrid_bench: %s: query %zu: %u vs %u hits\n", what, q + 1, na[q], nb[q]);
            return 0;
        }
        for (uint32_t r = 0; r < na[q]; r++)
            if (!same_hit(&a[q * k + r], &b[q * k + r])) {
                fprintf(stderr, "hybrid_bench: %s: query %zu rank %u: %llu %.17g vs %llu %.17g\n",
                        what, q + 1, r + 1, (unsigned long long)a[q * k + r].index + 1,
                        a[q * k + r].hybrid.score, (unsigned long long)b[q * k + r].index + 1,
                        b[q * k + r].hybrid.score);
                return 0;
            }
    }
    return 1;
}

static void line(const char *label, const char *what, int threads, size_t nq, double secs,
                 double value, const char *unit)
{
    printf("%s\t%s\t%d\t%zu\t%.4f\t%.6g\t%s\n", label, what, threads, nq, secs, value, unit);
    fflush(stdout);
}

/* Fastest of `repeat` runs of the batch search (with the prepared index ix, or building its
 * own when ix is NULL); hits, counts and statistics of the last. */
static double time_fast(const npsw_lib *lib, const npsw_analogue_index *ix,
                        const npsw_spectrum *q, size_t nq, const npsw_analogue_opts *o,
                        int threads, long repeat, npsw_analogue_hit *hits, uint32_t *nh,
                        npsw_analogue_stats *st)
{
    double best = -1;
    for (long r = 0; r < repeat; r++) {
        npsw_err e;
        npsw_err_clear(&e);
        double t0 = bench_now();
        int rc = ix ? npsw_analogue_search_index(ix, q, nq, o, threads, hits, nh, st, &e)
                    : npsw_analogue_search(lib, q, nq, o, threads, hits, nh, st, &e);
        if (rc < 0) {
            fprintf(stderr, "hybrid_bench: search: %s\n", e.msg);
            exit(2);
        }
        double dt = bench_now() - t0;
        if (best < 0 || dt < best) best = dt;
    }
    return best;
}

/* A prepared index (timed: the fastest of `repeat` builds, the last one kept). */
static npsw_analogue_index *build_index(const npsw_lib *lib, const npsw_analogue_opts *o,
                                        int threads, long repeat, double *secs)
{
    npsw_analogue_index *ix = NULL;
    double best = -1;
    for (long r = 0; r < repeat; r++) {
        npsw_analogue_index_free(ix);
        npsw_err e;
        npsw_err_clear(&e);
        double t0 = bench_now();
        ix = npsw_analogue_index_new(lib, o, threads, &e);
        double dt = bench_now() - t0;
        if (!ix) {
            fprintf(stderr, "hybrid_bench: index: %s\n", e.msg);
            exit(2);
        }
        if (best < 0 || dt < best) best = dt;
    }
    *secs = best;
    return ix;
}

int main(int argc, char **argv)
{
    enum { O_THREADS = 1000, O_BRUTEQ, O_MAXQ, O_REPEAT, O_LABEL };
    static const struct option longopts[] = {
        {"library", required_argument, NULL, 'l'}, {"threads", required_argument, NULL, O_THREADS},
        {"brute-queries", required_argument, NULL, O_BRUTEQ},
        {"max-queries", required_argument, NULL, O_MAXQ},
        {"repeat", required_argument, NULL, O_REPEAT}, {"label", required_argument, NULL, O_LABEL},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *libpath = NULL, *label = NULL, *tlist = "1,2";
    npsw_analogue_opts o = npsw_analogue_opts_default();
    long maxq = 0, bruteq = 50, repeat = 3;
    int c;
    while ((c = getopt_long(argc, argv, "l:k:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': libpath = optarg; break;
        case 'k': o.k = (uint32_t)atol(optarg); break;
        case O_THREADS: tlist = optarg; break;
        case O_BRUTEQ: bruteq = atol(optarg); break;
        case O_MAXQ: maxq = atol(optarg); break;
        case O_REPEAT: repeat = atol(optarg); break;
        case O_LABEL: label = optarg; break;
        case 'h':
            printf("usage: npsw_hybrid_bench -l LIBRARY [-k K] [--threads 1,2] [--brute-queries N]\n"
                   "         [--max-queries N] [--repeat R] [--label L] QUERIES\n");
            return 0;
        default: return 1;
        }
    }
    int threads[16], nthr = 0;
    for (const char *p = tlist; *p && nthr < 16;) {
        threads[nthr++] = atoi(p);
        p = strchr(p, ',');
        if (!p) break;
        p++;
    }
    if (!libpath || optind != argc - 1 || o.k < 1 || o.k > 1000 || repeat < 1 || maxq < 0 ||
        bruteq < 0 || nthr == 0) {
        fprintf(stderr, "usage: npsw_hybrid_bench -l LIBRARY [options] QUERIES (see --help)\n");
        return 1;
    }
    for (int i = 0; i < nthr; i++)
        if (threads[i] < 1) {
            fprintf(stderr, "hybrid_bench: bad thread count in %s\n", tlist);
            return 1;
        }
    if (!label) {
        const char *s = strrchr(libpath, '/');
        label = s ? s + 1 : libpath;
    }
    npsw_lib *lib = load_library(libpath);
    if (!lib) return 2;
    npsw_spectra qs;
    if (bench_load_queries(argv[optind], lib, (size_t)maxq, &qs) < 0) return 1;
    size_t nq = qs.n, k = o.k;
    int tmax = threads[0];
    for (int i = 1; i < nthr; i++)
        if (threads[i] > tmax) tmax = threads[i];
    npsw_analogue_hit *h0 = malloc((nq ? nq : 1) * k * sizeof *h0);
    npsw_analogue_hit *h1 = malloc((nq ? nq : 1) * k * sizeof *h1);
    uint32_t *n0 = calloc(nq ? nq : 1, sizeof *n0), *n1 = calloc(nq ? nq : 1, sizeof *n1);
    if (!h0 || !h1 || !n0 || !n1) {
        fprintf(stderr, "hybrid_bench: out of memory\n");
        return 2;
    }
    line(label, "library_spectra", 0, nq, 0, (double)npsw_lib_size(lib), "spectra");
    npsw_analogue_stats st;
    /* the fast search, every thread count, without and with a prepared index; the hits must
     * not depend on the thread count */
    int ident_thr = 1;
    npsw_analogue_index *ix = NULL;
    for (int i = 0; i < nthr; i++) {
        double tb;
        npsw_analogue_index_free(ix);
        ix = build_index(lib, &o, threads[i], repeat, &tb);
        line(label, "index_build", threads[i], 0, tb, tb, "seconds");
        npsw_analogue_hit *h = i == 0 ? h0 : h1;
        uint32_t *nh = i == 0 ? n0 : n1;
        double dt = time_fast(lib, NULL, qs.v, nq, &o, threads[i], repeat, h, nh, &st);
        line(label, "fast", threads[i], nq, dt, dt > 0 ? (double)nq / dt : 0, "queries_per_s");
        if (i > 0 && !same_lists("threads", nq, o.k, h0, n0, h1, n1)) ident_thr = 0;
        dt = time_fast(lib, ix, qs.v, nq, &o, threads[i], repeat, h, nh, &st);
        line(label, "fast_prepared", threads[i], nq, dt, dt > 0 ? (double)nq / dt : 0,
             "queries_per_s");
        if (i > 0 && !same_lists("threads", nq, o.k, h0, n0, h1, n1)) ident_thr = 0;
        if (i == 0) {
            line(label, "scored_frac", threads[i], nq, 0,
                 st.n_pairs ? (double)st.n_scored / (double)st.n_pairs : 0, "fraction");
            line(label, "pairs_per_query", threads[i], nq, 0,
                 nq ? (double)st.n_pairs / (double)nq : 0, "pairs");
            line(label, "scored_per_query", threads[i], nq, 0,
                 nq ? (double)st.n_scored / (double)nq : 0, "pairs");
            line(label, "postings_per_query", threads[i], nq, 0,
                 nq ? (double)st.n_postings / (double)nq : 0, "postings");
            line(label, "exhaustive_queries", threads[i], nq, 0, (double)st.n_exhaustive,
                 "queries");
        }
    }
    line(label, "identical_threads", 0, nq, 0, ident_thr, "yes=1");
    /* brute force against the fast search on the same subset, with the most threads (and an
     * index built with them) */
    npsw_analogue_index_free(ix);
    double tb;
    ix = build_index(lib, &o, tmax, 1, &tb);
    size_t nsub = bruteq == 0 || (size_t)bruteq > nq ? nq : (size_t)bruteq;
    double tf = time_fast(lib, NULL, qs.v, nsub, &o, tmax, repeat, h0, n0, &st);
    line(label, "fast_subset", tmax, nsub, tf, tf > 0 ? (double)nsub / tf : 0, "queries_per_s");
    double tp = time_fast(lib, ix, qs.v, nsub, &o, tmax, repeat, h0, n0, &st);
    line(label, "fast_subset_prepared", tmax, nsub, tp, tp > 0 ? (double)nsub / tp : 0,
         "queries_per_s");
    double t0 = bench_now();
#pragma omp parallel for schedule(dynamic, 1) num_threads(tmax)
    for (size_t i = 0; i < nsub; i++)
        n1[i] = (uint32_t)npsw_analogue_candidates_brute(lib, &qs.v[i], &o, h1 + i * k);
    double tbr = bench_now() - t0;
    line(label, "brute_subset", tmax, nsub, tbr, tbr > 0 ? (double)nsub / tbr : 0,
         "queries_per_s");
    line(label, "ratio_fast_brute", tmax, nsub, 0, tp > 0 ? tbr / tp : 0, "x");
    line(label, "ratio_fast_brute_batch", tmax, nsub, 0, tf > 0 ? tbr / tf : 0, "x");
    int ident = same_lists("fast vs brute", nsub, o.k, h0, n0, h1, n1);
    line(label, "identical_brute", tmax, nsub, 0, ident, "yes=1");
    npsw_analogue_index_free(ix);
    free(h0);
    free(h1);
    free(n0);
    free(n1);
    npsw_spectra_free(&qs);
    npsw_lib_free(lib);
    return ident && ident_thr ? 0 : 3;
}
