/* ledger.c - the lab-submissions ledger on SQLite (npsw/ledger.h; schema, migrations and the
 * audit chain in docs/ledger.md). */
#include "npsw/ledger.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zlib.h>

#include "npsw/config.h"
#include "npsw/hash.h"

#include <pthread.h>

struct npsw_ledger {
    sqlite3 *db;
    char *path;
    int schema;
    int last_sqlite; /* extended code of the last SQLite failure, 0 = none */
    int in_tx;
    int registered;  /* counted in open_files */
    dev_t dev;
    ino_t ino;
};

/* The ledger files this process has open, with their handle counts. Closing any descriptor of a
 * file drops every POSIX lock the process holds on it, SQLite's included, and another process
 * could then checkpoint and delete the WAL under the open handles. So the header check of
 * npsw_ledger_open (its own fopen/fclose) runs only when no handle of this process has the file
 * open; opening and closing hold the mutex. */
static pthread_mutex_t open_mu = PTHREAD_MUTEX_INITIALIZER;
static struct open_file {
    dev_t dev;
    ino_t ino;
    long n;
} *open_files;
static size_t n_open_files;

static void ledger_close_locked(npsw_ledger *l);

static struct open_file *open_file_find(dev_t dev, ino_t ino)
{
    for (size_t i = 0; i < n_open_files; i++)
        if (open_files[i].dev == dev && open_files[i].ino == ino && open_files[i].n > 0)
            return &open_files[i];
    return NULL;
}

static const char zero_hash[65] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/* ---- migrations ------------------------------------------------------------------------- */

/* Migration N takes a file from schema version N-1 to N. Append new versions at the end; never
 * edit a released one (files out there were made by it). Each runs in one transaction with the
 * PRAGMA user_version update and its "schema.migrate" audit entry. */
typedef struct migration {
    int version;
    const char *description;
    const char *sql;
} migration;

static const migration migrations[] = {
    {1, "initial schema: laboratories, blobs, submissions, spectra, results, library versions, "
        "signals, advisories, hash-chained audit log",
     "CREATE TABLE schema_migrations (\n"
     "  version INTEGER PRIMARY KEY,\n"
     "  description TEXT NOT NULL,\n"
     "  applied_utc TEXT NOT NULL,\n"
     "  npswatch_version TEXT NOT NULL);\n"
     "CREATE TABLE labs (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  name TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (length(name) BETWEEN 1 AND 200),\n"
     "  country TEXT NOT NULL CHECK (length(country) = 2 AND country GLOB '[A-Z][A-Z]'),\n"
     "  role TEXT NOT NULL DEFAULT 'lab' CHECK (role IN ('lab', 'curator', 'admin')),\n"
     "  token_sha256 TEXT CHECK (token_sha256 IS NULL OR length(token_sha256) = 64),\n"
     "  created_utc TEXT NOT NULL);\n"
     "CREATE TABLE blobs (\n"
     "  sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),\n"
     "  size INTEGER NOT NULL CHECK (size >= 0),\n"
     "  compression TEXT NOT NULL CHECK (compression IN ('zlib')),\n"
     "  data BLOB NOT NULL);\n"
     "CREATE TABLE submissions (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  lab_id INTEGER NOT NULL REFERENCES labs(id),\n"
     "  received_utc TEXT NOT NULL,\n"
     "  file_name TEXT NOT NULL,\n"
     "  sha256 TEXT NOT NULL REFERENCES blobs(sha256),\n"
     "  size INTEGER NOT NULL CHECK (size >= 0),\n"
     "  format TEXT NOT NULL,\n"
     "  n_spectra INTEGER NOT NULL CHECK (n_spectra >= 0),\n"
     "  n_skipped INTEGER NOT NULL CHECK (n_skipped >= 0),\n"
     "  report_json TEXT NOT NULL CHECK (json_valid(report_json)));\n"
     "CREATE INDEX submissions_lab ON submissions(lab_id);\n"
     "CREATE INDEX submissions_sha256 ON submissions(sha256);\n"
     "CREATE TABLE spectra (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  submission_id INTEGER NOT NULL REFERENCES submissions(id),\n"
     "  position INTEGER NOT NULL CHECK (position >= 1),\n"
     "  src_line INTEGER,\n"
     "  name TEXT NOT NULL,\n"
     "  precursor_mz REAL,\n"
     "  n_peaks INTEGER NOT NULL CHECK (n_peaks >= 0),\n"
     "  peaks BLOB NOT NULL CHECK (length(peaks) = 12 * n_peaks),\n"
     "  status TEXT NOT NULL CHECK (status IN ('analysed', 'no_peaks')),\n"
     "  UNIQUE (submission_id, position));\n"
     "CREATE TABLE library_versions (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  name TEXT NOT NULL,\n"
     "  version TEXT NOT NULL,\n"
     "  content_sha256 TEXT NOT NULL UNIQUE CHECK (length(content_sha256) = 64),\n"
     "  parent_sha256 TEXT CHECK (parent_sha256 IS NULL OR length(parent_sha256) = 64),\n"
     "  advisory_id INTEGER REFERENCES advisories(id),\n"
     "  file_path TEXT,\n"
     "  created_utc TEXT NOT NULL);\n"
     "CREATE TABLE results (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  spectrum_id INTEGER NOT NULL REFERENCES spectra(id),\n"
     "  created_utc TEXT NOT NULL,\n"
     "  npswatch_version TEXT NOT NULL,\n"
     "  library_sha256 TEXT NOT NULL REFERENCES library_versions(content_sha256),\n"
     "  run_json TEXT NOT NULL CHECK (json_valid(run_json)),\n"
     "  verdict TEXT NOT NULL CHECK (verdict IN ('in_library', 'analogue', 'unknown')),\n"
     "  confidence REAL NOT NULL,\n"
     "  p_in_library REAL NOT NULL,\n"
     "  p_analogue REAL NOT NULL,\n"
     "  best_index INTEGER,\n"
     "  best_name TEXT,\n"
     "  best_inchikey TEXT,\n"
     "  best_score REAL,\n"
     "  best_mf INTEGER,\n"
     "  best_rmf INTEGER,\n"
     "  analogue_index INTEGER,\n"
     "  analogue_name TEXT,\n"
     "  analogue_delta REAL,\n"
     "  analogue_score REAL,\n"
     "  substituents TEXT,\n"
     "  predicted_class TEXT,\n"
     "  class_confidence REAL,\n"
     "  diagnostic_ions TEXT,\n"
     "  analysis_json TEXT NOT NULL CHECK (json_valid(analysis_json)));\n"
     "CREATE INDEX spectra_submission ON spectra(submission_id);\n"
     "CREATE INDEX results_spectrum ON results(spectrum_id);\n"
     "CREATE TABLE signals (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  created_utc TEXT NOT NULL,\n"
     "  updated_utc TEXT NOT NULL,\n"
     "  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'advised', 'closed')),\n"
     "  n_labs INTEGER NOT NULL DEFAULT 0,\n"
     "  n_submissions INTEGER NOT NULL DEFAULT 0,\n"
     "  countries TEXT,\n"
     "  first_seen_utc TEXT,\n"
     "  last_seen_utc TEXT,\n"
     "  score REAL,\n"
     "  predicted_class TEXT,\n"
     "  consensus_peaks BLOB,\n"
     "  details_json TEXT CHECK (details_json IS NULL OR json_valid(details_json)));\n"
     "CREATE TABLE signal_members (\n"
     "  signal_id INTEGER NOT NULL REFERENCES signals(id),\n"
     "  spectrum_id INTEGER NOT NULL REFERENCES spectra(id),\n"
     "  similarity REAL,\n"
     "  PRIMARY KEY (signal_id, spectrum_id));\n"
     "CREATE INDEX signal_members_spectrum ON signal_members(spectrum_id);\n"
     "CREATE TABLE advisories (\n"
     "  id INTEGER PRIMARY KEY,\n"
     "  advisory_key TEXT NOT NULL,\n"
     "  version INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),\n"
     "  signal_id INTEGER REFERENCES signals(id),\n"
     "  state TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'accepted', 'rejected')),\n"
     "  supersedes_id INTEGER REFERENCES advisories(id),\n"
     "  retracted_utc TEXT,\n"
     "  created_utc TEXT NOT NULL,\n"
     "  reviewed_utc TEXT,\n"
     "  reviewer TEXT,\n"
     "  note TEXT,\n"
     "  advisory_json TEXT CHECK (advisory_json IS NULL OR json_valid(advisory_json)),\n"
     "  dir_path TEXT,\n"
     "  UNIQUE (advisory_key, version));\n"
     "CREATE TABLE audit_log (\n"
     "  seq INTEGER PRIMARY KEY,\n"
     "  utc TEXT NOT NULL,\n"
     "  actor TEXT NOT NULL,\n"
     "  action TEXT NOT NULL,\n"
     "  object TEXT NOT NULL,\n"
     "  details TEXT NOT NULL CHECK (json_valid(details)),\n"
     "  prev_hash TEXT NOT NULL CHECK (length(prev_hash) = 64),\n"
     "  hash TEXT NOT NULL CHECK (length(hash) = 64));\n"
     /* append-only, and each entry must follow the last one */
     "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log\n"
     "  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be changed'); END;\n"
     "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log\n"
     "  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: entries cannot be deleted'); END;\n"
     "CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log\n"
     "  WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM audit_log)\n"
     "    OR NEW.prev_hash IS NOT coalesce((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1),\n"
     "      '0000000000000000000000000000000000000000000000000000000000000000')\n"
     "  BEGIN SELECT RAISE(ABORT, 'audit_log: an entry must follow the last one'); END;\n"
     /* what was received is kept: no deletions, and stored facts do not change */
     "CREATE TRIGGER blobs_no_update BEFORE UPDATE ON blobs\n"
     "  BEGIN SELECT RAISE(ABORT, 'blobs are content-addressed and cannot be changed'); END;\n"
     "CREATE TRIGGER blobs_no_delete BEFORE DELETE ON blobs\n"
     "  BEGIN SELECT RAISE(ABORT, 'submitted files are kept: blobs cannot be deleted'); END;\n"
     "CREATE TRIGGER submissions_no_update BEFORE UPDATE ON submissions\n"
     "  BEGIN SELECT RAISE(ABORT, 'submissions cannot be changed'); END;\n"
     "CREATE TRIGGER submissions_no_delete BEFORE DELETE ON submissions\n"
     "  BEGIN SELECT RAISE(ABORT, 'submissions cannot be deleted'); END;\n"
     "CREATE TRIGGER spectra_no_delete BEFORE DELETE ON spectra\n"
     "  BEGIN SELECT RAISE(ABORT, 'submitted spectra cannot be deleted'); END;\n"
     "CREATE TRIGGER results_no_update BEFORE UPDATE ON results\n"
     "  BEGIN SELECT RAISE(ABORT, 'results cannot be changed: store a new one'); END;\n"
     "CREATE TRIGGER results_no_delete BEFORE DELETE ON results\n"
     "  BEGIN SELECT RAISE(ABORT, 'results cannot be deleted'); END;\n"},
};
#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

