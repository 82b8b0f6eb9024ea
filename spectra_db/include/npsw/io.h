/* npsw/io.h - reading spectra from files: MSP, MGF, JCAMP-DX, two-column CSV/TSV and mzML.
 *
 *     npsw_read_opts o = npsw_read_opts_default();
 *     npsw_reader *r = npsw_reader_open("lib.msp", &o, &err);
 *     npsw_spectrum s; npsw_spectrum_init(&s);
 *     int rc;
 *     while ((rc = npsw_reader_next(r, &s, &err)) != NPSW_EOF) {
 *         if (rc < 0) { report err; if (o.strict) break; else continue; }  // record skipped
 *         use s;
 *     }
 *     npsw_spectrum_free(&s); npsw_reader_close(r);
 *
 * Importers never crash on any byte sequence. A malformed record yields an error naming the file,
 * the line and what was expected; the reader has then already moved to the next record, so a
 * lenient caller simply calls npsw_reader_next() again. Recoverable oddities (Num Peaks that
 * disagrees with the peaks present, unknown keys, 8-bit names) are reported through the warning
 * callback and do not stop the record.
 */
#ifndef NPSW_IO_H
#define NPSW_IO_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/err.h"
#include "npsw/spectrum.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum npsw_format {
    NPSW_FMT_AUTO = 0, /* detect from the content (and the file name extension as a hint) */
    NPSW_FMT_MSP,
    NPSW_FMT_MGF,
    NPSW_FMT_JCAMP,
    NPSW_FMT_CSV, /* two columns m/z, intensity; comma, tab, semicolon or space separated */
    NPSW_FMT_MZML, /* mzML 1.1 (and indexedmzML): every spectrum, MS1 and MSn */
    NPSW_FMT_COUNT
} npsw_format;

/* "msp", "mgf", "jcamp", "csv", "mzml" or "auto". */
const char *npsw_format_name(npsw_format f);
/* Parse a format name (case-insensitive; "jdx"/"dx" = jcamp, "tsv"/"txt" = csv). Returns the
 * format, or NPSW_EINVAL. */
int npsw_format_from_name(const char *name);

typedef enum npsw_encoding {
    NPSW_ENC_AUTO = 0, /* UTF-8 when valid, else CP437 or Latin-1 by a documented heuristic */
    NPSW_ENC_UTF8,
    NPSW_ENC_LATIN1,
    NPSW_ENC_CP437
} npsw_encoding;

typedef enum npsw_decimal_comma {
    NPSW_DECIMAL_COMMA_AUTO = 0, /* see docs/formats.md: "Peak lines" */
    NPSW_DECIMAL_COMMA_NO,       /* ',' always separates values */
    NPSW_DECIMAL_COMMA_YES       /* ',' between digits is a decimal mark */
} npsw_decimal_comma;

typedef void (*npsw_warn_fn)(void *user, const npsw_err *warning);

typedef struct npsw_read_opts {
    npsw_format format;       /* default NPSW_FMT_AUTO */
    npsw_encoding encoding;   /* default NPSW_ENC_AUTO */
    npsw_decimal_comma decimal_comma; /* default NPSW_DECIMAL_COMMA_AUTO */
    uint32_t max_peaks;       /* per spectrum; a record with more is an error. Default 1,000,000 */
    size_t max_file_size;     /* bytes; default 16 GiB */
    npsw_warn_fn warn;        /* NULL = warnings dropped */
    void *warn_user;
    npsw_progress_fn progress; /* bytes parsed of the file's size, about every MiB; may be NULL */
    void *progress_user;
} npsw_read_opts;

/* The libxml2 in use for mzML ("libxml2 2.9.14"), for --version. */
const char *npsw_libxml2_version(void);
npsw_read_opts npsw_read_opts_default(void);

typedef struct npsw_reader npsw_reader;

/* Open a file ("-" = standard input). Returns NULL and fills err on failure. */
npsw_reader *npsw_reader_open(const char *path, const npsw_read_opts *opts, npsw_err *err);
/* Read from memory (the buffer is copied). `name` is used in messages. */
npsw_reader *npsw_reader_open_mem(const void *buf, size_t len, const char *name,
                                  const npsw_read_opts *opts, npsw_err *err);
/* Next spectrum into `s` (reset first). 0 = ok, NPSW_EOF = no more, < -1 = this record was bad
 * and skipped (err says where and why); calling again continues with the next record. */
int npsw_reader_next(npsw_reader *r, npsw_spectrum *s, npsw_err *err) NPSW_WUR;
npsw_format npsw_reader_format(const npsw_reader *r);
const char *npsw_reader_name(const npsw_reader *r);
/* SHA-256 of the raw bytes read, as 64 hex digits + NUL. */
const char *npsw_reader_sha256(const npsw_reader *r);
uint64_t npsw_reader_warnings(const npsw_reader *r);
void npsw_reader_close(npsw_reader *r);

/* --- whole-file convenience ------------------------------------------------------------- */

#define NPSW_REPORT_KEEP 5 /* first errors kept for the report */

typedef struct npsw_read_report {
    uint64_t n_read;     /* spectra returned */
    uint64_t n_skipped;  /* bad records skipped */
    uint64_t n_warnings;
    npsw_err first[NPSW_REPORT_KEEP]; /* the first errors, in order */
    char sha256[65];     /* of the file's bytes */
    npsw_format format;  /* detected format */
} npsw_read_report;

/* A growable array of spectra. */
typedef struct npsw_spectra {
    npsw_spectrum *v;
    size_t n, cap;
} npsw_spectra;

void npsw_spectra_free(npsw_spectra *a);

/* Append every spectrum of `path` to `out`. strict != 0: stop at the first bad record and return
 * its error (spectra already appended stay). strict == 0: skip bad records, count them in `rep`.
 * Returns the number of spectra appended (>= 0), or an error. */
int npsw_read_file(const char *path, const npsw_read_opts *opts, int strict, npsw_spectra *out,
                   npsw_read_report *rep, npsw_err *err) NPSW_WUR;

#ifdef __cplusplus
}
#endif
#endif
