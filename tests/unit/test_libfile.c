/* test_libfile.c - the HDF5 library file: round trip, checksum verification, damaged content,
 * newer-format rejection, atomic replacement, format 1.1 files still opening, new versions made
 * with npsw_lib_append (indices preserved, lineage round trip, ancestry chain, accession clashes
 * refused, lineage outside the content checksum). Spectra are synthetic and made here. */
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

#include "npsw/config.h"
#include "npsw/hash.h"
#include "npsw/libfile.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/npsw_test_libfile.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static npsw_lib *make_lib(int n)
{
    npsw_spectrum *s = calloc((size_t)n, sizeof *s);
    for (int i = 0; i < n; i++) {
        npsw_spectrum_init(&s[i]);
        for (int k = 0; k < 3 + i; k++)
            assert_int_equal(npsw_spectrum_push(&s[i], 40 + 7 * k + i, (float)(100 + 50 * k)), 0);
        char name[32];
        snprintf(name, sizeof name, "synthetic %d \xce\xb2", i); /* UTF-8 beta */
        assert_int_equal(npsw_spectrum_set_meta(&s[i], NPSW_META_NAME, name, (size_t)-1), 0);
        assert_int_equal(npsw_spectrum_set_meta(&s[i], NPSW_META_INCHIKEY, "AAAAAAAAAAAAAA-BBBBBBBBBB-N", (size_t)-1), 0);
        if (i % 2) assert_int_equal(npsw_spectrum_set_meta(&s[i], NPSW_META_SYNONYMS, "x\ny", (size_t)-1), 0);
        s[i].mw = 100 + i;
        s[i].ion_mode = i % 2 ? 1 : 0;
    }
    npsw_lib_input in = {"synthetic.msp", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", (uint64_t)n, 1};
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_err e;
    npsw_lib *lib = npsw_lib_build(s, (size_t)n, &co, "test lib", "7.1", &in, 1, NULL, &e);
    for (int i = 0; i < n; i++) npsw_spectrum_free(&s[i]);
    free(s);
    return lib;
}

/* Build a library of n synthetic spectra and write it to dir/name; path receives the file. */
static void write_lib(int n, const char *name, char *path, size_t size)
{
    npsw_lib *a = make_lib(n);
    assert_non_null(a);
    snprintf(path, size, "%s/%s", dir, name);
    npsw_err e;
    assert_int_equal(npsw_lib_write(a, path, &e), 0);
    npsw_lib_free(a);
}

static void test_round_trip(void **state)
{
    (void)state;
    npsw_lib *a = make_lib(5);
    assert_non_null(a);
    char path[300];
    snprintf(path, sizeof path, "%s/a.h5", dir);
    npsw_err e;
    assert_int_equal(npsw_lib_write(a, path, &e), 0);
    npsw_lib *b = npsw_lib_open(path, &e);
    assert_non_null(b);
    assert_int_equal(npsw_lib_size(b), 5);
    assert_int_equal(npsw_lib_npeaks(b), npsw_lib_npeaks(a));
    const npsw_lib_info *ia = npsw_lib_get_info(a), *ib = npsw_lib_get_info(b);
    assert_string_equal(ib->name, "test lib");
    assert_string_equal(ib->version, "7.1");
    assert_string_equal(ib->content_sha256, ia->content_sha256);
    assert_int_equal(ib->format_major, 1);
    assert_int_equal(ib->n_inputs, 1);
    assert_string_equal(ib->inputs[0].path, "synthetic.msp");
    assert_int_equal(ib->inputs[0].n_skipped, 1);
    for (uint64_t i = 0; i < 5; i++) {
        npsw_peaks pa = npsw_lib_peaks(a, i), pb = npsw_lib_peaks(b, i);
        assert_int_equal(pa.n, pb.n);
        assert_memory_equal(pa.mz, pb.mz, pa.n * sizeof *pa.mz);
        assert_memory_equal(pa.in, pb.in, pa.n * sizeof *pa.in);
        char want[32];
        snprintf(want, sizeof want, "synthetic %d \xce\xb2", (int)i);
        assert_string_equal(npsw_lib_meta(b, i, NPSW_META_NAME), want);
        assert_string_equal(npsw_lib_meta(b, i, NPSW_META_SYNONYMS), i % 2 ? "x\ny" : "");
        assert_true(npsw_lib_mw(b, i) == 100 + (double)i);
        assert_int_equal(npsw_lib_ion_mode(b, i), i % 2 ? 1 : 0);
    }
    assert_int_equal(npsw_lib_verify(b, &e), 0);
    /* the checksum is over the content: recomputing it from the loaded file agrees */
    char sha[65];
    npsw_lib_content_sha256(b, sha);
    assert_string_equal(sha, ia->content_sha256);
    npsw_lib_free(a);
    npsw_lib_free(b);
}

/* Overwrite one intensity in the file: the file still opens, verify finds the damage. */
static void test_damaged_content(void **state)
{
    (void)state;
    char path[300];
    write_lib(4, "d.h5", path, sizeof path);
    npsw_err e;
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t ds = H5Dopen2(f, "/spectra/intensity", H5P_DEFAULT);
    hsize_t start[1] = {2}, count[1] = {1};
    hid_t fs = H5Dget_space(ds);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    hid_t ms = H5Screate_simple(1, count, NULL);
    float v = 123;
    assert_true(H5Dwrite(ds, H5T_NATIVE_FLOAT, ms, fs, H5P_DEFAULT, &v) >= 0);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(ds);
    H5Fclose(f);
    npsw_lib *b = npsw_lib_open(path, &e);
    assert_non_null(b);
    assert_int_equal(npsw_lib_verify(b, &e), NPSW_ECHECKSUM);
    assert_true(strstr(e.msg, "checksum") != NULL);
    npsw_lib_free(b);
}

static void set_int_attr(const char *path, const char *name, int value)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    hid_t a = H5Aopen_by_name(f, "/", name, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Awrite(a, H5T_NATIVE_INT, &value) >= 0);
    H5Aclose(a);
    H5Fclose(f);
}

