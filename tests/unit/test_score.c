/* test_score.c - the scores: hand-worked values, properties, and the fast implementation
 * against the reference on random and real spectra. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "npsw/clean.h"
#include "npsw/io.h"
#include "npsw/score.h"

static npsw_peaks view(const double *mz, const float *in, uint32_t n)
{
    npsw_peaks p = {mz, in, n};
    return p;
}

/* Worked by hand from the definitions in docs/algorithms.md:
 *   query   50:999 51:500 52:100      library 50:999 51:250 53:100
 *   w = sqrt(I * mz):  q: 49950, 25500, 5200 (squares)   l: 49950, 12750, 5300
 *   sum_ul = 49950 + sqrt(25500 * 12750); sum_uu = 80650 (mf) / 75450 (rmf); sum_ll = 68000
 *   ratio at 51: (sqrt(500) sqrt(999)) / (sqrt(999) sqrt(250)) = sqrt(2) -> 1/sqrt(2), n2 = 1
 *   MF = (2 t1 + 1/sqrt 2) / 3 */
static void test_mf_hand_worked(void **state)
{
    (void)state;
    double qm[] = {50, 51, 52}, lm[] = {50, 51, 53};
    float qi[] = {999, 500, 100}, li[] = {999, 250, 100};
    npsw_peaks q = view(qm, qi, 3), l = view(lm, li, 3);
    npsw_score_params p = npsw_score_params_default();
    npsw_scores s;
    npsw_score_pair(&q, &l, &p, &s);
    double sul = 49950 + sqrt(25500.0 * 12750.0);
    double t1 = sul * sul / (80650.0 * 68000.0);
    double t1r = sul * sul / (75450.0 * 68000.0);
    double r = 1 / sqrt(2.0);
    assert_float_equal(s.mf, (2 * t1 + r) / 3, 1e-12);
    assert_float_equal(s.rmf, (2 * t1r + r) / 3, 1e-12);
    assert_float_equal(s.cosine, sul / sqrt(80650.0 * 68000.0), 1e-12);
    assert_int_equal(s.n_matched, 2);
    /* entropy: S(query) and S(library) < 3 so both are reweighted; worked with the formula */
    double a[3] = {999, 500, 100}, b[3] = {999, 250, 100};
    double sa = 0, sb = 0, ta = 1599, tb = 1349, ea = 0, eb = 0;
    for (int i = 0; i < 3; i++) ea -= a[i] / ta * log(a[i] / ta), eb -= b[i] / tb * log(b[i] / tb);
    for (int i = 0; i < 3; i++) sa += pow(a[i] / ta, 0.25 + 0.25 * ea), sb += pow(b[i] / tb, 0.25 + 0.25 * eb);
    double ent = 0;
    for (int i = 0; i < 2; i++) {
        double x = pow(a[i] / ta, 0.25 + 0.25 * ea) / sa, y = pow(b[i] / tb, 0.25 + 0.25 * eb) / sb;
        ent += ((x + y) * log2(x + y) - x * log2(x) - y * log2(y)) / 2;
    }
    assert_float_equal(s.entropy, ent, 1e-12);
}

/* A peak present in only one spectrum breaks the ratio chain; one at intensity <= 1 does not. */
static void test_mf_chain_rules(void **state)
{
    (void)state;
    double qm[] = {50, 51, 52}, lm[] = {50, 51, 52};
    float qi[] = {999, 0.5f, 500}, li[] = {999, 0.0f, 250};
    /* the 51 peak is at 0.5 in the query and absent in the library: ignored (<= 1), so the
     * ratio 50 -> 52 still counts */
    npsw_peaks q = view(qm, qi, 3), l = view(lm, li, 1);
    double lm2[] = {50, 52};
    float li2[] = {999, 250};
    l = view(lm2, li2, 2);
    npsw_score_params p = npsw_score_params_default();
    npsw_scores s;
    npsw_score_pair(&q, &l, &p, &s);
    double sul = 49950 + sqrt(500.0 * 52 * 250.0 * 52);
    double suu = 49950 + 500.0 * 52, sll = 49950 + 250.0 * 52;
    double t1 = sul * sul / (suu * sll), r = sqrt(250.0) / sqrt(500.0);
    assert_float_equal(s.mf, (2 * t1 + r) / 3, 1e-12);
    /* now the query's 51 peak is real (intensity 300): the chain breaks, no ratio term */
    qi[1] = 300;
    npsw_score_pair(&q, &l, &p, &s);
    suu += 300.0 * 51;
    t1 = sul * sul / (suu * sll);
    assert_float_equal(s.mf, t1, 1e-12);
    /* ... but not for RMF, which ignores query peaks absent from the library spectrum */
    double t1r = sul * sul / ((49950 + 500.0 * 52) * sll);
    assert_float_equal(s.rmf, (2 * t1r + r) / 3, 1e-12);
}