/* ---- helpers -------------------------------------------------------------------------- */

static void utc_now(char buf[32])
{
    /* the ledger records when things happened: the real clock, not SOURCE_DATE_EPOCH */
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* An SQLite failure as an npsw error: constraint violations are bad input (NPSW_EINVAL), the
 * rest storage errors (NPSW_EIO, with SQLite's code kept for npsw_ledger_sqlite_error). */
static int sql_fail(npsw_ledger *l, npsw_err *err, const char *what)
{
    int x = sqlite3_extended_errcode(l->db), prim = x & 0xff;
    l->last_sqlite = x;
    int code = prim == SQLITE_CONSTRAINT ? NPSW_EINVAL
               : prim == SQLITE_NOMEM    ? NPSW_ENOMEM
               : prim == SQLITE_NOTADB   ? NPSW_EFORMAT
                                         : NPSW_EIO;
    return npsw_err_set(err, code, l->path, 0, "SQLite: %s (while %s)", sqlite3_errmsg(l->db),
                        what);
}

static int exec(npsw_ledger *l, const char *sql, const char *what, npsw_err *err)
{
    if (sqlite3_exec(l->db, sql, NULL, NULL, NULL) != SQLITE_OK) return sql_fail(l, err, what);
    return 0;
}

static sqlite3_stmt *prep(npsw_ledger *l, const char *sql, const char *what, npsw_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK) {
        sql_fail(l, err, what);
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Run a statement that returns one integer (or none: *out = dflt). */
static int query_int(npsw_ledger *l, const char *sql, int64_t dflt, int64_t *out, npsw_err *err)
{
    sqlite3_stmt *st = prep(l, sql, sql, err);
    if (!st) return err ? err->code : NPSW_EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
    else if (rc == SQLITE_DONE) *out = dflt;
    else {
        int r = sql_fail(l, err, sql);
        sqlite3_finalize(st);
        return r;
    }
    sqlite3_finalize(st);
    return 0;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, i);
}

static int step_done(npsw_ledger *l, sqlite3_stmt *st, const char *what, npsw_err *err)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return sql_fail(l, err, what);
    return 0;
}

int npsw_ledger_begin(npsw_ledger *l, npsw_err *err)
{
    if (l->in_tx) return npsw_err_set(err, NPSW_EINVAL, l->path, 0, "a transaction is already open");
    int rc = exec(l, "BEGIN IMMEDIATE", "starting a write transaction", err);
    if (rc == 0) l->in_tx = 1;
    return rc;
}

int npsw_ledger_commit(npsw_ledger *l, npsw_err *err)
{
    int rc = exec(l, "COMMIT", "committing", err);
    if (rc < 0) npsw_ledger_rollback(l);
    l->in_tx = 0;
    return rc;
}

void npsw_ledger_rollback(npsw_ledger *l)
{
    if (!l) return;
    if (!sqlite3_get_autocommit(l->db)) sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    l->in_tx = 0;
}

const char *npsw_ledger_sqlite_version(void) { return sqlite3_libversion(); }
int npsw_ledger_schema_version(const npsw_ledger *l) { return l->schema; }
int npsw_ledger_sqlite_error(const npsw_ledger *l) { return l ? l->last_sqlite : 0; }
struct sqlite3 *npsw_ledger_db(npsw_ledger *l) { return l->db; }

/* ---- audit chain ------------------------------------------------------------------------ */

static void hash_field(npsw_sha256 *h, const char *s, size_t len)
{
    char pre[32];
    int n = snprintf(pre, sizeof pre, "\n%zu:", len);
    npsw_sha256_update(h, pre, (size_t)n);
    npsw_sha256_update(h, s, len);
}

/* hash = SHA-256(prev_hash || canonical text), the canonical text being "npsw-audit-1" and
 * then each field as "\n" LENGTH ":" BYTES (docs/ledger.md, "Audit log"). */
static void audit_hash(const char *prev, int64_t seq, const char *utc, const char *actor,
                       const char *action, const char *object, const char *details,
                       char hex[65])
{
    npsw_sha256 *h = npsw_sha256_new();
    char num[32];
    snprintf(num, sizeof num, "%" PRId64, seq);
    npsw_sha256_update(h, prev, strlen(prev));
    npsw_sha256_update(h, "npsw-audit-1", 12);
    hash_field(h, num, strlen(num));
    hash_field(h, utc, strlen(utc));
    hash_field(h, actor, strlen(actor));
    hash_field(h, action, strlen(action));
    hash_field(h, object, strlen(object));
    hash_field(h, details, strlen(details));
    npsw_sha256_final(h, hex);
}

int npsw_ledger_audit_append(npsw_ledger *l, const char *actor, const char *action,
                             const char *object, const char *details, int64_t *seq_out,
                             npsw_err *err)
{
    int own = !l->in_tx, rc;
    if (!actor || !*actor || !action || !*action || !object)
        return npsw_err_set(err, NPSW_EINVAL, l->path, 0, "audit entry without actor or action");
    if (!details) details = "{}";
    if (own && (rc = npsw_ledger_begin(l, err)) < 0) return rc;
    sqlite3_stmt *st = prep(l, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
                            "reading the audit log's last entry", err);
    if (!st) goto fail;
    int64_t seq = 1;
    char prev[65];
    memcpy(prev, zero_hash, sizeof prev);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        seq = sqlite3_column_int64(st, 0) + 1;
        const char *h = (const char *)sqlite3_column_text(st, 1);
        snprintf(prev, sizeof prev, "%s", h ? h : "");
    } else if (s != SQLITE_DONE) {
        sql_fail(l, err, "reading the audit log's last entry");
        sqlite3_finalize(st);
        goto fail;
    }
    sqlite3_finalize(st);
    char utc[32], hash[65];
    utc_now(utc);
    audit_hash(prev, seq, utc, actor, action, object, details, hash);
    st = prep(l,
              "INSERT INTO audit_log (seq, utc, actor, action, object, details, prev_hash, hash) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              "appending to the audit log", err);
    if (!st) goto fail;
    sqlite3_bind_int64(st, 1, seq);
    bind_text(st, 2, utc);
    bind_text(st, 3, actor);
    bind_text(st, 4, action);
    bind_text(st, 5, object);
    bind_text(st, 6, details);
    bind_text(st, 7, prev);
    bind_text(st, 8, hash);
    rc = step_done(l, st, "appending to the audit log", err);
    sqlite3_finalize(st);
    if (rc < 0) goto fail;
    if (own && (rc = npsw_ledger_commit(l, err)) < 0) return rc;
    if (seq_out) *seq_out = seq;
    return 0;
fail:
    if (own) npsw_ledger_rollback(l);
    return err && err->code < 0 ? err->code : NPSW_EIO;
}

/* ---- open, create, migrate ------------------------------------------------------------- */

static int pragma_int(npsw_ledger *l, const char *pragma, int64_t *out, npsw_err *err)
{
    return query_int(l, pragma, 0, out, err);
}

static int migrate(npsw_ledger *l, int create, const char *actor, int *created, npsw_err *err)
{
    int64_t uv, app, nobj;
    int rc;
    if ((rc = npsw_ledger_begin(l, err)) < 0) return rc;
    /* read again inside the write transaction: another process may have migrated meanwhile */
    if ((rc = pragma_int(l, "PRAGMA user_version", &uv, err)) < 0 ||
        (rc = pragma_int(l, "PRAGMA application_id", &app, err)) < 0 ||
        (rc = query_int(l, "SELECT count(*) FROM sqlite_master", 0, &nobj, err)) < 0)
        goto fail;
    if (app != NPSW_LEDGER_APPLICATION_ID && (app != 0 || uv != 0 || nobj != 0)) {
        rc = npsw_err_set(err, NPSW_EFORMAT, l->path, 0,
                          "an SQLite database but not an npswatch ledger (application_id %" PRId64
                          ", user_version %" PRId64 ", %" PRId64 " schema objects); refusing to "
                          "touch it",
                          app, uv, nobj);
        goto fail;
    }
    if (uv > NPSW_LEDGER_SCHEMA_VERSION) {
        rc = npsw_err_set(err, NPSW_EVERSION, l->path, 0,
                          "ledger schema version %" PRId64 " was written by a newer npswatch; "
                          "this one (%s) reads schema versions up to %d: use a newer npswatch",
                          uv, NPSW_VERSION, NPSW_LEDGER_SCHEMA_VERSION);
        goto fail;
    }
    if (uv == 0 && !create) {
        rc = npsw_err_set(err, NPSW_EFORMAT, l->path, 0,
                          "an empty database, not yet a ledger: create it with 'npswatch ledger "
                          "init %s'",
                          l->path);
        goto fail;
    }
    if (created) *created = uv == 0;
    for (size_t i = 0; i < N_MIGRATIONS; i++) {
        const migration *m = &migrations[i];
        if (m->version <= uv) continue;
        char what[64], utc[32];
        snprintf(what, sizeof what, "migrating the schema to version %d", m->version);
        if ((rc = exec(l, m->sql, what, err)) < 0) goto fail;
        utc_now(utc);
        sqlite3_stmt *st = prep(l,
                                "INSERT INTO schema_migrations (version, description, "
                                "applied_utc, npswatch_version) VALUES (?, ?, ?, ?)",
                                what, err);
        if (!st) {
            rc = err ? err->code : NPSW_EIO;
            goto fail;
        }
        sqlite3_bind_int(st, 1, m->version);
        bind_text(st, 2, m->description);
        bind_text(st, 3, utc);
        bind_text(st, 4, NPSW_VERSION);
        rc = step_done(l, st, what, err);
        sqlite3_finalize(st);
        if (rc < 0) goto fail;
        char details[256], sqlbuf[64];
        snprintf(details, sizeof details,
                 "{\"from_version\":%d,\"to_version\":%d,\"npswatch_version\":\"%s\"}",
                 m->version - 1, m->version, NPSW_VERSION);
        if ((rc = npsw_ledger_audit_append(l, actor ? actor : "npswatch",
                                           uv == 0 && m->version == 1 ? "ledger.create"
                                                                      : "schema.migrate",
                                           "schema", details, NULL, err)) < 0)
            goto fail;
        snprintf(sqlbuf, sizeof sqlbuf, "PRAGMA user_version = %d", m->version);
        if ((rc = exec(l, sqlbuf, what, err)) < 0) goto fail;
    }
    char sqlbuf[64];
    snprintf(sqlbuf, sizeof sqlbuf, "PRAGMA application_id = %d", NPSW_LEDGER_APPLICATION_ID);
    if ((rc = exec(l, sqlbuf, "marking the file as a ledger", err)) < 0) goto fail;
    if ((rc = npsw_ledger_commit(l, err)) < 0) return rc;
    l->schema = NPSW_LEDGER_SCHEMA_VERSION;
    return 0;
fail:
    npsw_ledger_rollback(l);
    return rc;
}

static npsw_ledger *ledger_open(const char *path, int flags, const char *actor, int *created,
                                npsw_err *err)
{
    int create = (flags & NPSW_LEDGER_CREATE) != 0;
    if (created) *created = 0;
    struct stat sb;
    int exists = stat(path, &sb) == 0;
    if (exists && !S_ISREG(sb.st_mode)) {
        npsw_err_set(err, NPSW_EIO, path, 0, "not a regular file");
        return NULL;
    }
    if (!exists && !create) {
        npsw_err_set(err, NPSW_EIO, path, 0,
                     "no such ledger (%s); create one with 'npswatch ledger init %s'",
                     strerror(errno), path);
        return NULL;
    }
    if (exists && sb.st_size > 0 && !open_file_find(sb.st_dev, sb.st_ino)) {
        /* never let SQLite near a file that is not a database (a file this process has open
         * as a ledger was checked when it was first opened) */
        char head[16] = {0};
        FILE *f = fopen(path, "rb");
        if (!f) {
            npsw_err_set(err, NPSW_EIO, path, 0, "cannot open: %s", strerror(errno));
            return NULL;
        }
        size_t got = fread(head, 1, sizeof head, f);
        fclose(f);
        if (got < sizeof head || memcmp(head, "SQLite format 3", 16) != 0) {
            npsw_err_set(err, NPSW_EFORMAT, path, 0,
                         "not an npswatch ledger (not an SQLite database); refusing to touch it");
            return NULL;
        }
    }
    npsw_ledger *l = calloc(1, sizeof *l);
    if (!l || !(l->path = strdup(path))) {
        free(l);
        npsw_err_set(err, NPSW_ENOMEM, path, 0, "out of memory");
        return NULL;
    }
    int of = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path, &l->db, of, NULL) != SQLITE_OK) {
        npsw_err_set(err, NPSW_EIO, path, 0, "cannot open the ledger: %s",
                     l->db ? sqlite3_errmsg(l->db) : "out of memory");
        ledger_close_locked(l);
        return NULL;
    }
    sqlite3_extended_result_codes(l->db, 1);
    sqlite3_busy_timeout(l->db, NPSW_LEDGER_BUSY_MS);
    /* decide before changing anything (even the journal mode) */
    int64_t uv, app, nobj;
    if (pragma_int(l, "PRAGMA user_version", &uv, err) < 0 ||
        pragma_int(l, "PRAGMA application_id", &app, err) < 0 ||
        query_int(l, "SELECT count(*) FROM sqlite_master", 0, &nobj, err) < 0)
        goto fail;
    if (app != NPSW_LEDGER_APPLICATION_ID && (app != 0 || uv != 0 || nobj != 0)) {
        npsw_err_set(err, NPSW_EFORMAT, path, 0,
                     "an SQLite database but not an npswatch ledger (application_id %" PRId64
                     ", user_version %" PRId64 ", %" PRId64 " schema objects); refusing to "
                     "touch it",
                     app, uv, nobj);
        goto fail;
    }
    if (app != NPSW_LEDGER_APPLICATION_ID && !create) {
        npsw_err_set(err, NPSW_EFORMAT, path, 0,
                     "an empty file, not yet a ledger: create it with 'npswatch ledger init %s'",
                     path);
        goto fail;
    }
    /* WAL: readers do not block the writer, and a killed writer leaves the file consistent.
     * synchronous=FULL: a COMMIT that returned survives a power cut too. */
    if (exec(l, "PRAGMA journal_mode = WAL", "switching to WAL mode", err) < 0 ||
        exec(l, "PRAGMA foreign_keys = ON", "enabling foreign keys", err) < 0 ||
        exec(l, "PRAGMA synchronous = FULL", "setting synchronous=FULL", err) < 0)
        goto fail;
    if (uv < NPSW_LEDGER_SCHEMA_VERSION || app != NPSW_LEDGER_APPLICATION_ID) {
        if (migrate(l, create, actor, created, err) < 0) goto fail;
    } else if (uv > NPSW_LEDGER_SCHEMA_VERSION) {
        npsw_err_set(err, NPSW_EVERSION, path, 0,
                     "ledger schema version %" PRId64 " was written by a newer npswatch; this "
                     "one (%s) reads schema versions up to %d: use a newer npswatch",
                     uv, NPSW_VERSION, NPSW_LEDGER_SCHEMA_VERSION);
        goto fail;
    } else {
        l->schema = (int)uv;
    }
    return l;
