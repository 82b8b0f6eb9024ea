/* dense_blas.c - dense baseline: top-K by NIST-weighted cosine with OpenBLAS cblas_dgemm.
 *
 * usage: npsw_dense_blas -l LIB.h5 [-k K] [--threads N] [--max-queries N] [--block B]
 *                        [--check] [--label L] [--header] QUERIES
 *
 * Every spectrum becomes a dense vector over nominal m/z 0..D-1 (D = largest m/z of library and
 * queries + 1) with weights sqrt(I x m/z) (NIST identity weights, npswatch's `cosine` score),
 * normalised to unit length. The library matrix L (n x D) is built once (prep_seconds, not in
 * the rate). Then, per block of B queries: the query block Q (B x D) is built, C = Q L^T is one
 * cblas_dgemm, and the top K of each row are picked (higher score, then lower library index,
 * scores > 0 only, as npswatch ranks). queries_per_s covers those three steps.
 * This is the "numpy + OpenBLAS" approach of shared/docs/targets.md, in C.
 *
 * --check also runs npsw_search (score cosine) and reports how many queries get the same top-1
 * index and the same top-K index list (rounding differs: dgemm sums in another order, so
 * near-ties may swap).
 * Output (TSV): label method score k threads lib_spectra queries seconds queries_per_s
 *               prep_seconds dim top1_agree topk_agree
 */
#include <cblas.h>
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "npsw/search.h"

typedef struct hit {
    double s;
    uint32_t i;
} hit;

/* a ranks before b */
static int before(const hit *a, const hit *b) { return a->s > b->s || (a->s == b->s && a->i < b->i); }

/* Top k of row c[0..n) into out (sorted best first); returns how many (scores > 0 only). */
static uint32_t top_k(const double *c, uint32_t n, uint32_t k, hit *out)
{
    uint32_t m = 0; /* out[0..m) sorted best first; insertion, k is small */
    for (uint32_t j = 0; j < n; j++) {
        if (!(c[j] > 0)) continue;
        hit h = {c[j], j};
        if (m == k && !before(&h, &out[m - 1])) continue;
        uint32_t p = m < k ? m++ : k - 1;
        while (p > 0 && before(&h, &out[p - 1])) {
            out[p] = out[p - 1];
            p--;
        }
        out[p] = h;
    }
    return m;
}

/* Dense unit vector of a spectrum (weights sqrt(I mz)). */
static void densify(const double *mz, const float *in, uint32_t n, double *row, size_t dim)
{
    memset(row, 0, dim * sizeof *row);
    double ss = 0;
    for (uint32_t p = 0; p < n; p++) {
        long m = lround(mz[p]);
        if (m < 0 || (size_t)m >= dim) continue;
        double w = sqrt((double)in[p] * mz[p]);
        row[m] += w;
        ss += w * w;
    }
    if (ss > 0) {
        double inv = 1 / sqrt(ss);
        for (size_t d = 0; d < dim; d++) row[d] *= inv;
    }
}