static void test_identical_and_disjoint(void **state)
{
    (void)state;
    double m[] = {41, 43, 58, 91, 105, 134};
    float in[] = {120, 300, 999, 80, 15, 2};
    npsw_peaks q = view(m, in, 6);
    npsw_score_params p = npsw_score_params_default();
    npsw_scores s;
    npsw_score_pair(&q, &q, &p, &s);
    assert_float_equal(s.mf, 1.0, 1e-12);
    assert_float_equal(s.rmf, 1.0, 1e-12);
    assert_float_equal(s.cosine, 1.0, 1e-12);
    assert_float_equal(s.entropy, 1.0, 1e-12);
    assert_int_equal(npsw_mf_display(s.mf), 999);
    double m2[] = {42, 44};
    float in2[] = {999, 10};
    npsw_peaks l = view(m2, in2, 2);
    npsw_score_pair(&q, &l, &p, &s);
    assert_true(s.mf == 0 && s.rmf == 0 && s.cosine == 0 && s.entropy == 0);
    assert_int_equal(s.n_matched, 0);
    npsw_peaks empty = view(m2, in2, 0);
    npsw_score_pair(&q, &empty, &p, &s);
    assert_true(s.mf == 0 && s.cosine == 0);
}

static void test_display(void **state)
{
    (void)state;
    assert_int_equal(npsw_mf_display(0.9515), 951);
    assert_int_equal(npsw_mf_display(0.99999), 999);
    assert_int_equal(npsw_mf_display(1.0), 999);
    assert_int_equal(npsw_mf_display(0), 0);
    assert_int_equal(npsw_mf_display(-0.5), 0);
    assert_int_equal(npsw_score_from_name("entropy"), NPSW_SCORE_ENTROPY);
    assert_true(npsw_score_from_name("bogus") < 0);
}

/* Accurate mass: one-to-one matching takes the larger intensity product first. The query peak
 * at 100.000 could match 100.004 (intensity 50) or 99.996 (intensity 999); it takes 99.996, and
 * the query peak at 100.008 then gets 100.004. */
static void test_accurate_matching(void **state)
{
    (void)state;
    double qm[] = {100.000, 100.008}, lm[] = {99.996, 100.004};
    float qi[] = {999, 400}, li[] = {999, 50};
    npsw_peaks q = view(qm, qi, 2), l = view(lm, li, 2);
    npsw_score_params p = npsw_score_params_default();
    p.nominal = 0;
    p.tol_da = 0.005;
    npsw_scores s, r;
    npsw_score_pair(&q, &l, &p, &s);
    npsw_score_pair_ref(&q, &l, &p, &r);
    assert_int_equal(s.n_matched, 2);
    double w = sqrt(999 * 100.000) * sqrt(999 * 99.996) + sqrt(400 * 100.008) * sqrt(50 * 100.004);
    double nq = 999 * 100.000 + 400 * 100.008;
    double nl = 999 * 99.996 + 50 * 100.004;
    assert_float_equal(s.cosine, w / sqrt(nq * nl), 1e-12);
    assert_float_equal(r.cosine, s.cosine, 1e-12);
    /* ppm tolerance: 10 ppm at m/z 100 is 0.001 Da: nothing matches */
    p.tol_da = 0;
    p.tol_ppm = 10;
    npsw_score_pair(&q, &l, &p, &s);
    assert_int_equal(s.n_matched, 0);
    p.tol_ppm = 50; /* 0.005 Da */
    npsw_score_pair(&q, &l, &p, &s);
    assert_int_equal(s.n_matched, 2);
}

