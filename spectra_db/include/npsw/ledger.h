/* npsw/ledger.h - the lab-submissions ledger: one SQLite file holding laboratories, submitted
 * files (content-addressed by SHA-256, zlib-compressed, never lost), their spectra, the analysis
 * results with their run records, signals, advisories, library versions and a hash-chained,
 * append-only audit log. Schema, migrations and the audit chain: docs/ledger.md.
 *
 *     npsw_ledger *l = npsw_ledger_open("ledger.db", NPSW_LEDGER_CREATE, &err);
 *     int64_t lab; char token[NPSW_LEDGER_TOKEN_LEN + 1];
 *     rc = npsw_ledger_lab_add(l, "Lab A", "DE", NPSW_ROLE_LAB, "cli:alice", &lab, token, &err);
 *     ... npsw_ledger_submit(l, &submission, &id, &err);   // one transaction per file
 *     npsw_ledger_close(l);
 *
 * The file runs in WAL mode with foreign keys on, synchronous=FULL (a COMMIT that returned is
 * on disk) and a busy timeout, so several processes may use one ledger; every write is one
 * BEGIN IMMEDIATE ... COMMIT transaction, so a crash or kill at any moment leaves either the
 * whole submission or nothing of it.
 *
 * Errors follow npsw/err.h: NPSW_EFORMAT (not a ledger, not SQLite), NPSW_EVERSION (schema
 * newer than this npswatch), NPSW_EINVAL (bad argument, unknown laboratory, duplicate name),
 * NPSW_EIO (the file cannot be opened or created, or SQLite failed: npsw_ledger_sqlite_error()
 * then gives SQLite's code), NPSW_ECHECKSUM (audit verification failed), NPSW_ENOMEM.
 * The npsw_err names the ledger file and says which statement failed.
 *
 * A ledger handle is not thread-safe; use one per thread (or process).
 */
#ifndef NPSW_LEDGER_H
#define NPSW_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/err.h"
#include "npsw/spectrum.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The schema version this npswatch writes (PRAGMA user_version). Older files are migrated on
 * open; newer ones are refused with NPSW_EVERSION. */
#define NPSW_LEDGER_SCHEMA_VERSION 1
/* PRAGMA application_id of a ledger ("NPSL"). */
#define NPSW_LEDGER_APPLICATION_ID 0x4e50534c
/* Busy timeout: how long a write waits for another process's transaction, ms. */
#define NPSW_LEDGER_BUSY_MS 15000
/* API tokens: "npsw_" + 43 base64url characters (32 random bytes). */
#define NPSW_LEDGER_TOKEN_LEN 48
/* Largest submitted file, bytes (SQLite keeps a value below 1e9 bytes). */
#define NPSW_LEDGER_MAX_FILE (512u * 1024u * 1024u)

typedef struct npsw_ledger npsw_ledger;

enum npsw_ledger_flags {
    NPSW_LEDGER_CREATE = 1 /* create the file when it does not exist (or is empty) */
};

/* The SQLite library in use ("SQLite 3.40.1"), for --version. */
const char *npsw_sqlite_version(void);

/* Open (and, with NPSW_LEDGER_CREATE, create) a ledger; an older schema is migrated in one
 * transaction. Refuses a file that is not SQLite or is SQLite but not a ledger (NPSW_EFORMAT)
 * and a newer schema (NPSW_EVERSION). *created (may be NULL) says whether the schema was created
 * now. `actor` names who opens it in the audit entries of a creation or migration (may be NULL:
 * "npswatch"). */
npsw_ledger *npsw_ledger_open(const char *path, int flags, const char *actor, int *created,
                              npsw_err *err);
void npsw_ledger_close(npsw_ledger *l);
/* The schema version of the open file (after migration). */
int npsw_ledger_schema_version(const npsw_ledger *l);
/* SQLite's extended result code of the last failure (0 = the last failure was not SQLite's). A
 * caller tells storage failures (disk full, I/O error, busy) from bad input with it. */
int npsw_ledger_sqlite_error(const npsw_ledger *l);
/* The SQLite handle, for libnpsw modules built on the ledger (signals, advisories) and tests. */
struct sqlite3 *npsw_ledger_db(npsw_ledger *l);
/* "3.40.1" */
const char *npsw_ledger_sqlite_version(void);

/* ---- transactions (BEGIN IMMEDIATE ... COMMIT) ------------------------------------------- */
int npsw_ledger_begin(npsw_ledger *l, npsw_err *err) NPSW_WUR;
int npsw_ledger_commit(npsw_ledger *l, npsw_err *err) NPSW_WUR;
void npsw_ledger_rollback(npsw_ledger *l);

/* ---- laboratories ----------------------------------------------------------------------- */

typedef enum npsw_ledger_role {
    NPSW_ROLE_LAB = 0, /* submits; sees its own submissions and results */
    NPSW_ROLE_CURATOR, /* reviews signals and advisories */
    NPSW_ROLE_ADMIN    /* manages laboratories */
} npsw_ledger_role;

