/* test_api.c - the stable C API for bindings (npsw/npsw_api.h): every handle's life cycle (run
 * under ASan/LeakSanitizer in the Debug build, so a leak fails it), errors with messages,
 * option parsing, and that the API's search gives exactly the hits of npsw_search() on queries
 * cleaned as the library was.
 *
 * Data: tests/data/msp/synthetic_small.msp (SYNTHETIC spectra, hand-made peaks) as the library;
 * queries are its own spectra, a hand-made peak list and a malformed file written here. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "npsw/config.h"
#include "npsw/io.h"
#include "npsw/libfile.h"
#include "npsw/npsw_api.h"
#include "npsw/search.h"

static char dir[256], libpath[300], mspin[512];

static int setup(void **state)
{
    (void)state;
    const char *data = getenv("NPSW_TEST_DATA");
    if (!data) return -1;
    snprintf(mspin, sizeof mspin, "%s/msp/synthetic_small.msp", data);
    snprintf(dir, sizeof dir, "/tmp/npsw_test_api.XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(libpath, sizeof libpath, "%s/small.h5", dir);
    /* the library, built through the ordinary API */
    npsw_spectra sp = {0};
    npsw_read_opts ro = npsw_read_opts_default();
    npsw_read_report rep;
    npsw_err e;
    npsw_err_clear(&e);
    if (npsw_read_file(mspin, &ro, 1, &sp, &rep, &e) < 4) return -1;
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_lib *lib = npsw_lib_build(sp.v, sp.n, &co, "synthetic small", "t1", NULL, 0, NULL, &e);
    npsw_spectra_free(&sp);
    if (!lib) return -1;
    int rc = npsw_lib_write(lib, libpath, &e);
    npsw_lib_free(lib);
    return rc < 0 ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_versions_and_frees(void **state)
{
    (void)state;
    assert_int_equal(npsw_api_version(), NPSW_API_VERSION);
    assert_true(strlen(npsw_api_npswatch_version()) > 0);
    /* every free accepts NULL */
    npsw_api_lib_close(NULL);
    npsw_api_queries_free(NULL);
    npsw_api_opts_free(NULL);
    npsw_api_hits_free(NULL);
    npsw_api_free(NULL);
}

static void test_open_errors(void **state)
{
    (void)state;
    assert_null(npsw_api_lib_open(NULL));
    assert_int_equal(npsw_api_errcode(), NPSW_EINVAL);
    char missing[400];
    snprintf(missing, sizeof missing, "%s/absent.h5", dir);
    assert_null(npsw_api_lib_open(missing));
    assert_true(npsw_api_errcode() < -1);
    assert_non_null(strstr(npsw_api_errmsg(), "absent.h5"));
    /* an MSP file is not a library */
    assert_null(npsw_api_lib_open(mspin));
    assert_true(npsw_api_errcode() < -1);
}

