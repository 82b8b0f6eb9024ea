/* ledger_curate.c - the curator loop: accept or reject a draft advisory (npsw/ledger_curate.h).
 * Accepting adds the advisory's signal consensus spectrum to a new library version and records
 * the review, the library version, the closed signal and the audit entry in one transaction. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "npsw/ledger_curate.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "npsw/classes.h"
#include "npsw/libfile.h"

/* ---- helpers -------------------------------------------------------------------------- */

/* The ledger records when things happened: the real clock (not SOURCE_DATE_EPOCH). */
static void utc_now(char buf[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *ledger_path(npsw_ledger *l)
{
    const char *p = sqlite3_db_filename(npsw_ledger_db(l), "main");
    return p && *p ? p : "ledger";
}

/* An SQLite failure: constraint violations are bad input, the rest storage errors. */
static int sql_fail(npsw_ledger *l, npsw_curate_result *res, npsw_err *err, const char *what)
{
    sqlite3 *db = npsw_ledger_db(l);
    int x = sqlite3_extended_errcode(db), prim = x & 0xff;
    if (prim != SQLITE_CONSTRAINT) res->sqlite_code = x;
    int code = prim == SQLITE_CONSTRAINT ? NPSW_EINVAL : prim == SQLITE_NOMEM ? NPSW_ENOMEM : NPSW_EIO;
    return npsw_err_set(err, code, ledger_path(l), 0, "SQLite: %s (while %s)", sqlite3_errmsg(db),
                        what);
}

static sqlite3_stmt *prep(npsw_ledger *l, npsw_curate_result *res, const char *sql,
                          const char *what, npsw_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(npsw_ledger_db(l), sql, -1, &st, NULL) != SQLITE_OK) {
        sql_fail(l, res, err, what);
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_null(st, i);
}

static void copy_col(sqlite3_stmt *st, int c, char *out, size_t size)
{
    const char *s = (const char *)sqlite3_column_text(st, c);
    snprintf(out, size, "%s", s ? s : "");
}

static int all_digits(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

void npsw_curate_accession(const char *key, char *buf, size_t size)
{
    if (!strncmp(key, "NPSW-", 5)) snprintf(buf, size, "%s", key);
    else snprintf(buf, size, "NPSW-%s", key);
}

/* The advisory by id, or by key (its newest version). */
static int find_advisory(npsw_ledger *l, const char *which, npsw_curate_result *res,
                         npsw_err *err)
{
    int by_id = all_digits(which);
    sqlite3_stmt *st = prep(l, res,
                            by_id ? "SELECT id, advisory_key, version, signal_id, state FROM "
                                    "advisories WHERE id = ?"
                                  : "SELECT id, advisory_key, version, signal_id, state FROM "
                                    "advisories WHERE advisory_key = ? ORDER BY version DESC "
                                    "LIMIT 1",
                            "looking up the advisory", err);
    if (!st) return err ? err->code : NPSW_EIO;
    if (by_id) sqlite3_bind_int64(st, 1, strtoll(which, NULL, 10));
    else bind_text(st, 1, which);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        res->advisory_id = sqlite3_column_int64(st, 0);
        copy_col(st, 1, res->advisory_key, sizeof res->advisory_key);
        res->advisory_version = sqlite3_column_int64(st, 2);
        res->signal_id = sqlite3_column_int64(st, 3);
        copy_col(st, 4, res->state, sizeof res->state);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = npsw_err_set(err, NPSW_EINVAL, ledger_path(l), 0, "no advisory with %s '%s' in the ledger",
                          by_id ? "id" : "key", which);
    } else {
        rc = sql_fail(l, res, err, "looking up the advisory");
    }
    sqlite3_finalize(st);
    if (rc == 0 && strcmp(res->state, "draft") != 0)
        rc = npsw_err_set(err, NPSW_EINVAL, ledger_path(l), 0,
                          "advisory %s (id %" PRId64 ", version %" PRId64 ") is %s: only a draft "
                          "advisory can be accepted or rejected",
                          res->advisory_key, res->advisory_id, res->advisory_version, res->state);
    return rc;
}

/* Mark the advisory reviewed, inside the caller's transaction; it must still be a draft. */
static int review(npsw_ledger *l, const npsw_curate_opts *o, const char *state, const char *utc,
                  npsw_curate_result *res, npsw_err *err)
{
    sqlite3_stmt *st = prep(l, res,
                            "UPDATE advisories SET state = ?, reviewer = ?, note = ?, "
                            "reviewed_utc = ? WHERE id = ? AND state = 'draft'",
                            "recording the review", err);
    if (!st) return err ? err->code : NPSW_EIO;
    bind_text(st, 1, state);
    bind_text(st, 2, o->actor);
    bind_text(st, 3, o->note);
    bind_text(st, 4, utc);
    sqlite3_bind_int64(st, 5, res->advisory_id);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return sql_fail(l, res, err, "recording the review");
    if (sqlite3_changes(npsw_ledger_db(l)) != 1)
        return npsw_err_set(err, NPSW_EINVAL, ledger_path(l), 0,
                            "advisory %s (id %" PRId64 ") was reviewed by someone else meanwhile",
                            res->advisory_key, res->advisory_id);
    return 0;
}

static int check_opts(const npsw_curate_opts *o, npsw_curate_result *res, npsw_err *err)
{
    memset(res, 0, sizeof *res);
    if (!o || !o->advisory || !o->advisory[0])
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "which advisory? (its id or key)");
    if (!o->actor || !o->actor[0])
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "a review needs a reviewer (actor)");
    return 0;
}

