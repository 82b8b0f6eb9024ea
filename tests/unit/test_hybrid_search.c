/* test_hybrid_search.c - the fast hybrid (analogue) search returns exactly the brute force's
 * hits: npsw_analogue_search(), npsw_analogue_search_index() and npsw_analogue_candidates()
 * against npsw_analogue_candidates_brute(), bit for bit (same spectra, order, scores, query
 * masses, deltas and pair counts), for several k and thread counts, on real data (SWGDRUG 3.4 x
 * MassBank EI, skipped when ../shared/data is absent), on the bundled DEA records with
 * constructed analogues, on adversarial synthetic libraries (ties, identical and single-peak
 * spectra, spectra without MW, empty queries, queries without a mass, spectra the postings
 * cannot represent) and on accurate-mass libraries. Also the sort-free nominal scorer against
 * npsw_hybrid_score(). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hybrid_internal.h"
#include "library_internal.h"
#include "npsw/analogue.h"
#include "npsw/io.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ---- comparison with the brute force ------------------------------------------------------ */

static int same_hit(const npsw_analogue_hit *a, const npsw_analogue_hit *b)
{
    return a->index == b->index && memcmp(&a->query_mass, &b->query_mass, sizeof a->query_mass) == 0 &&
           memcmp(&a->delta, &b->delta, sizeof a->delta) == 0 &&
           memcmp(&a->hybrid.score, &b->hybrid.score, sizeof a->hybrid.score) == 0 &&
           a->hybrid.n_direct == b->hybrid.n_direct && a->hybrid.n_shifted == b->hybrid.n_shifted;
}

static void fail_hit(const char *what, size_t q, uint32_t r, const npsw_analogue_hit *a,
                     const npsw_analogue_hit *b)
{
    fail_msg("%s: query %zu rank %u: fast %llu (M %g, delta %g, %.17g, %u+%u) vs brute %llu (M %g, "
             "delta %g, %.17g, %u+%u)",
             what, q, r, (unsigned long long)a->index, a->query_mass, a->delta, a->hybrid.score,
             a->hybrid.n_direct, a->hybrid.n_shifted, (unsigned long long)b->index, b->query_mass,
             b->delta, b->hybrid.score, b->hybrid.n_direct, b->hybrid.n_shifted);
}

/* The brute force's hits for every query with o->k = kmax (the lists for a smaller k are their
 * prefixes: the ranking is a strict order). */
static void brute_all(const npsw_lib *lib, const npsw_spectrum *q, size_t nq,
                      const npsw_analogue_opts *o, uint32_t kmax, npsw_analogue_hit *hb,
                      uint32_t *nb)
{
    npsw_analogue_opts ob = *o;
    ob.k = kmax;
#pragma omp parallel for schedule(dynamic, 1) num_threads(2)
    for (size_t i = 0; i < nq; i++)
        nb[i] = (uint32_t)npsw_analogue_candidates_brute(lib, &q[i], &ob, hb + i * kmax);
}

/* The fast search with k and `threads` threads equals the first k of the brute force's lists;
 * hits are ranked by score, then index, and have a score above 0. */