static void test_library_facts(void **state)
{
    (void)state;
    npsw_lib *lib = npsw_api_lib_open(libpath);
    assert_non_null(lib);
    assert_int_equal(npsw_api_lib_size(lib), 4);
    assert_string_equal(npsw_api_lib_info(lib, "name"), "synthetic small");
    assert_string_equal(npsw_api_lib_info(lib, "version"), "t1");
    assert_string_equal(npsw_api_lib_info(lib, "mass_mode"), "nominal");
    assert_int_equal(strlen(npsw_api_lib_info(lib, "sha256")), 64);
    char fmt[16];
    snprintf(fmt, sizeof fmt, "%d.%d", NPSW_FORMAT_MAJOR, NPSW_FORMAT_MINOR);
    assert_string_equal(npsw_api_lib_info(lib, "format"), fmt);
    assert_null(npsw_api_lib_info(lib, "colour"));
    assert_non_null(strstr(npsw_api_errmsg(), "colour"));
    /* first record of synthetic_small.msp: "Synthetic Alpha", 5 peaks 41 55 77 105 182 */
    assert_string_equal(npsw_api_lib_meta(lib, 0, "name"), "Synthetic Alpha");
    assert_string_equal(npsw_api_lib_meta(lib, 0, "accession"), "SYN-0001");
    assert_null(npsw_api_lib_meta(lib, 4, "name"));
    assert_null(npsw_api_lib_meta(lib, 0, "colour"));
    assert_true(npsw_api_lib_mass(lib, 0) == 182.0);
    assert_true(isnan(npsw_api_lib_mass(lib, 9)));
    double mz[8], in[8];
    assert_int_equal(npsw_api_lib_peaks(lib, 0, NULL, NULL, 0), 5);
    assert_int_equal(npsw_api_lib_peaks(lib, 0, mz, in, 8), 5);
    const double want_mz[5] = {41, 55, 77, 105, 182}, want_in[5] = {100, 250, 999, 400, 600};
    for (int i = 0; i < 5; i++) {
        assert_true(mz[i] == want_mz[i]);
        assert_true(in[i] == want_in[i]);
    }
    assert_true(npsw_api_lib_peaks(lib, 4, mz, in, 8) < 0);
    npsw_api_lib_close(lib);
}