/* ---- reject ------------------------------------------------------------------------------ */

int npsw_curate_reject(npsw_ledger *l, const npsw_curate_opts *o, npsw_curate_result *res,
                       npsw_err *err)
{
    int rc = check_opts(o, res, err);
    if (rc < 0) return rc;
    if ((rc = find_advisory(l, o->advisory, res, err)) < 0) return rc;
    char utc[32], obj[48];
    utc_now(utc);
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "advisory_id", (double)res->advisory_id);
    cJSON_AddStringToObject(d, "advisory_key", res->advisory_key);
    cJSON_AddNumberToObject(d, "advisory_version", (double)res->advisory_version);
    if (res->signal_id) cJSON_AddNumberToObject(d, "signal_id", (double)res->signal_id);
    else cJSON_AddNullToObject(d, "signal_id");
    cJSON_AddStringToObject(d, "reviewer", o->actor);
    if (o->note) cJSON_AddStringToObject(d, "note", o->note);
    else cJSON_AddNullToObject(d, "note");
    char *details = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    if (!details) return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory");
    snprintf(obj, sizeof obj, "advisory:%" PRId64, res->advisory_id);
    if ((rc = npsw_ledger_begin(l, err)) < 0) goto out;
    if ((rc = review(l, o, "rejected", utc, res, err)) < 0 ||
        (rc = npsw_ledger_audit_append(l, o->actor, "advisory.reject", obj, details,
                                       &res->audit_seq, err)) < 0)
        goto fail;
    if ((rc = npsw_ledger_commit(l, err)) < 0) goto out;
    snprintf(res->state, sizeof res->state, "rejected");
    goto out;
fail:
    npsw_ledger_rollback(l);
out:
    /* begin, commit and the audit entry report SQLite's code through the ledger handle */
    if (rc == NPSW_EIO && !res->sqlite_code) res->sqlite_code = npsw_ledger_sqlite_error(l);
    cJSON_free(details);
    return rc;
}

/* ---- accept ------------------------------------------------------------------------------ */

typedef struct signal_row {
    int64_t n_labs, n_submissions;
    char predicted_class[64];
    char status[16];
    npsw_spectrum consensus;
} signal_row;

