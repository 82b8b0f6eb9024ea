/* test_analogue.c - the substituent table and delta explanations, and the FFT shift finder
 * against the direct correlation. Spectra here are synthetic, made in the test. */
#include <math.h>
#include <omp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "npsw/analogue.h"
#include "npsw/io.h"

/* The table, by value (Da, 3 decimals), checked against ours. */
static void test_table_values(void **state)
{
    (void)state;
    static const struct {
        const char *label;
        double delta;
    } want[] = {{"CH2", 14.016},          {"O", 15.995},           {"F-for-H", 17.991},
                {"Cl-for-H", 33.961},     {"Br-for-H", 77.911},    {"CH2O", 30.011},
                {"OCH2O-for-2H", 43.990}, {"CF3-for-H", 67.987},   {"beta-keto", 13.979},
                {"thiophene-for-benzene", 5.956}, {"NO2-for-H", 44.985}};
    const npsw_substituent *t;
    size_t n = npsw_substituents(&t);
    assert_int_equal(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(t[i].label, want[i].label);
        assert_float_equal(t[i].delta, want[i].delta, 0.0006);
    }
}

/* Each change's composition, weighed with the element masses, gives its mass change; a pair
 * hypothesis carries the sum of its two compositions. */
static void test_table_compositions(void **state)
{
    (void)state;
    static const double mass[NPSW_EL_COUNT] = {12.0,        1.0078250319, 14.0030740052,
                                               15.9949146221, 18.99840320, 31.97207069,
                                               34.96885271, 78.9183376};
    const npsw_substituent *t;
    size_t n = npsw_substituents(&t);
    for (size_t i = 0; i < n; i++) {
        double m = 0;
        for (int e = 0; e < NPSW_EL_COUNT; e++) m += t[i].comp[e] * mass[e];
        assert_float_equal(m, t[i].delta, 1e-9);
    }
    npsw_delta_hypothesis h[4];
    /* +CH2 +Cl-for-H: C +1, H +2 -1, Cl +1 */
    int k = npsw_explain_delta(14.01565 + 33.96103, 0.001, 0, h, 4);
    assert_true(k >= 1);
    assert_string_equal(h[0].label, "+CH2 +Cl-for-H");
    static const signed char want[NPSW_EL_COUNT] = {1, 1, 0, 0, 0, 0, 1, 0};
    assert_memory_equal(h[0].comp, want, sizeof want);
}

/* Every substituent, added or removed, is the top hypothesis for its own accurate mass change;
 * for nominal masses it is among the exact (error 0) hypotheses. */
static void test_each_substituent_recovered(void **state)
{
    (void)state;
    const npsw_substituent *t;
    size_t n = npsw_substituents(&t);
    npsw_delta_hypothesis h[10];
    for (size_t i = 0; i < n; i++) {
        for (int sign = -1; sign <= 1; sign += 2) {
            char want[96];
            snprintf(want, sizeof want, "%c%s", sign > 0 ? '+' : '-', t[i].label);
            int k = npsw_explain_delta(sign * t[i].delta + 0.0007, 0.003, 0, h, 3);
            assert_true(k >= 1);
            assert_string_equal(h[0].label, want);
            assert_int_equal(h[0].n_terms, 1);
            assert_float_equal(h[0].error, 0.0007, 1e-9);
            k = npsw_explain_delta(round(sign * t[i].delta), 0, 1, h, 10);
            int found = 0;
            for (int j = 0; j < k; j++) {
                found |= strcmp(h[j].label, want) == 0;
                assert_true(h[j].error == 0);
            }
            assert_true(found);
        }
    }
}