static void check_fast(const npsw_lib *lib, const npsw_analogue_index *ix, const npsw_spectrum *q,
                       size_t nq, const npsw_analogue_opts *o, uint32_t k, int threads,
                       const npsw_analogue_hit *hb, const uint32_t *nb, uint32_t kmax)
{
    npsw_analogue_opts of = *o;
    of.k = k;
    npsw_analogue_hit *hf = calloc(nq * k + 1, sizeof *hf);
    uint32_t *nf = calloc(nq + 1, sizeof *nf);
    npsw_analogue_stats st;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = ix ? npsw_analogue_search_index(ix, q, nq, &of, threads, hf, nf, &st, &e)
                : npsw_analogue_search(lib, q, nq, &of, threads, hf, nf, &st, &e);
    if (rc != 0) fail_msg("search failed: %s", e.msg);
    assert_int_equal(st.n_queries, nq);
    assert_true(st.n_scored <= st.n_pairs);
    char what[64];
    snprintf(what, sizeof what, "k %u threads %d%s", k, threads, ix ? " (index)" : "");
    for (size_t i = 0; i < nq; i++) {
        uint32_t want = nb[i] < k ? nb[i] : k;
        if (nf[i] != want) fail_msg("%s: query %zu: %u hits, brute force %u", what, i, nf[i], want);
        if (q[i].n == 0) assert_int_equal(nf[i], 0);
        for (uint32_t r = 0; r < nf[i]; r++) {
            const npsw_analogue_hit *a = &hf[i * k + r], *b = &hb[i * kmax + r];
            if (!same_hit(a, b)) fail_hit(what, i, r, a, b);
            assert_true(a->hybrid.score > 0 && a->hybrid.score <= 1);
            if (r > 0) assert_true(npsw_hyb_hit_before(&hf[i * k + r - 1], a));
        }
    }
    free(hf);
    free(nf);
}

/* The whole comparison: brute force once, then the fast search for every k and thread count,
 * through npsw_analogue_search and through one prepared index; and npsw_analogue_candidates
 * for the first few queries. */
static void compare_all(const npsw_lib *lib, const npsw_spectrum *q, size_t nq,
                        const npsw_analogue_opts *o, const uint32_t *ks, size_t nks,
                        const int *threads, size_t nthreads)
{
    uint32_t kmax = 1;
    for (size_t a = 0; a < nks; a++)
        if (ks[a] > kmax) kmax = ks[a];
    npsw_analogue_hit *hb = calloc(nq * kmax + 1, sizeof *hb);
    uint32_t *nb = calloc(nq + 1, sizeof *nb);
    brute_all(lib, q, nq, o, kmax, hb, nb);
    npsw_err e;
    npsw_analogue_index *ix = npsw_analogue_index_new(lib, o, 2, &e);
    assert_non_null(ix);
    for (size_t a = 0; a < nks; a++)
        for (size_t t = 0; t < nthreads; t++) {
            check_fast(lib, NULL, q, nq, o, ks[a], threads[t], hb, nb, kmax);
            check_fast(lib, ix, q, nq, o, ks[a], threads[t], hb, nb, kmax);
        }
    npsw_analogue_index_free(ix);
    npsw_analogue_opts o1 = *o;
    o1.k = kmax;
    npsw_analogue_hit *h1 = calloc(kmax, sizeof *h1);
    for (size_t i = 0; i < nq && i < 8; i++) {
        uint32_t n1 = (uint32_t)npsw_analogue_candidates(lib, &q[i], &o1, h1);
        assert_int_equal(n1, nb[i]);
        for (uint32_t r = 0; r < n1; r++)
            if (!same_hit(&h1[r], &hb[i * kmax + r])) fail_hit("candidates", i, r, &h1[r], &hb[i * kmax + r]);
    }
    free(h1);
    free(hb);
    free(nb);
}

/* ---- the sort-free nominal scorer --------------------------------------------------------- */

/* n strictly ascending whole m/z from lo, gaps 1..3; intensities from a small set, so that
 * many intensity products tie */
static void regular_peaks(double *mz, float *in, uint32_t n, int lo, int few)
{
    double m = lo;
    for (uint32_t i = 0; i < n; i++) {
        m += 1 + (double)(next_rand() % 3);
        mz[i] = m;
        in[i] = few ? (float)(1 + next_rand() % 4) : (float)(1 + next_rand() % 999);
    }
}

