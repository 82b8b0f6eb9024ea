/* test_clean.c - the cleaning stage, step by step, on hand-made (synthetic) peak lists, plus the
 * SHA-256 helper against the FIPS 180-2 test vector. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "npsw/clean.h"
#include "npsw/hash.h"

static void fill(npsw_spectrum *s, const double *mz, const float *in, int n)
{
    npsw_spectrum_init(s);
    for (int i = 0; i < n; i++) assert_int_equal(npsw_spectrum_push(s, mz[i], in[i]), 0);
}

/* Nominal EI: invalid peaks dropped, binned with the 0.649 boundary, sorted, merged by maximum,
 * base peak 999, rounded. Worked by hand:
 *   input  (57.70, 500) (57.20, 100) (43.0, 250) (0, 10) (44.0, -3) (57.649, 400) (NaN, 5)
 *   bins   57.70 -> 58; 57.20 -> 57; 43 -> 43; 57.649 -> 57 (not above the boundary)
 *   merge  57: max(100, 400) = 400
 *   scale  43: 250/500*999 = 499.5 -> 500 (round half up); 57: 400/500*999 = 799.2 -> 799;
 *          58: 999 */
static void test_nominal_steps(void **state)
{
    (void)state;
    double mz[] = {57.70, 57.20, 43.0, 0, 44.0, 57.649, NAN};
    float in[] = {500, 100, 250, 10, -3, 400, 5};
    npsw_spectrum s;
    fill(&s, mz, in, 7);
    npsw_clean_opts o = npsw_clean_opts_default();
    npsw_clean_report r;
    assert_int_equal(npsw_clean(&s, &o, &r), 3);
    assert_int_equal(r.n_in, 7);
    assert_int_equal(r.n_invalid, 3);
    assert_int_equal(r.n_merged, 1);
    assert_int_equal(r.n_out, 3);
    double em[] = {43, 57, 58};
    float ei[] = {500, 799, 999};
    for (int i = 0; i < 3; i++) {
        assert_true(s.mz[i] == em[i]);
        assert_true(s.intensity[i] == ei[i]);
    }
    npsw_spectrum_free(&s);
}

/* 0.5 boundary: ordinary rounding with halves down; merge by sum. */
static void test_boundary_and_sum(void **state)
{
    (void)state;
    double mz[] = {100.5, 100.51, 99.6};
    float in[] = {10, 20, 30};
    npsw_spectrum s;
    fill(&s, mz, in, 3);
    npsw_clean_opts o = npsw_clean_opts_default();
    o.bin_boundary = 0.5;
    o.merge = NPSW_MERGE_SUM;
    assert_int_equal(npsw_clean(&s, &o, NULL), 2);
    /* 100.5 -> 100, 99.6 -> 100: sum 40; 100.51 -> 101: 20. Base 40. */
    assert_true(s.mz[0] == 100 && s.intensity[0] == 999);
    assert_true(s.mz[1] == 101 && s.intensity[1] == floorf(20.0f / 40 * 999 + 0.5f));
    npsw_spectrum_free(&s);
}

/* Rounding drops peaks below 0.5/999 of the base; the noise floor drops more. */
static void test_rounding_and_floor(void **state)
{
    (void)state;
    double mz[] = {50, 51, 52, 53};
    float in[] = {10000, 4, 6, 60};
    npsw_spectrum s;
    fill(&s, mz, in, 4);
    npsw_clean_opts o = npsw_clean_opts_default();
    o.noise_floor = 0.005; /* 4.995 on the 999 scale */
    npsw_clean_report r;
    /* 4/10000*999 = 0.3996 -> 0 (dropped by rounding); 6 -> 0.5994 -> 1 (kept by rounding,
     * dropped by the floor); 60 -> 5.994 -> 6 (kept) */
    assert_int_equal(npsw_clean(&s, &o, &r), 2);
    assert_int_equal(r.n_rounded_out, 1);
    assert_int_equal(r.n_below_floor, 1);
    assert_true(s.mz[1] == 53 && s.intensity[1] == 6);
    npsw_spectrum_free(&s);
}