static void test_combinations(void **state)
{
    (void)state;
    npsw_delta_hypothesis h[5];
    /* two methylenes: ethyl for hydrogen-to-methyl homologue pairs */
    int k = npsw_explain_delta(2 * 14.01565, 0.002, 0, h, 5);
    assert_true(k >= 1);
    assert_string_equal(h[0].label, "+CH2 +CH2");
    /* CH2 + O equals CH2O to the last digit: the single change ranks first */
    k = npsw_explain_delta(30.01056, 0.002, 0, h, 5);
    assert_true(k >= 2);
    assert_string_equal(h[0].label, "+CH2O");
    assert_string_equal(h[1].label, "+CH2 +O");
    /* Cl-for-H plus a methylene, 47.977 */
    k = npsw_explain_delta(33.96103 + 14.01565, 0.002, 0, h, 5);
    assert_true(k >= 1);
    assert_string_equal(h[0].label, "+CH2 +Cl-for-H");
    /* nominal +14: CH2 and beta-keto both, CH2 first (table order) */
    k = npsw_explain_delta(14, 0, 1, h, 5);
    assert_true(k >= 2);
    assert_string_equal(h[0].label, "+CH2");
    assert_string_equal(h[1].label, "+beta-keto");
    /* nothing explains 0.5 Da */
    assert_int_equal(npsw_explain_delta(0.5, 0.01, 0, h, 5), 0);
    assert_int_equal(npsw_explain_delta(NAN, 0.01, 0, h, 5), 0);
}

static uint64_t rng = 0x1234567887654321ull;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* n nominal peaks in ascending m/z from lo, 1-4 apart (synthetic) */
static void random_peaks(double *mz, float *in, uint32_t n, int lo)
{
    double m = lo;
    for (uint32_t i = 0; i < n; i++) {
        m += 1 + (double)(next_rand() % 4);
        mz[i] = m;
        in[i] = (float)(1 + next_rand() % 999);
    }
}

/* FFT correlation equals the direct sum for every shift, on random spectra. */
static void test_fft_vs_direct(void **state)
{
    (void)state;
    npsw_err e;
    npsw_shift_finder *f = npsw_shift_finder_new(700, &e);
    assert_non_null(f);
    npsw_shift_scratch *s = npsw_shift_scratch_new(f);
    assert_non_null(s);
    enum { MS = 120 };
    double a[2 * MS + 1], b[2 * MS + 1];
    double qm[150], lm[150];
    float qi[150], li[150];
    for (int t = 0; t < 50; t++) {
        uint32_t nq = 1 + (uint32_t)(next_rand() % 140), nl = 1 + (uint32_t)(next_rand() % 140);
        random_peaks(qm, qi, nq, 30);
        random_peaks(lm, li, nl, 30);
        npsw_peaks q = {qm, qi, nq}, l = {lm, li, nl};
        npsw_shift_correlation(f, s, &q, &l, MS, a);
        npsw_shift_correlation_ref(&q, &l, 700, MS, b);
        for (int d = 0; d <= 2 * MS; d++) assert_float_equal(a[d], b[d], 1e-9);
    }
    npsw_shift_scratch_free(s);
    npsw_shift_finder_free(f);
}

/* A constructed (synthetic) library spectrum with no two peaks 14 apart, and its analogue whose
 * peaks above m/z 120 (the fragments carrying a new methylene) move by +14. */
static const double con_lm[] = {51, 53, 56, 60, 63, 72, 87, 99, 121, 127, 138, 150, 159, 171, 188, 197};
static const float con_li[] = {120, 80, 300, 999, 400, 250, 600, 150, 90, 500, 700, 60, 350, 40, 220, 310};
enum { CON_N = sizeof con_lm / sizeof con_lm[0] };

static void constructed_analogue(double *qm)
{
    for (int i = 0; i < CON_N; i++) qm[i] = con_lm[i] > 120 ? con_lm[i] + 14 : con_lm[i];
}

/* Intensity of the constructed spectrum below m/z 120, and in all. */
static void constructed_sums(double *below, double *all)
{
    *below = *all = 0;
    for (int i = 0; i < CON_N; i++) {
        *all += con_li[i];
        if (con_lm[i] < 120) *below += con_li[i];
    }
}

/* A constructed analogue: every library peak above m/z 120 moves by +14 (the fragments that
 * carry the new methylene), the ones below do not. The finder ranks 0 and +14 first. */