static void test_nominal_scorer(void **state)
{
    (void)state;
    enum { MAXP = 150, PAD = 400, TAB = 2 * PAD + 1024 };
    static double qm[MAXP], lm[MAXP], wq[MAXP], wl[MAXP];
    static float qi[MAXP], li[MAXP];
    static uint32_t qidx_mem[TAB];
    uint32_t *qidx = qidx_mem + PAD;
    npsw_score_params p = npsw_score_params_default();
    p.nominal = 1;
    npsw_hyb_scratch s;
    assert_int_equal(npsw_hyb_scratch_init(&s, 4, 4, 16), 0); /* grows as needed */
    memset(qidx_mem, 0xff, sizeof qidx_mem);
    for (int t = 0; t < 3000; t++) {
        uint32_t nq = 1 + (uint32_t)(next_rand() % MAXP), nl = 1 + (uint32_t)(next_rand() % MAXP);
        int few = t % 2;
        regular_peaks(qm, qi, nq, 20, few);
        regular_peaks(lm, li, nl, 20, few);
        int64_t delta = (int64_t)(next_rand() % 121) - 60;
        if (t % 7 == 0) delta = 0;
        npsw_peaks q = {qm, qi, nq}, l = {lm, li, nl};
        double nq2, nl2;
        npsw_hyb_weights(&q, &p, wq, &nq2);
        npsw_hyb_weights(&l, &p, wl, &nl2);
        for (uint32_t i = 0; i < nq; i++) qidx[(int64_t)qm[i]] = i;
        npsw_hybrid a, b, c;
        assert_int_equal(npsw_hyb_score_nominal(&q, wq, nq2, &l, wl, nl2, delta, qidx, &s, &a), 0);
        npsw_hybrid_score(&q, &l, (double)delta, &p, &b);
        npsw_hybrid_score_ref(&q, &l, (double)delta, &p, &c);
        if (memcmp(&a.score, &b.score, sizeof a.score) != 0 || a.n_direct != b.n_direct ||
            a.n_shifted != b.n_shifted)
            fail_msg("trial %d: sort-free %.17g %u+%u, npsw_hybrid_score %.17g %u+%u", t, a.score,
                     a.n_direct, a.n_shifted, b.score, b.n_direct, b.n_shifted);
        assert_int_equal(b.n_direct, c.n_direct);
        assert_int_equal(b.n_shifted, c.n_shifted);
        assert_float_equal(b.score, c.score, 1e-12);
        for (uint32_t i = 0; i < nq; i++) qidx[(int64_t)qm[i]] = UINT32_MAX;
    }
    npsw_hyb_scratch_free(&s);
}

/* ---- real data ---------------------------------------------------------------------------- */

static int read_or_skip(const char *path, npsw_spectra *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    npsw_read_opts ro = npsw_read_opts_default();
    npsw_err e;
    memset(out, 0, sizeof *out);
    if (npsw_read_file(path, &ro, 0, out, NULL, &e) <= 0) fail_msg("cannot read %s: %s", path, e.msg);
    return 1;
}

static void clean_all(npsw_spectra *s, const npsw_clean_opts *co)
{
    for (size_t i = 0; i < s->n; i++)
        if (npsw_clean(&s->v[i], co, NULL) < 0) s->v[i].n = 0;
}

/* SWGDRUG 3.4 (2,988 spectra with MW) x MassBank EI (CC BY): every 4th query, k 1/5/20,
 * 1-3 threads. */
static void test_real_swgdrug_massbank(void **state)
{
    (void)state;
    const char *dir = getenv("NPSW_SHARED_DATA");
    char lp[1024], qp[1024];
    snprintf(lp, sizeof lp, "%s/swgdrug/swgdrug_v3.4.msp", dir ? dir : "../shared/data");
    snprintf(qp, sizeof qp, "%s/massbank_ei/massbank_ei_ccby.msp", dir ? dir : "../shared/data");
    npsw_spectra ls, qs;
    if (!read_or_skip(lp, &ls)) {
        print_message("skipped: %s not present (real-data check needs ../shared/data)\n", lp);
        skip();
    }
    if (!read_or_skip(qp, &qs)) {
        npsw_spectra_free(&ls);
        print_message("skipped: %s not present (real-data check needs ../shared/data)\n", qp);
        skip();
    }
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_err e;
    npsw_lib *lib = npsw_lib_build(ls.v, ls.n, &co, "swgdrug", "3.4", NULL, 0, NULL, &e);
    assert_non_null(lib);
    clean_all(&qs, &co);
    size_t n = 0;
    for (size_t i = 0; i < qs.n; i += 4) { /* every 4th: enough for the check, quick under ASan */
        npsw_spectrum t = qs.v[n];
        qs.v[n++] = qs.v[i];
        qs.v[i] = t;
    }
    npsw_analogue_opts o = npsw_analogue_opts_default();
    static const uint32_t ks[] = {1, 5, 20};
    static const int th[] = {1, 2, 3};
    compare_all(lib, qs.v, n, &o, ks, 3, th, 3);
    npsw_lib_free(lib);
    npsw_spectra_free(&ls);
    npsw_spectra_free(&qs);
}

