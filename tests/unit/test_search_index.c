/* test_search_index.c - the match-factor search index stored in the library file (format 1.3,
 * docs/format.md "/index/mf"):
 *  - a written and reopened library holds it, used in place (memory-mapped) or read into memory
 *    (NPSW_NO_MMAP), and every way of searching gives the same hits: stored index, index built
 *    at search time (NPSW_NO_STORED_INDEX), the in-memory library, and the brute force;
 *  - scores whose weights differ from the stored ones (mf, rmf, cosine) build their own;
 *  - files without it (format 1.2) or with an unknown layout search the same, and say so;
 *  - an index made for other content is refused, an inconsistent one is refused when opening,
 *    and damaged large arrays never crash a search and are found by npsw_lib_verify;
 *  - shards (npsw_lib_open_shard, ranges that start and end inside the search's blocks) search
 *    with the whole file's index in place and give the shard's brute-force hits.
 * All spectra are SYNTHETIC, made here from a fixed seed. */
#include <hdf5.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "library_internal.h"
#include "npsw/clean.h"
#include "npsw/libfile.h"
#include "npsw/search.h"

#define NLIB 2600 /* two blocks of the search (2048 spectra each) */
#define NQ 24
#define K 7

static char dir[256];
static char path[300]; /* the library written by setup */
static npsw_lib *mem;  /* the same library, never written */
static npsw_spectrum queries[NQ];

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* An EI-like synthetic spectrum: a few ions common to many spectra (dense bins), a family core
 * and random peaks, some at or below the default threshold. */
static void synth(npsw_spectrum *s, uint32_t family)
{
    static const int common[] = {41, 43, 55, 57, 77, 91, 105};
    npsw_spectrum_init(s);
    for (int i = 0; i < 7; i++)
        if (rnd(3)) assert_int_equal(npsw_spectrum_push(s, common[i], (float)(1 + rnd(400))), 0);
    for (uint32_t i = 0; i < 12; i++)
        assert_int_equal(npsw_spectrum_push(s, 60 + (family * 37 + i * 23) % 400,
                                            (float)(50 + (family * 13 + i * 71) % 950)), 0);
    uint32_t extra = 10 + rnd(40);
    for (uint32_t i = 0; i < extra; i++)
        assert_int_equal(npsw_spectrum_push(s, 30 + rnd(470), (float)(rnd(5) ? rnd(300) : 1)), 0);
    /* in some: a counted peak, three at the threshold, a counted one (the match-factor ratio of
     * the last pair then walks back through the library's peaks when the query's previous
     * counted peak is one of the three: mf_ratio_uncounted) */
    if (rnd(3) == 0) {
        static const float run[][2] = {{500, 600}, {510, 1}, {512, 1}, {515, 1}, {520, 500}};
        static const float qrun[][2] = {{512, 400}, {520, 500}};
        const float(*r)[2] = rnd(2) ? run : qrun;
        size_t nr = r == run ? 5 : 2;
        for (size_t i = 0; i < nr; i++)
            assert_int_equal(npsw_spectrum_push(s, r[i][0], r[i][1]), 0);
    }
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/npsw_test_search_index.XXXXXX");
    if (!mkdtemp(dir)) return -1;
    npsw_spectrum *s = calloc(NLIB, sizeof *s);
    if (!s) return -1;
    for (uint32_t i = 0; i < NLIB; i++) synth(&s[i], i / 3);
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_err e;
    mem = npsw_lib_build(s, NLIB, &co, "synthetic", "1", NULL, 0, NULL, &e);
    for (uint32_t i = 0; i < NLIB; i++) npsw_spectrum_free(&s[i]);
    free(s);
    if (!mem) return -1;
    for (uint32_t j = 0; j < NQ; j++) {
        synth(&queries[j], j < NQ - 4 ? rnd(NLIB / 3) : 100000 + j); /* 4 unrelated */
        if (npsw_clean(&queries[j], &co, NULL) < 0) return -1;
    }
    snprintf(path, sizeof path, "%s/lib.h5", dir);
    return npsw_lib_write(mem, path, &e);
}

