/* test_libpart.c - parts of a library file (npsw_lib_open_shard, npsw_lib_open_part) and the
 * distributed computation built on them (docs/mpi.md), in one process:
 *  - every shard split (1..7 shards, more shards than spectra too) holds every spectrum once, in
 *    order, each equal field by field to the whole library's, with the right whole index;
 *  - lists of spectra (runs, isolated spectra, the first and the last, none) likewise;
 *  - what a part must refuse: unsorted lists, spectra beyond the file, a missing shard, being
 *    written, verified or extended;
 *  - the identity search of each shard, merged by npsw_hit_before, equals the whole library's
 *    search bit for bit (index, every score);
 *  - the analogue analysis split into its per-shard stages (identity search, hybrid search, table
 *    scan), merged, and finished on a part holding the listed spectra (npsw_analyse_decide_table)
 *    equals npsw_analyse on the whole library, field by field.
 * Data: the bundled SWGDRUG 3.4 DEA subset (real EI spectra) and the bundled example queries
 * (real spectra; the fluorofentanyls withheld from the library exercise the table-shift path). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "npsw/analyse.h"
#include "npsw/classes.h"
#include "npsw/io.h"
#include "npsw/libfile.h"

typedef struct world {
    char dir[256], path[320];
    npsw_lib *lib;        /* the whole library, as npsw_lib_open reads it */
    npsw_spectra queries; /* the bundled example queries, cleaned */
} world;

static int read_bundled(const char *rel, npsw_spectra *out)
{
    const char *td = getenv("NPSW_TEST_DATA");
    char path[4096];
    snprintf(path, sizeof path, "%s/../../spectra_db/data/%s", td ? td : "tests/data", rel);
    npsw_read_opts ro = npsw_read_opts_default();
    npsw_err e;
    npsw_err_clear(&e);
    if (npsw_read_file(path, &ro, 0, out, NULL, &e) < 0) {
        fprintf(stderr, "cannot read the bundled file %s: %s\n", path, e.msg);
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    world *w = calloc(1, sizeof *w);
    if (!w) return -1;
    snprintf(w->dir, sizeof w->dir, "/tmp/npsw_test_libpart.XXXXXX");
    if (!mkdtemp(w->dir)) return -1;
    snprintf(w->path, sizeof w->path, "%s/lib.h5", w->dir);
    npsw_spectra lib = {0};
    if (read_bundled("swgdrug_3.4_dea.msp", &lib) < 0) return -1;
    const char *qf[] = {"examples/example_queries.msp", "examples/emerging.msp",
                        "examples/lab_a.msp", "examples/lab_b.msp"};
    for (size_t i = 0; i < sizeof qf / sizeof qf[0]; i++)
        if (read_bundled(qf[i], &w->queries) < 0) return -1;
    assert_int_equal(npsw_classify_spectra(lib.v, lib.n), 0);
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_err e;
    npsw_err_clear(&e);
    npsw_lib *built = npsw_lib_build(lib.v, lib.n, &co, "bundled DEA subset", "test", NULL, 0,
                                     NULL, &e);
    assert_non_null(built);
    assert_int_equal(npsw_lib_write(built, w->path, &e), 0);
    npsw_lib_free(built);
    npsw_spectra_free(&lib);
    w->lib = npsw_lib_open(w->path, &e);
    assert_non_null(w->lib);
    assert_true(npsw_lib_size(w->lib) > 900);
    for (size_t i = 0; i < w->queries.n; i++)
        assert_true(npsw_clean(&w->queries.v[i], &co, NULL) >= 0);
    assert_true(w->queries.n >= 15);
    *state = w;
    return 0;
}

static int teardown(void **state)
{
    world *w = *state;
    if (!w) return 0;
    npsw_lib_free(w->lib);
    npsw_spectra_free(&w->queries);
    unlink(w->path);
    rmdir(w->dir);
    free(w);
    return 0;
}

/* Local spectrum i of part p is whole spectrum wi of the library: every column equal. */
static void assert_same_spectrum(const npsw_lib *whole, uint64_t wi, const npsw_lib *p, uint64_t i)
{
    assert_int_equal(npsw_lib_whole_index(p, i), wi);
    assert_int_equal(npsw_lib_local_index(p, wi), i);
    npsw_peaks a = npsw_lib_peaks(whole, wi), b = npsw_lib_peaks(p, i);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.mz, b.mz, a.n * sizeof *a.mz);
    assert_memory_equal(a.in, b.in, a.n * sizeof *a.in);
    assert_true(npsw_lib_mw(whole, wi) == npsw_lib_mw(p, i));
    assert_true(npsw_lib_exact_mass(whole, wi) == npsw_lib_exact_mass(p, i));
    assert_true(npsw_lib_precursor_mz(whole, wi) == npsw_lib_precursor_mz(p, i));
    assert_true(npsw_lib_retention_index(whole, wi) == npsw_lib_retention_index(p, i));
    assert_int_equal(npsw_lib_ion_mode(whole, wi), npsw_lib_ion_mode(p, i));
    for (int f = 0; f < NPSW_META_COUNT; f++) {
        char x[4096];
        snprintf(x, sizeof x, "%s", npsw_lib_meta(whole, wi, f));
        assert_string_equal(x, npsw_lib_meta(p, i, f));
    }
}