static void test_options(void **state)
{
    (void)state;
    npsw_api_opts *o = npsw_api_opts_new();
    assert_non_null(o);
    assert_int_equal(npsw_api_opts_set(o, "k", "7"), 0);
    assert_int_equal(npsw_api_opts_set(o, "score", "entropy"), 0);
    assert_int_equal(npsw_api_opts_set(o, "threads", "2"), 0);
    assert_int_equal(npsw_api_opts_set(o, "weights", "1994"), 0);
    assert_int_equal(npsw_api_opts_set(o, "tol_ppm", "5"), 0);
    assert_int_equal(npsw_api_opts_set(o, "mz_range", "common"), 0);
    assert_int_equal(npsw_api_opts_set(o, "max_delta", "80"), 0);
    const char *bad[][2] = {{"k", "0"},          {"k", "1001"},       {"k", "5x"},
                            {"k", "-1"},         {"score", "best"},   {"threads", "2000"},
                            {"tol_da", "2"},     {"weights", "1980"}, {"n_mion", "9"},
                            {"max_delta", "0"},  {"mz_range", "some"}, {"colour", "red"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(npsw_api_opts_set(o, bad[i][0], bad[i][1]), NPSW_EINVAL);
        assert_true(strlen(npsw_api_errmsg()) > 0);
    }
    assert_int_equal(npsw_api_opts_set(o, NULL, "1"), NPSW_EINVAL);
    npsw_api_opts_free(o);
}

static void test_queries(void **state)
{
    (void)state;
    npsw_api_queries *q = npsw_api_queries_new();
    assert_non_null(q);
    const double mz[3] = {77, 41, 182}, in[3] = {999, 100, 600};
    assert_int_equal(npsw_api_queries_add(q, mz, in, 3, "hand-made", 0), 0);
    assert_int_equal(npsw_api_queries_add(q, NULL, NULL, 0, NULL, 0), 1); /* empty is allowed */
    assert_int_equal(npsw_api_queries_add(q, NULL, in, 3, NULL, 0), NPSW_EINVAL);
    const double nan_in[3] = {999, NAN, 1};
    assert_int_equal(npsw_api_queries_add(q, mz, nan_in, 3, NULL, 0), NPSW_EINVAL);
    assert_non_null(strstr(npsw_api_errmsg(), "peak 2"));
    assert_int_equal(npsw_api_queries_add(q, mz, in, 3, NULL, -1), NPSW_EINVAL);
    assert_int_equal(npsw_api_queries_read(q, mspin, NULL, 1), 4);
    assert_int_equal(npsw_api_queries_read(q, mspin, "mgf", 0), 0); /* no MGF records in it */
    assert_int_equal(npsw_api_queries_read(q, mspin, "pdf", 0), NPSW_EINVAL);
    assert_int_equal(npsw_api_queries_count(q), 6);
    assert_string_equal(npsw_api_queries_meta(q, 0, "name"), "hand-made");
    assert_string_equal(npsw_api_queries_meta(q, 1, "name"), "");
    assert_string_equal(npsw_api_queries_meta(q, 2, "name"), "Synthetic Alpha");
    assert_string_equal(npsw_api_queries_file(q, 0), "");
    assert_string_equal(npsw_api_queries_file(q, 2), mspin);
    assert_null(npsw_api_queries_meta(q, 6, "name"));
    assert_null(npsw_api_queries_file(q, 6));

    /* a malformed record: strict stops with file and line, lenient skips and counts it */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/bad.msp", dir);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("Name: x\nNum Peaks: 2\n10 abc\n20 30\n\nName: y\nNum Peaks: 1\n41 100\n", f);
    fclose(f);
    assert_int_equal(npsw_api_queries_read(q, bad, NULL, 1), NPSW_EPARSE);
    assert_non_null(strstr(npsw_api_errmsg(), "bad.msp:3"));
    assert_int_equal(npsw_api_queries_read(q, bad, NULL, 0), 1);
    assert_int_equal(npsw_api_queries_skipped(q), 2);
    assert_int_equal(npsw_api_queries_count(q), 7);
    snprintf(bad, sizeof bad, "%s/absent.msp", dir);
    assert_true(npsw_api_queries_read(q, bad, NULL, 0) < -1);
    assert_int_equal(npsw_api_queries_count(q), 7);
    npsw_api_queries_free(q);
}

/* The API's hits equal npsw_search()'s on the same queries cleaned as the library was. */
static void test_search_matches_npsw_search(void **state)
{
    (void)state;
    npsw_lib *lib = npsw_api_lib_open(libpath);
    assert_non_null(lib);
    npsw_api_queries *q = npsw_api_queries_new();
    assert_int_equal(npsw_api_queries_read(q, mspin, NULL, 1), 4);
    const double mz[4] = {77.2, 41, 182, 105}, in[4] = {1000, 90, 610, 0};
    assert_int_equal(npsw_api_queries_add(q, mz, in, 4, "hand-made", 0), 4);
    npsw_api_opts *o = npsw_api_opts_new();
    assert_int_equal(npsw_api_opts_set(o, "k", "3"), 0);
    assert_int_equal(npsw_api_opts_set(o, "score", "cosine"), 0);
    npsw_api_hits *h = npsw_api_search(lib, q, o);
    assert_non_null(h);
    assert_int_equal(npsw_api_hits_nqueries(h), 5);

    /* the reference: the same spectra read and cleaned here, searched directly */
    npsw_spectra sp = {0};
    npsw_read_opts ro = npsw_read_opts_default();
    npsw_read_report rep;
    npsw_err e;
    npsw_err_clear(&e);
    assert_int_equal(npsw_read_file(mspin, &ro, 1, &sp, &rep, &e), 4);
    npsw_spectrum extra;
    npsw_spectrum_init(&extra);
    for (int i = 0; i < 4; i++) assert_int_equal(npsw_spectrum_push(&extra, mz[i], (float)in[i]), 0);
    npsw_spectrum all[5];
    memcpy(all, sp.v, 4 * sizeof *all);
    all[4] = extra;
    const npsw_clean_opts *co = &npsw_lib_get_info(lib)->clean;
    for (int i = 0; i < 5; i++) assert_true(npsw_clean(&all[i], co, NULL) >= 0);
    npsw_search_opts so = npsw_search_opts_default();
    so.k = 3;
    so.score = NPSW_SCORE_COSINE;
    npsw_hit ref[15];
    uint32_t nref[5], total = 0;
    assert_int_equal(npsw_search(lib, all, 5, &so, ref, nref, NULL, &e), 0);
    for (int i = 0; i < 5; i++) {
        total += nref[i];
        assert_int_equal(npsw_api_hits_count(h, (uint64_t)i), nref[i]);
        assert_int_equal(npsw_api_hits_query_peaks(h, (uint64_t)i), all[i].n);
    }
    assert_int_equal(npsw_api_hits_total(h), total);
    uint64_t qi[15], idx[15];
    uint32_t rank[15], nm[15];
    double score[15], mf[15], rmf[15], wmf[15], cos[15], ent[15];
    assert_int_equal(npsw_api_hits_columns(h, qi, rank, idx, score, mf, rmf, wmf, cos, ent, nm),
                     total);
    uint32_t j = 0;
    for (uint32_t i = 0; i < 5; i++)
        for (uint32_t r = 0; r < nref[i]; r++, j++) {
            const npsw_hit *x = &ref[i * 3 + r];
            assert_int_equal(qi[j], i);
            assert_int_equal(rank[j], r + 1);
            assert_int_equal(idx[j], x->index);
            assert_true(score[j] == x->score && mf[j] == x->all.mf && rmf[j] == x->all.rmf);
            assert_true(wmf[j] == x->all.wmf && cos[j] == x->all.cosine);
            assert_true(ent[j] == x->all.entropy && nm[j] == x->all.n_matched);
        }
    /* each library spectrum finds itself first with cosine 1 */
    for (uint32_t i = 0; i < 4; i++) {
        assert_int_equal(ref[i * 3].index, i);
        assert_true(fabs(ref[i * 3].score - 1.0) < 1e-12);
    }
    npsw_api_hits_free(h);
    for (int i = 0; i < 5; i++) npsw_spectrum_free(&all[i]);
    free(sp.v);

    /* bad options fail the search with a message */
    assert_int_equal(npsw_api_opts_set(o, "precursor_tol", "5"), 0);
    assert_non_null(h = npsw_api_search(lib, q, o));
    npsw_api_hits_free(h);
    assert_null(npsw_api_search(NULL, q, o));
    npsw_api_opts_free(o);
    npsw_api_queries_free(q);
    npsw_api_lib_close(lib);
}

static void test_analyse_json(void **state)
{
    (void)state;
    npsw_lib *lib = npsw_api_lib_open(libpath);
    npsw_api_queries *q = npsw_api_queries_new();
    assert_int_equal(npsw_api_queries_read(q, mspin, NULL, 1), 4);
    npsw_api_opts *o = npsw_api_opts_new();
    char *js = npsw_api_analyse_json(lib, q, o);
    assert_non_null(js);
    assert_int_equal(js[0], '[');
    int n = 0;
    for (const char *p = js; (p = strstr(p, "\"record\":\"analysis\"")); p++) n++;
    assert_int_equal(n, 4);
    assert_non_null(strstr(js, "\"verdict\":\"in_library\""));
    npsw_api_free(js);
    assert_int_equal(npsw_api_opts_set(o, "k", "33"), 0); /* fine for search, not for analogues */
    assert_null(npsw_api_analyse_json(lib, q, o));
    assert_non_null(strstr(npsw_api_errmsg(), "32"));
    npsw_api_queries *empty = npsw_api_queries_new();
    assert_int_equal(npsw_api_opts_set(o, "k", "2"), 0);
    js = npsw_api_analyse_json(lib, empty, o);
    assert_string_equal(js, "[]");
    npsw_api_free(js);
    npsw_api_queries_free(empty);
    npsw_api_opts_free(o);
    npsw_api_queries_free(q);
    npsw_api_lib_close(lib);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions_and_frees), cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_library_facts),      cmocka_unit_test(test_options),
        cmocka_unit_test(test_queries),            cmocka_unit_test(test_search_matches_npsw_search),
        cmocka_unit_test(test_analyse_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