/* The bundled DEA records: a sample of them as queries, constructed analogues (fragments above
 * an m/z moved by a substituent's nominal mass), and MS/MS-style queries with a precursor. */
static void test_bundled_dea(void **state)
{
    (void)state;
    const char *td = getenv("NPSW_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/../../spectra_db/data/swgdrug_3.4_dea.msp", td ? td : "tests/data");
    npsw_spectra ls;
    if (!read_or_skip(path, &ls)) fail_msg("bundled library %s not readable", path);
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_err e;
    npsw_spectra qs = {0};
    qs.cap = 240;
    qs.v = calloc(qs.cap, sizeof *qs.v);
    static const int shifts[] = {14, 16, -14, 34, 18, 28, -16, 44};
    for (size_t i = 0; i < ls.n && qs.n < qs.cap; i += 7) {
        npsw_spectrum *c = &qs.v[qs.n++];
        npsw_spectrum_init(c);
        assert_int_equal(npsw_spectrum_copy(c, &ls.v[i]), 0);
        if (qs.n % 3 == 0) { /* an analogue: heavier fragments carry the change */
            int d = shifts[(qs.n / 3) % 8];
            double cut = 60 + (double)(next_rand() % 120);
            for (uint32_t k = 0; k < c->n; k++)
                if (c->mz[k] > cut) c->mz[k] += d;
        }
        if (qs.n % 5 == 0 && c->mw > 0) c->precursor_mz = c->mw + 1.3; /* rounded to M + 1 */
    }
    clean_all(&qs, &co);
    npsw_lib *lib = npsw_lib_build(ls.v, ls.n, &co, "bundled", "1", NULL, 0, NULL, &e);
    assert_non_null(lib);
    npsw_analogue_opts o = npsw_analogue_opts_default();
    static const uint32_t ks[] = {1, 5, 17};
    static const int th[] = {1, 2, 3};
    compare_all(lib, qs.v, qs.n, &o, ks, 3, th, 3);
    o.n_mion = 3;
    o.max_delta = 60;
    o.params.mz_power = 1; /* other weights */
    static const uint32_t k2[] = {10};
    compare_all(lib, qs.v, qs.n, &o, k2, 1, th + 1, 1);
    npsw_lib_free(lib);
    npsw_spectra_free(&ls);
    npsw_spectra_free(&qs);
}

/* ---- adversarial synthetic data ------------------------------------------------------------ */

/* Synthetic (not real) spectra: masses from few values (many equal masses), some without MW,
 * duplicates of earlier spectra (ties), single-peak spectra, intensities from a small set. */
static void make_library(npsw_spectra *out, size_t n, int nominal)
{
    out->v = calloc(n, sizeof *out->v);
    out->n = out->cap = n;
    for (size_t i = 0; i < n; i++) {
        npsw_spectrum *s = &out->v[i];
        npsw_spectrum_init(s);
        if (i >= 4 && i % 6 == 0) { /* identical to an earlier one */
            assert_int_equal(npsw_spectrum_copy(s, &out->v[next_rand() % i]), 0);
            continue;
        }
        double mw = 120 + (double)(next_rand() % 40) * 5;
        int np = i % 9 == 0 ? 1 : 2 + (int)(next_rand() % 50);
        for (int k = 0; k < np; k++) {
            double mz = 30 + (double)(next_rand() % (uint64_t)(mw - 25)); /* some above MW */
            if (!nominal) mz += (double)(next_rand() % 1000) / 1000.0;
            float in = (float)(i % 4 == 0 ? 100 * (1 + next_rand() % 3) : 1 + next_rand() % 999);
            assert_int_equal(npsw_spectrum_push(s, mz, in), 0);
        }
        if (i % 8 == 3) mw = 0; /* no MW: never a hit */
        else if (i % 8 == 5) mw = -5;
        s->mw = mw;
        if (!nominal && mw > 0) s->precursor_mz = mw + 1.007 + (double)(next_rand() % 100) / 1000.0;
    }
}