static void assert_same_info(const npsw_lib *whole, const npsw_lib *p)
{
    const npsw_lib_info *a = npsw_lib_get_info(whole), *b = npsw_lib_get_info(p);
    assert_true(npsw_lib_is_part(p));
    assert_false(npsw_lib_is_part(whole));
    assert_int_equal(npsw_lib_whole_size(p), npsw_lib_size(whole));
    assert_string_equal(a->content_sha256, b->content_sha256);
    assert_string_equal(a->name, b->name);
    assert_string_equal(a->version, b->version);
    assert_int_equal(a->clean.nominal, b->clean.nominal);
}

static void test_shards_cover_the_library(void **state)
{
    world *w = *state;
    const uint64_t n = npsw_lib_size(w->lib);
    npsw_err e;
    for (uint32_t ns = 1; ns <= 7; ns++) {
        uint64_t next = 0; /* the next whole index expected */
        for (uint32_t s = 0; s < ns; s++) {
            npsw_lib *p = npsw_lib_open_shard(w->path, s, ns, &e);
            assert_non_null(p);
            assert_same_info(w->lib, p);
            /* the documented range: floor(s n / ns) .. floor((s + 1) n / ns) - 1 */
            assert_int_equal(npsw_lib_size(p), (s + 1) * n / ns - s * n / ns);
            for (uint64_t i = 0; i < npsw_lib_size(p); i++, next++)
                assert_same_spectrum(w->lib, next, p, i);
            if (next < n) assert_int_equal(npsw_lib_local_index(p, next), UINT64_MAX);
            npsw_lib_free(p);
        }
        assert_int_equal(next, n);
    }
}