const char *npsw_ledger_role_name(npsw_ledger_role r);
/* Parse "lab", "curator" or "admin"; returns the role or NPSW_EINVAL. */
int npsw_ledger_role_from_name(const char *name);
/* 1 when `cc` is an ISO 3166-1 alpha-2 code (upper case, e.g. "DE", "GB"; "XK" is accepted). */
int npsw_ledger_country_valid(const char *cc);

typedef struct npsw_ledger_lab {
    int64_t id;
    char name[201];
    char country[3];
    npsw_ledger_role role;
    int has_token;        /* a token hash is stored */
    char created_utc[32];
} npsw_ledger_lab;

/* Register a laboratory (audited as "lab.add" by `actor`). Its API token (32 random bytes from
 * OpenSSL's RAND_bytes, written as "npsw_" + base64url) is returned in token[] and must be
 * shown to the user once: only its SHA-256 is stored. The name is unique (ignoring case),
 * 1-200 bytes, not all digits (a --lab argument of digits is an id); `country` an ISO 3166-1
 * alpha-2 code (lower case accepted). */
int npsw_ledger_lab_add(npsw_ledger *l, const char *name, const char *country,
                        npsw_ledger_role role, const char *actor, int64_t *id,
                        char token[NPSW_LEDGER_TOKEN_LEN + 1], npsw_err *err) NPSW_WUR;
/* Find a laboratory by id (all digits) or by name (ignoring case). NPSW_EINVAL when none. */
int npsw_ledger_lab_find(npsw_ledger *l, const char *id_or_name, npsw_ledger_lab *out,
                         npsw_err *err) NPSW_WUR;
/* 1 when `token` is the laboratory's token, 0 when not (or the lab has none), < 0 on error.
 * Compares SHA-256 digests in constant time. */
int npsw_ledger_lab_check_token(npsw_ledger *l, int64_t lab_id, const char *token,
                                npsw_err *err) NPSW_WUR;
/* The laboratory whose token this is: 1 and *out filled, 0 when no laboratory has it (or the
 * token does not have the form of one), < 0 on error. Looks the token's SHA-256 up (the HTTP
 * service's bearer tokens). */
int npsw_ledger_lab_by_token(npsw_ledger *l, const char *token, npsw_ledger_lab *out,
                             npsw_err *err) NPSW_WUR;
/* Every laboratory, by id. *out is allocated (free()); returns the count. */
int npsw_ledger_lab_list(npsw_ledger *l, npsw_ledger_lab **out, npsw_err *err) NPSW_WUR;
/* The token's SHA-256 as stored (64 hex digits + NUL). */
void npsw_ledger_token_hash(const char *token, char hex[65]);

/* ---- blobs: raw files, content-addressed ---------------------------------------------- */

/* Store bytes under their SHA-256 (zlib-compressed with their size); the same bytes are stored
 * once. hex receives the SHA-256. Call inside a transaction or alone. */
int npsw_ledger_blob_put(npsw_ledger *l, const void *data, size_t len, char hex[65],
                         npsw_err *err) NPSW_WUR;
/* The bytes stored under `sha256`, decompressed and checked against the digest (NPSW_ECHECKSUM
 * on mismatch); *data is malloc'ed. NPSW_EINVAL when there is no such blob. */
int npsw_ledger_blob_get(npsw_ledger *l, const char *sha256, void **data, size_t *len,
                         npsw_err *err) NPSW_WUR;

/* ---- submissions ------------------------------------------------------------------------ */

/* The analysis of one spectrum as stored in the results table (strings may be NULL = none). */
typedef struct npsw_ledger_result {
    const char *run_json;        /* run record: npswatch version, library name/version/SHA-256,
                                    parameters, UTC time (JSON object) */
    const char *verdict;         /* "in_library", "analogue" or "unknown" */
    double confidence, p_in_library, p_analogue;
    int64_t best_index;          /* 1-based library index of the rank-1 identity hit; 0 = none */
    const char *best_name, *best_inchikey;
    double best_score;
    int best_mf, best_rmf;       /* 0..999 */
    int64_t analogue_index;      /* 1-based; 0 = no analogue */
    const char *analogue_name;
    double analogue_delta, analogue_score;
    const char *substituents;    /* "label (delta);..." */
    const char *predicted_class;
    double class_confidence;
    const char *diagnostic_ions; /* "mz:class;..." */
    const char *analysis_json;   /* the full per-query JSON object */
} npsw_ledger_result;

typedef enum npsw_ledger_spectrum_status {
    NPSW_SPECTRUM_ANALYSED = 0, /* cleaned and analysed */
    NPSW_SPECTRUM_NO_PEAKS      /* no peaks left after cleaning: analysed, matches nothing */
} npsw_ledger_spectrum_status;