/* Queries: noisy copies, copies with fragments shifted, an empty one, a single peak, a
 * precursor query, and (nominal) raw ones that the postings cannot take: unsorted, repeated,
 * non-whole m/z, a peak at m/z <= 0, one far above the library. */
static void make_queries(const npsw_spectra *lib, npsw_spectra *q, size_t n, int nominal)
{
    q->v = calloc(n, sizeof *q->v);
    q->n = q->cap = n;
    for (size_t i = 0; i < n; i++) {
        npsw_spectrum *s = &q->v[i];
        npsw_spectrum_init(s);
        if (i % 10 == 9) continue; /* empty */
        assert_int_equal(npsw_spectrum_copy(s, &lib->v[next_rand() % lib->n]), 0);
        s->mw = 0;
        if (i % 10 == 1)
            for (uint32_t k = 0; k < s->n; k++) s->intensity[k] *= (float)(0.5 + (double)(next_rand() % 100) / 100.0);
        if (i % 10 == 2) {
            int d = (int)(next_rand() % 41) - 20;
            for (uint32_t k = 0; k < s->n; k++)
                if (k % 2) s->mz[k] += d;
        }
        if (i % 10 == 3) s->n = s->n ? 1 : 0;
        if (i % 10 == 4) s->precursor_mz = 150 + (double)(next_rand() % 100) + (nominal ? 0.4 : 0.01);
    }
}

static void raw_queries(npsw_spectra *q)
{
    /* appended after cleaning: these stay as given */
    static const double mzs[][4] = {{151.3, 120, 91, 65}, {120, 120, 91, 150}, {0, -3, 77, 105},
                                    {70000, 91, 105, 150}, {-2, -1, 0, -7}};
    size_t base = q->n;
    q->cap = q->n + 5;
    q->v = realloc(q->v, q->cap * sizeof *q->v);
    for (int r = 0; r < 5; r++) {
        npsw_spectrum *s = &q->v[base + (size_t)r];
        npsw_spectrum_init(s);
        for (int k = 0; k < 4; k++) assert_int_equal(npsw_spectrum_push(s, mzs[r][k], (float)(999 - 200 * k)), 0);
    }
    q->n = base + 5;
}

static void run_adversarial(int nominal, size_t nlib, const npsw_analogue_opts *o,
                            const uint32_t *ks, size_t nks)
{
    npsw_spectra ls = {0}, qs = {0};
    make_library(&ls, nlib, nominal);
    npsw_clean_opts co = nominal ? npsw_clean_opts_default() : npsw_clean_opts_msms();
    npsw_err e;
    make_queries(&ls, &qs, 80, nominal);
    npsw_lib *lib = npsw_lib_build(ls.v, ls.n, &co, "adversarial", "1", NULL, 0, NULL, &e);
    assert_non_null(lib);
    clean_all(&qs, &co);
    if (nominal) raw_queries(&qs);
    static const int th[] = {1, 2, 3};
    compare_all(lib, qs.v, qs.n, o, ks, nks, th, 3);
    npsw_lib_free(lib);
    npsw_spectra_free(&ls);
    npsw_spectra_free(&qs);
}