/* More shards than spectra: a tiny library split 5 ways leaves empty shards that work. */
static void test_empty_shards(void **state)
{
    world *w = *state;
    char path[400];
    snprintf(path, sizeof path, "%s/two.h5", w->dir);
    uint64_t two[2] = {5, 6};
    npsw_err e;
    npsw_lib *p = npsw_lib_open_part(w->path, two, 2, &e);
    assert_non_null(p);
    npsw_spectrum s[2];
    for (int i = 0; i < 2; i++) {
        npsw_spectrum_init(&s[i]);
        assert_int_equal(npsw_lib_get_spectrum(p, (uint64_t)i, &s[i]), 0);
    }
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_lib *small = npsw_lib_build(s, 2, &co, "two", "1", NULL, 0, NULL, &e);
    assert_non_null(small);
    assert_int_equal(npsw_lib_write(small, path, &e), 0);
    uint64_t seen = 0;
    for (uint32_t sh = 0; sh < 5; sh++) {
        npsw_lib *q = npsw_lib_open_shard(path, sh, 5, &e);
        assert_non_null(q);
        assert_int_equal(npsw_lib_whole_size(q), 2);
        for (uint64_t i = 0; i < npsw_lib_size(q); i++, seen++)
            assert_same_spectrum(small, seen, q, i);
        /* an empty shard searches to no hits */
        npsw_search_opts so = npsw_search_opts_default();
        npsw_hit h[5];
        uint32_t nh = 99;
        assert_int_equal(npsw_search(q, &w->queries.v[0], 1, &so, h, &nh, NULL, &e), 0);
        if (npsw_lib_size(q) == 0) assert_int_equal(nh, 0);
        npsw_lib_free(q);
    }
    assert_int_equal(seen, 2);
    for (int i = 0; i < 2; i++) npsw_spectrum_free(&s[i]);
    npsw_lib_free(small);
    npsw_lib_free(p);
    unlink(path);
}

static uint64_t lcg(uint64_t *x)
{
    *x = *x * 6364136223846793005ull + 1442695040888963407ull;
    return *x >> 33;
}

static void test_lists_of_spectra(void **state)
{
    world *w = *state;
    const uint64_t n = npsw_lib_size(w->lib);
    npsw_err e;
    uint64_t *idx = malloc(n * sizeof *idx), seed = 42;
    assert_non_null(idx);
    for (int round = 0; round < 12; round++) {
        /* a random subset: runs of consecutive spectra and isolated ones, sometimes the first
         * and the last spectrum, and (round 0) none */
        size_t m = 0;
        unsigned keep = round == 0 ? 0 : 1 + (unsigned)(lcg(&seed) % 60);
        for (uint64_t i = 0; i < n; i++)
            if (lcg(&seed) % 100 < keep || (round % 3 == 1 && (i == 0 || i == n - 1))) idx[m++] = i;
        npsw_lib *p = npsw_lib_open_part(w->path, idx, m, &e);
        assert_non_null(p);
        assert_same_info(w->lib, p);
        assert_int_equal(npsw_lib_size(p), m);
        for (size_t i = 0; i < m; i++) assert_same_spectrum(w->lib, idx[i], p, i);
        /* spectra not held are not found */
        for (uint64_t wi = 0, j = 0; wi < n; wi++) {
            if (j < m && idx[j] == wi) {
                j++;
                continue;
            }
            assert_int_equal(npsw_lib_local_index(p, wi), UINT64_MAX);
        }
        npsw_lib_free(p);
    }
    free(idx);
}

static void test_part_refusals(void **state)
{
    world *w = *state;
    const uint64_t n = npsw_lib_size(w->lib);
    npsw_err e;
    npsw_err_clear(&e);
    uint64_t unsorted[3] = {4, 2, 9}, twice[2] = {3, 3}, beyond[2] = {1, n};
    assert_null(npsw_lib_open_part(w->path, unsorted, 3, &e));
    assert_int_equal(e.code, NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "ascending"));
    assert_null(npsw_lib_open_part(w->path, twice, 2, &e));
    assert_int_equal(e.code, NPSW_EINVAL);
    assert_null(npsw_lib_open_part(w->path, beyond, 2, &e));
    assert_int_equal(e.code, NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "beyond"));
    assert_null(npsw_lib_open_shard(w->path, 3, 3, &e));
    assert_int_equal(e.code, NPSW_EINVAL);
    assert_null(npsw_lib_open_shard(w->path, 0, 0, &e));
    char missing[400];
    snprintf(missing, sizeof missing, "%s/missing.h5", w->dir);
    assert_null(npsw_lib_open_shard(missing, 0, 2, &e));
    assert_int_equal(e.code, NPSW_EIO);

    npsw_lib *p = npsw_lib_open_shard(w->path, 1, 2, &e);
    assert_non_null(p);
    char out[400];
    snprintf(out, sizeof out, "%s/part.h5", w->dir);
    assert_int_equal(npsw_lib_write(p, out, &e), NPSW_EINVAL);
    assert_int_equal(access(out, F_OK), -1); /* nothing written */
    assert_int_equal(npsw_lib_verify(p, &e), NPSW_EINVAL);
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    assert_int_equal(npsw_spectrum_push(&s, 58, 999), 0);
    npsw_lib_append_opts ao = {0};
    ao.version = "2";
    assert_null(npsw_lib_append(p, &s, 1, &ao, NULL, &e));
    assert_int_equal(e.code, NPSW_EINVAL);
    npsw_spectrum_free(&s);
    npsw_lib_free(p);
    /* the whole file verifies */
    assert_int_equal(npsw_lib_verify(w->lib, &e), 0);
}

