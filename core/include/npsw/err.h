/* npsw/err.h - one return convention and one error list for all of libnpsw.
 *
 * Return convention (every function that returns int unless its comment says otherwise):
 *     >= 0   success, or a count
 *       -1   end of data (readers only)
 *     < -1   an error code from NPSW_ERRORS below; details are in the npsw_err the caller passed
 *
 * An npsw_err records where the error happened (file and line for parse errors, the HDF5 dataset
 * for storage errors) and a message a person can act on. Pass NULL when you do not need it.
 */
#ifndef NPSW_ERR_H
#define NPSW_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define NPSW_WUR __attribute__((warn_unused_result))
#define NPSW_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define NPSW_WUR
#define NPSW_PRINTF(a, b)
#endif

/* X(name, value, description) */
#define NPSW_ERRORS(X)                                                        \
    X(NPSW_OK, 0, "success")                                                  \
    X(NPSW_EOF, -1, "end of data")                                            \
    X(NPSW_ENOMEM, -2, "out of memory")                                       \
    X(NPSW_EIO, -3, "input/output error")                                     \
    X(NPSW_EPARSE, -4, "malformed input")                                     \
    X(NPSW_EINVAL, -5, "invalid argument")                                    \
    X(NPSW_EFORMAT, -6, "unsupported or unrecognised format")                 \
    X(NPSW_EVERSION, -7, "file written by a newer, incompatible npswatch")    \
    X(NPSW_ECHECKSUM, -8, "checksum mismatch")                                \
    X(NPSW_EHDF5, -9, "HDF5 storage error")                                   \
    X(NPSW_ELIMIT, -10, "size limit exceeded")                                \
    X(NPSW_EEMPTY, -11, "no usable data")                                     \
    X(NPSW_EUNSUPPORTED, -12, "feature not supported")

enum npsw_errcode {
#define NPSW_X_ENUM(name, value, desc) name = value,
    NPSW_ERRORS(NPSW_X_ENUM)
#undef NPSW_X_ENUM
};

#define NPSW_ERR_MSG_MAX 512
#define NPSW_ERR_WHERE_MAX 256

typedef struct npsw_err {
    int code;                        /* an npsw_errcode */
    char where[NPSW_ERR_WHERE_MAX];  /* file name or HDF5 dataset; "" when not applicable */
    uint64_t line;                   /* 1-based line in `where`; 0 when not applicable */
    char msg[NPSW_ERR_MSG_MAX];      /* what went wrong and what was expected */
} npsw_err;

/* Progress report for long operations: `done` of `total` units (bytes, spectra, queries).
 * Called from one thread now and then; must be cheap. */
typedef void (*npsw_progress_fn)(void *user, uint64_t done, uint64_t total);

/* Short description of an error code ("malformed input"). Never NULL. */
const char *npsw_strerror(int code);

/* Clear an error record (code = NPSW_OK, empty strings). Accepts NULL. */
void npsw_err_clear(npsw_err *e);

/* Fill `e` (if not NULL) and return `code`, so callers can write `return npsw_err_set(...)`.
 * `where` may be NULL; `line` 0 means no line. */
int npsw_err_set(npsw_err *e, int code, const char *where, uint64_t line, const char *fmt, ...)
    NPSW_PRINTF(5, 6);
int npsw_err_vset(npsw_err *e, int code, const char *where, uint64_t line, const char *fmt,
                  va_list ap);

/* Format an error for people: "FILE:LINE: MESSAGE" (or "FILE: MESSAGE", or "MESSAGE").
 * Returns `buf`. */
const char *npsw_err_format(const npsw_err *e, char *buf, size_t bufsize);

#ifdef __cplusplus
}
#endif
#endif