int main(int argc, char **argv)
{
    enum { O_THREADS = 1000, O_MAXQ, O_BLOCK, O_CHECK, O_LABEL, O_HEADER };
    static const struct option longopts[] = {
        {"library", required_argument, NULL, 'l'}, {"threads", required_argument, NULL, O_THREADS},
        {"max-queries", required_argument, NULL, O_MAXQ},
        {"block", required_argument, NULL, O_BLOCK}, {"check", no_argument, NULL, O_CHECK},
        {"label", required_argument, NULL, O_LABEL}, {"header", no_argument, NULL, O_HEADER},
        {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    const char *libpath = NULL, *label = NULL;
    long k = 5, threads = 2, maxq = 0, block = 256;
    int check = 0, header = 0, c;
    while ((c = getopt_long(argc, argv, "l:k:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': libpath = optarg; break;
        case 'k': k = atol(optarg); break;
        case O_THREADS: threads = atol(optarg); break;
        case O_MAXQ: maxq = atol(optarg); break;
        case O_BLOCK: block = atol(optarg); break;
        case O_CHECK: check = 1; break;
        case O_LABEL: label = optarg; break;
        case O_HEADER: header = 1; break;
        case 'h':
        default:
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: npsw_dense_blas -l LIB.h5 [-k K] [--threads N] [--max-queries N] "
                    "[--block B] [--check] [--label L] [--header] QUERIES\n");
            return c == 'h' ? 0 : 1;
        }
    }
    if (!libpath || optind != argc - 1 || k < 1 || k > NPSW_MAX_K || threads < 1 || block < 1 ||
        maxq < 0)
        return fprintf(stderr, "npsw_dense_blas: bad arguments (see --help)\n"), 1;
    if (!label) {
        const char *s = strrchr(libpath, '/');
        label = s ? s + 1 : libpath;
    }
    openblas_set_num_threads((int)threads);
    omp_set_num_threads((int)threads);
    npsw_lib *lib = bench_open_lib(libpath);
    if (!lib) return 2;
    npsw_spectra qs;
    if (bench_load_queries(argv[optind], lib, (size_t)maxq, &qs) < 0) return 1;
    const size_t nq = qs.n;
    const uint32_t n = (uint32_t)npsw_lib_size(lib);
    if (!npsw_lib_get_info(lib)->clean.nominal)
        return fprintf(stderr, "npsw_dense_blas: nominal-mass libraries only\n"), 1;
    /* dimension */
    size_t dim = 1;
    for (uint32_t s = 0; s < n; s++) {
        npsw_peaks p = npsw_lib_peaks(lib, s);
        if (p.n && (size_t)lround(p.mz[p.n - 1]) + 1 > dim) dim = (size_t)lround(p.mz[p.n - 1]) + 1;
    }
    for (size_t q = 0; q < nq; q++)
        if (qs.v[q].n && (size_t)lround(qs.v[q].mz[qs.v[q].n - 1]) + 1 > dim)
            dim = (size_t)lround(qs.v[q].mz[qs.v[q].n - 1]) + 1;
    double t0 = bench_now();
    double *L = malloc((size_t)n * dim * sizeof *L);
    double *Q = malloc((size_t)block * dim * sizeof *Q);
    double *C = malloc((size_t)block * n * sizeof *C);
    hit *hits = malloc((nq ? nq : 1) * (size_t)k * sizeof *hits);
    uint32_t *nh = calloc(nq ? nq : 1, sizeof *nh);
    if (!L || !Q || !C || !hits || !nh)
        return fprintf(stderr, "npsw_dense_blas: out of memory (%u x %zu)\n", n, dim), 2;
#pragma omp parallel for schedule(static)
    for (uint32_t s = 0; s < n; s++) {
        npsw_peaks p = npsw_lib_peaks(lib, s);
        densify(p.mz, p.in, p.n, L + (size_t)s * dim, dim);
    }
    double prep = bench_now() - t0;
    t0 = bench_now();
    for (size_t q0 = 0; q0 < nq; q0 += (size_t)block) {
        size_t b = nq - q0 < (size_t)block ? nq - q0 : (size_t)block;
#pragma omp parallel for schedule(static)
        for (size_t r = 0; r < b; r++) {
            const npsw_spectrum *sp = &qs.v[q0 + r];
            densify(sp->mz, sp->intensity, sp->n, Q + r * dim, dim);
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, (int)n, (int)dim, 1.0, Q,
                    (int)dim, L, (int)dim, 0.0, C, (int)n);
#pragma omp parallel for schedule(static)
        for (size_t r = 0; r < b; r++)
            nh[q0 + r] = top_k(C + r * n, n, (uint32_t)k, hits + (q0 + r) * (size_t)k);
    }
    double secs = bench_now() - t0;
    char agree1[32] = "-", agreek[32] = "-";
    if (check) {
        npsw_search_opts o = npsw_search_opts_default();
        o.k = (uint32_t)k;
        o.score = NPSW_SCORE_COSINE;
        o.threads = (int)threads;
        npsw_hit *h = malloc((nq ? nq : 1) * (size_t)k * sizeof *h);
        uint32_t *nn = calloc(nq ? nq : 1, sizeof *nn);
        npsw_err e;
        npsw_err_clear(&e);
        if (!h || !nn || npsw_search(lib, qs.v, nq, &o, h, nn, NULL, &e) < 0)
            return fprintf(stderr, "npsw_dense_blas: npsw_search failed: %s\n", e.msg), 2;
        size_t a1 = 0, ak = 0;
        for (size_t q = 0; q < nq; q++) {
            int same1 = nn[q] == 0 ? nh[q] == 0 : nh[q] > 0 && hits[q * k].i == h[q * k].index;
            int samek = nn[q] == nh[q];
            for (uint32_t r = 0; samek && r < nn[q]; r++)
                samek = hits[q * k + r].i == h[q * k + r].index;
            a1 += (size_t)same1;
            ak += (size_t)samek;
        }
        snprintf(agree1, sizeof agree1, "%zu/%zu", a1, nq);
        snprintf(agreek, sizeof agreek, "%zu/%zu", ak, nq);
        free(h);
        free(nn);
    }
    if (header)
        printf("label\tmethod\tscore\tk\tthreads\tlib_spectra\tqueries\tseconds\tqueries_per_s\t"
               "prep_seconds\tdim\ttop1_agree\ttopk_agree\n");
    printf("%s\tdense_blas\tcosine\t%ld\t%ld\t%u\t%zu\t%.4f\t%.1f\t%.4f\t%zu\t%s\t%s\n", label, k,
           threads, n, nq, secs, secs > 0 ? (double)nq / secs : 0, prep, dim, agree1, agreek);
    free(L);
    free(Q);
    free(C);
    free(hits);
    free(nh);
    npsw_spectra_free(&qs);
    npsw_lib_free(lib);
    return 0;
}