static void test_format_versions(void **state)
{
    (void)state;
    char path[300];
    write_lib(3, "v.h5", path, sizeof path);
    npsw_err e;
    set_int_attr(path, "format_minor", 9); /* a newer minor version: still readable */
    npsw_lib *b = npsw_lib_open(path, &e);
    assert_non_null(b);
    assert_int_equal(npsw_lib_get_info(b)->format_minor, 9);
    npsw_lib_free(b);
    set_int_attr(path, "format_major", 2); /* a newer major version: refused, with a message */
    assert_null(npsw_lib_open(path, &e));
    assert_int_equal(e.code, NPSW_EVERSION);
    assert_true(strstr(e.msg, "2.9") != NULL);
    assert_true(strstr(e.msg, "newer") != NULL);
}

/* Writing replaces an existing file atomically; a failed write leaves it as it was. */
static void test_atomic_replace(void **state)
{
    (void)state;
    char path[300], bad[300], before[65], after[65];
    snprintf(path, sizeof path, "%s/r.h5", dir);
    snprintf(bad, sizeof bad, "%s/no/such/dir/r.h5", dir);
    npsw_err e;
    npsw_lib *a = make_lib(2), *b = make_lib(6);
    assert_int_equal(npsw_lib_write(a, path, &e), 0);
    assert_int_equal(npsw_sha256_file(path, before, &e), 0);
    assert_true(npsw_lib_write(b, bad, &e) < 0);
    assert_true(strstr(e.where, "no/such/dir") != NULL);
    assert_int_equal(npsw_sha256_file(path, after, &e), 0);
    assert_string_equal(before, after);
    assert_int_equal(npsw_lib_write(b, path, &e), 0);
    npsw_lib *c = npsw_lib_open(path, &e);
    assert_non_null(c);
    assert_int_equal(npsw_lib_size(c), 6);
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    assert_int_equal(access(tmp, F_OK), -1); /* no temporary file left */
    npsw_lib_free(a);
    npsw_lib_free(b);
    npsw_lib_free(c);
}

/* ---- format 1.2: lineage ------------------------------------------------------------------ */

/* A synthetic spectrum with an accession (NULL = none). */
static void make_spectrum(npsw_spectrum *s, int seed, const char *name, const char *accession)
{
    npsw_spectrum_init(s);
    for (int k = 0; k < 4; k++)
        assert_int_equal(npsw_spectrum_push(s, 50 + 11 * k + seed, (float)(200 + 100 * k)), 0);
    assert_int_equal(npsw_spectrum_set_meta(s, NPSW_META_NAME, name, (size_t)-1), 0);
    if (accession)
        assert_int_equal(npsw_spectrum_set_meta(s, NPSW_META_ACCESSION, accession, (size_t)-1), 0);
    s->mw = 200 + seed;
}

