/* npsw/npsw_api.h - a small, stable C API over libnpsw for bindings (Python ctypes, cffi, other
 * foreign-function interfaces) and for programs that want the search without the library's
 * structs. The Python package python/npswatch/ is built on it (docs/python.md).
 *
 * What crosses it: opaque handles, integers, doubles, NUL-terminated UTF-8 strings and arrays the
 * caller allocates. No struct layout is part of it, so a binding never mirrors npswatch's
 * internal structs. Functions are only ever added: NPSW_API_VERSION grows when they are.
 *
 *     npsw_lib *lib = npsw_api_lib_open("lib.h5");            // NULL: see npsw_api_errmsg()
 *     npsw_api_queries *q = npsw_api_queries_new();
 *     npsw_api_queries_read(q, "unknowns.msp", NULL, 0);        // or npsw_api_queries_add()
 *     npsw_api_opts *o = npsw_api_opts_new();
 *     npsw_api_opts_set(o, "k", "10");
 *     npsw_api_hits *h = npsw_api_search(lib, q, o);
 *     ... npsw_api_hits_total(h), npsw_api_hits_columns(h, ...) ...
 *     npsw_api_hits_free(h); npsw_api_opts_free(o); npsw_api_queries_free(q);
 *     npsw_api_lib_close(lib);
 *
 * Errors: a function that fails returns NULL or a negative npsw error code (npsw/err.h) and
 * leaves a message for people ("FILE:LINE: what was expected") that npsw_api_errmsg() returns on
 * the same thread until the next failing call. Every _new/_open has a _free/_close that accepts
 * NULL. Handles may be used from any thread, one call at a time per handle; a library handle
 * may be searched by several threads at once (it is immutable).
 *
 * Indices: query and library indices are 0-based here; the CLI and the Python dictionaries show
 * them 1-based, as `npswatch search` does.
 */
#ifndef NPSW_API_H
#define NPSW_API_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/library.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NPSW_API_VERSION 1

/* NPSW_API_VERSION of the library actually loaded (a binding checks it against its own). */
int npsw_api_version(void);
/* npswatch version of the library ("0.1.0"). */
const char *npsw_api_npswatch_version(void);
/* Message of the last failed call on this thread ("" when none). */
const char *npsw_api_errmsg(void);
/* Error code (npsw/err.h) of the last failed call on this thread (0 when none). */
int npsw_api_errcode(void);
/* Free a string returned by this API (npsw_api_analyse_json). Accepts NULL. */
void npsw_api_free(void *p);

/* ---- libraries ------------------------------------------------------------------------- */

/* Open an HDF5 library file made by `npswatch build` (read-only). NULL on failure. */
npsw_lib *npsw_api_lib_open(const char *path);
void npsw_api_lib_close(npsw_lib *lib);
/* Facts about the library by key; NULL (and a message) for an unknown key. Keys: "name",
 * "version", "sha256" (content SHA-256), "created_utc", "npswatch_version" (that built it),
 * "format" ("1.2"), "cleaning" (the cleaning parameters in words), "mass_mode" ("nominal" or
 * "accurate"). "format" and "cleaning" are written into a per-thread buffer that the next
 * call of this function on the same thread reuses; the others stay valid until the library is
 * closed. */
const char *npsw_api_lib_info(const npsw_lib *lib, const char *key);
/* Number of spectra. */
uint64_t npsw_api_lib_size(const npsw_lib *lib);
/* Metadata field of spectrum `index` by column name ("name", "inchikey", "formula", "cas",
 * "accession", "class", ...: npsw/spectrum.h NPSW_META_FIELDS); "" when absent, NULL (and a
 * message) for an unknown field or an index out of range. The string lives in a per-thread
 * buffer, valid until the next call of this function on the same thread: copy it. */
const char *npsw_api_lib_meta(const npsw_lib *lib, uint64_t index, const char *field);
/* Molecular weight of spectrum `index` as stored (0 = unknown; NaN when out of range). */
double npsw_api_lib_mass(const npsw_lib *lib, uint64_t index);
/* Peaks of spectrum `index` (cleaned, as stored): writes min(n, cap) peaks into mz and
 * intensity (either may be NULL when cap is 0) and returns n, the number of peaks; < 0 when
 * the index is out of range. */
int64_t npsw_api_lib_peaks(const npsw_lib *lib, uint64_t index, double *mz, double *intensity,
                           uint64_t cap);

/* ---- query spectra --------------------------------------------------------------------- */

typedef struct npsw_api_queries npsw_api_queries;

