/* fuzz_reader.c - libFuzzer harness for the importers (npsw_reader_*).
 *
 * One source, six executables: NPSW_FUZZ_FORMAT is set per executable by tests/fuzz/CMakeLists.txt
 * (NPSW_FMT_MSP, NPSW_FMT_MGF, NPSW_FMT_JCAMP, NPSW_FMT_CSV, NPSW_FMT_MZML, or NPSW_FMT_AUTO for
 * content detection).
 *
 * Input layout: the first byte selects reader options, the remaining bytes are the file.
 *     byte % 3         decimal_comma: 0 auto, 1 no, 2 yes
 *     (byte / 3) % 4   encoding: 0 auto, 1 UTF-8, 2 Latin-1, 3 CP437
 *     (byte / 12) % 6  file name extension, a hint for auto detection: none, msp, mgf, jdx, csv,
 *                      mzML
 *     (byte / 60) % 2  max_peaks: 0 default, 1 a small limit (exercises the "too many peaks" path)
 * A 0x00 first byte therefore means "default options". An empty input opens an empty file.
 *
 * Every record is read until NPSW_EOF, continuing after errors as a lenient caller does. Each
 * spectrum returned and each error and warning is checked against the contracts in npsw/io.h,
 * npsw/spectrum.h and reader_internal.h; a violation prints what was wrong and abort()s, which
 * libFuzzer reports as a crash and saves the input. ASan/UBSan/LeakSanitizer catch the rest.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npsw/err.h"
#include "npsw/io.h"
#include "npsw/spectrum.h"
#include "reader_internal.h" /* npsw_utf8_valid */

#ifndef NPSW_FUZZ_FORMAT
#error "define NPSW_FUZZ_FORMAT: NPSW_FMT_MSP, _MGF, _JCAMP, _CSV, _MZML or NPSW_FMT_AUTO"
#endif

/* A reader that never reaches NPSW_EOF is a bug. A record needs at least one line, so a correct
 * reader makes at most (lines + 1) calls; lines <= bytes + 1. */
#define FUZZ_MAX_CALLS_BASE 100000u
#define FUZZ_SMALL_MAX_PEAKS 3u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t g_input_len;   /* of the current file, for bounds on string lengths */
static uint64_t g_input_lines; /* lines in it, as the reader counts them */
static const char *g_name;     /* the name the reader was given */
static const char *g_stage = "";

static void fail(const char *what, unsigned long long a, unsigned long long b)
{
    fprintf(stderr, "\nfuzz_reader: INVARIANT VIOLATED (%s, format %s): %s [%llu, %llu]\n", g_stage,
            npsw_format_name(NPSW_FUZZ_FORMAT), what, a, b);
    abort();
}

/* A fixed-size char buffer from the library must hold a NUL. */
static size_t check_fixed_str(const char *buf, size_t size, const char *what)
{
    const char *z = memchr(buf, '\0', size);
    if (!z) fail(what, size, 0);
    return (size_t)(z - buf);
}

/* Text produced from at most `g_input_len` input bytes: every conversion is at most 3 bytes of
 * UTF-8 per input byte; joins and CAS normalisation add a little. A string not terminated within
 * this bound is garbage (ASan would usually also catch the overrun). */
static size_t text_bound(void) { return 4 * g_input_len + 64; }

static void check_text(const char *s)
{
    size_t bound = text_bound();
    const char *z = memchr(s, '\0', bound);
    if (!z) fail("metadata: no NUL within 4 x input size + 64 bytes (bound)", bound, 0);
    size_t len = (size_t)(z - s);
    if (!npsw_utf8_valid(s, len)) fail("metadata: not valid UTF-8 (length)", len, 0);
    /* reader_internal.h: control characters other than tab are replaced by spaces (fields joined
     * from several lines, such as synonyms and comments, use '\n'). */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 && c != '\t' && c != '\n')
            fail("metadata: control character (offset, byte)", i, c);
    }
}

static void check_spectrum(const npsw_spectrum *s)
{
    if (s->n > s->cap) fail("spectrum: n > cap", s->n, s->cap);
    if (s->n && (!s->mz || !s->intensity)) fail("spectrum: peaks without buffers", s->n, 0);
    for (uint32_t i = 0; i < s->n; i++) {
        if (!isfinite(s->mz[i])) fail("spectrum: non-finite m/z", i, s->n);
        if (!isfinite(s->intensity[i])) fail("spectrum: non-finite intensity", i, s->n);
    }
    for (int f = 0; f < NPSW_META_COUNT; f++) {
        if (!s->meta[f]) continue;
        g_stage = npsw_meta_column(f);
        check_text(s->meta[f]);
    }
    g_stage = "record";
    if (!isfinite(s->mw)) fail("spectrum: non-finite mw", 0, 0);
    if (!isfinite(s->exact_mass)) fail("spectrum: non-finite exact_mass", 0, 0);
    if (!isfinite(s->precursor_mz)) fail("spectrum: non-finite precursor_mz", 0, 0);
    if (!isfinite(s->retention_index)) fail("spectrum: non-finite retention_index", 0, 0);
    if (s->ion_mode < -1 || s->ion_mode > 1) fail("spectrum: ion_mode out of range", 0, 0);
}