/* A parent library of n spectra with accessions SYN-0, SYN-1, ... */
static npsw_lib *make_parent(int n)
{
    npsw_spectrum *s = calloc((size_t)n, sizeof *s);
    for (int i = 0; i < n; i++) {
        char name[32], acc[32];
        snprintf(name, sizeof name, "parent %d", i);
        snprintf(acc, sizeof acc, "SYN-%d", i);
        make_spectrum(&s[i], i, name, acc);
    }
    npsw_lib_input in = {"parent.msp", "1111111111111111111111111111111111111111111111111111111111111111", (uint64_t)n, 0};
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_err e;
    npsw_lib *lib = npsw_lib_build(s, (size_t)n, &co, "parent lib", "2.0", &in, 1, NULL, &e);
    for (int i = 0; i < n; i++) npsw_spectrum_free(&s[i]);
    free(s);
    assert_non_null(lib);
    return lib;
}

/* The first npsw_lib_size(a) spectra of b are those of a, byte for byte. */
static void assert_prefix_equal(const npsw_lib *a, const npsw_lib *b)
{
    assert_true(npsw_lib_size(b) >= npsw_lib_size(a));
    for (uint64_t i = 0; i < npsw_lib_size(a); i++) {
        npsw_peaks pa = npsw_lib_peaks(a, i), pb = npsw_lib_peaks(b, i);
        assert_int_equal(pa.n, pb.n);
        assert_memory_equal(pa.mz, pb.mz, pa.n * sizeof *pa.mz);
        assert_memory_equal(pa.in, pb.in, pa.n * sizeof *pa.in);
        for (int f = 0; f < NPSW_META_COUNT; f++) {
            char va[4096];
            snprintf(va, sizeof va, "%s", npsw_lib_meta(a, i, f));
            assert_string_equal(npsw_lib_meta(b, i, f), va);
        }
        assert_true(npsw_lib_mw(a, i) == npsw_lib_mw(b, i));
    }
}