/* Random spectra: fast and reference implementations agree exactly. */
static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void random_spectrum(npsw_spectrum *s, int nominal, int n)
{
    npsw_spectrum_reset(s);
    for (int i = 0; i < n; i++) {
        double mz = 30 + (double)(next_rand() % 300);
        if (!nominal) mz += (double)(next_rand() % 1000) / 1000.0;
        float in = (float)(1 + next_rand() % 999);
        if (next_rand() % 7 == 0) in = 1; /* peaks at the MF threshold */
        assert_int_equal(npsw_spectrum_push(s, mz, in), 0);
    }
    npsw_clean_opts co = nominal ? npsw_clean_opts_default() : npsw_clean_opts_msms();
    co.precursor_margin_da = -1;
    assert_true(npsw_clean(s, &co, NULL) >= 0);
}

static void compare(const npsw_scores *a, const npsw_scores *b)
{
    assert_float_equal(a->mf, b->mf, 1e-12);
    assert_float_equal(a->rmf, b->rmf, 1e-12);
    assert_float_equal(a->wmf, b->wmf, 1e-12);
    assert_float_equal(a->cosine, b->cosine, 1e-12);
    assert_float_equal(a->entropy, b->entropy, 1e-12);
    assert_int_equal(a->n_matched, b->n_matched);
}

static void test_fast_vs_ref_random(void **state)
{
    (void)state;
    npsw_spectrum a, b;
    npsw_spectrum_init(&a);
    npsw_spectrum_init(&b);
    for (int nominal = 0; nominal <= 1; nominal++) {
        npsw_score_params p = npsw_score_params_default();
        p.nominal = nominal;
        p.tol_da = 0.02;
        for (int t = 0; t < 400; t++) {
            random_spectrum(&a, nominal, 1 + (int)(next_rand() % 120));
            random_spectrum(&b, nominal, 1 + (int)(next_rand() % 120));
            if (t % 3 == 0) { /* a noisy copy, so there are many matches */
                assert_int_equal(npsw_spectrum_copy(&b, &a), 0);
                for (uint32_t i = 0; i < b.n; i++) b.intensity[i] = (float)floor(b.intensity[i] * (0.5 + (double)(next_rand() % 100) / 100.0));
                b.intensity[0] = 999;
            }
            if (t % 50 == 0) { p.int_power = 0.6; p.mz_power = 3; }
            else { p.int_power = 0.5; p.mz_power = 0.5; }
            npsw_peaks qa = {a.mz, a.intensity, a.n}, qb = {b.mz, b.intensity, b.n};
            npsw_scores f, r;
            npsw_score_pair(&qa, &qb, &p, &f);
            npsw_score_pair_ref(&qa, &qb, &p, &r);
            if (fabs(f.mf - r.mf) > 1e-12 || fabs(f.entropy - r.entropy) > 1e-12 || f.n_matched != r.n_matched) {
                for (uint32_t i = 0; i < a.n; i++) print_message("q %.4f %g\n", a.mz[i], a.intensity[i]);
                for (uint32_t i = 0; i < b.n; i++) print_message("l %.4f %g\n", b.mz[i], b.intensity[i]);
                print_message("nominal %d fast mf %g rmf %g cos %g ent %g n %u; ref %g %g %g %g %u\n", nominal, f.mf, f.rmf, f.cosine, f.entropy, f.n_matched, r.mf, r.rmf, r.cosine, r.entropy, r.n_matched);
            }
            compare(&f, &r);
            assert_true(f.mf >= 0 && f.mf <= 1 && f.cosine <= 1 && f.entropy <= 1);
            /* cosine and entropy are symmetric */
            npsw_scores g;
            npsw_score_pair(&qb, &qa, &p, &g);
            assert_float_equal(f.cosine, g.cosine, 1e-12);
            assert_float_equal(f.entropy, g.entropy, 1e-12);
        }
    }
    npsw_spectrum_free(&a);
    npsw_spectrum_free(&b);
}


/* npsw_match_peaks gives the pairs the scores count: as many as n_matched, one-to-one, each
 * within the tolerance (equal m/z when nominal), and the two maps are inverse to each other. */
