/* reader_internal.h - what the format parsers (msp.c, mgf.c, jcamp.c, csv.c, mzml.c) share.
 *
 * The reader holds the whole input in memory and hands out lines. A format parser implements
 * `next`: read lines until one record is complete, fill the spectrum, return 0; at end of input
 * return NPSW_EOF; on a malformed record set err (file, line, what was expected), move the line
 * cursor to where the next record can start, and return the error code.
 * mzml.c reads the buffer with libxml2 instead of by lines; it keeps `lines.pos` at the number
 * of bytes parsed so far, which is all the reader uses it for (progress reports).
 */
#ifndef NPSW_READER_INTERNAL_H
#define NPSW_READER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/io.h"

/* ---- lines ----------------------------------------------------------------------------- */

typedef struct npsw_line {
    const char *p;   /* not NUL-terminated; may contain NUL bytes */
    size_t len;      /* without the line ending (LF, CRLF or lone CR) */
    uint64_t no;     /* 1-based line number */
} npsw_line;

typedef struct npsw_lines {
    const char *buf;
    size_t len;
    size_t pos;      /* offset of the next line */
    uint64_t no;     /* number of the last line returned */
} npsw_lines;

/* Next line; returns 0, or NPSW_EOF at the end of input. A UTF-8 byte-order mark at the very
 * start is skipped. */
int npsw_lines_next(npsw_lines *ls, npsw_line *out);
/* Look at the next line without consuming it. */
int npsw_lines_peek(const npsw_lines *ls, npsw_line *out);

/* ---- small text helpers (all bounded by length; none needs NUL termination) --------------- */

/* Strip leading/trailing spaces and tabs. */
void npsw_trim(const char **p, size_t *len);
int npsw_is_blank(const char *p, size_t len);
/* Case-insensitive comparison of an (p,len) string with a NUL-terminated ASCII key. */
int npsw_ieq(const char *p, size_t len, const char *key);
/* Does (p,len) start with `prefix` (case-insensitive)? */
int npsw_istarts(const char *p, size_t len, const char *prefix);

/* Normalise a key for table lookup: drop the bytes listed in `skip`, lower-case the rest, NUL-
 * terminate. Returns 0, or -1 when the result does not fit in `size` bytes. */
int npsw_key_normalise(const char *p, size_t len, const char *skip, char *out, size_t size);

/* Parse a decimal number (optional sign, digits, '.', exponent; when decimal_comma is nonzero a
 * single ',' between digits is accepted as the decimal mark) from p[0..len). Leading spaces are
 * skipped. On success stores the value and the number of bytes consumed and returns 0; returns
 * NPSW_EPARSE when no number starts there, and also for inf/nan. */
int npsw_parse_double(const char *p, size_t len, int decimal_comma, double *out, size_t *used);
/* The whole (trimmed) string must be one number. */
int npsw_parse_double_full(const char *p, size_t len, int decimal_comma, double *out);

/* Parse peak pairs from one line: "55 102", "55 102; 56 33", "(55 102) (56 33)", "55:102 56:33",
 * "55\t102\t\"annotation\"", "55,102" and "55 10,5" (comma decimal). Appends to `s`.
 * Returns the number of peaks appended (>= 0), or NPSW_EPARSE with a message in `why` (what was
 * expected) when the line is not a peak list, or NPSW_ENOMEM / NPSW_ELIMIT.
 * `max_peaks` bounds s->n. */
int npsw_parse_peak_line(const char *p, size_t len, npsw_decimal_comma mode, uint32_t max_peaks,
                         npsw_spectrum *s, char *why, size_t whysize);

/* Convert a byte string to UTF-8 according to `enc` (AUTO: valid UTF-8 is kept; otherwise CP437
 * when the high bytes look like CP437 Greek letters, else Latin-1; see docs/formats.md).
 * Control characters other than tab are replaced by spaces; NUL bytes are dropped.
 * Returns a malloc'd NUL-terminated string, or NULL when out of memory. `*converted` is set to
 * the encoding actually applied (NPSW_ENC_UTF8 when the input was valid UTF-8). */
char *npsw_to_utf8(const char *p, size_t len, npsw_encoding enc, npsw_encoding *converted);
/* Is (p,len) valid UTF-8 (no overlongs, no surrogates)? */
int npsw_utf8_valid(const char *p, size_t len);

/* Normalise a CAS number: digits only ("50-00-0", "50000", "000050-00-0") -> "50-00-0" when the
 * check digit is right; returns 1 and writes `out` (>= 16 bytes), 0 when the value means
 * "unknown" (0, 2147483647, empty) and -1 when the check digit is wrong. */
int npsw_normalise_cas(const char *p, size_t len, char *out, size_t outsize);

/* ---- the reader ------------------------------------------------------------------------ */

struct npsw_reader;

typedef struct npsw_format_ops {
    npsw_format format;
    const char *name;
    /* 0..100: how much the first bytes look like this format (for NPSW_FMT_AUTO). */
    int (*probe)(const char *buf, size_t len);
    int (*next)(struct npsw_reader *r, npsw_spectrum *s, npsw_err *err);
    void (*free_state)(void *state); /* may be NULL */
} npsw_format_ops;

extern const npsw_format_ops npsw_msp_ops, npsw_mgf_ops, npsw_jcamp_ops, npsw_csv_ops,
    npsw_mzml_ops;

struct npsw_reader {
    npsw_lines lines;
    char *buf;               /* owned copy of the input */
    size_t len;
    char *name;              /* file name for messages */
    npsw_read_opts opts;
    const npsw_format_ops *ops;
    void *state;             /* format-private state, freed by ops->free_state */
    uint64_t n_warnings;
    uint64_t n_records;      /* records started (good or bad) */
    size_t progress_at;      /* input position of the last progress report */
    char sha256[65];
};

/* Report a warning at `line` through the user's callback. */
void npsw_reader_warn(struct npsw_reader *r, uint64_t line, const char *fmt, ...) NPSW_PRINTF(3, 4);
/* Set err for a malformed record at `line` and return NPSW_EPARSE. */
int npsw_reader_fail(struct npsw_reader *r, npsw_err *err, uint64_t line, const char *fmt, ...)
    NPSW_PRINTF(4, 5);
/* Store a text field converted to UTF-8 (per r->opts.encoding), trimmed. Warns once per field
 * when a conversion from an 8-bit encoding happened. Returns 0 or NPSW_ENOMEM. */
int npsw_reader_set_text(struct npsw_reader *r, npsw_spectrum *s, int field, const char *p,
                         size_t len, uint64_t line);
int npsw_reader_append_text(struct npsw_reader *r, npsw_spectrum *s, int field, const char *p,
                            size_t len, uint64_t line);

#endif