fail:
    ledger_close_locked(l);
    return NULL;
}

npsw_ledger *npsw_ledger_open(const char *path, int flags, const char *actor, int *created,
                              npsw_err *err)
{
    pthread_mutex_lock(&open_mu);
    npsw_ledger *l = ledger_open(path, flags, actor, created, err);
    struct stat sb;
    if (l && stat(path, &sb) == 0) {
        struct open_file *f = open_file_find(sb.st_dev, sb.st_ino);
        if (!f) {
            for (size_t i = 0; i < n_open_files && !f; i++)
                if (open_files[i].n == 0) f = &open_files[i];
        }
        if (!f) {
            struct open_file *v = realloc(open_files, (n_open_files + 1) * sizeof *v);
            if (v) {
                open_files = v;
                f = &open_files[n_open_files++];
                f->n = 0;
            }
        }
        if (f) {
            f->dev = sb.st_dev;
            f->ino = sb.st_ino;
            f->n++;
            l->registered = 1;
            l->dev = sb.st_dev;
            l->ino = sb.st_ino;
        }
        /* not registered (out of memory): a later open checks the header again, as before */
    }
    pthread_mutex_unlock(&open_mu);
    return l;
}

/* Close with open_mu held. */
static void ledger_close_locked(npsw_ledger *l)
{
    if (!l) return;
    if (l->db) {
        npsw_ledger_rollback(l);
        sqlite3_close_v2(l->db);
    }
    if (l->registered) {
        struct open_file *f = open_file_find(l->dev, l->ino);
        if (f) f->n--;
    }
    free(l->path);
    free(l);
}