static void test_lineage_round_trip(void **state)
{
    (void)state;
    npsw_err e;
    npsw_lib *parent = make_parent(5);
    const npsw_lib_info *pi = npsw_lib_get_info(parent);
    assert_string_equal(pi->lineage.parent_sha256, ""); /* built from files: a root */
    assert_int_equal(pi->lineage.n_ancestors, 0);
    npsw_spectrum add[3];
    make_spectrum(&add[0], 40, "new one", "ADV-1");
    make_spectrum(&add[1], 41, "no peaks", "ADV-X");
    add[1].n = 0; /* dropped: not added, not recorded */
    make_spectrum(&add[2], 42, "new two", NULL);
    const char *reasons[3] = {"first reason", NULL, NULL};
    npsw_lib_input in = {"added.msp", "2222222222222222222222222222222222222222222222222222222222222222", 3, 0};
    npsw_lib_append_opts o = {.version = "2.0.adv7", .advisory_key = "NPSW-2026-0007",
                              .advisory_id = 7, .reason = "default reason", .reasons = reasons,
                              .inputs = &in, .n_inputs = 1};
    npsw_lib_build_report rep;
    npsw_lib *child = npsw_lib_append(parent, add, 3, &o, &rep, &e);
    assert_non_null(child);
    assert_int_equal(rep.n_in, 3);
    assert_int_equal(rep.n_empty, 1);
    assert_int_equal(rep.n_out, 7);
    char path[300];
    snprintf(path, sizeof path, "%s/child.h5", dir);
    assert_int_equal(npsw_lib_write(child, path, &e), 0);
    npsw_lib *b = npsw_lib_open(path, &e);
    assert_non_null(b);
    const npsw_lib_info *bi = npsw_lib_get_info(b);
    assert_int_equal(bi->format_major, 1);
    assert_int_equal(bi->format_minor, NPSW_FORMAT_MINOR);
    assert_string_equal(bi->name, "parent lib"); /* the parent's name by default */
    assert_string_equal(bi->version, "2.0.adv7");
    assert_int_equal(npsw_lib_size(b), 7);
    /* old indices stay valid: the parent's spectra unchanged and first */
    assert_prefix_equal(parent, b);
    assert_string_equal(npsw_lib_meta(b, 5, NPSW_META_NAME), "new one");
    assert_string_equal(npsw_lib_meta(b, 5, NPSW_META_ACCESSION), "ADV-1");
    assert_string_equal(npsw_lib_meta(b, 6, NPSW_META_NAME), "new two");
    /* provenance: the parent's inputs, then the added file */
    assert_int_equal(bi->n_inputs, 2);
    assert_string_equal(bi->inputs[0].path, "parent.msp");
    assert_string_equal(bi->inputs[1].path, "added.msp");
    /* lineage */
    const npsw_lib_lineage *g = &bi->lineage;
    assert_string_equal(g->parent_sha256, pi->content_sha256);
    assert_string_equal(g->parent_name, "parent lib");
    assert_string_equal(g->parent_version, "2.0");
    assert_string_equal(g->advisory_key, "NPSW-2026-0007");
    assert_int_equal(g->advisory_id, 7);
    assert_int_equal(g->n_added, 2);
    assert_int_equal(g->added[0].index, 5);
    assert_string_equal(g->added[0].accession, "ADV-1");
    assert_string_equal(g->added[0].name, "new one");
    assert_string_equal(g->added[0].reason, "first reason");
    assert_int_equal(g->added[1].index, 6);
    assert_string_equal(g->added[1].accession, "");
    assert_string_equal(g->added[1].reason, "default reason");
    assert_int_equal(g->n_ancestors, 1);
    assert_string_equal(g->ancestors[0].content_sha256, pi->content_sha256);
    assert_string_equal(g->ancestors[0].version, "2.0");
    assert_string_equal(g->ancestors[0].advisory_key, "");
    assert_int_equal(npsw_lib_verify(b, &e), 0);
    assert_string_equal(bi->content_sha256, npsw_lib_get_info(child)->content_sha256);

    /* a grandchild keeps the whole chain: root, then the child with its advisory */
    npsw_spectrum more;
    make_spectrum(&more, 60, "third", "ADV-3");
    npsw_lib_append_opts o2 = {.name = "renamed", .version = "3", .reason = "manual"};
    npsw_lib *gc = npsw_lib_append(b, &more, 1, &o2, NULL, &e);
    assert_non_null(gc);
    snprintf(path, sizeof path, "%s/grandchild.h5", dir);
    assert_int_equal(npsw_lib_write(gc, path, &e), 0);
    npsw_lib *c = npsw_lib_open(path, &e);
    assert_non_null(c);
    const npsw_lib_lineage *h = &npsw_lib_get_info(c)->lineage;
    assert_string_equal(npsw_lib_get_info(c)->name, "renamed");
    assert_int_equal(npsw_lib_size(c), 8);
    assert_prefix_equal(parent, c);
    assert_prefix_equal(b, c);
    assert_string_equal(h->parent_sha256, bi->content_sha256);
    assert_string_equal(h->parent_version, "2.0.adv7");
    assert_string_equal(h->advisory_key, "");
    assert_int_equal(h->advisory_id, 0);
    assert_int_equal(h->n_added, 1);
    assert_int_equal(h->added[0].index, 7);
    assert_int_equal(h->n_ancestors, 2);
    assert_string_equal(h->ancestors[0].content_sha256, pi->content_sha256);
    assert_string_equal(h->ancestors[0].advisory_key, "");
    assert_string_equal(h->ancestors[1].content_sha256, bi->content_sha256);
    assert_string_equal(h->ancestors[1].version, "2.0.adv7");
    assert_string_equal(h->ancestors[1].advisory_key, "NPSW-2026-0007");
    assert_int_equal(npsw_lib_verify(c, &e), 0);

    for (int i = 0; i < 3; i++) npsw_spectrum_free(&add[i]);
    npsw_spectrum_free(&more);
    npsw_lib_free(parent);
    npsw_lib_free(child);
    npsw_lib_free(b);
    npsw_lib_free(gc);
    npsw_lib_free(c);
}

/* Lineage is provenance, not content: the same spectra appended for another reason and advisory
 * give the same content SHA-256, equal to that of a library built from the same spectra. */
