/* test_analyse.c - the analogue analysis on real spectra: the bundled SWGDRUG 3.4 DEA library
 * (spectra_db/data/swgdrug_3.4_dea.msp), queried with the three fluorofentanyls withheld from it
 * (spectra_db/data/examples/emerging.msp). Each is fentanyl with one aromatic H replaced by F (formulas C22H28N2O -> C22H27FN2O,
 * +17.991 Da), and their EI spectra show no molecular ion (354 is absent; see the records), so
 * the analysis must find the query mass from the fragments that carry the change
 * (fentanyl 245/189/146 -> 263/207/164) and name fentanyl, +18 and F-for-H.
 * Also: determinism across thread counts, the exclusion callback, and a library spectrum
 * searched against its own library (in_library). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "npsw/analyse.h"
#include "npsw/classes.h"
#include "npsw/io.h"

typedef struct world {
    npsw_lib *lib;        /* the bundled DEA library (without the fluorofentanyls) */
    npsw_spectra queries; /* the fluorofentanyls, cleaned */
    uint64_t fentanyl;    /* library index of "Fentanyl" */
} world;

/* Read one bundled file (spectra_db/data/REL) strictly. */
static int read_bundled(const char *rel, npsw_spectra *out)
{
    const char *td = getenv("NPSW_TEST_DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/../../spectra_db/data/%s", td ? td : "tests/data", rel);
    npsw_read_opts ro = npsw_read_opts_default();
    npsw_err e;
    npsw_err_clear(&e);
    if (npsw_read_file(path, &ro, 1, out, NULL, &e) < 0) {
        fprintf(stderr, "cannot read the bundled file %s: %s\n", path, e.msg);
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    npsw_spectra lib = {0}, emerging = {0};
    if (!w || read_bundled("swgdrug_3.4_dea.msp", &lib) < 0 ||
        read_bundled("examples/emerging.msp", &emerging) < 0)
        return -1;
    /* the queries: the fluorofentanyls withheld from the bundled library */
    for (size_t i = 0; i < emerging.n; i++) {
        npsw_spectrum *s = &emerging.v[i];
        npsw_spectra *to = &w->queries;
        if (!strstr(npsw_spectrum_meta(s, NPSW_META_NAME), "luorofentanyl")) {
            npsw_spectrum_free(s);
            continue;
        }
        if (to->n == to->cap) {
            to->cap = to->cap ? 2 * to->cap : 8;
            to->v = realloc(to->v, to->cap * sizeof *to->v);
        }
        to->v[to->n++] = *s;
    }
    free(emerging.v);
    assert_int_equal(w->queries.n, 3);
    for (size_t i = 0; i < lib.n; i++)
        assert_null(strstr(npsw_spectrum_meta(&lib.v[i], NPSW_META_NAME), "luorofentanyl"));
    assert_int_equal(npsw_classify_spectra(lib.v, lib.n), 0);
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_err e;
    npsw_err_clear(&e);
    w->lib = npsw_lib_build(lib.v, lib.n, &co, "bundled DEA subset", "test", NULL, 0, NULL, &e);
    assert_non_null(w->lib);
    for (size_t i = 0; i < w->queries.n; i++)
        assert_true(npsw_clean(&w->queries.v[i], &co, NULL) >= 0);
    w->fentanyl = UINT64_MAX;
    for (uint64_t i = 0; i < npsw_lib_size(w->lib); i++)
        if (!strcmp(npsw_lib_meta(w->lib, i, NPSW_META_NAME), "Fentanyl")) w->fentanyl = i;
    assert_true(w->fentanyl != UINT64_MAX);
    npsw_spectra_free(&lib);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    if (!w) return 0;
    npsw_lib_free(w->lib);
    npsw_spectra_free(&w->queries);
    free(w);
    return 0;
}

static void test_fluorofentanyls(void **state)
{
    world *w = *state;
    npsw_analyse_opts o = npsw_analyse_opts_default();
    npsw_analysis *a = calloc(w->queries.n, sizeof *a);
    npsw_err e;
    npsw_err_clear(&e);
    assert_int_equal(npsw_analyse(w->lib, w->queries.v, w->queries.n, &o, a, &e), 0);
    for (size_t i = 0; i < w->queries.n; i++) {
        /* premise: no molecular ion in the query */
        const npsw_spectrum *q = &w->queries.v[i];
        for (uint32_t j = 0; j < q->n; j++) assert_true(q->mz[j] != 354);
        assert_true(a[i].has_analogue);
        assert_int_equal(a[i].analogue.index, w->fentanyl);
        assert_float_equal(a[i].analogue.delta, 18, 1e-9);
        assert_float_equal(a[i].analogue.query_mass, 354, 1e-9);
        assert_true(a[i].n_subst >= 1);
        assert_string_equal(a[i].subst[0].h.label, "+F-for-H");
        assert_string_equal(a[i].predicted_class, "fentanyl");
        /* not in the library, a same-class relative one table change away is: an analogue */
        assert_int_equal(a[i].verdict, NPSW_VERDICT_ANALOGUE);
        /* the probabilities are probabilities */
        assert_true(a[i].p_in_library >= 0 && a[i].p_analogue >= 0 &&
                    a[i].p_in_library + a[i].p_analogue <= 1 + 1e-12);
    }
    free(a);
}

/* Each change of the substituent table, added and removed, recovered from a CONSTRUCTED analogue
 * of the real fentanyl spectrum: the fragments that keep the N-phenylpropanamide part (m/z >= 240:
 * 245 = M - benzyl and the molecular ion region) are moved by the change's nominal mass, the rest
 * (189, 146, 105...) stays. The analysis must name fentanyl, the nominal difference, and have the
 * change among its three hypotheses. */
static void test_each_substituent_on_constructed_spectra(void **state)
{
    world *w = *state;
    npsw_peaks fp = npsw_lib_peaks(w->lib, w->fentanyl);
    const npsw_substituent *t;
    size_t nt = npsw_substituents(&t);
    npsw_analyse_opts o = npsw_analyse_opts_default();
    npsw_clean_opts co = npsw_clean_opts_default();
    for (size_t i = 0; i < nt; i++)
        for (int sg = -1; sg <= 1; sg += 2) {
            long d = sg * lround(t[i].delta);
            npsw_spectrum q;
            npsw_spectrum_init(&q);
            for (uint32_t j = 0; j < fp.n; j++) {
                double mz = fp.mz[j] >= 240 ? fp.mz[j] + (double)d : fp.mz[j];
                assert_int_equal(npsw_spectrum_push(&q, mz, fp.in[j]), 0);
            }
            assert_true(npsw_clean(&q, &co, NULL) > 0);
            npsw_analysis a;
            npsw_err e;
            npsw_err_clear(&e);
            assert_int_equal(npsw_analyse(w->lib, &q, 1, &o, &a, &e), 0);
            char label[64];
            snprintf(label, sizeof label, "%c%s", sg > 0 ? '+' : '-', t[i].label);
            int found = 0;
            for (int h = 0; h < a.n_subst; h++) found |= !strcmp(a.subst[h].h.label, label);
            if (!a.has_analogue || a.analogue.index != w->fentanyl || lround(a.analogue.delta) != d ||
                !found)
                fail_msg("%s: analogue %s (index %llu) delta %g, first hypothesis %s", label,
                         a.has_analogue ? npsw_lib_meta(w->lib, a.analogue.index, NPSW_META_NAME) : "none",
                         (unsigned long long)a.analogue.index, a.analogue.delta,
                         a.n_subst ? a.subst[0].h.label : "none");
            npsw_spectrum_free(&q);
        }
}

static void test_threads_identical(void **state)
{
    world *w = *state;
    npsw_analyse_opts o = npsw_analyse_opts_default();
    npsw_analysis *a = calloc(w->queries.n, sizeof *a), *b = calloc(w->queries.n, sizeof *b);
    npsw_err e;
    npsw_err_clear(&e);
    o.threads = 1;
    assert_int_equal(npsw_analyse(w->lib, w->queries.v, w->queries.n, &o, a, &e), 0);
    o.threads = 3;
    assert_int_equal(npsw_analyse(w->lib, w->queries.v, w->queries.n, &o, b, &e), 0);
    for (size_t i = 0; i < w->queries.n; i++) {
        assert_int_equal(a[i].n_hits, b[i].n_hits);
        for (uint32_t j = 0; j < a[i].n_hits; j++) {
            assert_int_equal(a[i].hits[j].index, b[i].hits[j].index);
            assert_true(a[i].hits[j].score == b[i].hits[j].score);
        }
        assert_int_equal(a[i].n_cands, b[i].n_cands);
        for (uint32_t j = 0; j < a[i].n_cands; j++) {
            assert_int_equal(a[i].cands[j].index, b[i].cands[j].index);
            assert_true(a[i].cands[j].delta == b[i].cands[j].delta);
            assert_true(a[i].cands[j].hybrid.score == b[i].cands[j].hybrid.score);
        }
        assert_int_equal(a[i].verdict, b[i].verdict);
        assert_true(a[i].confidence == b[i].confidence);
        assert_true(a[i].class_confidence == b[i].class_confidence);
        assert_string_equal(a[i].predicted_class, b[i].predicted_class);
        assert_int_equal(a[i].n_subst, b[i].n_subst);
        for (int j = 0; j < a[i].n_subst; j++)
            assert_string_equal(a[i].subst[j].h.label, b[i].subst[j].h.label);
    }
    free(a);
    free(b);
}

static int not_fentanyl(uint64_t i, void *user) { return i == *(uint64_t *)user; }

static void test_exclusion(void **state)
{
    world *w = *state;
    npsw_analyse_opts o = npsw_analyse_opts_default();
    npsw_analysis a;
    npsw_err e;
    npsw_err_clear(&e);
    assert_int_equal(npsw_analyse(w->lib, w->queries.v, 1, &o, &a, &e), 0);
    /* drop fentanyl from the lists, and tell decide not to bring it back */
    uint32_t m = 0;
    for (uint32_t j = 0; j < a.n_cands; j++)
        if (a.cands[j].index != w->fentanyl) a.cands[m++] = a.cands[j];
    a.n_cands = m;
    npsw_analyser *an = npsw_analyser_new(w->lib, &e);
    npsw_analyse_scratch *s = npsw_analyse_scratch_new(an);
    assert_non_null(s);
    npsw_analyse_decide(an, s, &w->queries.v[0], &o, not_fentanyl, &w->fentanyl, &a);
    for (uint32_t j = 0; j < a.n_cands; j++) assert_true(a.cands[j].index != w->fentanyl);
    assert_true(!a.has_analogue || a.analogue.index != w->fentanyl);
    npsw_analyse_scratch_free(s);
    npsw_analyser_free(an);
}

static void test_self_in_library(void **state)
{
    world *w = *state;
    npsw_spectrum q;
    npsw_spectrum_init(&q);
    assert_int_equal(npsw_lib_get_spectrum(w->lib, w->fentanyl, &q), 0);
    npsw_analyse_opts o = npsw_analyse_opts_default();
    npsw_analysis a;
    npsw_err e;
    npsw_err_clear(&e);
    assert_int_equal(npsw_analyse(w->lib, &q, 1, &o, &a, &e), 0);
    assert_int_equal(a.hits[0].index, w->fentanyl);
    assert_int_equal(a.verdict, NPSW_VERDICT_IN_LIBRARY);
    assert_true(a.confidence > 0.5);
    assert_string_equal(a.predicted_class, "fentanyl");
    npsw_spectrum_free(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fluorofentanyls),
        cmocka_unit_test(test_each_substituent_on_constructed_spectra),
        cmocka_unit_test(test_threads_identical),
        cmocka_unit_test(test_exclusion),
        cmocka_unit_test(test_self_in_library),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