static int teardown(void **state)
{
    (void)state;
    npsw_lib_free(mem);
    for (uint32_t j = 0; j < NQ; j++) npsw_spectrum_free(&queries[j]);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

typedef struct result {
    npsw_hit hits[NQ * K];
    uint32_t n[NQ];
} result;

static void search(const npsw_lib *lib, npsw_score_kind score, int brute, result *r)
{
    npsw_search_opts o = npsw_search_opts_default();
    o.k = K;
    o.score = score;
    npsw_err e;
    memset(r, 0, sizeof *r);
    if (brute)
        assert_int_equal(npsw_search_brute(lib, queries, NQ, &o, 0, r->hits, r->n, &e), 0);
    else
        assert_int_equal(npsw_search(lib, queries, NQ, &o, r->hits, r->n, NULL, &e), 0);
}

static void assert_same(const result *a, const result *b)
{
    for (uint32_t j = 0; j < NQ; j++) {
        assert_int_equal(a->n[j], b->n[j]);
        for (uint32_t h = 0; h < a->n[j]; h++) {
            assert_int_equal(a->hits[j * K + h].index, b->hits[j * K + h].index);
            assert_true(a->hits[j * K + h].score == b->hits[j * K + h].score);
        }
    }
}

static void copy_file(const char *to)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", path, to);
    assert_int_equal(system(cmd), 0);
}

static void set_attr_str(const char *file, const char *obj, const char *name, const char *v)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    assert_true(H5Adelete(o, name) >= 0);
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(v));
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(o, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0 && H5Awrite(a, t, v) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
    H5Tclose(t);
    H5Oclose(o);
    H5Fclose(f);
}

/* Overwrite the first count elements of a dataset with bytes from v (elements of its type). */
static void poke(const char *file, const char *name, hid_t type, const void *v, hsize_t count)
{
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
    assert_true(ds >= 0);
    hid_t fs = H5Dget_space(ds);
    hsize_t start = 0;
    assert_true(H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &count, NULL) >= 0);
    hid_t ms = H5Screate_simple(1, &count, NULL);
    assert_true(H5Dwrite(ds, type, ms, fs, H5P_DEFAULT, v) >= 0);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(ds);
    H5Fclose(f);
}

static void test_stored_equals_built(void **state)
{
    (void)state;
    npsw_err e;
    npsw_lib *lib = npsw_lib_open(path, &e);
    assert_non_null(lib);
    assert_true(lib->mfi.present);
    assert_true(lib->mfi.nd > 0 && lib->mfi.nblk == 2); /* the test reaches both parts */
    assert_non_null(lib->mfi.map);
    assert_int_equal(lib->mfi.owned & (1u << 1), 0); /* lanes used in place */
    char d[300];
    npsw_lib_search_index_describe(lib, d, sizeof d);
    assert_non_null(strstr(d, "memory-mapped"));
    result brute, stored, built, inmem;
    search(mem, NPSW_SCORE_WMF, 1, &brute);
    search(lib, NPSW_SCORE_WMF, 0, &stored);
    search(mem, NPSW_SCORE_WMF, 0, &inmem);
    setenv("NPSW_NO_STORED_INDEX", "1", 1);
    search(lib, NPSW_SCORE_WMF, 0, &built);
    unsetenv("NPSW_NO_STORED_INDEX");
    assert_same(&stored, &brute);
    assert_same(&built, &brute);
    assert_same(&inmem, &brute);
    /* other weights or thresholds: an index of their own, same answers as the brute force */
    npsw_score_kind others[] = {NPSW_SCORE_MF, NPSW_SCORE_RMF, NPSW_SCORE_COSINE};
    for (int i = 0; i < 3; i++) {
        search(mem, others[i], 1, &brute);
        search(lib, others[i], 0, &stored);
        assert_same(&stored, &brute);
    }
    assert_int_equal(npsw_lib_verify(lib, &e), 0);
    npsw_lib_free(lib);

    /* read into memory instead of mapped: the same */
    setenv("NPSW_NO_MMAP", "1", 1);
    lib = npsw_lib_open(path, &e);
    unsetenv("NPSW_NO_MMAP");
    assert_non_null(lib);
    assert_true(lib->mfi.present);
    assert_null(lib->mfi.map);
    npsw_lib_search_index_describe(lib, d, sizeof d);
    assert_non_null(strstr(d, "read into memory"));
    search(lib, NPSW_SCORE_WMF, 0, &stored);
    search(mem, NPSW_SCORE_WMF, 1, &brute);
    assert_same(&stored, &brute);
    npsw_lib_free(lib);
}

