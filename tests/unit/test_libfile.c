/* test_libfile.c - the HDF5 library file: round trip, checksum verification, damaged content,
 * newer-format rejection, atomic replacement. Spectra are synthetic and made here. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damaged_content),
        cmocka_unit_test(test_format_versions),
        cmocka_unit_test(test_atomic_replace),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
