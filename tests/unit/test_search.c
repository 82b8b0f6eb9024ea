/* test_search.c - the indexed, pruned search returns exactly the brute force's top K (scored
 * with the plain reference implementation), for every score, several K and thread counts, on
 * adversarial synthetic libraries (ties, identical and single-peak spectra, empty queries) and on
 * real spectra. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "npsw/io.h"
#include "npsw/library.h"
#include "npsw/search.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Synthetic (not real) EI-like spectra with deliberate ties: every 5th spectrum duplicates an
 * earlier one, every 11th has a single peak. */
static void make_synthetic(npsw_spectra *out, size_t n, int nominal)
{
    out->v = calloc(n, sizeof *out->v);
    out->n = out->cap = n;
    for (size_t i = 0; i < n; i++) {
        npsw_spectrum *s = &out->v[i];
        npsw_spectrum_init(s);
        if (i >= 5 && i % 5 == 0) {
            assert_int_equal(npsw_spectrum_copy(s, &out->v[next_rand() % i]), 0);
            continue;
        }
        int np = i % 11 == 0 ? 1 : 2 + (int)(next_rand() % 60);
        for (int k = 0; k < np; k++) {
            double mz = 30 + (double)(next_rand() % (i % 13 == 0 ? 40 : 300));
            if (!nominal) mz += (double)(next_rand() % 1000) / 1000.0;
            float in = (float)(1 + next_rand() % 999);
            assert_int_equal(npsw_spectrum_push(s, mz, in), 0);
        }
        char name[32];
        snprintf(name, sizeof name, "synthetic-%zu", i);
        assert_int_equal(npsw_spectrum_set_meta(s, NPSW_META_NAME, name, (size_t)-1), 0);
    }
}

static void make_queries(const npsw_spectra *lib, npsw_spectra *q, size_t n, int nominal)
{
    q->v = calloc(n, sizeof *q->v);
    q->n = q->cap = n;
    for (size_t i = 0; i < n; i++) {
        npsw_spectrum *s = &q->v[i];
        npsw_spectrum_init(s);
        if (i % 9 == 8) continue; /* empty query */
        assert_int_equal(npsw_spectrum_copy(s, &lib->v[next_rand() % lib->n]), 0);
        for (uint32_t k = 0; k < s->n; k++) /* noise */
            s->intensity[k] *= (float)(0.6 + (double)(next_rand() % 80) / 100.0);
        if (i % 4 == 0) /* an extra peak absent from the library */
            assert_int_equal(npsw_spectrum_push(s, nominal ? 777 : 777.123, 300), 0);
    }
}

static void check_exact(const npsw_lib *lib, const npsw_spectra *q, npsw_score_kind kind,
                        uint32_t k, int threads)
{
    npsw_search_opts o = npsw_search_opts_default();
    o.score = kind;
    o.k = k;
    o.threads = threads;
    o.params.tol_da = 0.02;
    npsw_hit *h1 = calloc(q->n * k, sizeof *h1), *h2 = calloc(q->n * k, sizeof *h2);
    uint32_t *n1 = calloc(q->n, sizeof *n1), *n2 = calloc(q->n, sizeof *n2);
    npsw_err e;
    npsw_search_stats st;
    assert_int_equal(npsw_search(lib, q->v, q->n, &o, h1, n1, &st, &e), 0);
    assert_int_equal(npsw_search_brute(lib, q->v, q->n, &o, 1, h2, n2, &e), 0);
    for (size_t i = 0; i < q->n; i++) {
        assert_int_equal(n1[i], n2[i]);
        if (q->v[i].n == 0) assert_int_equal(n1[i], 0);
        for (uint32_t r = 0; r < n1[i]; r++) {
            const npsw_hit *a = &h1[i * k + r], *b = &h2[i * k + r];
            if (a->index != b->index || a->score != b->score)
                fail_msg("score %s k %u threads %d query %zu rank %u: search %llu (%.17g) vs brute "
                         "%llu (%.17g)",
                         npsw_score_name(kind), k, threads, i, r, (unsigned long long)a->index,
                         a->score, (unsigned long long)b->index, b->score);
            if (r > 0) { /* ranked by score, ties by index */
                const npsw_hit *p = &h1[i * k + r - 1];
                assert_true(p->score > a->score || (p->score == a->score && p->index < a->index));
            }
        }
    }
    assert_true(st.n_scored <= st.n_candidates);
    free(h1);
    free(h2);
    free(n1);
    free(n2);
}

