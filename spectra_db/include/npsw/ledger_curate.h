/* npsw/ledger_curate.h - the curator loop on the ledger: a curator accepts or rejects a draft
 * advisory. Accepting turns the advisory's signal consensus spectrum into a new entry of a new
 * library version (appended to a parent library with npsw_lib_append, lineage recorded in the
 * file), then records everything in ONE ledger transaction: the advisory's review, the new
 * library_versions row, the signal closed and an "advisory.accept" audit entry. docs/cli.md,
 * "npswatch curate"; the tables: docs/ledger.md.
 *
 *     npsw_curate_opts o = {.advisory = "NPSW-2026-0001", .name = "4F-MDMB-BICA",
 *                           .out_path = "lib-3.4.adv1.h5", .actor = "cli:alice"};
 *     npsw_curate_result r;
 *     rc = npsw_curate_accept(ledger, &o, &r, &err);
 *
 * Order of the accept, so that a failure leaves no half-done state: every check first (the
 * advisory is a draft, its signal has a consensus spectrum, the parent opens, the output does
 * not exist yet, no accession clash), then the new library file is written atomically (a failure
 * here changes nothing in the ledger), then the ledger transaction (a failure here rolls back
 * and removes the new file). The advisory's state is checked again inside the transaction, so
 * two curators accepting at once cannot both succeed.
 *
 * Errors follow npsw/err.h: NPSW_EINVAL (no such advisory, not a draft, missing name or output,
 * the output exists, accession clash), NPSW_EEMPTY (the signal has no consensus spectrum), the
 * library file's errors (npsw_lib_open, npsw_lib_write), NPSW_EIO for SQLite failures (then
 * res->sqlite_code is SQLite's extended result code), NPSW_ENOMEM.
 */
#ifndef NPSW_LEDGER_CURATE_H
#define NPSW_LEDGER_CURATE_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/err.h"
#include "npsw/ledger.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct npsw_curate_opts {
    const char *advisory;    /* the advisory's id (all digits) or key (then its newest version) */
    const char *actor;       /* who reviews: recorded as reviewer and audit actor (required),
                                e.g. "cli:alice" */
    const char *note;        /* the reviewer's note (may be NULL) */
    /* accept only: */
    const char *name;        /* name of the new library entry (required) */
    const char *class_name;  /* its drug class; NULL = the signal's predicted class (or, when
                                the signal has none, the class its name implies) */
    const char *parent_path; /* the library to add to; NULL = the file of the library_versions
                                row with the newest created_utc that has a file_path (its
                                content must still match the row's SHA-256) */
    const char *out_path;    /* the new library file (required; must not exist yet) */
    const char *lib_version; /* version label; NULL = the parent's version + ".adv<advisory id>" */
} npsw_curate_opts;

typedef struct npsw_curate_result {
    int64_t advisory_id;
    char advisory_key[64];
    int64_t advisory_version;
    int64_t signal_id;        /* 0 = the advisory has no signal (reject only) */
    char state[16];           /* the state before (on a "not a draft" error) or after review */
    int64_t audit_seq;        /* the audit entry written */
    int sqlite_code;          /* SQLite's extended code of a storage failure; 0 = none */
    /* accept only: */
    char parent_path[4096];   /* the parent library file used */
    char parent_sha256[65];
    char library_path[4096];  /* the new file, as recorded in library_versions (absolute) */
    char library_name[256];
    char library_version[64];
    char library_sha256[65];
    int64_t library_version_id; /* its library_versions row */
    char accession[96];       /* of the new entry */
    char entry_class[64];
    uint64_t entry_index;     /* 0-based index of the new entry (the last one) */
    uint64_t n_spectra;       /* spectra in the new library */
    int64_t n_submissions, n_labs; /* of the signal, as written into the entry's comments */
} npsw_curate_result;

/* Accept a draft advisory (see above). res may not be NULL. */
int npsw_curate_accept(npsw_ledger *l, const npsw_curate_opts *o, npsw_curate_result *res,
                       npsw_err *err) NPSW_WUR;

/* Reject a draft advisory: state rejected, reviewer, note and time, audit entry
 * "advisory.reject", in one transaction. The signal is left as it is. */
int npsw_curate_reject(npsw_ledger *l, const npsw_curate_opts *o, npsw_curate_result *res,
                       npsw_err *err) NPSW_WUR;

/* The accession an accepted advisory's entry gets: the key itself when it starts with
 * "NPSW-" (e.g. "NPSW-2026-0001"), else "NPSW-" + key. */
void npsw_curate_accession(const char *advisory_key, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