void npsw_ledger_close(npsw_ledger *l)
{
    if (!l) return;
    pthread_mutex_lock(&open_mu);
    ledger_close_locked(l);
    pthread_mutex_unlock(&open_mu);
}

/* ---- laboratories ------------------------------------------------------------------------- */

static const char *const role_names[] = {"lab", "curator", "admin"};

const char *npsw_ledger_role_name(npsw_ledger_role r)
{
    return (unsigned)r < 3 ? role_names[r] : "?";
}

int npsw_ledger_role_from_name(const char *name)
{
    for (int i = 0; i < 3; i++)
        if (name && !strcmp(name, role_names[i])) return i;
    return NPSW_EINVAL;
}

/* ISO 3166-1 alpha-2, the officially assigned codes, plus XK (Kosovo, used by the EU). */
static const char countries[] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW XK";

int npsw_ledger_country_valid(const char *cc)
{
    if (!cc || strlen(cc) != 2 || !isupper((unsigned char)cc[0]) || !isupper((unsigned char)cc[1]))
        return 0;
    for (const char *p = countries; *p; p += p[2] ? 3 : 2)
        if (p[0] == cc[0] && p[1] == cc[1]) return 1;
    return 0;
}

void npsw_ledger_token_hash(const char *token, char hex[65])
{
    npsw_sha256_hex(token, strlen(token), hex);
}

static int make_token(char token[NPSW_LEDGER_TOKEN_LEN + 1])
{
    static const char b64url[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    unsigned char raw[33] = {0};
    if (RAND_bytes(raw, 32) != 1) return -1;
    memcpy(token, "npsw_", 5);
    char *o = token + 5;
    /* 32 bytes = 10 groups of 3 + 2 bytes: 40 + 3 characters, no padding */
    for (int i = 0; i < 33; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        *o++ = b64url[v >> 18 & 63];
        *o++ = b64url[v >> 12 & 63];
        *o++ = b64url[v >> 6 & 63];
        if (i + 3 < 33) *o++ = b64url[v & 63];
    }
    *o = '\0';
    OPENSSL_cleanse(raw, sizeof raw);
    return (o - token) == NPSW_LEDGER_TOKEN_LEN ? 0 : -1;
}

static int all_digits(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

int npsw_ledger_lab_add(npsw_ledger *l, const char *name, const char *country,
                        npsw_ledger_role role, const char *actor, int64_t *id,
                        char token[NPSW_LEDGER_TOKEN_LEN + 1], npsw_err *err)
{
    char cc[3] = "";
    size_t nlen = name ? strlen(name) : 0;
    if (nlen == 0 || nlen > 200)
        return npsw_err_set(err, NPSW_EINVAL, l->path, 0,
                            "a laboratory name needs 1 to 200 bytes, got %zu", nlen);
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return npsw_err_set(err, NPSW_EINVAL, l->path, 0,
                                "the laboratory name contains a control character");
    if (all_digits(name))
        return npsw_err_set(err, NPSW_EINVAL, l->path, 0,
                            "a laboratory name cannot be all digits ('%s' would read as an id)",
                            name);
    if (country && strlen(country) == 2) {
        cc[0] = (char)toupper((unsigned char)country[0]);
        cc[1] = (char)toupper((unsigned char)country[1]);
    }
    if (!npsw_ledger_country_valid(cc))
        return npsw_err_set(err, NPSW_EINVAL, l->path, 0,
                            "'%s' is not an ISO 3166-1 alpha-2 country code (e.g. DE, FR, GB, US)",
                            country ? country : "");
    if ((unsigned)role > NPSW_ROLE_ADMIN)
        return npsw_err_set(err, NPSW_EINVAL, l->path, 0, "unknown role %d", (int)role);
    npsw_ledger_lab dup;
    npsw_err e2;
    if (npsw_ledger_lab_find(l, name, &dup, &e2) == 0)
        return npsw_err_set(err, NPSW_EINVAL, l->path, 0,
                            "a laboratory named '%s' already exists (id %" PRId64 ")", dup.name,
                            dup.id);
    char tok[NPSW_LEDGER_TOKEN_LEN + 1], hash[65], utc[32];
    if (make_token(tok) < 0)
        return npsw_err_set(err, NPSW_EIO, l->path, 0, "no random bytes for a token (RAND_bytes)");
    npsw_ledger_token_hash(tok, hash);
    utc_now(utc);
    int rc;
    if ((rc = npsw_ledger_begin(l, err)) < 0) goto out;
    sqlite3_stmt *st = prep(l,
                            "INSERT INTO labs (name, country, role, token_sha256, created_utc) "
                            "VALUES (?, ?, ?, ?, ?)",
                            "adding a laboratory", err);
    if (!st) {
        rc = err ? err->code : NPSW_EIO;
        goto fail;
    }
    bind_text(st, 1, name);
    bind_text(st, 2, cc);
    bind_text(st, 3, npsw_ledger_role_name(role));
    bind_text(st, 4, hash);
    bind_text(st, 5, utc);
    rc = step_done(l, st, "adding a laboratory", err);
    sqlite3_finalize(st);
    if (rc < 0) goto fail;
    int64_t lid = sqlite3_last_insert_rowid(l->db);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "name", name);
    cJSON_AddStringToObject(d, "country", cc);
    cJSON_AddStringToObject(d, "role", npsw_ledger_role_name(role));
    char *ds = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    char obj[48];
    snprintf(obj, sizeof obj, "lab:%" PRId64, lid);
    if (!ds) {
        rc = npsw_err_set(err, NPSW_ENOMEM, l->path, 0, "out of memory");
        goto fail;
    }
    rc = npsw_ledger_audit_append(l, actor ? actor : "npswatch", "lab.add", obj, ds, NULL, err);
    cJSON_free(ds);
    if (rc < 0) goto fail;
    if ((rc = npsw_ledger_commit(l, err)) < 0) goto out;
    if (id) *id = lid;
    memcpy(token, tok, sizeof tok);
    goto out;
fail:
    npsw_ledger_rollback(l);
out:
    OPENSSL_cleanse(tok, sizeof tok);
    return rc;
}

static void lab_from_row(sqlite3_stmt *st, npsw_ledger_lab *out)
{
    memset(out, 0, sizeof *out);
    out->id = sqlite3_column_int64(st, 0);
    snprintf(out->name, sizeof out->name, "%s", (const char *)sqlite3_column_text(st, 1));
    snprintf(out->country, sizeof out->country, "%s", (const char *)sqlite3_column_text(st, 2));
    int r = npsw_ledger_role_from_name((const char *)sqlite3_column_text(st, 3));
    out->role = r < 0 ? NPSW_ROLE_LAB : (npsw_ledger_role)r;
    out->has_token = sqlite3_column_type(st, 4) != SQLITE_NULL;
    snprintf(out->created_utc, sizeof out->created_utc, "%s",
             (const char *)sqlite3_column_text(st, 5));
}

#define LAB_COLUMNS "id, name, country, role, token_sha256, created_utc"

int npsw_ledger_lab_find(npsw_ledger *l, const char *id_or_name, npsw_ledger_lab *out,
                         npsw_err *err)
{
    int by_id = all_digits(id_or_name);
    sqlite3_stmt *st = prep(l,
                            by_id ? "SELECT " LAB_COLUMNS " FROM labs WHERE id = ?"
                                  : "SELECT " LAB_COLUMNS " FROM labs WHERE name = ?",
                            "looking up a laboratory", err);
    if (!st) return err ? err->code : NPSW_EIO;
    if (by_id) sqlite3_bind_int64(st, 1, strtoll(id_or_name, NULL, 10));
    else bind_text(st, 1, id_or_name);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        lab_from_row(st, out);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = npsw_err_set(err, NPSW_EINVAL, l->path, 0, "no laboratory with %s '%s' in the ledger",
                          by_id ? "id" : "name", id_or_name);
    } else {
        rc = sql_fail(l, err, "looking up a laboratory");
    }
    sqlite3_finalize(st);
    return rc;
}