static void test_shift_recovered(void **state)
{
    (void)state;
    npsw_err e;
    npsw_shift_finder *f = npsw_shift_finder_new(600, &e);
    npsw_shift_scratch *s = npsw_shift_scratch_new(f);
    double qm[CON_N];
    constructed_analogue(qm);
    npsw_peaks q = {qm, con_li, CON_N}, l = {con_lm, con_li, CON_N};
    npsw_shift best[3];
    int k = npsw_shift_find(f, s, &q, &l, 100, best, 3);
    assert_int_equal(k, 3);
    /* peaks below 120 align at 0, those above at +14; the correlation at a shift is the share
     * of intensity (squared sqrt weights) aligned there. Here the unshifted set is heavier. */
    double below, all;
    constructed_sums(&below, &all);
    double above = all - below;
    assert_true(below > above);
    assert_int_equal(best[0].shift, 0);
    assert_float_equal(best[0].score, below / all, 1e-9);
    assert_int_equal(best[1].shift, 14);
    assert_float_equal(best[1].score, above / all, 1e-9);
    assert_true(best[2].score < best[1].score); /* other shifts align less */
    /* identical spectra: shift 0 with correlation 1 */
    k = npsw_shift_find(f, s, &l, &l, 100, best, 1);
    assert_int_equal(best[0].shift, 0);
    assert_float_equal(best[0].score, 1.0, 1e-12);
    npsw_shift_scratch_free(s);
    npsw_shift_finder_free(f);
}

/* One finder, several threads, one scratch each: the same answers as one thread. */
static void test_threads(void **state)
{
    (void)state;
    npsw_err e;
    npsw_shift_finder *f = npsw_shift_finder_new(500, &e);
    enum { N = 64 };
    static double qm[N][100], lm[N][100];
    static float qi[N][100], li[N][100];
    int one[N], two[N];
    for (int t = 0; t < N; t++) {
        random_peaks(qm[t], qi[t], 100, 30);
        random_peaks(lm[t], li[t], 100, 30);
    }
    for (int pass = 0; pass < 2; pass++) {
        int *out = pass ? two : one;
#pragma omp parallel num_threads(pass ? 2 : 1)
        {
            npsw_shift_scratch *s = npsw_shift_scratch_new(f);
#pragma omp for
            for (int t = 0; t < N; t++) {
                npsw_peaks q = {qm[t], qi[t], 100}, l = {lm[t], li[t], 100};
                npsw_shift b[1];
                out[t] = npsw_shift_find(f, s, &q, &l, 60, b, 1) ? b[0].shift : 9999;
            }
            npsw_shift_scratch_free(s);
        }
    }
    assert_memory_equal(one, two, sizeof one);
    npsw_shift_finder_free(f);
}

/* Hybrid similarity: fast and reference agree on random spectra (nominal and accurate). */
static void test_hybrid_fast_vs_ref(void **state)
{
    (void)state;
    static double qm[120], lm[120];
    static float qi[120], li[120];
    for (int nominal = 0; nominal <= 1; nominal++) {
        npsw_score_params p = npsw_score_params_default();
        p.nominal = nominal;
        p.tol_da = 0.01;
        for (int t = 0; t < 200; t++) {
            uint32_t nq = 1 + (uint32_t)(next_rand() % 110), nl = 1 + (uint32_t)(next_rand() % 110);
            random_peaks(qm, qi, nq, 30);
            random_peaks(lm, li, nl, 30);
            if (!nominal)
                for (uint32_t i = 0; i < nq; i++) qm[i] += (double)(next_rand() % 20) / 1000.0;
            double delta = (double)((int)(next_rand() % 61) - 30);
            if (!nominal) delta += 0.004;
            npsw_peaks q = {qm, qi, nq}, l = {lm, li, nl};
            npsw_hybrid a, b;
            npsw_hybrid_score(&q, &l, delta, &p, &a);
            npsw_hybrid_score_ref(&q, &l, delta, &p, &b);
            assert_float_equal(a.score, b.score, 1e-12);
            assert_int_equal(a.n_direct, b.n_direct);
            assert_int_equal(a.n_shifted, b.n_shifted);
            assert_true(a.score >= 0 && a.score <= 1);
        }
    }
}

/* A constructed analogue (fragments above m/z 120 carry +14): with delta 14 every peak pairs,
 * with delta 0 only the unshifted ones; with delta 0 the hybrid score is the cosine. */