/* Accurate mass (MS/MS): no binning, peaks within 0.01 Da merged by sum at the intensity-weighted
 * mean m/z, peaks above precursor - 1.6 Da removed before scaling, no rounding. */
static void test_accurate(void **state)
{
    (void)state;
    double mz[] = {150.000, 150.008, 91.054, 199.0, 200.1};
    float in[] = {300, 100, 200, 50, 5000};
    npsw_spectrum s;
    fill(&s, mz, in, 5);
    s.precursor_mz = 200.0;
    npsw_clean_opts o = npsw_clean_opts_msms();
    npsw_clean_report r;
    assert_int_equal(npsw_clean(&s, &o, &r), 2);
    assert_int_equal(r.n_above_precursor, 2); /* 199.0 > 198.4 and 200.1 */
    assert_float_equal(s.mz[0], 91.054, 1e-12);
    assert_float_equal(s.mz[1], (150.000 * 300 + 150.008 * 100) / 400, 1e-9);
    assert_float_equal(s.intensity[1], 999, 1e-3);
    assert_float_equal(s.intensity[0], 200.0 / 400 * 999, 1e-3);
    npsw_spectrum_free(&s);
}

static void test_empty_and_options(void **state)
{
    (void)state;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    npsw_clean_opts o = npsw_clean_opts_default();
    assert_int_equal(npsw_clean(&s, &o, NULL), 0);
    npsw_err e;
    o.bin_boundary = 1.5;
    assert_true(npsw_clean_opts_check(&o, &e) == NPSW_EINVAL);
    assert_true(strstr(e.msg, "bin boundary") != NULL);
    o = npsw_clean_opts_default();
    o.noise_floor = 1.0;
    assert_true(npsw_clean_opts_check(&o, &e) == NPSW_EINVAL);
    char d[256];
    npsw_clean_opts_describe(&o, d, sizeof d);
    assert_true(strstr(d, "mode=nominal") != NULL);
    npsw_spectrum_free(&s);
}

static void test_sha256_vector(void **state)
{
    (void)state;
    char hex[65];
    npsw_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    npsw_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* Profile-like: hand-made lists. 3 ions sampled every 0.1 Da over +-0.3 Da (21 points; 18 of
 * the 20 gaps are 0.1 Da, 2 are the ~0.4-1.4 Da jumps between ions: 0.4 counts as close) is
 * profile; a nominal list never is; 20 accurate centroids with 3 close isotope pairs are not; 9
 * profile points are too few to judge. */
static void test_profile_like(void **state)
{
    (void)state;
    double prof[21], nom[30], cen[20];
    int k = 0;
    for (int ion = 0; ion < 3; ion++)
        for (int j = -3; j <= 3; j++) prof[k++] = 100.0 + ion * 1.0 + j * 0.1;
    uint32_t close, gaps;
    /* gaps: within each ion 6 x 0.1; between ions 100.3 -> 100.7 = 0.4 (twice): 20 gaps, all
     * close */
    assert_int_equal(npsw_profile_like(prof, 21, &close, &gaps), 1);
    assert_int_equal(gaps, 20);
    assert_int_equal(close, 20);
    assert_int_equal(npsw_profile_like(prof, 9, &close, &gaps), 0);
    for (int i = 0; i < 30; i++) nom[i] = 40 + i;
    assert_int_equal(npsw_profile_like(nom, 30, &close, &gaps), 0);
    assert_int_equal(close, 0);
    for (int i = 0; i < 20; i++) cen[i] = 50.0123 + 7.31 * i;
    cen[3] = cen[2] + 0.02;
    cen[8] = cen[7] + 0.3;
    cen[15] = cen[14] + 0.45;
    assert_int_equal(npsw_profile_like(cen, 20, &close, &gaps), 0);
    assert_int_equal(close, 3);
    assert_int_equal(gaps, 19);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nominal_steps),  cmocka_unit_test(test_boundary_and_sum),
        cmocka_unit_test(test_rounding_and_floor), cmocka_unit_test(test_accurate),
        cmocka_unit_test(test_empty_and_options), cmocka_unit_test(test_sha256_vector),
        cmocka_unit_test(test_profile_like),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
