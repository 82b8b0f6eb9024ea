/* prune_oracle.c - how much could any exact pruning save for the wmf score? An oracle study.
 *
 * usage: npsw_prune_oracle -l LIB.h5 [-k K] [--max-queries N] QUERIES
 *
 * For each query it finds the exact K-th best wmf score theta (npsw_search), then decomposes the
 * score of EVERY library spectrum into its parts (n1 counted pairs, t1 the squared cosine term,
 * n2 ratio terms, F_R their m/z-weighted mean; MF = (n1 t1 + n2 F_R) / (n1 + n2)) and counts, per
 * query, the spectra that an exact search would still have to score fully if it knew some parts
 * exactly and only bounded the others:
 *   exact           MF >= theta (the unavoidable ones, about K)
 *   t1<=T           n1, n2, F_R exact, t1 known only as max(t1, T) for T = 0.05, 0.1, 0.15
 *   FR<=1           n1, n2, t1 exact, F_R only bounded by 1
 *   n1=n2+1         n2, F_R, t1 exact, n1 only bounded below by n2 + 1
 *   t1 only         t1 >= theta
 * Prints one TSV line of averages per query set. Measures, not a test; see docs/algorithms.md,
 * "Exact search" for what the numbers mean.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "npsw/search.h"

typedef struct parts {
    double ul, uu, ll, srm, sm, prev_u, prev_l;
    int chain;
    unsigned n1, n2;
} parts;

static void both(parts *a, double mz, double iu, double il, double wu, double wl, double thr)
{
    if (!(iu > thr || il > thr)) return;
    a->ul += wu * wl;
    a->uu += wu * wu;
    a->ll += wl * wl;
    a->n1++;
    double ru = sqrt(iu), rl = sqrt(il);
    if (a->chain) {
        double num = ru * a->prev_l, den = a->prev_u * rl;
        a->srm += mz * (num < den ? num / den : den / num);
        a->sm += mz;
        a->n2++;
    }
    a->chain = 1;
    a->prev_u = ru;
    a->prev_l = rl;
}

/* wmf parts of a nominal pair (same rules as npsw_score_pair; integer m/z) */
static void wmf_parts(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p, parts *a)
{
    memset(a, 0, sizeof *a);
    const double thr = p->ignore_at_or_below, ip = p->int_power, mp = p->wmf_mz_power;
    const double lo = q->mz[0] > l->mz[0] ? q->mz[0] : l->mz[0];
    uint32_t i = 0, j = 0;
    while (i < q->n || j < l->n) {
        double mq = i < q->n ? q->mz[i] : INFINITY, ml = j < l->n ? l->mz[j] : INFINITY;
        if (mq == ml) {
            if (mq >= lo)
                both(a, mq, q->in[i], l->in[j], npsw_weight(q->in[i], mq, ip, mp),
                     npsw_weight(l->in[j], ml, ip, mp), thr);
            i++, j++;
        } else if (mq < ml) {
            if (mq >= lo && q->in[i] > thr) {
                double w = npsw_weight(q->in[i], mq, ip, mp);
                a->chain = 0;
                a->uu += w * w;
            }
            i++;
        } else {
            if (ml >= lo && l->in[j] > thr) {
                double w = npsw_weight(l->in[j], ml, ip, mp);
                a->chain = 0;
                a->ll += w * w;
            }
            j++;
        }
    }
}

static double composite(double n1, double t1, double n2, double fr)
{
    return n2 > 0 ? (n1 * t1 + n2 * fr) / (n1 + n2) : t1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"library", required_argument, NULL, 'l'},
                                              {"max-queries", required_argument, NULL, 'm'},
                                              {NULL, 0, NULL, 0}};
    const char *libpath = NULL;
    long maxq = 200;
    npsw_search_opts o = npsw_search_opts_default();
    o.score = NPSW_SCORE_WMF;
    int c;
    while ((c = getopt_long(argc, argv, "l:k:", longopts, NULL)) != -1) {
        if (c == 'l') libpath = optarg;
        else if (c == 'k') o.k = (uint32_t)atol(optarg);
        else if (c == 'm') maxq = atol(optarg);
        else return 1;
    }
    if (!libpath || optind != argc - 1 || o.k < 1 || o.k > NPSW_MAX_K) {
        fprintf(stderr, "usage: npsw_prune_oracle -l LIB.h5 [-k K] [--max-queries N] QUERIES\n");
        return 1;
    }
    npsw_lib *lib = bench_open_lib(libpath);
    if (!lib) return 2;
    npsw_spectra qs;
    if (bench_load_queries(argv[optind], lib, (size_t)maxq, &qs) < 0) return 1;
    npsw_hit *h = malloc((qs.n ? qs.n : 1) * o.k * sizeof *h);
    uint32_t *nh = calloc(qs.n ? qs.n : 1, sizeof *nh);
    npsw_err e;
    if (!h || !nh || npsw_search(lib, qs.v, qs.n, &o, h, nh, NULL, &e) < 0) {
        fprintf(stderr, "prune_oracle: search failed\n");
        return 2;
    }
    npsw_score_params sp = o.params;
    sp.nominal = 1;
    static const double tb[3] = {0.05, 0.1, 0.15};
    double exact = 0, t1b[3] = {0, 0, 0}, fr1 = 0, n1b = 0, t1only = 0, theta_sum = 0, nq = 0;
    for (size_t qi = 0; qi < qs.n; qi++) {
        if (!qs.v[qi].n || nh[qi] < o.k) continue;
        double theta = h[qi * o.k + o.k - 1].score;
        npsw_peaks q = {qs.v[qi].mz, qs.v[qi].intensity, qs.v[qi].n};
        nq++;
        theta_sum += theta;
        for (uint64_t s = 0; s < npsw_lib_size(lib); s++) {
            npsw_peaks l = npsw_lib_peaks(lib, s);
            if (!l.n) continue;
            parts a;
            wmf_parts(&q, &l, &sp, &a);
            if (!a.n1 || !(a.uu > 0) || !(a.ll > 0)) continue;
            double t1 = a.ul * a.ul / (a.uu * a.ll), fr = a.sm > 0 ? a.srm / a.sm : 0;
            if (t1 > 1) t1 = 1;
            double n2 = a.sm > 0 ? a.n2 : 0;
            exact += composite(a.n1, t1, n2, fr) >= theta;
            for (int b = 0; b < 3; b++) t1b[b] += composite(a.n1, t1 > tb[b] ? t1 : tb[b], n2, fr) >= theta;
            fr1 += composite(a.n1, t1, n2, 1) >= theta;
            double lo = n2 > 0 ? n2 + 1 : a.n1;
            double b1 = composite(lo, t1, n2, fr);
            n1b += (b1 > t1 ? b1 : t1) >= theta;
            t1only += t1 >= theta;
        }
    }
    if (nq == 0) nq = 1;
    printf("library\tqueries\tk\tmean_theta\texact\tt1<=0.05\tt1<=0.1\tt1<=0.15\tFR<=1\tn1=n2+1\tt1_only\n");
    printf("%s\t%.0f\t%u\t%.3f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\n", libpath, nq, o.k,
           theta_sum / nq, exact / nq, t1b[0] / nq, t1b[1] / nq, t1b[2] / nq, fr1 / nq, n1b / nq,
           t1only / nq);
    free(h);
    free(nh);
    npsw_spectra_free(&qs);
    npsw_lib_free(lib);
    return 0;
}