static void test_hybrid_constructed(void **state)
{
    (void)state;
    double qm[CON_N];
    constructed_analogue(qm);
    npsw_peaks q = {qm, con_li, CON_N}, l = {con_lm, con_li, CON_N};
    npsw_score_params p = npsw_score_params_default();
    p.mz_power = 0; /* weights sqrt(I): a perfect pairing scores exactly 1 */
    npsw_hybrid h;
    npsw_hybrid_score(&q, &l, 14, &p, &h);
    assert_float_equal(h.score, 1.0, 1e-12);
    assert_int_equal(h.n_direct, 8);
    assert_int_equal(h.n_shifted, 8);
    npsw_hybrid_score(&q, &l, 0, &p, &h);
    assert_int_equal(h.n_shifted, 0);
    assert_int_equal(h.n_direct, 8);
    double below, all;
    constructed_sums(&below, &all);
    assert_float_equal(h.score, below / all, 1e-12);
    npsw_scores sc;
    npsw_score_pair(&q, &l, &p, &sc);
    assert_float_equal(h.score, sc.cosine, 1e-12);
}

static int first_mion(const double *mz, const float *in, uint32_t n, npsw_mion *c)
{
    npsw_peaks p = {mz, in, n};
    return npsw_molecular_ion(&p, c, 5);
}

/* Constructed (synthetic) EI spectra for each rule. */
static void test_molecular_ion(void **state)
{
    (void)state;
    npsw_mion c[5];
    /* a plain molecular ion with a small 13C peak above it */
    double m1[] = {58, 91, 105, 150, 151};
    float i1[] = {999, 300, 200, 120, 13};
    assert_true(first_mion(m1, i1, 5, c) >= 1);
    assert_true(c[0].mz == 150);
    /* 13C envelope read from above: 302 < 301 < 300 */
    double m2[] = {72, 150, 300, 301, 302};
    float i2[] = {999, 100, 100, 25, 3};
    assert_true(first_mion(m2, i2, 5, c) >= 1);
    assert_true(c[0].mz == 300);
    /* chlorine: M 250, M+2 252 at one third */
    double m3[] = {111, 215, 250, 251, 252, 253};
    float i3[] = {999, 400, 300, 45, 100, 15};
    assert_true(first_mion(m3, i3, 6, c) >= 1);
    assert_true(c[0].mz == 250);
    /* bromine: M 200, M+2 202 about equal */
    double m4[] = {77, 121, 200, 201, 202, 203};
    float i4[] = {999, 500, 400, 30, 390, 29};
    assert_true(first_mion(m4, i4, 6, c) >= 1);
    assert_true(c[0].mz == 200);
    /* peaks below 0.5 % of the base are ignored; a missing M+. is proposed as a loss */
    double m5[] = {58, 86, 135, 300};
    float i5[] = {999, 200, 40, 3};
    int k = first_mion(m5, i5, 4, c);
    assert_true(c[0].mz == 135);
    int has150 = 0;
    for (int i = 0; i < k; i++) has150 |= c[i].mz == 150;
    assert_true(has150);
    for (int i = 1; i < k; i++) assert_true(c[i - 1].score >= c[i].score);
    assert_int_equal(first_mion(m5, i5, 0, c), 0);
}

/* A constructed analogue of a real library spectrum (cocaine, bundled DEA record): the peaks
 * above m/z 200 (those holding the methyl ester in this construction) move by +14, as for the
 * ethyl homologue. The hybrid search finds cocaine at delta +14, explained first by +CH2. */