int npsw_ledger_lab_check_token(npsw_ledger *l, int64_t lab_id, const char *token, npsw_err *err)
{
    sqlite3_stmt *st = prep(l, "SELECT token_sha256 FROM labs WHERE id = ?", "checking a token",
                            err);
    if (!st) return err ? err->code : NPSW_EIO;
    sqlite3_bind_int64(st, 1, lab_id);
    int rc = sqlite3_step(st), ok = 0;
    if (rc == SQLITE_ROW) {
        const char *stored = (const char *)sqlite3_column_text(st, 0);
        char hex[65];
        npsw_ledger_token_hash(token ? token : "", hex);
        ok = stored && strlen(stored) == 64 && CRYPTO_memcmp(stored, hex, 64) == 0;
        rc = ok;
    } else if (rc == SQLITE_DONE) {
        rc = npsw_err_set(err, NPSW_EINVAL, l->path, 0, "no laboratory with id %" PRId64, lab_id);
    } else {
        rc = sql_fail(l, err, "checking a token");
    }
    sqlite3_finalize(st);
    return rc;
}

int npsw_ledger_lab_by_token(npsw_ledger *l, const char *token, npsw_ledger_lab *out,
                             npsw_err *err)
{
    if (!token || strlen(token) != NPSW_LEDGER_TOKEN_LEN) return 0;
    char hex[65];
    npsw_ledger_token_hash(token, hex);
    sqlite3_stmt *st = prep(l, "SELECT " LAB_COLUMNS " FROM labs WHERE token_sha256 = ?",
                            "looking up a token", err);
    if (!st) return err ? err->code : NPSW_EIO;
    bind_text(st, 1, hex);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *stored = (const char *)sqlite3_column_text(st, 4);
        lab_from_row(st, out);
        rc = stored && strlen(stored) == 64 && CRYPTO_memcmp(stored, hex, 64) == 0;
    } else if (rc == SQLITE_DONE) {
        rc = 0;
    } else {
        rc = sql_fail(l, err, "looking up a token");
    }
    sqlite3_finalize(st);
    OPENSSL_cleanse(hex, sizeof hex);
    return rc;
}

int npsw_ledger_lab_list(npsw_ledger *l, npsw_ledger_lab **out, npsw_err *err)
{
    *out = NULL;
    sqlite3_stmt *st = prep(l, "SELECT " LAB_COLUMNS " FROM labs ORDER BY id",
                            "listing laboratories", err);
    if (!st) return err ? err->code : NPSW_EIO;
    size_t n = 0, cap = 0;
    npsw_ledger_lab *v = NULL;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            npsw_ledger_lab *nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                free(v);
                sqlite3_finalize(st);
                return npsw_err_set(err, NPSW_ENOMEM, l->path, 0, "out of memory");
            }
            v = nv;
        }
        lab_from_row(st, &v[n++]);
    }
    if (rc != SQLITE_DONE) {
        free(v);
        rc = sql_fail(l, err, "listing laboratories");
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_finalize(st);
    *out = v;
    return (int)n;
}

/* ---- blobs ------------------------------------------------------------------------------ */

int npsw_ledger_blob_put(npsw_ledger *l, const void *data, size_t len, char hex[65],
                         npsw_err *err)
{
    if (len > NPSW_LEDGER_MAX_FILE)
        return npsw_err_set(err, NPSW_ELIMIT, l->path, 0,
                            "%zu bytes: larger than the ledger's limit of %u bytes per file", len,
                            NPSW_LEDGER_MAX_FILE);
    npsw_sha256_hex(data, len, hex);
    int64_t have;
    sqlite3_stmt *st = prep(l, "SELECT count(*) FROM blobs WHERE sha256 = ?", "looking up a blob",
                            err);
    if (!st) return err ? err->code : NPSW_EIO;
    bind_text(st, 1, hex);
    if (sqlite3_step(st) != SQLITE_ROW) {
        int r = sql_fail(l, err, "looking up a blob");
        sqlite3_finalize(st);
        return r;
    }
    have = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (have) return 0; /* the same bytes are stored once */
    uLongf clen = compressBound((uLong)len);
    unsigned char *z = malloc(clen ? clen : 1);
    if (!z) return npsw_err_set(err, NPSW_ENOMEM, l->path, 0, "out of memory compressing a file");
    if (compress2(z, &clen, data, (uLong)len, 6) != Z_OK) {
        free(z);
        return npsw_err_set(err, NPSW_ENOMEM, l->path, 0, "zlib could not compress the file");
    }
    st = prep(l, "INSERT INTO blobs (sha256, size, compression, data) VALUES (?, ?, 'zlib', ?)",
              "storing a file", err);
    if (!st) {
        free(z);
        return err ? err->code : NPSW_EIO;
    }
    bind_text(st, 1, hex);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)len);
    sqlite3_bind_blob64(st, 3, z, (sqlite3_uint64)clen, free);
    int rc = step_done(l, st, "storing a file", err);
    sqlite3_finalize(st);
    return rc;
}

int npsw_ledger_blob_get(npsw_ledger *l, const char *sha256, void **data, size_t *len,
                         npsw_err *err)
{
    *data = NULL;
    *len = 0;
    sqlite3_stmt *st = prep(l, "SELECT size, compression, data FROM blobs WHERE sha256 = ?",
                            "reading a blob", err);
    if (!st) return err ? err->code : NPSW_EIO;
    bind_text(st, 1, sha256);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_finalize(st);
        return npsw_err_set(err, NPSW_EINVAL, l->path, 0, "no stored file with SHA-256 %s",
                            sha256);
    }
    if (rc != SQLITE_ROW) {
        rc = sql_fail(l, err, "reading a blob");
        sqlite3_finalize(st);
        return rc;
    }
    int64_t size = sqlite3_column_int64(st, 0);
    const char *comp = (const char *)sqlite3_column_text(st, 1);
    const void *z = sqlite3_column_blob(st, 2);
    int zlen = sqlite3_column_bytes(st, 2);
    rc = 0;
    unsigned char *out = NULL;
    if (!comp || strcmp(comp, "zlib") != 0 || size < 0 || (uint64_t)size > NPSW_LEDGER_MAX_FILE) {
        rc = npsw_err_set(err, NPSW_ECHECKSUM, l->path, 0,
                          "blob %s: unknown compression or impossible size", sha256);
        goto done;
    }
    out = malloc(size ? (size_t)size : 1);
    if (!out) {
        rc = npsw_err_set(err, NPSW_ENOMEM, l->path, 0, "out of memory");
        goto done;
    }
    uLongf ulen = (uLongf)size;
    if (uncompress(out, &ulen, z ? z : (const void *)"", (uLong)zlen) != Z_OK ||
        ulen != (uLongf)size) {
        rc = npsw_err_set(err, NPSW_ECHECKSUM, l->path, 0,
                          "blob %s does not decompress to its recorded size", sha256);
        goto done;
    }
    char hex[65];
    npsw_sha256_hex(out, (size_t)size, hex);
    if (strcmp(hex, sha256) != 0) {
        rc = npsw_err_set(err, NPSW_ECHECKSUM, l->path, 0,
                          "blob %s decompresses to bytes with SHA-256 %s", sha256, hex);
        goto done;
    }
    *data = out;
    *len = (size_t)size;
    out = NULL;
done:
    free(out);
    sqlite3_finalize(st);
    return rc;
}

/* ---- spectra ----------------------------------------------------------------------------- */

const char *npsw_ledger_status_name(npsw_ledger_spectrum_status st)
{
    return st == NPSW_SPECTRUM_NO_PEAKS ? "no_peaks" : "analysed";
}

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static void put_le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get_le64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static uint32_t get_le32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

void npsw_ledger_peaks_encode(const npsw_spectrum *s, unsigned char *buf)
{
    for (uint32_t i = 0; i < s->n; i++) {
        uint64_t u;
        uint32_t f;
        memcpy(&u, &s->mz[i], 8);
        memcpy(&f, &s->intensity[i], 4);
        put_le64(buf + 8 * (size_t)i, u);
        put_le32(buf + 8 * (size_t)s->n + 4 * (size_t)i, f);
    }
}