/* ---- the distributed computation, emulated ---------------------------------------------- */

/* Merge per-shard sorted lists (list s: n[s] items of `size` bytes at lists + s * stride) by
 * `before`, first k into out. The same k-way merge as tools/mpi. */
static uint32_t merge(const void *lists, const uint32_t *n, uint32_t ns, size_t stride,
                      size_t size, uint32_t k, int (*before)(const void *, const void *), void *out)
{
    uint32_t pos[16] = {0}, m = 0;
    assert_true(ns <= 16);
    while (m < k) {
        int best = -1;
        for (uint32_t s = 0; s < ns; s++) {
            if (pos[s] >= n[s]) continue;
            const char *x = (const char *)lists + s * stride + pos[s] * size;
            if (best < 0 ||
                before(x, (const char *)lists + (size_t)best * stride + pos[best] * size))
                best = (int)s;
        }
        if (best < 0) break;
        memcpy((char *)out + m++ * size, (const char *)lists + (size_t)best * stride + pos[best]++ * size,
               size);
    }
    return m;
}

static int hit_before(const void *a, const void *b) { return npsw_hit_before(a, b); }
static int cand_before(const void *a, const void *b) { return npsw_analogue_hit_before(a, b); }
static int pair_before(const void *a, const void *b) { return npsw_table_pair_before(a, b); }

static void test_sharded_search_equals_whole(void **state)
{
    world *w = *state;
    const size_t nq = w->queries.n;
    const uint32_t K = 10;
    npsw_err e;
    npsw_score_kind kinds[] = {NPSW_SCORE_WMF, NPSW_SCORE_MF, NPSW_SCORE_ENTROPY};
    for (size_t ki = 0; ki < sizeof kinds / sizeof kinds[0]; ki++) {
        npsw_search_opts so = npsw_search_opts_default();
        so.k = K;
        so.score = kinds[ki];
        npsw_hit *whole = malloc(nq * K * sizeof *whole);
        uint32_t *nw = calloc(nq, sizeof *nw);
        assert_int_equal(npsw_search(w->lib, w->queries.v, nq, &so, whole, nw, NULL, &e), 0);
        for (uint32_t ns = 2; ns <= 4; ns++) {
            npsw_hit *sh = malloc(ns * nq * K * sizeof *sh);
            uint32_t *nh = calloc(ns * nq, sizeof *nh);
            for (uint32_t s = 0; s < ns; s++) {
                npsw_lib *p = npsw_lib_open_shard(w->path, s, ns, &e);
                assert_non_null(p);
                npsw_hit *h = sh + (size_t)s * nq * K;
                assert_int_equal(npsw_search(p, w->queries.v, nq, &so, h, nh + s * nq, NULL, &e), 0);
                for (size_t i = 0; i < nq * K; i++)
                    if (i % K < nh[s * nq + i / K]) h[i].index = npsw_lib_whole_index(p, h[i].index);
                npsw_lib_free(p);
            }
            for (size_t q = 0; q < nq; q++) {
                npsw_hit m[10], lists[4][10];
                uint32_t cnt[4];
                for (uint32_t s = 0; s < ns; s++) {
                    cnt[s] = nh[s * nq + q];
                    memcpy(lists[s], sh + ((size_t)s * nq + q) * K, cnt[s] * sizeof(npsw_hit));
                }
                uint32_t nm = merge(lists, cnt, ns, sizeof lists[0], sizeof(npsw_hit), K, hit_before, m);
                assert_int_equal(nm, nw[q]);
                for (uint32_t r = 0; r < nm; r++) {
                    const npsw_hit *a = &whole[q * K + r], *b = &m[r];
                    assert_int_equal(a->index, b->index);
                    assert_memory_equal(&a->score, &b->score, sizeof a->score);
                    assert_memory_equal(&a->all.mf, &b->all.mf, 5 * sizeof(double));
                    assert_int_equal(a->all.n_matched, b->all.n_matched);
                }
            }
            free(sh);
            free(nh);
        }
        free(whole);
        free(nw);
    }
}