static void run_exactness(int nominal)
{
    npsw_spectra ls = {0}, qs = {0};
    make_synthetic(&ls, 600, nominal);
    npsw_clean_opts co = nominal ? npsw_clean_opts_default() : npsw_clean_opts_msms();
    npsw_err e;
    npsw_lib *lib = npsw_lib_build(ls.v, ls.n, &co, "synthetic", "1", NULL, 0, NULL, &e);
    assert_non_null(lib);
    make_queries(&ls, &qs, 60, nominal);
    for (size_t i = 0; i < qs.n; i++) assert_true(npsw_clean(&qs.v[i], &co, NULL) >= 0);
    static const uint32_t ks[] = {1, 5, 37};
    for (int kind = 0; kind < NPSW_SCORE_COUNT; kind++)
        for (size_t ki = 0; ki < 3; ki++)
            for (int t = 1; t <= 2; t++) check_exact(lib, &qs, (npsw_score_kind)kind, ks[ki], t);
    npsw_lib_free(lib);
    npsw_spectra_free(&ls);
    npsw_spectra_free(&qs);
}

static void test_exact_nominal(void **state)
{
    (void)state;
    run_exactness(1);
}

static void test_exact_accurate(void **state)
{
    (void)state;
    run_exactness(0);
}

/* K larger than the number of spectra that share a peak: only those are returned. */
static void test_only_positive_scores(void **state)
{
    (void)state;
    npsw_spectra ls = {0};
    ls.v = calloc(3, sizeof *ls.v);
    ls.n = ls.cap = 3;
    double mzs[3] = {50, 60, 50};
    for (int i = 0; i < 3; i++) {
        npsw_spectrum_init(&ls.v[i]);
        assert_int_equal(npsw_spectrum_push(&ls.v[i], mzs[i], 999), 0);
    }
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_err e;
    npsw_lib *lib = npsw_lib_build(ls.v, ls.n, &co, "t", "1", NULL, 0, NULL, &e);
    npsw_spectrum q;
    npsw_spectrum_init(&q);
    assert_int_equal(npsw_spectrum_push(&q, 50, 999), 0);
    npsw_search_opts o = npsw_search_opts_default();
    o.k = 10;
    npsw_hit h[10];
    uint32_t nh;
    assert_int_equal(npsw_search(lib, &q, 1, &o, h, &nh, NULL, &e), 0);
    assert_int_equal(nh, 2); /* spectra 0 and 2, tie broken by index */
    assert_int_equal(h[0].index, 0);
    assert_int_equal(h[1].index, 2);
    assert_float_equal(h[0].score, 1.0, 1e-12);
    o.k = 0;
    assert_true(npsw_search(lib, &q, 1, &o, h, &nh, NULL, &e) == NPSW_EINVAL);
    npsw_spectrum_free(&q);
    npsw_lib_free(lib);
    npsw_spectra_free(&ls);
}

static void test_exact_real(void **state)
{
    (void)state;
    const char *dir = getenv("NPSW_SHARED_DATA");
    char lp[1024], qp[1024];
    snprintf(lp, sizeof lp, "%s/swgdrug/swgdrug_v3.4.msp", dir ? dir : "../shared/data");
    snprintf(qp, sizeof qp, "%s/massbank_ei/massbank_ei_dev_queries.msp", dir ? dir : "../shared/data");
    FILE *f = fopen(lp, "rb");
    if (!f) {
        print_message("skipped: %s not present (real-data check needs ../shared/data)\n", lp);
        skip();
    }
    fclose(f);
    npsw_read_opts ro = npsw_read_opts_default();
    npsw_spectra ls = {0}, qs = {0};
    npsw_err e;
    assert_true(npsw_read_file(lp, &ro, 1, &ls, NULL, &e) > 0);
    assert_true(npsw_read_file(qp, &ro, 1, &qs, NULL, &e) > 0);
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_lib *lib = npsw_lib_build(ls.v, ls.n, &co, "swgdrug", "3.4", NULL, 0, NULL, &e);
    assert_non_null(lib);
    for (size_t i = 0; i < qs.n; i++) assert_true(npsw_clean(&qs.v[i], &co, NULL) >= 0);
    size_t nreal = qs.n;
    qs.n = 60; /* enough for the check; the whole set runs in the benchmark */
    for (int kind = 0; kind < NPSW_SCORE_COUNT; kind++) check_exact(lib, &qs, (npsw_score_kind)kind, 10, 2);
    qs.n = nreal;
    npsw_lib_free(lib);
    npsw_spectra_free(&ls);
    npsw_spectra_free(&qs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_nominal),
        cmocka_unit_test(test_exact_accurate),
        cmocka_unit_test(test_only_positive_scores),
        cmocka_unit_test(test_exact_real),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