int npsw_ledger_peaks_decode(const void *buf, size_t len, npsw_spectrum *s)
{
    if (len % 12) return NPSW_EPARSE;
    size_t n = len / 12;
    const unsigned char *p = buf;
    for (size_t i = 0; i < n; i++) {
        uint64_t u = get_le64(p + 8 * i);
        uint32_t f = get_le32(p + 8 * n + 4 * i);
        double mz;
        float in;
        memcpy(&mz, &u, 8);
        memcpy(&in, &f, 4);
        int rc = npsw_spectrum_push(s, mz, in);
        if (rc < 0) return rc;
    }
    return (int)n;
}

/* ---- submission digest ------------------------------------------------------------------ */

/* Hash every column of every row a statement returns, typed and length-prefixed. */
static int hash_rows(npsw_ledger *l, npsw_sha256 *h, sqlite3_stmt *st, const char *what,
                     npsw_err *err)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int nc = sqlite3_column_count(st);
        npsw_sha256_update(h, "\nrow", 4);
        for (int c = 0; c < nc; c++) {
            char num[40];
            switch (sqlite3_column_type(st, c)) {
            case SQLITE_NULL: npsw_sha256_update(h, "\nn", 2); break;
            case SQLITE_INTEGER:
                snprintf(num, sizeof num, "%lld", (long long)sqlite3_column_int64(st, c));
                npsw_sha256_update(h, "\ni", 2);
                hash_field(h, num, strlen(num));
                break;
            case SQLITE_FLOAT:
                snprintf(num, sizeof num, "%.17g", sqlite3_column_double(st, c));
                npsw_sha256_update(h, "\nr", 2);
                hash_field(h, num, strlen(num));
                break;
            case SQLITE_TEXT: {
                const char *t = (const char *)sqlite3_column_text(st, c);
                npsw_sha256_update(h, "\nt", 2);
                hash_field(h, t, (size_t)sqlite3_column_bytes(st, c));
                break;
            }
            default: {
                const void *b = sqlite3_column_blob(st, c);
                npsw_sha256_update(h, "\nb", 2);
                hash_field(h, b ? b : "", (size_t)sqlite3_column_bytes(st, c));
            }
            }
        }
    }
    if (rc != SQLITE_DONE) return sql_fail(l, err, what);
    return 0;
}

/* The digest a "submit" audit entry commits to: the submission row, its spectra and its
 * results with ids up to `results_upto`, columns as listed (version "npsw-submission-1": new
 * columns of later schema versions do not enter it). */
static int submission_digest(npsw_ledger *l, int64_t sub, int64_t results_upto, char hex[65],
                             npsw_err *err)
{
    static const char *const sqls[] = {
        "SELECT id, lab_id, received_utc, file_name, sha256, size, format, n_spectra, n_skipped, "
        "report_json FROM submissions WHERE id = ?1",
        "SELECT id, position, src_line, name, precursor_mz, n_peaks, peaks, status FROM spectra "
        "WHERE submission_id = ?1 ORDER BY id",
        "SELECT r.id, r.spectrum_id, r.created_utc, r.npswatch_version, r.library_sha256, "
        "r.run_json, r.verdict, r.confidence, r.p_in_library, r.p_analogue, r.best_index, "
        "r.best_name, r.best_inchikey, r.best_score, r.best_mf, r.best_rmf, r.analogue_index, "
        "r.analogue_name, r.analogue_delta, r.analogue_score, r.substituents, r.predicted_class, "
        "r.class_confidence, r.diagnostic_ions, r.analysis_json FROM results r JOIN spectra s ON "
        "r.spectrum_id = s.id WHERE s.submission_id = ?1 AND r.id <= ?2 ORDER BY r.id"};
    npsw_sha256 *h = npsw_sha256_new();
    if (!h) return npsw_err_set(err, NPSW_ENOMEM, l->path, 0, "out of memory");
    npsw_sha256_update(h, "npsw-submission-1", 17);
    for (size_t i = 0; i < sizeof sqls / sizeof sqls[0]; i++) {
        sqlite3_stmt *st = prep(l, sqls[i], "computing a submission digest", err);
        if (!st) {
            npsw_sha256_final(h, hex);
            return err ? err->code : NPSW_EIO;
        }
        sqlite3_bind_int64(st, 1, sub);
        if (i == 2) sqlite3_bind_int64(st, 2, results_upto);
        int rc = hash_rows(l, h, st, "computing a submission digest", err);
        sqlite3_finalize(st);
        if (rc < 0) {
            npsw_sha256_final(h, hex);
            return rc;
        }
    }
    npsw_sha256_final(h, hex);
    return 0;
}

/* ---- submit ------------------------------------------------------------------------------ */

static int insert_result(npsw_ledger *l, sqlite3_stmt *st, int64_t spectrum_id, const char *utc,
                         const char *lib_sha, const npsw_ledger_result *r, npsw_err *err)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    int i = 1;
    sqlite3_bind_int64(st, i++, spectrum_id);
    bind_text(st, i++, utc);
    bind_text(st, i++, NPSW_VERSION);
    bind_text(st, i++, lib_sha);
    bind_text(st, i++, r->run_json);
    bind_text(st, i++, r->verdict);
    sqlite3_bind_double(st, i++, r->confidence);
    sqlite3_bind_double(st, i++, r->p_in_library);
    sqlite3_bind_double(st, i++, r->p_analogue);
    if (r->best_index > 0) {
        sqlite3_bind_int64(st, i++, r->best_index);
        bind_text(st, i++, r->best_name);
        bind_text(st, i++, r->best_inchikey);
        sqlite3_bind_double(st, i++, r->best_score);
        sqlite3_bind_int(st, i++, r->best_mf);
        sqlite3_bind_int(st, i++, r->best_rmf);
    } else {
        i += 6; /* NULLs */
    }
    if (r->analogue_index > 0) {
        sqlite3_bind_int64(st, i++, r->analogue_index);
        bind_text(st, i++, r->analogue_name);
        sqlite3_bind_double(st, i++, r->analogue_delta);
        sqlite3_bind_double(st, i++, r->analogue_score);
    } else {
        i += 4;
    }
    bind_text(st, i++, r->substituents);
    bind_text(st, i++, r->predicted_class);
    sqlite3_bind_double(st, i++, r->class_confidence);
    bind_text(st, i++, r->diagnostic_ions);
    bind_text(st, i++, r->analysis_json);
    return step_done(l, st, "storing a result", err);
}