static void assert_same_analysis(const npsw_analysis *a, const npsw_analysis *b)
{
    assert_int_equal(a->n_hits, b->n_hits);
    for (uint32_t i = 0; i < a->n_hits; i++) {
        assert_int_equal(a->hits[i].index, b->hits[i].index);
        assert_memory_equal(&a->hits[i].score, &b->hits[i].score, sizeof(double));
    }
    assert_int_equal(a->n_cands, b->n_cands);
    for (uint32_t i = 0; i < a->n_cands; i++) {
        assert_int_equal(a->cands[i].index, b->cands[i].index);
        assert_memory_equal(&a->cands[i].hybrid.score, &b->cands[i].hybrid.score, sizeof(double));
        assert_true(a->cands[i].delta == b->cands[i].delta);
        assert_true(a->cands[i].query_mass == b->cands[i].query_mass);
    }
    assert_int_equal(a->verdict, b->verdict);
    assert_memory_equal(&a->confidence, &b->confidence, sizeof(double));
    assert_memory_equal(&a->p_in_library, &b->p_in_library, sizeof(double));
    assert_memory_equal(&a->p_analogue, &b->p_analogue, sizeof(double));
    assert_int_equal(a->has_analogue, b->has_analogue);
    if (a->has_analogue) {
        assert_int_equal(a->analogue.index, b->analogue.index);
        assert_true(a->analogue.delta == b->analogue.delta);
        assert_memory_equal(&a->analogue_cosine, &b->analogue_cosine, sizeof(double));
        assert_memory_equal(&a->shift_support, &b->shift_support, sizeof(double));
        assert_int_equal(a->analogue_from_shift, b->analogue_from_shift);
    }
    assert_int_equal(a->n_shifts, b->n_shifts);
    for (int i = 0; i < a->n_shifts; i++) {
        assert_int_equal(a->shifts[i].shift, b->shifts[i].shift);
        assert_memory_equal(&a->shifts[i].score, &b->shifts[i].score, sizeof(double));
    }
    assert_int_equal(a->n_subst, b->n_subst);
    for (int i = 0; i < a->n_subst; i++) assert_string_equal(a->subst[i].h.label, b->subst[i].h.label);
    assert_string_equal(a->predicted_class, b->predicted_class);
    assert_memory_equal(&a->class_confidence, &b->class_confidence, sizeof(double));
    assert_int_equal(a->n_diag, b->n_diag);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void test_sharded_analysis_equals_whole(void **state)
{
    world *w = *state;
    const size_t nq = w->queries.n;
    npsw_err e;
    npsw_analyse_opts o = npsw_analyse_opts_default();
    o.threads = 1;
    npsw_analysis *whole = calloc(nq, sizeof *whole), *dist = calloc(nq, sizeof *dist);
    assert_int_equal(npsw_analyse(w->lib, w->queries.v, nq, &o, whole, &e), 0);
    const uint32_t K = o.k, T = NPSW_ANALYSE_TABLE_KEEP;
    npsw_search_opts so;
    npsw_analogue_opts ao;
    npsw_analyse_stage_opts(&o, &so, &ao);
    int some_table = 0;
    for (uint32_t ns = 1; ns <= 4; ns++) {
        npsw_hit *hits = calloc(ns * nq * K, sizeof *hits);
        npsw_analogue_hit *cands = calloc(ns * nq * K, sizeof *cands);
        npsw_table_pair *pairs = calloc(ns * nq * T, sizeof *pairs);
        uint32_t *nh = calloc(ns * nq, sizeof *nh), *nc = calloc(ns * nq, sizeof *nc),
                 *np = calloc(ns * nq, sizeof *np);
        uint32_t max_mz = 0;
        for (uint32_t s = 0; s < ns; s++) { /* the per-shard stages */
            npsw_lib *p = npsw_lib_open_shard(w->path, s, ns, &e);
            assert_non_null(p);
            npsw_hit *h = hits + (size_t)s * nq * K;
            npsw_analogue_hit *c = cands + (size_t)s * nq * K;
            npsw_table_pair *t = pairs + (size_t)s * nq * T;
            assert_int_equal(npsw_search(p, w->queries.v, nq, &so, h, nh + s * nq, NULL, &e), 0);
            assert_int_equal(npsw_analogue_search(p, w->queries.v, nq, &ao, 1, c, nc + s * nq, NULL, &e), 0);
            npsw_analyser *an = npsw_analyser_new_part(p, 0, 0, &e);
            npsw_analyse_scratch *sc = npsw_analyse_scratch_new(an);
            assert_non_null(sc);
            for (size_t q = 0; q < nq; q++) {
                np[s * nq + q] = (uint32_t)npsw_analyse_table_scan(an, sc, &w->queries.v[q], &o,
                                                                   NULL, NULL, t + q * T);
                for (uint32_t i = 0; i < nh[s * nq + q]; i++)
                    h[q * K + i].index = npsw_lib_whole_index(p, h[q * K + i].index);
                for (uint32_t i = 0; i < nc[s * nq + q]; i++)
                    c[q * K + i].index = npsw_lib_whole_index(p, c[q * K + i].index);
                for (uint32_t i = 0; i < np[s * nq + q]; i++)
                    t[q * T + i].index = npsw_lib_whole_index(p, t[q * T + i].index);
            }
            uint32_t mm = npsw_analyser_max_mz(p);
            if (mm > max_mz) max_mz = mm;
            npsw_analyse_scratch_free(sc);
            npsw_analyser_free(an);
            npsw_lib_free(p);
        }
        assert_int_equal(max_mz, npsw_analyser_max_mz(w->lib));
        /* merge, then the part holding every listed spectrum */
        npsw_hit *mh = calloc(nq * K, sizeof *mh);
        npsw_analogue_hit *mc = calloc(nq * K, sizeof *mc);
        npsw_table_pair *mt = calloc(nq * T, sizeof *mt);
        uint32_t *cnt_h = calloc(nq, 4), *cnt_c = calloc(nq, 4), *cnt_t = calloc(nq, 4);
        uint64_t *ids = malloc(nq * (2 * K + T) * sizeof *ids);
        size_t nid = 0;
        for (size_t q = 0; q < nq; q++) {
            npsw_hit lh[4][32];
            npsw_analogue_hit lc[4][32];
            npsw_table_pair lt[4][NPSW_ANALYSE_TABLE_KEEP];
            uint32_t a[4], b[4], c[4];
            for (uint32_t s = 0; s < ns; s++) {
                a[s] = nh[s * nq + q];
                b[s] = nc[s * nq + q];
                c[s] = np[s * nq + q];
                memcpy(lh[s], hits + ((size_t)s * nq + q) * K, a[s] * sizeof(npsw_hit));
                memcpy(lc[s], cands + ((size_t)s * nq + q) * K, b[s] * sizeof(npsw_analogue_hit));
                memcpy(lt[s], pairs + ((size_t)s * nq + q) * T, c[s] * sizeof(npsw_table_pair));
            }
            cnt_h[q] = merge(lh, a, ns, sizeof lh[0], sizeof(npsw_hit), K, hit_before, mh + q * K);
            cnt_c[q] = merge(lc, b, ns, sizeof lc[0], sizeof(npsw_analogue_hit), K, cand_before, mc + q * K);
            cnt_t[q] = merge(lt, c, ns, sizeof lt[0], sizeof(npsw_table_pair), T, pair_before, mt + q * T);
            some_table |= cnt_t[q] > 0;
            for (uint32_t i = 0; i < cnt_h[q]; i++) ids[nid++] = mh[q * K + i].index;
            for (uint32_t i = 0; i < cnt_c[q]; i++) ids[nid++] = mc[q * K + i].index;
            for (uint32_t i = 0; i < cnt_t[q]; i++) ids[nid++] = mt[q * T + i].index;
        }
        qsort(ids, nid, sizeof *ids, cmp_u64);
        size_t nu = 0;
        for (size_t i = 0; i < nid; i++)
            if (!nu || ids[nu - 1] != ids[i]) ids[nu++] = ids[i];
        npsw_lib *part = npsw_lib_open_part(w->path, ids, nu, &e);
        assert_non_null(part);
        npsw_analyser *an = npsw_analyser_new_part(part, max_mz, 1, &e);
        npsw_analyse_scratch *sc = npsw_analyse_scratch_new(an);
        assert_non_null(sc);
        for (size_t q = 0; q < nq; q++) {
            npsw_analysis *d = &dist[q];
            memset(d, 0, sizeof *d);
            d->n_hits = cnt_h[q];
            d->n_cands = cnt_c[q];
            for (uint32_t i = 0; i < d->n_hits; i++) {
                d->hits[i] = mh[q * K + i];
                d->hits[i].index = npsw_lib_local_index(part, d->hits[i].index);
            }
            for (uint32_t i = 0; i < d->n_cands; i++) {
                d->cands[i] = mc[q * K + i];
                d->cands[i].index = npsw_lib_local_index(part, d->cands[i].index);
            }
            npsw_table_pair t[NPSW_ANALYSE_TABLE_KEEP];
            for (uint32_t i = 0; i < cnt_t[q]; i++) {
                t[i] = mt[q * T + i];
                t[i].index = npsw_lib_local_index(part, t[i].index);
            }
            npsw_analyse_decide_table(an, sc, &w->queries.v[q], &o, NULL, NULL, t, (int)cnt_t[q], d);
            for (uint32_t i = 0; i < d->n_hits; i++)
                d->hits[i].index = npsw_lib_whole_index(part, d->hits[i].index);
            for (uint32_t i = 0; i < d->n_cands; i++)
                d->cands[i].index = npsw_lib_whole_index(part, d->cands[i].index);
            if (d->has_analogue) d->analogue.index = npsw_lib_whole_index(part, d->analogue.index);
            assert_same_analysis(&whole[q], d);
        }
        npsw_analyse_scratch_free(sc);
        npsw_analyser_free(an);
        npsw_lib_free(part);
        free(mh);
        free(mc);
        free(mt);
        free(cnt_h);
        free(cnt_c);
        free(cnt_t);
        free(ids);
        free(hits);
        free(cands);
        free(pairs);
        free(nh);
        free(nc);
        free(np);
    }
    /* the fluorofentanyls (EI, no molecular ion) must have gone through the table scan, and
     * some analysis found an analogue: the test covers those paths */
    assert_true(some_table);
    int some_analogue = 0;
    for (size_t q = 0; q < nq; q++) some_analogue |= whole[q].has_analogue;
    assert_true(some_analogue);
    free(whole);
    free(dist);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shards_cover_the_library),
        cmocka_unit_test(test_empty_shards),
        cmocka_unit_test(test_lists_of_spectra),
        cmocka_unit_test(test_part_refusals),
        cmocka_unit_test(test_sharded_search_equals_whole),
        cmocka_unit_test(test_sharded_analysis_equals_whole),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