static void test_lineage_outside_checksum(void **state)
{
    (void)state;
    npsw_err e;
    npsw_lib *parent = make_parent(4);
    npsw_spectrum a, b;
    make_spectrum(&a, 30, "same", "SAME-1");
    make_spectrum(&b, 30, "same", "SAME-1");
    npsw_lib_append_opts o1 = {.version = "x", .advisory_key = "K1", .advisory_id = 1, .reason = "r1"};
    npsw_lib_append_opts o2 = {.version = "y", .advisory_key = "K2", .advisory_id = 2, .reason = "r2"};
    npsw_lib *c1 = npsw_lib_append(parent, &a, 1, &o1, NULL, &e);
    npsw_lib *c2 = npsw_lib_append(parent, &b, 1, &o2, NULL, &e);
    assert_non_null(c1);
    assert_non_null(c2);
    assert_string_equal(npsw_lib_get_info(c1)->content_sha256, npsw_lib_get_info(c2)->content_sha256);
    assert_string_not_equal(npsw_lib_get_info(c1)->content_sha256,
                            npsw_lib_get_info(parent)->content_sha256);
    /* the same five spectra built in one go */
    npsw_spectrum s[5];
    for (int i = 0; i < 4; i++) {
        char name[32], acc[32];
        snprintf(name, sizeof name, "parent %d", i);
        snprintf(acc, sizeof acc, "SYN-%d", i);
        make_spectrum(&s[i], i, name, acc);
    }
    make_spectrum(&s[4], 30, "same", "SAME-1");
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_lib *flat = npsw_lib_build(s, 5, &co, "flat", "1", NULL, 0, NULL, &e);
    assert_non_null(flat);
    assert_string_equal(npsw_lib_get_info(flat)->content_sha256, npsw_lib_get_info(c1)->content_sha256);
    for (int i = 0; i < 5; i++) npsw_spectrum_free(&s[i]);
    npsw_spectrum_free(&a);
    npsw_spectrum_free(&b);
    npsw_lib_free(parent);
    npsw_lib_free(c1);
    npsw_lib_free(c2);
    npsw_lib_free(flat);
}

static void test_append_refuses_duplicates(void **state)
{
    (void)state;
    npsw_err e;
    npsw_lib *parent = make_parent(3);
    npsw_spectrum s[2];
    npsw_lib_append_opts o = {.version = "2", .reason = "test"};
    /* an accession the parent holds */
    make_spectrum(&s[0], 20, "clash", "SYN-1");
    assert_null(npsw_lib_append(parent, s, 1, &o, NULL, &e));
    assert_int_equal(e.code, NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "'SYN-1'"));
    assert_non_null(strstr(e.msg, "already in the library"));
    assert_non_null(strstr(e.msg, "entry 2")); /* 1-based, named */
    npsw_spectrum_free(&s[0]);
    /* the same accession added twice */
    make_spectrum(&s[0], 20, "one", "NEW-1");
    make_spectrum(&s[1], 21, "two", "NEW-1");
    assert_null(npsw_lib_append(parent, s, 2, &o, NULL, &e));
    assert_int_equal(e.code, NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "'NEW-1'"));
    npsw_spectrum_free(&s[0]);
    npsw_spectrum_free(&s[1]);
    /* nothing with peaks: refused; no version label: refused */
    make_spectrum(&s[0], 20, "empty", "NEW-2");
    s[0].n = 0;
    assert_null(npsw_lib_append(parent, s, 1, &o, NULL, &e));
    assert_int_equal(e.code, NPSW_EEMPTY);
    npsw_spectrum_free(&s[0]);
    make_spectrum(&s[0], 20, "fine", "NEW-3");
    npsw_lib_append_opts nov = {.reason = "test"};
    assert_null(npsw_lib_append(parent, s, 1, &nov, NULL, &e));
    assert_int_equal(e.code, NPSW_EINVAL);
    npsw_lib *ok = npsw_lib_append(parent, s, 1, &o, NULL, &e);
    assert_non_null(ok);
    npsw_spectrum_free(&s[0]);
    npsw_lib_free(ok);
    npsw_lib_free(parent);
}

/* Delete an HDF5 object of a file. */
static void delete_object(const char *path, const char *name)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    assert_true(H5Ldelete(f, name, H5P_DEFAULT) >= 0);
    H5Fclose(f);
}