static void test_match_pairs(void **state)
{
    (void)state;
    npsw_spectrum a, b;
    npsw_spectrum_init(&a);
    npsw_spectrum_init(&b);
    int32_t mq[400], ml[400];
    for (int nominal = 0; nominal <= 1; nominal++) {
        npsw_score_params p = npsw_score_params_default();
        p.nominal = nominal;
        p.tol_da = 0.02;
        p.tol_ppm = nominal ? 0 : 5;
        for (int t = 0; t < 300; t++) {
            random_spectrum(&a, nominal, 1 + (int)(next_rand() % 120));
            random_spectrum(&b, nominal, 1 + (int)(next_rand() % 120));
            if (t % 3 == 0) assert_int_equal(npsw_spectrum_copy(&b, &a), 0);
            p.common_range = t % 2;
            npsw_peaks qa = {a.mz, a.intensity, a.n}, qb = {b.mz, b.intensity, b.n}, qr, lr;
            npsw_scores f;
            npsw_score_pair(&qa, &qb, &p, &f);
            npsw_score_range(&qa, &qb, &p, &qr, &lr);
            int n = npsw_match_peaks(&qa, &qb, &p, mq, ml);
            /* peaks below the compared range are never matched */
            for (uint32_t i = 0; i < (uint32_t)(qr.mz - qa.mz); i++) assert_int_equal(mq[i], -1);
            for (uint32_t j = 0; j < (uint32_t)(lr.mz - qb.mz); j++) assert_int_equal(ml[j], -1);
            qr = qa;
            lr = qb;
            assert_int_equal(n, (int)f.n_matched);
            int seen = 0;
            for (uint32_t i = 0; i < qr.n; i++) {
                if (mq[i] < 0) continue;
                seen++;
                assert_true(mq[i] < (int32_t)lr.n);
                assert_int_equal(ml[mq[i]], (int32_t)i);
                double d = fabs(qr.mz[i] - lr.mz[mq[i]]);
                if (nominal) assert_true(d == 0);
                else assert_true(d <= p.tol_da + p.tol_ppm * 1e-6 * qr.mz[i]);
            }
            assert_int_equal(seen, n);
            for (uint32_t j = 0; j < lr.n; j++)
                if (ml[j] >= 0) assert_int_equal(mq[ml[j]], (int32_t)j);
        }
    }
    npsw_spectrum_free(&a);
    npsw_spectrum_free(&b);
}

/* Real spectra: SWGDRUG records against each other. */
static void test_fast_vs_ref_real(void **state)
{
    (void)state;
    const char *dir = getenv("NPSW_SHARED_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/swgdrug/swgdrug_v3.4_dea_subset.msp", dir ? dir : "../shared/data");
    FILE *f = fopen(path, "rb");
    if (!f) {
        print_message("skipped: %s not present (real-data check needs ../shared/data)\n", path);
        skip();
    }
    fclose(f);
    npsw_read_opts ro = npsw_read_opts_default();
    npsw_spectra sp = {0};
    npsw_err e;
    assert_true(npsw_read_file(path, &ro, 1, &sp, NULL, &e) > 900);
    npsw_clean_opts co = npsw_clean_opts_default();
    for (size_t i = 0; i < sp.n; i++) assert_true(npsw_clean(&sp.v[i], &co, NULL) >= 0);
    npsw_score_params p = npsw_score_params_default();
    for (size_t i = 0; i < 60; i++) {
        for (size_t j = 0; j < sp.n; j += 7) {
            npsw_peaks a = {sp.v[i].mz, sp.v[i].intensity, sp.v[i].n};
            npsw_peaks b = {sp.v[j].mz, sp.v[j].intensity, sp.v[j].n};
            npsw_scores x, y;
            npsw_score_pair(&a, &b, &p, &x);
            npsw_score_pair_ref(&a, &b, &p, &y);
            compare(&x, &y);
        }
    }
    npsw_spectra_free(&sp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mf_hand_worked),     cmocka_unit_test(test_mf_chain_rules),
        cmocka_unit_test(test_identical_and_disjoint), cmocka_unit_test(test_display),
        cmocka_unit_test(test_accurate_matching),  cmocka_unit_test(test_fast_vs_ref_random),
        cmocka_unit_test(test_fast_vs_ref_real),    cmocka_unit_test(test_match_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
