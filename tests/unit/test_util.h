/* test_util.h - helpers shared by the importer unit tests (test_msp.c, test_mgf.c, test_csv.c,
 * test_jcamp.c, test_text.c): a reader fixture that records warnings, checks of numbers, peaks
 * and metadata fields that report the caller's file:line, and the path of a test data file.
 *
 * Header-only: every function is static (inline, so a test file that uses only some of them
 * compiles without unused-function warnings). Each test file keeps its own thin wrappers
 * (open_msp, open_text, ...) that pick the format and the in-memory file name.
 *
 * assert_peak compares the m/z within 1e-9 and the intensity within TEST_PEAK_INTENSITY_EPS,
 * 1e-4 unless the test file defines another value before including this header. */
#ifndef NPSW_TEST_UTIL_H
#define NPSW_TEST_UTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "reader_internal.h"

#ifndef TEST_PEAK_INTENSITY_EPS
#define TEST_PEAK_INTENSITY_EPS 1e-4
#endif

/* ---- reader fixture -------------------------------------------------------------------- */

typedef struct fixture {
    npsw_reader *r;
    npsw_spectrum s;
    npsw_err err;                                  /* of the last fixture_next */
    int warnings;                                  /* warnings reported so far */
    char last_warning[NPSW_ERR_MSG_MAX];           /* the last one's message */
    uint64_t last_warning_line;                    /* ... its line */
    char last_warning_where[NPSW_ERR_WHERE_MAX];   /* ... its file name */
    char all_warnings[4096];                       /* every message, one a line (as many as fit) */
} fixture;

static inline void on_warning(void *user, const npsw_err *w)
{
    fixture *f = user;
    f->warnings++;
    snprintf(f->last_warning, sizeof f->last_warning, "%s", w->msg);
    f->last_warning_line = w->line;
    snprintf(f->last_warning_where, sizeof f->last_warning_where, "%s", w->where);
    size_t used = strlen(f->all_warnings);
    if (used + 2 < sizeof f->all_warnings)
        snprintf(f->all_warnings + used, sizeof f->all_warnings - used, "%s\n", w->msg);
}

/* Empties the fixture and hooks its warning capture into `o`. */
static inline void fixture_init(fixture *f, npsw_read_opts *o)
{
    memset(f, 0, sizeof *f);
    npsw_spectrum_init(&f->s);
    o->warn = on_warning;
    o->warn_user = f;
}

/* Open `len` bytes of `text` as the file `name` with the options `o` (the fixture takes the
 * warnings); the open must succeed. */
static inline void fixture_open(fixture *f, const char *text, size_t len, const char *name,
                                npsw_read_opts o)
{
    fixture_init(f, &o);
    f->r = npsw_reader_open_mem(text, len, name, &o, &f->err);
    if (!f->r) {
        print_error("npsw_reader_open_mem(\"%s\") failed: %s\n", name, f->err.msg);
        fail();
    }
}

/* Open the file at `path` with the options `o`; the open must succeed. */
static inline void fixture_open_file(fixture *f, const char *path, npsw_read_opts o)
{
    fixture_init(f, &o);
    f->r = npsw_reader_open(path, &o, &f->err);
    if (!f->r) {
        print_error("npsw_reader_open(\"%s\") failed: %s\n", path, f->err.msg);
        fail();
    }
}

/* The next record into f->s: 0, NPSW_EOF or an error code (the error in f->err). */
static inline int fixture_next(fixture *f)
{
    npsw_err_clear(&f->err);
    return npsw_reader_next(f->r, &f->s, &f->err);
}

static inline void fixture_done(fixture *f)
{
    npsw_spectrum_free(&f->s);
    npsw_reader_close(f->r);
    f->r = NULL;
}

/* ---- checks reporting the caller's file:line ------------------------------------------- */

static inline void assert_near_at(double a, double b, double eps, const char *file, int line)
{
    if (!(fabs(a - b) <= eps)) {
        print_error("%s:%d: %.12g differs from the expected %.12g\n", file, line, a, b);
        fail();
    }
}
#define assert_near(a, b, eps) assert_near_at((a), (b), (eps), __FILE__, __LINE__)

static inline void assert_peak_at(const npsw_spectrum *s, uint32_t i, double mz, double in,
                                  const char *file, int line)
{
    if (i >= s->n) {
        print_error("%s:%d: peak %u asked for, the spectrum has %u\n", file, line, i, s->n);
        fail();
    }
    assert_near_at(s->mz[i], mz, 1e-9, file, line);
    assert_near_at(s->intensity[i], in, TEST_PEAK_INTENSITY_EPS, file, line);
}
#define assert_peak(s, i, mz, in) assert_peak_at((s), (i), (mz), (in), __FILE__, __LINE__)

/* A metadata field equals `expect` (NULL: the field is absent). */
static inline void assert_meta_at(const npsw_spectrum *s, int field, const char *expect,
                                  const char *file, int line)
{
    const char *v = s->meta[field];
    if (!expect && !v) return;
    if (!expect || !v || strcmp(v, expect) != 0) {
        print_error("%s:%d: field %s is \"%s\", expected \"%s\"\n", file, line,
                    npsw_meta_column(field), v ? v : "(null)", expect ? expect : "(null)");
        fail();
    }
}
#define assert_meta(s, field, expect) assert_meta_at((s), (field), (expect), __FILE__, __LINE__)

/* ---- test data ------------------------------------------------------------------------- */

/* $NPSW_TEST_DATA/rel (tests/data; ctest sets it) into `out`; NULL when the variable is unset or
 * empty. */
static inline const char *data_path(const char *rel, char *out, size_t size)
{
    const char *dir = getenv("NPSW_TEST_DATA");
    if (!dir || !dir[0]) return NULL;
    snprintf(out, size, "%s/%s", dir, rel);
    return out;
}

#endif /* NPSW_TEST_UTIL_H */