static void test_adversarial_nominal(void **state)
{
    (void)state;
    static const uint32_t ks[] = {1, 2, 3, 5, 8, 13, 21, 34, 50};
    npsw_analogue_opts o = npsw_analogue_opts_default();
    run_adversarial(1, 500, &o, ks, 9);
    /* other windows and molecular-ion counts, and k larger than the matches of a small library */
    static const uint32_t k1[] = {4, 50};
    static const double windows[] = {0, 20.5, 1e9, NAN, -1};
    for (int w = 0; w < 5; w++) {
        o.max_delta = windows[w];
        o.n_mion = 1 + w % 3;
        run_adversarial(1, 40 + 30 * (size_t)w, &o, k1, 2);
    }
}

static void test_adversarial_accurate(void **state)
{
    (void)state;
    static const uint32_t ks[] = {1, 7, 50};
    npsw_analogue_opts o = npsw_analogue_opts_default();
    o.params.tol_da = 0.02;
    run_adversarial(0, 300, &o, ks, 3);
    o.max_delta = 30;
    o.params.tol_ppm = 20;
    run_adversarial(0, 120, &o, ks, 3);
}

/* Library spectra the postings cannot represent, edited into a built library: a non-whole m/z,
 * an m/z beyond 16 bits, a mass beyond the limit, a zero-intensity spectrum. Scored
 * exhaustively, still the brute force's hits. */
static void test_unrepresentable_spectra(void **state)
{
    (void)state;
    npsw_spectra ls = {0}, qs = {0};
    make_library(&ls, 200, 1);
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_err e;
    npsw_lib *lib = npsw_lib_build(ls.v, ls.n, &co, "edited", "1", NULL, 0, NULL, &e);
    assert_non_null(lib);
    int edited = 0;
    for (uint64_t s = 0; s < lib->n && edited < 4; s++) {
        uint64_t a = lib->offsets[s], b = lib->offsets[s + 1];
        if (b - a < 3 || !(lib->mw[s] > 0)) continue;
        if (edited == 0) lib->mz[a + 1] = (lib->mz[a] + lib->mz[a + 1]) / 2 + 0.25;
        if (edited == 1) lib->mz[b - 1] = 70000;
        if (edited == 2) lib->mw[s] = 250000;
        if (edited == 3)
            for (uint64_t k = a; k < b; k++) lib->in[k] = 0;
        edited++;
    }
    assert_int_equal(edited, 4);
    make_queries(&ls, &qs, 60, 1);
    clean_all(&qs, &co);
    npsw_analogue_opts o = npsw_analogue_opts_default();
    static const uint32_t ks[] = {3, 25};
    static const int th[] = {1, 2};
    compare_all(lib, qs.v, qs.n, &o, ks, 2, th, 2);
    npsw_lib_free(lib);
    npsw_spectra_free(&ls);
    npsw_spectra_free(&qs);
}