int npsw_ledger_submit(npsw_ledger *l, const npsw_ledger_submission *sub, int64_t *id,
                       npsw_err *err)
{
    if (!sub || !sub->file_name || !sub->format || !sub->report_json || !sub->library_sha256 ||
        (!sub->bytes && sub->len) || (!sub->spectra && sub->n_spectra))
        return npsw_err_set(err, NPSW_EINVAL, l->path, 0, "incomplete submission");
    sqlite3_stmt *ins_sp = NULL, *ins_res = NULL, *st = NULL;
    unsigned char *peaks = NULL;
    char *details = NULL;
    int rc;
    char sha[65], utc[32];
    utc_now(utc);
    /* alone: one transaction; inside the caller's: a savepoint, so that a failure undoes this
     * submission only */
    const int own = !l->in_tx;
    if ((rc = own ? npsw_ledger_begin(l, err)
                  : exec(l, "SAVEPOINT npsw_submit", "starting a savepoint", err)) < 0)
        return rc;
    if ((rc = npsw_ledger_blob_put(l, sub->bytes ? sub->bytes : "", sub->len, sha, err)) < 0)
        goto fail;
    /* the library version used, once per content */
    st = prep(l,
              "INSERT INTO library_versions (name, version, content_sha256, file_path, "
              "created_utc) VALUES (?, ?, ?, ?, ?) ON CONFLICT (content_sha256) DO NOTHING",
              "recording the library version", err);
    if (!st) goto fail_code;
    bind_text(st, 1, sub->library_name ? sub->library_name : "");
    bind_text(st, 2, sub->library_version ? sub->library_version : "");
    bind_text(st, 3, sub->library_sha256);
    bind_text(st, 4, sub->library_path);
    bind_text(st, 5, utc);
    if ((rc = step_done(l, st, "recording the library version", err)) < 0) goto fail;
    sqlite3_finalize(st);
    st = prep(l,
              "INSERT INTO submissions (lab_id, received_utc, file_name, sha256, size, format, "
              "n_spectra, n_skipped, report_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
              "storing the submission", err);
    if (!st) goto fail_code;
    sqlite3_bind_int64(st, 1, sub->lab_id);
    bind_text(st, 2, utc);
    bind_text(st, 3, sub->file_name);
    bind_text(st, 4, sha);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)sub->len);
    bind_text(st, 6, sub->format);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)sub->n_spectra);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)sub->n_skipped);
    bind_text(st, 9, sub->report_json);
    if ((rc = step_done(l, st, "storing the submission", err)) < 0) goto fail;
    sqlite3_finalize(st);
    st = NULL;
    int64_t sid = sqlite3_last_insert_rowid(l->db);
    ins_sp = prep(l,
                  "INSERT INTO spectra (submission_id, position, src_line, name, precursor_mz, "
                  "n_peaks, peaks, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  "storing a spectrum", err);
    ins_res = prep(l,
                   "INSERT INTO results (spectrum_id, created_utc, npswatch_version, "
                   "library_sha256, run_json, verdict, confidence, p_in_library, p_analogue, "
                   "best_index, best_name, best_inchikey, best_score, best_mf, best_rmf, "
                   "analogue_index, analogue_name, analogue_delta, analogue_score, substituents, "
                   "predicted_class, class_confidence, diagnostic_ions, analysis_json) VALUES "
                   "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   "storing a result", err);
    if (!ins_sp || !ins_res) goto fail_code;
    size_t n_results = 0;
    int64_t results_upto = 0;
    for (size_t i = 0; i < sub->n_spectra; i++) {
        const npsw_ledger_spectrum *sp = &sub->spectra[i];
        const npsw_spectrum *s = sp->s;
        if (!s) {
            rc = npsw_err_set(err, NPSW_EINVAL, l->path, 0, "spectrum %zu missing", i + 1);
            goto fail;
        }
        free(peaks);
        peaks = malloc(12 * (size_t)s->n + 1);
        if (!peaks) {
            rc = npsw_err_set(err, NPSW_ENOMEM, l->path, 0, "out of memory");
            goto fail;
        }
        npsw_ledger_peaks_encode(s, peaks);
        sqlite3_reset(ins_sp);
        sqlite3_clear_bindings(ins_sp);
        sqlite3_bind_int64(ins_sp, 1, sid);
        sqlite3_bind_int64(ins_sp, 2, sp->position);
        if (s->src_line) sqlite3_bind_int64(ins_sp, 3, (sqlite3_int64)s->src_line);
        bind_text(ins_sp, 4, npsw_spectrum_meta(s, NPSW_META_NAME));
        if (s->precursor_mz > 0) sqlite3_bind_double(ins_sp, 5, s->precursor_mz);
        sqlite3_bind_int64(ins_sp, 6, s->n);
        sqlite3_bind_blob64(ins_sp, 7, peaks, 12 * (sqlite3_uint64)s->n, SQLITE_STATIC);
        /* an out-of-range status reaches the CHECK constraint: that is the library's guard */
        bind_text(ins_sp, 8,
                  (unsigned)sp->status <= NPSW_SPECTRUM_NO_PEAKS ? npsw_ledger_status_name(sp->status)
                                                                  : "invalid");
        if ((rc = step_done(l, ins_sp, "storing a spectrum", err)) < 0) goto fail;
        int64_t spid = sqlite3_last_insert_rowid(l->db);
        if (sp->result) {
            rc = insert_result(l, ins_res, spid, utc, sub->library_sha256, sp->result, err);
            if (rc < 0) goto fail;
            results_upto = sqlite3_last_insert_rowid(l->db);
            n_results++;
        }
    }
    sqlite3_finalize(ins_sp);
    sqlite3_finalize(ins_res);
    ins_sp = ins_res = NULL;
    char digest[65];
    if ((rc = submission_digest(l, sid, results_upto, digest, err)) < 0) goto fail;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "lab_id", (double)sub->lab_id);
    cJSON_AddStringToObject(d, "file_name", sub->file_name);
    cJSON_AddStringToObject(d, "sha256", sha);
    cJSON_AddNumberToObject(d, "size", (double)sub->len);
    cJSON_AddNumberToObject(d, "spectra", (double)sub->n_spectra);
    cJSON_AddNumberToObject(d, "results", (double)n_results);
    cJSON_AddNumberToObject(d, "results_upto", (double)results_upto);
    cJSON_AddBoolToObject(d, "token_verified", sub->token_verified != 0);
    cJSON_AddStringToObject(d, "library_sha256", sub->library_sha256);
    cJSON_AddStringToObject(d, "digest", digest);
    details = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    if (!details) {
        rc = npsw_err_set(err, NPSW_ENOMEM, l->path, 0, "out of memory");
        goto fail;
    }
    char obj[48], actor[48];
    snprintf(obj, sizeof obj, "submission:%" PRId64, sid);
    snprintf(actor, sizeof actor, "lab:%" PRId64, sub->lab_id);
    rc = npsw_ledger_audit_append(l, sub->actor ? sub->actor : actor, "submit", obj, details,
                                  NULL, err);
    if (rc < 0) goto fail;
    if (own) {
        if ((rc = npsw_ledger_commit(l, err)) < 0) goto out;
    } else if ((rc = exec(l, "RELEASE npsw_submit", "releasing a savepoint", err)) < 0) {
        goto fail;
    }
    if (id) *id = sid;
    goto out;
fail_code:
    rc = err && err->code < 0 ? err->code : NPSW_EIO;
fail:
    if (own) {
        npsw_ledger_rollback(l);
    } else {
        int x = l->last_sqlite;
        sqlite3_exec(l->db, "ROLLBACK TO npsw_submit", NULL, NULL, NULL);
        sqlite3_exec(l->db, "RELEASE npsw_submit", NULL, NULL, NULL);
        l->last_sqlite = x;
    }
out:
    sqlite3_finalize(st);
    sqlite3_finalize(ins_sp);
    sqlite3_finalize(ins_res);
    free(peaks);
    cJSON_free(details);
    return rc;
}

/* ---- verification ---------------------------------------------------------------------- */

typedef struct sub_claim {
    int64_t sub, seq, results_upto;
    char digest[65];
} sub_claim;

typedef struct claims {
    sub_claim *v;
    size_t n, cap;
    int64_t *labs;
    size_t nl, capl;
} claims;

static int push_claim(claims *c, const sub_claim *x)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        sub_claim *v = realloc(c->v, cap * sizeof *v);
        if (!v) return -1;
        c->v = v;
        c->cap = cap;
    }
    c->v[c->n++] = *x;
    return 0;
}

static int push_lab(claims *c, int64_t id)
{
    if (c->nl == c->capl) {
        size_t cap = c->capl ? 2 * c->capl : 16;
        int64_t *v = realloc(c->labs, cap * sizeof *v);
        if (!v) return -1;
        c->labs = v;
        c->capl = cap;
    }
    c->labs[c->nl++] = id;
    return 0;
}

static int cmp_claim(const void *a, const void *b)
{
    const sub_claim *x = a, *y = b;
    return x->sub < y->sub ? -1 : x->sub > y->sub;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int broken(npsw_audit_report *rep, int64_t seq, const char *fmt, ...) NPSW_PRINTF(3, 4);
static int broken(npsw_audit_report *rep, int64_t seq, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->problem, sizeof rep->problem, fmt, ap);
    va_end(ap);
    rep->bad_seq = seq;
    return NPSW_ECHECKSUM;
}

static int64_t id_after(const char *object, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(object, prefix, n) != 0 || !all_digits(object + n)) return -1;
    return strtoll(object + n, NULL, 10);
}