static int load_signal(npsw_ledger *l, npsw_curate_result *res, signal_row *sg, npsw_err *err)
{
    if (!res->signal_id)
        return npsw_err_set(err, NPSW_EINVAL, ledger_path(l), 0,
                            "advisory %s has no signal: nothing to add to a library",
                            res->advisory_key);
    sqlite3_stmt *st = prep(l, res,
                            "SELECT n_labs, n_submissions, predicted_class, status, "
                            "consensus_peaks FROM signals WHERE id = ?",
                            "reading the signal", err);
    if (!st) return err ? err->code : NPSW_EIO;
    sqlite3_bind_int64(st, 1, res->signal_id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        rc = npsw_err_set(err, NPSW_EINVAL, ledger_path(l), 0,
                          "advisory %s names signal %" PRId64 ", which is not in the ledger",
                          res->advisory_key, res->signal_id);
    } else if (rc != SQLITE_ROW) {
        rc = sql_fail(l, res, err, "reading the signal");
    } else {
        sg->n_labs = sqlite3_column_int64(st, 0);
        sg->n_submissions = sqlite3_column_int64(st, 1);
        copy_col(st, 2, sg->predicted_class, sizeof sg->predicted_class);
        copy_col(st, 3, sg->status, sizeof sg->status);
        const void *b = sqlite3_column_blob(st, 4);
        size_t len = (size_t)sqlite3_column_bytes(st, 4);
        rc = 0;
        if (!b || !len)
            rc = npsw_err_set(err, NPSW_EEMPTY, ledger_path(l), 0,
                              "signal %" PRId64 " of advisory %s has no consensus spectrum",
                              res->signal_id, res->advisory_key);
        else if ((rc = npsw_ledger_peaks_decode(b, len, &sg->consensus)) < 0)
            rc = npsw_err_set(err, rc == NPSW_ENOMEM ? NPSW_ENOMEM : NPSW_EFORMAT, ledger_path(l), 0,
                              "signal %" PRId64 ": the consensus spectrum is not a peaks blob "
                              "(%zu bytes; 12 per peak expected)",
                              res->signal_id, len);
        else rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

/* The parent library: -l, or the file of the newest library_versions row that has one. */
static int find_parent(npsw_ledger *l, const npsw_curate_opts *o, npsw_curate_result *res,
                       char *row_sha, npsw_err *err)
{
    row_sha[0] = '\0';
    if (o->parent_path) {
        snprintf(res->parent_path, sizeof res->parent_path, "%s", o->parent_path);
        return 0;
    }
    sqlite3_stmt *st = prep(l, res,
                            "SELECT file_path, content_sha256 FROM library_versions WHERE "
                            "file_path IS NOT NULL AND file_path != '' ORDER BY created_utc "
                            "DESC, id DESC LIMIT 1",
                            "finding the newest library version", err);
    if (!st) return err ? err->code : NPSW_EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        copy_col(st, 0, res->parent_path, sizeof res->parent_path);
        copy_col(st, 1, row_sha, 65);
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = npsw_err_set(err, NPSW_EINVAL, ledger_path(l), 0,
                          "the ledger records no library file to add to; give the parent "
                          "library with -l LIB.h5");
    } else {
        rc = sql_fail(l, res, err, "finding the newest library version");
    }
    sqlite3_finalize(st);
    return rc;
}

/* The new library entry: the consensus peaks, named, classed and described. */
static int make_entry(const npsw_curate_opts *o, const npsw_curate_result *res,
                      const signal_row *sg, npsw_spectrum *s, char *cls, size_t cls_size)
{
    int rc = npsw_spectrum_copy(s, &sg->consensus);
    if (rc < 0) return rc;
    if (o->class_name && o->class_name[0]) snprintf(cls, cls_size, "%s", o->class_name);
    else if (sg->predicted_class[0]) snprintf(cls, cls_size, "%s", sg->predicted_class);
    else snprintf(cls, cls_size, "%s", npsw_classify(o->name, NULL, NULL));
    char comments[1024], source[160];
    snprintf(comments, sizeof comments,
             "From accepted npswatch advisory %s (version %" PRId64 "): consensus spectrum of "
             "%" PRId64 " submission%s from %" PRId64 " laborator%s.\n"
             "Early-warning reference, not a certified reference standard: confirm with a "
             "certified reference material.",
             res->advisory_key, res->advisory_version, sg->n_submissions,
             sg->n_submissions == 1 ? "" : "s", sg->n_labs, sg->n_labs == 1 ? "y" : "ies");
    snprintf(source, sizeof source, "npswatch early warning (advisory %s)", res->advisory_key);
    if ((rc = npsw_spectrum_set_meta(s, NPSW_META_NAME, o->name, (size_t)-1)) < 0 ||
        (rc = npsw_spectrum_set_meta(s, NPSW_META_CLASS, cls, (size_t)-1)) < 0 ||
        (rc = npsw_spectrum_set_meta(s, NPSW_META_ACCESSION, res->accession, (size_t)-1)) < 0 ||
        (rc = npsw_spectrum_set_meta(s, NPSW_META_SOURCE, source, (size_t)-1)) < 0 ||
        (rc = npsw_spectrum_set_meta(s, NPSW_META_COMMENTS, comments, (size_t)-1)) < 0)
        return rc;
    return 0;
}

/* The ledger part of an accept, in one transaction. */
static int record_accept(npsw_ledger *l, const npsw_curate_opts *o, const npsw_lib *parent,
                         npsw_curate_result *res, npsw_err *err)
{
    char utc[32], obj[48];
    utc_now(utc);
    char parent_abs[PATH_MAX];
    if (!realpath(res->parent_path, parent_abs))
        snprintf(parent_abs, sizeof parent_abs, "%s", res->parent_path);
    const npsw_lib_info *pi = npsw_lib_get_info(parent);
    sqlite3_stmt *st = NULL;
    char *details = NULL;
    int rc;
    if ((rc = npsw_ledger_begin(l, err)) < 0) goto storage;
    if ((rc = review(l, o, "accepted", utc, res, err)) < 0) goto fail;
    /* the parent, when the ledger has not seen it yet (e.g. given with -l) */
    st = prep(l, res,
              "INSERT INTO library_versions (name, version, content_sha256, file_path, "
              "created_utc) VALUES (?, ?, ?, ?, ?) ON CONFLICT (content_sha256) DO NOTHING",
              "recording the parent library", err);
    if (!st) goto fail_code;
    bind_text(st, 1, pi->name);
    bind_text(st, 2, pi->version);
    bind_text(st, 3, pi->content_sha256);
    bind_text(st, 4, parent_abs);
    bind_text(st, 5, utc);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = sql_fail(l, res, err, "recording the parent library");
        goto fail;
    }
    sqlite3_finalize(st);
    st = prep(l, res,
              "INSERT INTO library_versions (name, version, content_sha256, parent_sha256, "
              "advisory_id, file_path, created_utc) VALUES (?, ?, ?, ?, ?, ?, ?)",
              "recording the new library version", err);
    if (!st) goto fail_code;
    bind_text(st, 1, res->library_name);
    bind_text(st, 2, res->library_version);
    bind_text(st, 3, res->library_sha256);
    bind_text(st, 4, res->parent_sha256);
    sqlite3_bind_int64(st, 5, res->advisory_id);
    bind_text(st, 6, res->library_path);
    bind_text(st, 7, utc);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = sql_fail(l, res, err, "recording the new library version");
        goto fail;
    }
    res->library_version_id = sqlite3_last_insert_rowid(npsw_ledger_db(l));
    sqlite3_finalize(st);
    st = prep(l, res, "UPDATE signals SET status = 'closed', updated_utc = ? WHERE id = ?",
              "closing the signal", err);
    if (!st) goto fail_code;
    bind_text(st, 1, utc);
    sqlite3_bind_int64(st, 2, res->signal_id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = sql_fail(l, res, err, "closing the signal");
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    cJSON *d = cJSON_CreateObject();
    cJSON_AddNumberToObject(d, "advisory_id", (double)res->advisory_id);
    cJSON_AddStringToObject(d, "advisory_key", res->advisory_key);
    cJSON_AddNumberToObject(d, "advisory_version", (double)res->advisory_version);
    cJSON_AddNumberToObject(d, "signal_id", (double)res->signal_id);
    cJSON_AddStringToObject(d, "reviewer", o->actor);
    if (o->note) cJSON_AddStringToObject(d, "note", o->note);
    else cJSON_AddNullToObject(d, "note");
    cJSON_AddStringToObject(d, "entry_name", o->name);
    cJSON_AddStringToObject(d, "entry_class", res->entry_class);
    cJSON_AddStringToObject(d, "accession", res->accession);
    cJSON_AddNumberToObject(d, "entry_index", (double)(res->entry_index + 1));
    cJSON_AddStringToObject(d, "library_name", res->library_name);
    cJSON_AddStringToObject(d, "library_version", res->library_version);
    cJSON_AddStringToObject(d, "library_sha256", res->library_sha256);
    cJSON_AddStringToObject(d, "parent_sha256", res->parent_sha256);
    cJSON_AddStringToObject(d, "library_file", res->library_path);
    cJSON_AddNumberToObject(d, "library_version_id", (double)res->library_version_id);
    details = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    if (!details) {
        rc = npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory");
        goto fail;
    }
    snprintf(obj, sizeof obj, "advisory:%" PRId64, res->advisory_id);
    if ((rc = npsw_ledger_audit_append(l, o->actor, "advisory.accept", obj, details,
                                       &res->audit_seq, err)) < 0)
        goto fail;
    cJSON_free(details);
    details = NULL;
    if ((rc = npsw_ledger_commit(l, err)) < 0) goto storage;
    return 0;
fail_code:
    rc = err && err->code < 0 ? err->code : NPSW_EIO;
fail:
    sqlite3_finalize(st);
    cJSON_free(details);
    npsw_ledger_rollback(l);
storage:
    /* begin, commit and the audit entry report SQLite's code through the ledger handle */
    if (rc == NPSW_EIO && !res->sqlite_code) res->sqlite_code = npsw_ledger_sqlite_error(l);
    return rc;
}

