/* submit_core.h - one submitted file, from its bytes to its durable ledger submission: parse
 * (leniently, keeping a parser report), clean as the library was, analyse as `npswatch
 * analogues` does, store in one ledger transaction (docs/ledger.md, "Submitting"). Shared by
 * `npswatch submit` (files named on the command line) and `npswatch serve` (request bodies),
 * so both store exactly the same rows. */
#ifndef NPSW_SUBMIT_CORE_H
#define NPSW_SUBMIT_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"
#include "npsw/analyse.h"
#include "npsw/ledger.h"

/* What stays the same for many files. */
typedef struct sub_engine {
    const char *lib_path;          /* recorded in run records and library_versions */
    const npsw_lib *lib;
    npsw_analyse_opts ao;          /* the analysis options (ao.threads: threads per file) */
    const npsw_analyse_ctx *actx;  /* prepared for lib and ao (may be NULL: built per chunk) */
    npsw_read_opts ro;             /* importer options (warn callbacks are set per file) */
    const char *extra;             /* analysis_params_text() of ao: the run record's extra */
    int progress;                  /* progress bar on stderr */
    /* messages for a person (warnings, bad records, why a file was rejected), without the
     * "npswatch: " prefix; NULL = none */
    void (*say)(void *user, const char *msg);
    void *say_user;
    /* how the submission is stored: NULL = npsw_ledger_submit on the given ledger; else this
     * (the service hands it to its writer thread, which commits several together). Returns 0
     * when durable; on failure fills err and *sqlite_code (0 = not a storage failure). */
    int (*store)(void *user, const npsw_ledger_submission *sub, int64_t *id, npsw_err *err,
                 int *sqlite_code);
    void *store_user;
} sub_engine;

/* One file. */
typedef struct sub_file {
    const char *path;          /* as shown in messages */
    const char *name;          /* the base name stored in the ledger */
    const unsigned char *bytes;
    size_t len;
    int64_t lab_id;
    int token_verified;
} sub_file;

/* Called for every analysed spectrum before the file is stored (i: 0-based in the file). */
typedef void (*sub_row_fn)(void *user, const sub_file *f, const char *sha256, size_t n_spectra,
                           uint64_t n_skipped, size_t i, const npsw_spectrum *q,
                           const npsw_analysis *a);

typedef struct sub_outcome {
    int64_t id;               /* the submission id (0 = not stored) */
    size_t n_spectra;
    uint64_t n_skipped;
    unsigned long n_warnings;
    char sha256[65];
    char format[16];
    int sqlite_code;          /* a storage failure's SQLite code (0 = none) */
    char why[1024];           /* why the file was rejected or not stored ("" when stored) */
} sub_outcome;

/* Returns EXIT_OK (stored and durable: COMMIT returned), EXIT_INPUT (rejected: nothing of it is
 * stored) or EXIT_INTERNAL (out of memory, storage failure: nothing stored). */
int sub_run(const sub_engine *en, npsw_ledger *l, const sub_file *f, sub_row_fn row,
            void *row_user, sub_outcome *out);

#endif