/* The prepared index: reused for two searches; other peak weights, bad thread counts and k 0. */
static void test_index_api(void **state)
{
    (void)state;
    npsw_spectra ls = {0}, qs = {0};
    make_library(&ls, 150, 1);
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_err e;
    npsw_lib *lib = npsw_lib_build(ls.v, ls.n, &co, "api", "1", NULL, 0, NULL, &e);
    make_queries(&ls, &qs, 20, 1);
    clean_all(&qs, &co);
    npsw_analogue_opts o = npsw_analogue_opts_default();
    npsw_analogue_index *ix = npsw_analogue_index_new(lib, &o, 0, &e);
    assert_non_null(ix);
    npsw_analogue_hit h[20 * 5];
    uint32_t nh[20];
    npsw_analogue_stats st;
    assert_int_equal(npsw_analogue_search_index(ix, qs.v, qs.n, &o, 1, h, nh, &st, &e), 0);
    /* statistics: the brute force's pairs, counted here */
    uint64_t pairs = 0;
    for (size_t i = 0; i < qs.n; i++) {
        if (!qs.v[i].n) continue;
        double qm[NPSW_HYB_MAX_MASSES];
        int nm = npsw_hyb_query_masses(&qs.v[i], &o, 1, qm);
        for (uint64_t s = 0; s < lib->n; s++) {
            double lm = npsw_hyb_lib_mass(lib, s, 1);
            if (isnan(lm)) continue;
            for (int m = 0; m < nm; m++) pairs += !(fabs(qm[m] - lm) > o.max_delta);
        }
    }
    assert_int_equal(st.n_pairs, pairs);
    assert_true(st.n_scored < st.n_pairs);
    o.params.mz_power = 1;
    assert_int_equal(npsw_analogue_search_index(ix, qs.v, qs.n, &o, 1, h, nh, NULL, &e), NPSW_EINVAL);
    o = npsw_analogue_opts_default();
    assert_int_equal(npsw_analogue_search_index(ix, qs.v, qs.n, &o, -1, h, nh, NULL, &e), NPSW_EINVAL);
    assert_int_equal(npsw_analogue_search(lib, qs.v, qs.n, &o, 2000, h, nh, NULL, &e), NPSW_EINVAL);
    assert_null(npsw_analogue_index_new(lib, &o, -3, &e));
    o.k = 0;
    assert_int_equal(npsw_analogue_search(lib, qs.v, qs.n, &o, 1, h, nh, NULL, &e), 0);
    for (size_t i = 0; i < qs.n; i++) assert_int_equal(nh[i], 0);
    assert_int_equal(npsw_analogue_candidates(lib, &qs.v[0], &o, h), 0);
    npsw_analogue_index_free(ix);
    npsw_analogue_index_free(NULL);
    /* npsw_analogue_candidates from several threads at once, over two libraries in turn (the
     * kept index is replaced while in use), then with the cache cleared */
    npsw_lib *lib2 = npsw_lib_build(ls.v, ls.n / 2, &co, "api-half", "1", NULL, 0, NULL, &e);
    assert_non_null(lib2);
    o = npsw_analogue_opts_default();
    enum { NQ = 20, K = 5 };
    static npsw_analogue_hit hb[2][NQ * K], hc[NQ * K];
    static uint32_t nb[2][NQ], nc[NQ];
    static int bad[NQ];
    for (int b = 0; b < 2; b++)
        for (size_t i = 0; i < NQ; i++)
            nb[b][i] = (uint32_t)npsw_analogue_candidates_brute(b ? lib2 : lib, &qs.v[i], &o, hb[b] + i * K);
    for (int round = 0; round < 3; round++) {
        if (round == 2) npsw_analogue_cache_clear();
#pragma omp parallel for schedule(dynamic, 1) num_threads(3)
        for (size_t j = 0; j < 2 * NQ; j++) {
            size_t i = j / 2;
            int b = (int)(j % 2);
            npsw_analogue_hit h1[K];
            uint32_t n1 = (uint32_t)npsw_analogue_candidates(b ? lib2 : lib, &qs.v[i], &o, h1);
            if (b == 0) { /* compared below, outside the threads */
                nc[i] = n1;
                memcpy(hc + i * K, h1, sizeof h1);
            } else {
                bad[i] = n1 != nb[1][i];
                for (uint32_t r = 0; r < n1 && !bad[i]; r++) bad[i] = !same_hit(&h1[r], &hb[1][i * K + r]);
            }
        }
        for (size_t i = 0; i < NQ; i++) {
            if (bad[i]) fail_msg("candidates, threads: query %zu differs on the second library", i);
            assert_int_equal(nc[i], nb[0][i]);
            for (uint32_t r = 0; r < nc[i]; r++)
                if (!same_hit(&hc[i * K + r], &hb[0][i * K + r]))
                    fail_hit("candidates, threads", i, r, &hc[i * K + r], &hb[0][i * K + r]);
        }
    }
    npsw_analogue_cache_clear();
    npsw_analogue_cache_clear();
    npsw_lib_free(lib2);
    npsw_lib_free(lib);
    npsw_spectra_free(&ls);
    npsw_spectra_free(&qs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nominal_scorer),
        cmocka_unit_test(test_adversarial_nominal),
        cmocka_unit_test(test_adversarial_accurate),
        cmocka_unit_test(test_unrepresentable_spectra),
        cmocka_unit_test(test_index_api),
        cmocka_unit_test(test_bundled_dea),
        cmocka_unit_test(test_real_swgdrug_massbank),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