typedef struct npsw_ledger_spectrum {
    const npsw_spectrum *s;       /* cleaned as the library was: name, precursor, peaks */
    uint32_t position;            /* 1-based among the spectra read from the file */
    npsw_ledger_spectrum_status status;
    const npsw_ledger_result *result; /* NULL = no result stored */
} npsw_ledger_spectrum;

const char *npsw_ledger_status_name(npsw_ledger_spectrum_status st);

typedef struct npsw_ledger_submission {
    int64_t lab_id;
    const char *actor;          /* audit actor, e.g. "lab:3" */
    int token_verified;         /* recorded in the audit entry */
    const char *file_name;      /* the original file name (as given) */
    const void *bytes;          /* the file's raw bytes */
    size_t len;
    const char *format;         /* "msp", ... */
    uint64_t n_skipped;         /* bad records skipped by the parser */
    const char *report_json;    /* the parser report (JSON object) */
    const char *library_name, *library_version, *library_sha256, *library_path;
    const npsw_ledger_spectrum *spectra;
    size_t n_spectra;
} npsw_ledger_submission;

/* Store one submitted file in ONE transaction: the blob (once per content), the submission,
 * its spectra, their results, the library version used (once per content SHA-256) and the
 * audit entry "submit" whose details commit to a digest of everything stored. Either all of it
 * is committed or nothing (any failure rolls back). *id receives the submission id; when this
 * returns 0 the submission is durable. Called inside a transaction the caller opened
 * (npsw_ledger_begin: several submissions committed together, as the HTTP service does), the
 * submission is a savepoint: a failure undoes this submission only, the transaction stays
 * open, and the submission is durable once the caller's npsw_ledger_commit returns 0. */
int npsw_ledger_submit(npsw_ledger *l, const npsw_ledger_submission *sub, int64_t *id,
                       npsw_err *err) NPSW_WUR;

/* Cleaned peaks as stored in spectra.peaks: n little-endian float64 m/z, then n little-endian
 * float32 intensities. Encode into buf (12 * n bytes); decode appends the peaks to `s`. */
void npsw_ledger_peaks_encode(const npsw_spectrum *s, unsigned char *buf);
int npsw_ledger_peaks_decode(const void *buf, size_t len, npsw_spectrum *s) NPSW_WUR;

/* ---- audit log ---------------------------------------------------------------------------- */

/* Append an entry (within the caller's transaction when one is open, else in its own).
 * `details` is a JSON object text (NULL = "{}"). *seq (may be NULL) receives its number. */
int npsw_ledger_audit_append(npsw_ledger *l, const char *actor, const char *action,
                             const char *object, const char *details, int64_t *seq,
                             npsw_err *err) NPSW_WUR;

typedef struct npsw_audit_report {
    int64_t n_entries;
    int64_t head_seq;          /* last entry */
    char head_hash[65];        /* its hash: record it elsewhere to detect a cut tail later */
    int64_t n_submissions;     /* submissions checked against their audit entries */
    int64_t n_blobs;           /* blobs decompressed and checked against their SHA-256 */
    int64_t bad_seq;           /* the first bad entry (0 = none, or the problem is not in
                                  the chain: see problem) */
    char problem[NPSW_ERR_MSG_MAX]; /* what is wrong ("" when intact) */
} npsw_audit_report;

/* Verify the ledger: the audit chain (consecutive sequence numbers from 1, each prev_hash the
 * previous entry's hash, each hash recomputed from the entry: docs/ledger.md), that every
 * laboratory and submission has its audit entry, that every submission, its spectra and
 * results still match the digest its entry committed to, and that every blob decompresses to
 * its SHA-256. expect_head (may be NULL) is a head hash recorded earlier: it must be an entry
 * of the chain. Returns 0 when intact, NPSW_ECHECKSUM when not (rep->bad_seq and rep->problem
 * say where), other codes on errors. */
int npsw_ledger_audit_verify(npsw_ledger *l, const char *expect_head, npsw_audit_report *rep,
                             npsw_err *err) NPSW_WUR;

/* ---- description ---------------------------------------------------------------------- */

#define NPSW_LEDGER_MAX_TABLES 32

typedef struct npsw_ledger_info {
    int schema_version;
    char journal_mode[16];
    size_t n_tables;
    struct {
        char name[64];
        int64_t rows;
    } tables[NPSW_LEDGER_MAX_TABLES]; /* every table, by name */
    int64_t n_labs_without_token;
    int64_t blob_bytes;        /* original sizes of the stored files */
    int64_t blob_stored_bytes; /* compressed */
    int64_t audit_head_seq;
    char audit_head_hash[65];
} npsw_ledger_info;

int npsw_ledger_get_info(npsw_ledger *l, npsw_ledger_info *info, npsw_err *err) NPSW_WUR;

#ifdef __cplusplus
}
#endif
#endif