/* Files of format 1.1 (no /lineage) and 1.0 (no /meta/class either) still open. */
static void test_format_1_1_opens(void **state)
{
    (void)state;
    npsw_err e;
    char path[300];
    write_lib(3, "v11.h5", path, sizeof path);
    set_int_attr(path, "format_minor", 1);
    npsw_lib *b = npsw_lib_open(path, &e);
    assert_non_null(b);
    assert_int_equal(npsw_lib_get_info(b)->format_minor, 1);
    assert_string_equal(npsw_lib_get_info(b)->lineage.parent_sha256, "");
    assert_int_equal(npsw_lib_get_info(b)->lineage.n_added, 0);
    assert_int_equal(npsw_lib_verify(b, &e), 0);
    npsw_lib_free(b);
    /* a child written as 1.2, turned into a 1.1 file: opens without lineage */
    npsw_lib *parent = make_parent(2);
    npsw_spectrum s;
    make_spectrum(&s, 70, "added", "ADD-1");
    npsw_lib_append_opts o = {.version = "2", .advisory_key = "K", .advisory_id = 3, .reason = "r"};
    npsw_lib *child = npsw_lib_append(parent, &s, 1, &o, NULL, &e);
    assert_non_null(child);
    snprintf(path, sizeof path, "%s/child11.h5", dir);
    assert_int_equal(npsw_lib_write(child, path, &e), 0);
    delete_object(path, "/lineage");
    set_int_attr(path, "format_minor", 1);
    b = npsw_lib_open(path, &e);
    assert_non_null(b);
    assert_int_equal(npsw_lib_size(b), 3);
    assert_string_equal(npsw_lib_get_info(b)->lineage.parent_sha256, "");
    assert_string_equal(npsw_lib_get_info(b)->content_sha256, npsw_lib_get_info(child)->content_sha256);
    assert_int_equal(npsw_lib_verify(b, &e), 0);
    npsw_lib_free(b);
    /* and a 1.0 file without the class column */
    write_lib(2, "v10.h5", path, sizeof path);
    delete_object(path, "/meta/class");
    set_int_attr(path, "format_minor", 0);
    b = npsw_lib_open(path, &e);
    assert_non_null(b);
    assert_string_equal(npsw_lib_meta(b, 0, NPSW_META_CLASS), "");
    npsw_lib_free(b);
    npsw_spectrum_free(&s);
    npsw_lib_free(parent);
    npsw_lib_free(child);
}

/* Lineage that disagrees with the content is found by verify (it is outside the checksum). */
static void test_lineage_damaged(void **state)
{
    (void)state;
    npsw_err e;
    npsw_lib *parent = make_parent(3);
    npsw_spectrum s;
    make_spectrum(&s, 70, "added", "ADD-1");
    npsw_lib_append_opts o = {.version = "2", .reason = "r"};
    npsw_lib *child = npsw_lib_append(parent, &s, 1, &o, NULL, &e);
    assert_non_null(child);
    char path[300];
    snprintf(path, sizeof path, "%s/damaged_lineage.h5", dir);
    assert_int_equal(npsw_lib_write(child, path, &e), 0);
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t ds = H5Dopen2(f, "/lineage/added/index", H5P_DEFAULT);
    uint64_t wrong = 1; /* a parent entry, not the added one */
    assert_true(H5Dwrite(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &wrong) >= 0);
    H5Dclose(ds);
    H5Fclose(f);
    npsw_lib *b = npsw_lib_open(path, &e);
    assert_non_null(b);
    assert_int_equal(npsw_lib_verify(b, &e), NPSW_ECHECKSUM);
    assert_non_null(strstr(e.msg, "lineage"));
    npsw_lib_free(b);
    /* an index beyond the library is refused when opening */
    f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    ds = H5Dopen2(f, "/lineage/added/index", H5P_DEFAULT);
    wrong = 99;
    assert_true(H5Dwrite(ds, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, &wrong) >= 0);
    H5Dclose(ds);
    H5Fclose(f);
    assert_null(npsw_lib_open(path, &e));
    assert_int_equal(e.code, NPSW_EFORMAT);
    npsw_spectrum_free(&s);
    npsw_lib_free(parent);
    npsw_lib_free(child);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damaged_content),
        cmocka_unit_test(test_format_versions),
        cmocka_unit_test(test_atomic_replace),
        cmocka_unit_test(test_lineage_round_trip),
        cmocka_unit_test(test_lineage_outside_checksum),
        cmocka_unit_test(test_append_refuses_duplicates),
        cmocka_unit_test(test_format_1_1_opens),
        cmocka_unit_test(test_lineage_damaged),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