npsw_api_queries *npsw_api_queries_new(void);
void npsw_api_queries_free(npsw_api_queries *q);
/* Add one spectrum from arrays of n peaks (any order; cleaning sorts, merges and drops
 * non-positive peaks). name may be NULL; precursor_mz 0 = none. Returns its 0-based index, or
 * an error: NPSW_EINVAL for a NULL array with n > 0, a non-finite m/z or intensity, or more
 * than 1,000,000 peaks. */
int64_t npsw_api_queries_add(npsw_api_queries *q, const double *mz, const double *intensity,
                             uint64_t n, const char *name, double precursor_mz);
/* Append every spectrum of a file (MSP, MGF, JCAMP-DX, CSV/TSV, mzML; the formats
 * `npswatch search` reads). format: NULL or "auto" to detect, else "msp", "mgf", "jcamp",
 * "csv", "mzml". strict != 0: the first bad record is an error (the spectra before it stay);
 * else bad records are skipped and counted (npsw_api_queries_skipped). Returns the number of
 * spectra appended, or an error (a file that cannot be read at all, a bad record when strict). */
int64_t npsw_api_queries_read(npsw_api_queries *q, const char *path, const char *format,
                              int strict);
/* Number of spectra; bad records skipped so far by npsw_api_queries_read. */
uint64_t npsw_api_queries_count(const npsw_api_queries *q);
uint64_t npsw_api_queries_skipped(const npsw_api_queries *q);
/* Metadata field of query i by column name (as npsw_api_lib_meta: "name", "inchikey", ...; ""
 * when absent) and the file it was read from ("" for arrays); NULL when i or the field is out of
 * range. Valid until the query set is changed or freed. */
const char *npsw_api_queries_meta(const npsw_api_queries *q, uint64_t i, const char *field);
const char *npsw_api_queries_file(const npsw_api_queries *q, uint64_t i);

/* ---- options --------------------------------------------------------------------------- */

typedef struct npsw_api_opts npsw_api_opts;

/* Defaults as in `npswatch search` and `npswatch analogues`. */
npsw_api_opts *npsw_api_opts_new(void);
void npsw_api_opts_free(npsw_api_opts *o);
/* Set one option from text, with the CLI's names, ranges and messages (docs/cli.md):
 *   k (search 1..1000, analogues 1..32; default 5), score (wmf, mf, rmf, cosine, entropy),
 *   threads (0 = all cores, up to 1024), weights (nist, 1994), int_power, mz_power, tol_da,
 *   tol_ppm, precursor_tol, min_matched, mz_range (common, all), min_mz,
 *   max_delta (analogues, Da), n_mion (analogues, 1..8).
 * Returns 0, or NPSW_EINVAL for an unknown key or a bad value (the option is then unchanged). */
int npsw_api_opts_set(npsw_api_opts *o, const char *key, const char *value);

/* ---- identity search ------------------------------------------------------------------- */

typedef struct npsw_api_hits npsw_api_hits;

/* Search every query (cleaned as the library was, on a copy: the query set is unchanged):
 * exactly `npswatch search`'s hits. NULL on failure (bad options, out of memory). */
npsw_api_hits *npsw_api_search(const npsw_lib *lib, const npsw_api_queries *q,
                               const npsw_api_opts *o);
void npsw_api_hits_free(npsw_api_hits *h);
uint64_t npsw_api_hits_nqueries(const npsw_api_hits *h);
/* Hits of all queries together, and of query i (0 when i is out of range). */
uint64_t npsw_api_hits_total(const npsw_api_hits *h);
uint32_t npsw_api_hits_count(const npsw_api_hits *h, uint64_t i);
/* Peaks of query i after cleaning (what the scores compared). */
uint32_t npsw_api_hits_query_peaks(const npsw_api_hits *h, uint64_t i);
/* Copy all hits out as columns, query by query and rank by rank: each non-NULL array has room
 * for npsw_api_hits_total(h) values. query: 0-based query index; rank: 1-based; index: 0-based
 * library index; score: the ranking score (0..1); mf, rmf, wmf, cosine, entropy: 0..1;
 * n_matched: peaks matched. Returns the number of hits copied. */
uint64_t npsw_api_hits_columns(const npsw_api_hits *h, uint64_t *query, uint32_t *rank,
                               uint64_t *index, double *score, double *mf, double *rmf,
                               double *wmf, double *cosine, double *entropy, uint32_t *n_matched);

/* ---- analogue analysis ----------------------------------------------------------------- */

/* `npswatch analogues` for every query: a JSON array with one object per query holding the
 * same keys as the CLI's {"record":"analysis",...} lines (docs/cli.md, "npswatch analogues").
 * Free it with npsw_api_free(). NULL on failure. */
char *npsw_api_analyse_json(const npsw_lib *lib, const npsw_api_queries *q,
                            const npsw_api_opts *o);

#ifdef __cplusplus
}
#endif
#endif