/* Errors and warnings name the file and a line of it (0 = no particular line). */
static void check_where(const npsw_err *e, const char *what_where, const char *what_line)
{
    if (strcmp(e->where, g_name) != 0) fail(what_where, 0, 0);
    if (e->line > g_input_lines) fail(what_line, e->line, g_input_lines);
}

static void check_err(const npsw_err *e, int rc)
{
    check_fixed_str(e->where, sizeof e->where, "error: `where` not NUL-terminated");
    size_t n = check_fixed_str(e->msg, sizeof e->msg, "error: `msg` not NUL-terminated");
    if (e->code != rc) fail("error: err.code differs from the return code", (unsigned)-e->code,
                            (unsigned)-rc);
    if (n == 0) fail("error: empty message", (unsigned)-rc, 0);
    check_where(e, "error: `where` is not the file name",
                "error: line number beyond the end of the input (line, lines)");
}

static unsigned long long g_warnings;

static void on_warning(void *user, const npsw_err *w)
{
    (void)user;
    g_warnings++;
    check_fixed_str(w->where, sizeof w->where, "warning: `where` not NUL-terminated");
    check_fixed_str(w->msg, sizeof w->msg, "warning: `msg` not NUL-terminated");
    check_where(w, "warning: `where` is not the file name",
                "warning: line number beyond the end of the input (line, lines)");
}

/* Lines in the input as the reader splits them (LF, CRLF or a lone CR; a last line without an
 * ending counts). */
static uint64_t count_lines(const char *buf, size_t len)
{
    npsw_lines ls = {buf, len, 0, 0};
    npsw_line ln;
    while (npsw_lines_next(&ls, &ln) == 0) {
    }
    return ls.no;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"fuzz",     "fuzz.msp", "fuzz.mgf",
                                        "fuzz.jdx", "fuzz.csv", "fuzz.mzML"};
    static const npsw_encoding encodings[] = {NPSW_ENC_AUTO, NPSW_ENC_UTF8, NPSW_ENC_LATIN1,
                                              NPSW_ENC_CP437};
    static const npsw_decimal_comma commas[] = {NPSW_DECIMAL_COMMA_AUTO, NPSW_DECIMAL_COMMA_NO,
                                                NPSW_DECIMAL_COMMA_YES};
    unsigned sel = 0;
    if (size) {
        sel = data[0];
        data++;
        size--;
    }
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FUZZ_FORMAT;
    o.decimal_comma = commas[sel % 3];
    o.encoding = encodings[(sel / 3) % 4];
    if ((sel / 60) % 2) o.max_peaks = FUZZ_SMALL_MAX_PEAKS;
    o.warn = on_warning;
    g_input_len = size;
    g_input_lines = count_lines((const char *)data, size);
    g_name = names[(sel / 12) % 6];
    g_warnings = 0;

    npsw_err err;
    npsw_err_clear(&err);
    g_stage = "open";
    npsw_reader *r = npsw_reader_open_mem(size ? (const void *)data : (const void *)"", size,
                                          g_name, &o, &err);
    if (!r) {
        if (err.code >= -1) fail("open: NULL reader without an error code", (unsigned)err.code, 0);
        check_err(&err, err.code);
        return 0;
    }
    if (NPSW_FUZZ_FORMAT != NPSW_FMT_AUTO && npsw_reader_format(r) != NPSW_FUZZ_FORMAT)
        fail("open: reader has another format than requested", npsw_reader_format(r), 0);
    if (npsw_reader_format(r) == NPSW_FMT_AUTO)
        fail("open: format still AUTO after detection", 0, 0);
    if (strlen(npsw_reader_sha256(r)) != 64) fail("open: sha256 is not 64 hex digits", 0, 0);

    npsw_spectrum s;
    npsw_spectrum_init(&s);
    const unsigned long long max_calls = FUZZ_MAX_CALLS_BASE + (unsigned long long)size;
    unsigned long long calls = 0;
    for (;;) {
        if (++calls > max_calls) {
            g_stage = "next";
            fail("npsw_reader_next() never returned NPSW_EOF (calls, input bytes)", calls - 1,
                 size);
        }
        npsw_err_clear(&err);
        g_stage = "next";
        int rc = npsw_reader_next(r, &s, &err);
        if (rc == NPSW_EOF) break;
        if (rc > 0) fail("next: positive return code", (unsigned)rc, 0);
        if (rc < 0) {
            check_err(&err, rc);
            continue; /* the record was skipped; a lenient caller goes on */
        }
        g_stage = "record";
        check_spectrum(&s);
        if (s.src_line < 1 || s.src_line > g_input_lines)
            fail("record: src_line outside the input (line, lines)", s.src_line, g_input_lines);
        if (o.max_peaks == FUZZ_SMALL_MAX_PEAKS && s.n > FUZZ_SMALL_MAX_PEAKS)
            fail("record: more peaks than max_peaks", s.n, FUZZ_SMALL_MAX_PEAKS);
    }
    /* After EOF the reader stays at EOF. */
    npsw_err_clear(&err);
    int again = npsw_reader_next(r, &s, &err);
    if (again != NPSW_EOF) fail("next after NPSW_EOF did not return NPSW_EOF", (unsigned)-again, 0);
    if (npsw_reader_warnings(r) != g_warnings)
        fail("warning count differs from callback calls", npsw_reader_warnings(r), g_warnings);

    npsw_spectrum_free(&s);
    npsw_reader_close(r);
    return 0;
}