int npsw_ledger_audit_verify(npsw_ledger *l, const char *expect_head, npsw_audit_report *rep,
                             npsw_err *err)
{
    npsw_audit_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    claims c = {0};
    int rc = 0, head_found = expect_head == NULL;
    /* one read transaction: a consistent snapshot even while others write */
    if ((rc = exec(l, "BEGIN", "starting a read transaction", err)) < 0) return rc;
    sqlite3_stmt *st = prep(l,
                            "SELECT seq, utc, actor, action, object, details, prev_hash, hash "
                            "FROM audit_log ORDER BY seq",
                            "reading the audit log", err);
    if (!st) {
        rc = err ? err->code : NPSW_EIO;
        goto done;
    }
    char prev[65];
    memcpy(prev, zero_hash, sizeof prev);
    int64_t expect = 1;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 0);
        const char *f[7];
        for (int i = 0; i < 7; i++) {
            f[i] = (const char *)sqlite3_column_text(st, i + 1);
            if (!f[i]) f[i] = "";
        }
        if (seq != expect) {
            rc = broken(rep, expect,
                        seq > expect ? "audit entry %" PRId64 " is missing (the log jumps from %"
                                       PRId64 " to %" PRId64 ")"
                                     : "audit entry %" PRId64 " is out of sequence (%" PRId64
                                       " then %" PRId64 ")",
                        expect, expect - 1, seq);
            break;
        }
        if (strcmp(f[5], prev) != 0) {
            rc = broken(rep, seq,
                        "audit entry %" PRId64 " does not follow entry %" PRId64
                        ": its prev_hash is not that entry's hash (an entry was rewritten, "
                        "removed or inserted)",
                        seq, seq - 1);
            break;
        }
        char h[65];
        audit_hash(prev, seq, f[0], f[1], f[2], f[3], f[4], h);
        if (strcmp(h, f[6]) != 0) {
            rc = broken(rep, seq,
                        "audit entry %" PRId64 " was modified: its hash does not match its "
                        "content (%s %s %s)",
                        seq, f[0], f[2], f[3]);
            break;
        }
        if (expect_head && !strcmp(expect_head, h)) head_found = 1;
        memcpy(prev, h, sizeof prev);
        rep->n_entries++;
        rep->head_seq = seq;
        expect++;
        int64_t oid;
        if (!strcmp(f[2], "lab.add") && (oid = id_after(f[3], "lab:")) >= 0) {
            if (push_lab(&c, oid) < 0) goto nomem;
        } else if (!strcmp(f[2], "submit") && (oid = id_after(f[3], "submission:")) >= 0) {
            sub_claim x = {oid, seq, 0, ""};
            cJSON *d = cJSON_Parse(f[4]);
            const cJSON *dg = cJSON_GetObjectItemCaseSensitive(d, "digest");
            const cJSON *up = cJSON_GetObjectItemCaseSensitive(d, "results_upto");
            if (cJSON_IsString(dg)) snprintf(x.digest, sizeof x.digest, "%s", dg->valuestring);
            if (cJSON_IsNumber(up)) x.results_upto = (int64_t)up->valuedouble;
            cJSON_Delete(d);
            if (push_claim(&c, &x) < 0) goto nomem;
        }
    }
    if (rc == 0 && s != SQLITE_DONE) rc = sql_fail(l, err, "reading the audit log");
    sqlite3_finalize(st);
    st = NULL;
    memcpy(rep->head_hash, prev, sizeof prev);
    if (rc < 0) goto done;
    if (!head_found) {
        rc = broken(rep, 0,
                    "the recorded head %s is not in the audit log: entries after it were "
                    "removed or the log was replaced",
                    expect_head);
        goto done;
    }
    /* every laboratory has its lab.add entry */
    if (c.nl) qsort(c.labs, c.nl, sizeof *c.labs, cmp_i64);
    st = prep(l, "SELECT id FROM labs ORDER BY id", "reading laboratories", err);
    if (!st) goto fail_code;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (!c.nl || !bsearch(&id, c.labs, c.nl, sizeof *c.labs, cmp_i64)) {
            rc = broken(rep, 0, "laboratory %" PRId64 " has no lab.add audit entry", id);
            goto done;
        }
    }
    if (s != SQLITE_DONE) {
        rc = sql_fail(l, err, "reading laboratories");
        goto done;
    }
    sqlite3_finalize(st);
    /* every submission has its entry, and still matches the digest the entry committed to */
    if (c.n) qsort(c.v, c.n, sizeof *c.v, cmp_claim);
    st = prep(l, "SELECT id FROM submissions ORDER BY id", "reading submissions", err);
    if (!st) goto fail_code;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        sub_claim key = {.sub = sqlite3_column_int64(st, 0)};
        const sub_claim *x = c.n ? bsearch(&key, c.v, c.n, sizeof *c.v, cmp_claim) : NULL;
        if (!x) {
            rc = broken(rep, 0, "submission %" PRId64 " has no submit audit entry", key.sub);
            goto done;
        }
        char dg[65];
        if ((rc = submission_digest(l, key.sub, x->results_upto, dg, err)) < 0) goto done;
        if (strcmp(dg, x->digest) != 0) {
            rc = broken(rep, x->seq,
                        "submission %" PRId64 " (its file, spectra or results) no longer "
                        "matches the digest its audit entry %" PRId64 " committed to",
                        key.sub, x->seq);
            goto done;
        }
        rep->n_submissions++;
    }
    if (s != SQLITE_DONE) {
        rc = sql_fail(l, err, "reading submissions");
        goto done;
    }
    for (size_t i = 0; i < c.n; i++) {
        int64_t n;
        char q[96];
        snprintf(q, sizeof q, "SELECT count(*) FROM submissions WHERE id = %" PRId64, c.v[i].sub);
        if ((rc = query_int(l, q, 0, &n, err)) < 0) goto done;
        if (!n) {
            rc = broken(rep, c.v[i].seq,
                        "submission %" PRId64 " recorded by audit entry %" PRId64 " is missing",
                        c.v[i].sub, c.v[i].seq);
            goto done;
        }
    }
    sqlite3_finalize(st);
    /* every blob decompresses to its SHA-256 */
    st = prep(l, "SELECT sha256 FROM blobs ORDER BY sha256", "reading blobs", err);
    if (!st) goto fail_code;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        char key[65];
        snprintf(key, sizeof key, "%s", (const char *)sqlite3_column_text(st, 0));
        void *data;
        size_t len;
        npsw_err e;
        int r = npsw_ledger_blob_get(l, key, &data, &len, &e);
        if (r == NPSW_ECHECKSUM || r == NPSW_EINVAL) {
            rc = broken(rep, 0, "%s", e.msg);
            goto done;
        }
        if (r < 0) {
            if (err) *err = e;
            rc = r;
            goto done;
        }
        free(data);
        rep->n_blobs++;
    }
    if (s != SQLITE_DONE) rc = sql_fail(l, err, "reading blobs");
    goto done;
nomem:
    rc = npsw_err_set(err, NPSW_ENOMEM, l->path, 0, "out of memory");
    goto done;
fail_code:
    rc = err && err->code < 0 ? err->code : NPSW_EIO;
done:
    sqlite3_finalize(st);
    sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    free(c.v);
    free(c.labs);
    if (rc == NPSW_ECHECKSUM)
        npsw_err_set(err, NPSW_ECHECKSUM, l->path, 0, "audit verification failed: %s",
                     rep->problem);
    return rc;
}

/* ---- description ----------------------------------------------------------------------- */

int npsw_ledger_get_info(npsw_ledger *l, npsw_ledger_info *info, npsw_err *err)
{
    memset(info, 0, sizeof *info);
    info->schema_version = l->schema;
    int rc = 0;
    sqlite3_stmt *st = prep(l, "PRAGMA journal_mode", "reading the journal mode", err);
    if (!st) return err ? err->code : NPSW_EIO;
    if (sqlite3_step(st) == SQLITE_ROW)
        snprintf(info->journal_mode, sizeof info->journal_mode, "%s",
                 (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if ((rc = exec(l, "BEGIN", "starting a read transaction", err)) < 0) return rc;
    st = prep(l,
              "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
              "ORDER BY name",
              "listing tables", err);
    if (!st) goto fail_code;
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW && info->n_tables < NPSW_LEDGER_MAX_TABLES) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        snprintf(info->tables[info->n_tables].name, sizeof info->tables[0].name, "%s", name);
        info->n_tables++;
    }
    sqlite3_finalize(st);
    st = NULL;
    for (size_t i = 0; i < info->n_tables; i++) {
        char *q = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", info->tables[i].name);
        if (!q) goto nomem;
        rc = query_int(l, q, 0, &info->tables[i].rows, err);
        sqlite3_free(q);
        if (rc < 0) goto done;
    }
    if ((rc = query_int(l, "SELECT count(*) FROM labs WHERE token_sha256 IS NULL", 0,
                        &info->n_labs_without_token, err)) < 0 ||
        (rc = query_int(l, "SELECT coalesce(sum(size), 0) FROM blobs", 0, &info->blob_bytes,
                        err)) < 0 ||
        (rc = query_int(l, "SELECT coalesce(sum(length(data)), 0) FROM blobs", 0,
                        &info->blob_stored_bytes, err)) < 0)
        goto done;
    st = prep(l, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1",
              "reading the audit log", err);
    if (!st) goto fail_code;
    if (sqlite3_step(st) == SQLITE_ROW) {
        info->audit_head_seq = sqlite3_column_int64(st, 0);
        snprintf(info->audit_head_hash, sizeof info->audit_head_hash, "%s",
                 (const char *)sqlite3_column_text(st, 1));
    }
    goto done;
nomem:
    rc = npsw_err_set(err, NPSW_ENOMEM, l->path, 0, "out of memory");
    goto done;
fail_code:
    rc = err && err->code < 0 ? err->code : NPSW_EIO;
done:
    sqlite3_finalize(st);
    sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

const char *npsw_sqlite_version(void)
{
    static char buf[48];
    snprintf(buf, sizeof buf, "SQLite %s", sqlite3_libversion());
    return buf;
}