/* A file of format 1.2 (no /index/mf) and one whose index has a layout this npswatch does not
 * know: both open, say that the index is built at search time, and search the same. */
static void test_older_files(void **state)
{
    (void)state;
    char p12[320], play[320];
    snprintf(p12, sizeof p12, "%s/v12.h5", dir);
    snprintf(play, sizeof play, "%s/layout.h5", dir);
    copy_file(p12);
    copy_file(play);
    hid_t f = H5Fopen(p12, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(H5Ldelete(f, "/index/mf", H5P_DEFAULT) >= 0);
    hid_t root = H5Gopen2(f, "/", H5P_DEFAULT);
    hid_t a = H5Aopen(root, "format_minor", H5P_DEFAULT);
    int two = 2;
    assert_true(H5Awrite(a, H5T_NATIVE_INT, &two) >= 0);
    H5Aclose(a);
    H5Gclose(root);
    H5Fclose(f);
    set_attr_str(play, "/index/mf", "layout", "npsw-mf-999");
    result brute, got;
    search(mem, NPSW_SCORE_WMF, 1, &brute);
    const char *files[] = {p12, play};
    for (int i = 0; i < 2; i++) {
        npsw_err e;
        npsw_lib *lib = npsw_lib_open(files[i], &e);
        assert_non_null(lib);
        assert_false(lib->mfi.present);
        char d[300];
        npsw_lib_search_index_describe(lib, d, sizeof d);
        assert_non_null(strstr(d, "built in memory at each"));
        search(lib, NPSW_SCORE_WMF, 0, &got);
        assert_same(&got, &brute);
        assert_int_equal(npsw_lib_verify(lib, &e), 0);
        npsw_lib_free(lib);
    }
}

static void test_other_content_refused(void **state)
{
    (void)state;
    char p[320];
    snprintf(p, sizeof p, "%s/other.h5", dir);
    copy_file(p);
    set_attr_str(p, "/index/mf", "content_sha256",
                 "0000000000000000000000000000000000000000000000000000000000000000");
    npsw_err e;
    assert_null(npsw_lib_open(p, &e));
    assert_int_equal(e.code, NPSW_ECHECKSUM);
    assert_non_null(strstr(e.msg, "search index"));
}

static void test_inconsistent_refused(void **state)
{
    (void)state;
    char p[320];
    snprintf(p, sizeof p, "%s/shape.h5", dir);
    copy_file(p);
    uint32_t bad[2] = {7, 3}; /* dense_of must number the dense bins 0, 1, ... in m/z order */
    poke(p, "/index/mf/dense_of", H5T_NATIVE_UINT32, bad, 2);
    npsw_err e;
    assert_null(npsw_lib_open(p, &e));
    assert_int_equal(e.code, NPSW_EFORMAT);
    assert_non_null(strstr(e.msg, "dense_of"));
}

/* Garbage in the large arrays (not checked when opening, to keep opening cheap): searches stay
 * within bounds (the sanitizer build checks), verify reports the damage. */
static void test_damaged_arrays(void **state)
{
    (void)state;
    char p[320];
    snprintf(p, sizeof p, "%s/damaged.h5", dir);
    copy_file(p);
    unsigned char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (unsigned char)(0xff - (i * 7) % 13);
    npsw_err e;
    npsw_lib *lib = npsw_lib_open(p, &e);
    assert_non_null(lib);
    uint64_t nxp = lib->mfi.nxp * NPSW_MF_XPOST_BYTES, lanes = (uint64_t)lib->mfi.nd * lib->mfi.n;
    npsw_lib_free(lib);
    poke(p, "/index/mf/postings", H5T_NATIVE_UINT8, junk, nxp < 4096 ? nxp : 4096);
    poke(p, "/index/mf/lane_dist_low1", H5T_NATIVE_UINT8, junk, lanes < 4096 ? lanes : 4096);
    poke(p, "/index/mf/lane_code", H5T_NATIVE_UINT8, junk, lanes < 4096 ? lanes : 4096);
    lib = npsw_lib_open(p, &e);
    assert_non_null(lib);
    result got;
    search(lib, NPSW_SCORE_WMF, 0, &got); /* any answer, but no crash */
    assert_int_equal(npsw_lib_verify(lib, &e), NPSW_ECHECKSUM);
    assert_non_null(strstr(e.msg, "search index"));
    npsw_lib_free(lib);
    for (uint32_t sh = 0; sh < 3; sh++) { /* shards, through the view: no crash either */
        lib = npsw_lib_open_shard(p, sh, 3, &e);
        assert_non_null(lib);
        assert_true(lib->mfi.present);
        search(lib, NPSW_SCORE_WMF, 0, &got);
        npsw_lib_free(lib);
    }
}

/* Shards of the file search through a view of the file's stored index (their spectra start and
 * end inside its blocks of 2048) and find what the brute force finds on the shard, as do the
 * shard's own index (NPSW_NO_STORED_INDEX) and, with the file read instead of mapped, a shard
 * that has no view. */
static void test_shards_use_the_stored_index(void **state)
{
    (void)state;
    npsw_err e;
    result brute, stored, built;
    for (uint32_t ns = 1; ns <= 5; ns++)
        for (uint32_t sh = 0; sh < ns; sh++) {
            npsw_lib *p = npsw_lib_open_shard(path, sh, ns, &e);
            assert_non_null(p);
            assert_true(p->mfi.present);
            assert_non_null(p->mfi.map);
            assert_int_equal(p->mfi.owned, 0);
            assert_int_equal(p->mfi.base, npsw_lib_whole_index(p, 0));
            assert_int_equal(p->mfi.n, NLIB);
            char d[300];
            npsw_lib_search_index_describe(p, d, sizeof d);
            assert_non_null(strstr(d, "memory-mapped"));
            search(p, NPSW_SCORE_WMF, 1, &brute);
            search(p, NPSW_SCORE_WMF, 0, &stored);
            setenv("NPSW_NO_STORED_INDEX", "1", 1);
            search(p, NPSW_SCORE_WMF, 0, &built);
            unsetenv("NPSW_NO_STORED_INDEX");
            assert_same(&stored, &brute);
            assert_same(&built, &brute);
            search(p, NPSW_SCORE_MF, 1, &brute); /* other weights: the shard's own index */
            search(p, NPSW_SCORE_MF, 0, &stored);
            assert_same(&stored, &brute);
            npsw_lib_free(p);
        }
    setenv("NPSW_NO_MMAP", "1", 1);
    npsw_lib *p = npsw_lib_open_shard(path, 1, 3, &e);
    unsetenv("NPSW_NO_MMAP");
    assert_non_null(p);
    assert_false(p->mfi.present); /* a shard never reads the whole index into memory */
    search(p, NPSW_SCORE_WMF, 1, &brute);
    search(p, NPSW_SCORE_WMF, 0, &stored);
    assert_same(&stored, &brute);
    npsw_lib_free(p);
}

int main(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stored_equals_built),
        cmocka_unit_test(test_older_files),
        cmocka_unit_test(test_other_content_refused),
        cmocka_unit_test(test_inconsistent_refused),
        cmocka_unit_test(test_damaged_arrays),
        cmocka_unit_test(test_shards_use_the_stored_index),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