static void test_analogue_candidates(void **state)
{
    (void)state;
    const char *td = getenv("NPSW_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/../../spectra_db/data/swgdrug_3.4_dea.msp", td ? td : "tests/data");
    npsw_read_opts ro = npsw_read_opts_default();
    npsw_spectra sp = {0};
    npsw_err e;
    if (npsw_read_file(path, &ro, 1, &sp, NULL, &e) <= 0) {
        print_message("skipped: bundled library %s not readable (%s)\n", path, e.msg);
        skip();
    }
    size_t parent = sp.n;
    for (size_t i = 0; i < sp.n; i++)
        if (sp.v[i].meta[NPSW_META_NAME] && !strcmp(sp.v[i].meta[NPSW_META_NAME], "Cocaine")) parent = i;
    assert_true(parent < sp.n);
    npsw_spectrum q;
    npsw_spectrum_init(&q);
    assert_int_equal(npsw_spectrum_copy(&q, &sp.v[parent]), 0);
    for (uint32_t i = 0; i < q.n; i++)
        if (q.mz[i] > 200) q.mz[i] += 14;
    npsw_clean_opts co = npsw_clean_opts_default();
    assert_true(npsw_clean(&q, &co, NULL) > 0);
    npsw_lib *lib = npsw_lib_build(sp.v, sp.n, &co, "bundled", "1", NULL, 0, NULL, &e);
    assert_non_null(lib);
    npsw_analogue_opts o = npsw_analogue_opts_default();
    npsw_analogue_hit h[5];
    int k = npsw_analogue_candidates(lib, &q, &o, h);
    assert_true(k >= 1);
    assert_string_equal(npsw_lib_meta(lib, h[0].index, NPSW_META_NAME), "Cocaine");
    assert_true(h[0].query_mass == 317);
    assert_true(h[0].delta == 14);
    assert_true(h[0].hybrid.n_shifted > 0 && h[0].hybrid.n_direct > 0);
    for (int i = 1; i < k; i++) assert_true(h[i - 1].hybrid.score >= h[i].hybrid.score);
    /* the shifted fragments count only under hybrid matching: the plain cosine is lower (cocaine's
     * peaks above m/z 200 are small, so not by much) */
    npsw_peaks qp = {q.mz, q.intensity, q.n}, lp = npsw_lib_peaks(lib, h[0].index);
    npsw_score_params p = npsw_score_params_default();
    npsw_scores sc;
    npsw_score_pair(&qp, &lp, &p, &sc);
    assert_true(sc.cosine < h[0].hybrid.score);
    npsw_delta_hypothesis dh[3];
    assert_true(npsw_explain_delta(h[0].delta, 0, 1, dh, 3) >= 1);
    assert_string_equal(dh[0].label, "+CH2");
    npsw_lib_free(lib);
    npsw_spectrum_free(&q);
    npsw_spectra_free(&sp);
}

/* Diagnostic ions: the fentanyl series in a constructed (synthetic) spectrum, in table order,
 * with the relative-intensity threshold applied. */
static void test_diagnostic_ions(void **state)
{
    (void)state;
    double mz[] = {42, 105, 146, 189, 245, 336};
    float in[] = {200, 300, 250, 100, 999, 40};
    npsw_peaks p = {mz, in, 6};
    const npsw_diagnostic *d[16];
    int n = npsw_diagnostic_ions(&p, 0.05, d, 16);
    /* 105 also counts as benzoyl (cathinone) and phenethyl (fentanyl); 189 at 10 % passes */
    assert_int_equal(n, 5);
    assert_string_equal(d[0]->cls, "cathinone");
    assert_true(d[0]->mz == 105);
    int fent = 0;
    for (int i = 0; i < n; i++) fent += !strcmp(d[i]->cls, "fentanyl");
    assert_int_equal(fent, 4);
    /* at a 20 % threshold 189 (10 %) drops out */
    n = npsw_diagnostic_ions(&p, 0.20, d, 16);
    for (int i = 0; i < n; i++) assert_true(d[i]->mz != 189);
    assert_int_equal(n, 4);
    npsw_peaks empty = {mz, in, 0};
    assert_int_equal(npsw_diagnostic_ions(&empty, 0.05, d, 16), 0);
    const npsw_diagnostic *t;
    assert_true(npsw_diagnostics(&t) >= 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_values), cmocka_unit_test(test_table_compositions),   cmocka_unit_test(test_each_substituent_recovered),
        cmocka_unit_test(test_combinations),   cmocka_unit_test(test_fft_vs_direct),
        cmocka_unit_test(test_shift_recovered), cmocka_unit_test(test_threads),
        cmocka_unit_test(test_hybrid_fast_vs_ref), cmocka_unit_test(test_hybrid_constructed),
        cmocka_unit_test(test_molecular_ion),       cmocka_unit_test(test_analogue_candidates),
        cmocka_unit_test(test_diagnostic_ions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