int npsw_curate_accept(npsw_ledger *l, const npsw_curate_opts *o, npsw_curate_result *res,
                       npsw_err *err)
{
    int rc = check_opts(o, res, err);
    if (rc < 0) return rc;
    if (!o->name || !o->name[0])
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "accepting needs the name of the new library entry (--name)");
    if (!o->out_path || !o->out_path[0])
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "accepting needs the new library file to write (-o NEW.h5)");
    signal_row sg;
    memset(&sg, 0, sizeof sg);
    npsw_spectrum_init(&sg.consensus);
    npsw_spectrum entry;
    npsw_spectrum_init(&entry);
    npsw_lib *parent = NULL, *lib = NULL;
    char row_sha[65], vbuf[96], reason[512];
    int written = 0;
    if ((rc = find_advisory(l, o->advisory, res, err)) < 0) goto out;
    if ((rc = load_signal(l, res, &sg, err)) < 0) goto out;
    if ((rc = find_parent(l, o, res, row_sha, err)) < 0) goto out;
    struct stat sb;
    if (stat(o->out_path, &sb) == 0) {
        rc = npsw_err_set(err, NPSW_EINVAL, o->out_path, 0,
                          "exists already: a new library version is written to a new file "
                          "(library files named in the ledger are never replaced)");
        goto out;
    }
    if (!(parent = npsw_lib_open(res->parent_path, err))) {
        rc = err ? err->code : NPSW_EIO;
        goto out;
    }
    const npsw_lib_info *pi = npsw_lib_get_info(parent);
    if (row_sha[0] && strcmp(row_sha, pi->content_sha256) != 0) {
        rc = npsw_err_set(err, NPSW_ECHECKSUM, res->parent_path, 0,
                          "the ledger records library content %s at this path, but the file "
                          "now holds %s; give the parent library with -l",
                          row_sha, pi->content_sha256);
        goto out;
    }
    snprintf(res->parent_sha256, sizeof res->parent_sha256, "%s", pi->content_sha256);
    npsw_curate_accession(res->advisory_key, res->accession, sizeof res->accession);
    res->n_labs = sg.n_labs;
    res->n_submissions = sg.n_submissions;
    if ((rc = make_entry(o, res, &sg, &entry, res->entry_class, sizeof res->entry_class)) < 0) {
        rc = npsw_err_set(err, rc, NULL, 0, "out of memory making the library entry");
        goto out;
    }
    if (!o->lib_version)
        snprintf(vbuf, sizeof vbuf, "%s.adv%" PRId64, pi->version[0] ? pi->version : "1",
                 res->advisory_id);
    else snprintf(vbuf, sizeof vbuf, "%s", o->lib_version);
    snprintf(reason, sizeof reason,
             "accepted npswatch advisory %s (version %" PRId64 "): consensus of %" PRId64
             " submissions from %" PRId64 " laboratories",
             res->advisory_key, res->advisory_version, sg.n_submissions, sg.n_labs);
    npsw_lib_append_opts ao = {.version = vbuf, .advisory_key = res->advisory_key,
                               .advisory_id = res->advisory_id, .reason = reason};
    if (!(lib = npsw_lib_append(parent, &entry, 1, &ao, NULL, err))) {
        rc = err ? err->code : NPSW_EINVAL;
        goto out;
    }
    const npsw_lib_info *li = npsw_lib_get_info(lib);
    snprintf(res->library_name, sizeof res->library_name, "%s", li->name);
    snprintf(res->library_version, sizeof res->library_version, "%s", li->version);
    snprintf(res->library_sha256, sizeof res->library_sha256, "%s", li->content_sha256);
    res->n_spectra = npsw_lib_size(lib);
    res->entry_index = res->n_spectra - 1;
    /* the file first: if it cannot be written, the ledger is not touched */
    if ((rc = npsw_lib_write(lib, o->out_path, err)) < 0) goto out;
    written = 1;
    char abs[PATH_MAX];
    if (realpath(o->out_path, abs)) snprintf(res->library_path, sizeof res->library_path, "%s", abs);
    else snprintf(res->library_path, sizeof res->library_path, "%s", o->out_path);
    if ((rc = record_accept(l, o, parent, res, err)) < 0) goto out;
    snprintf(res->state, sizeof res->state, "accepted");
out:
    if (rc < 0 && written) unlink(o->out_path); /* the ledger does not know it: remove it */
    npsw_lib_free(lib);
    npsw_lib_free(parent);
    npsw_spectrum_free(&entry);
    npsw_spectrum_free(&sg.consensus);
    return rc;
}
