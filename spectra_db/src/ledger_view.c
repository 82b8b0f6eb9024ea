/* ledger_view.c - read-only JSON views of the ledger (npsw/ledger_view.h) for the HTTP service.
 * Laboratories' submissions are addressed by per-laboratory numbers (docs/ledger.md, "Privacy
 * rules": global submission ids tell a laboratory how much others submit). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "npsw/ledger_view.h"

static int fail(npsw_ledger *l, npsw_err *err, const char *what)
{
    sqlite3 *db = npsw_ledger_db(l);
    int prim = sqlite3_extended_errcode(db) & 0xff;
    return npsw_err_set(err, prim == SQLITE_NOMEM ? NPSW_ENOMEM : NPSW_EIO, "ledger", 0,
                        "SQLite: %s (while %s)", sqlite3_errmsg(db), what);
}

static int nomem(npsw_err *err) { return npsw_err_set(err, NPSW_ENOMEM, NULL, 0, "out of memory"); }

static sqlite3_stmt *prep(npsw_ledger *l, const char *sql, const char *what, npsw_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(npsw_ledger_db(l), sql, -1, &st, NULL) != SQLITE_OK) {
        fail(l, err, what);
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

/* Column i of the row into o under `key`: text, integer, real or null as stored. Returns 0 or
 * -1 when out of memory. */
static int put_col(cJSON *o, const char *key, sqlite3_stmt *st, int i)
{
    cJSON *v;
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_INTEGER: v = cJSON_CreateNumber((double)sqlite3_column_int64(st, i)); break;
    case SQLITE_FLOAT: v = cJSON_CreateNumber(sqlite3_column_double(st, i)); break;
    case SQLITE_TEXT: v = cJSON_CreateString((const char *)sqlite3_column_text(st, i)); break;
    default: v = cJSON_CreateNull();
    }
    if (!v) return -1;
    if (!cJSON_AddItemToObject(o, key, v)) {
        cJSON_Delete(v);
        return -1;
    }
    return 0;
}

/* A JSON text column parsed into o under key (null when NULL or not JSON). */
static int put_json(cJSON *o, const char *key, sqlite3_stmt *st, int i)
{
    const char *t = (const char *)sqlite3_column_text(st, i);
    cJSON *v = t ? cJSON_Parse(t) : NULL;
    if (!v && !(v = cJSON_CreateNull())) return -1;
    if (!cJSON_AddItemToObject(o, key, v)) {
        cJSON_Delete(v);
        return -1;
    }
    return 0;
}

/* Every column of the row under its SQL name (columns named json_X are parsed into X). */
static int put_row(cJSON *o, sqlite3_stmt *st)
{
    int n = sqlite3_column_count(st);
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(st, i);
        int r = !strncmp(name, "json_", 5) ? put_json(o, name + 5, st, i) : put_col(o, name, st, i);
        if (r < 0) return -1;
    }
    return 0;
}

/* Run st and append one object per row to array a. Returns rows or an error. */
static int rows_into(npsw_ledger *l, sqlite3_stmt *st, cJSON *a, const char *what, npsw_err *err)
{
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            return nomem(err);
        }
        if (put_row(o, st) < 0) return nomem(err);
        n++;
    }
    if (rc != SQLITE_DONE) return fail(l, err, what);
    return n;
}

int64_t npsw_view_submission_number(npsw_ledger *l, int64_t lab_id, int64_t id, npsw_err *err)
{
    sqlite3_stmt *st = prep(l,
                            "SELECT CASE WHEN EXISTS (SELECT 1 FROM submissions WHERE id = ?2 AND "
                            "lab_id = ?1) THEN (SELECT count(*) FROM submissions WHERE lab_id = ?1 "
                            "AND id <= ?2) ELSE 0 END",
                            "numbering a submission", err);
    if (!st) return err ? err->code : NPSW_EIO;
    sqlite3_bind_int64(st, 1, lab_id);
    sqlite3_bind_int64(st, 2, id);
    int64_t r = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0)
                                                : fail(l, err, "numbering a submission");
    sqlite3_finalize(st);
    return r;
}

#define SUB_COLUMNS                                                                             \
    "received_utc, file_name, sha256, size, format, n_spectra, n_skipped"

int npsw_view_submissions(npsw_ledger *l, int64_t lab_id, int64_t offset, int64_t limit,
                          cJSON **out, npsw_err *err)
{
    *out = NULL;
    if (offset < 0 || limit < 1 || limit > 1000)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                            "offset must be >= 0 and limit between 1 and 1000");
    int rc = 0;
    int64_t total = 0;
    sqlite3_stmt *st = NULL;
    cJSON *o = cJSON_CreateObject(), *a = NULL;
    if (!o || !(a = cJSON_CreateArray())) {
        cJSON_Delete(o);
        return nomem(err);
    }
    if (!cJSON_AddItemToObject(o, "submissions", a)) {
        cJSON_Delete(a);
        rc = nomem(err);
        goto done;
    }
    /* one read transaction: the count and the page agree */
    if (sqlite3_exec(npsw_ledger_db(l), "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = fail(l, err, "listing submissions");
        goto done;
    }
    if (!(st = prep(l, "SELECT count(*) FROM submissions WHERE lab_id = ?", "counting submissions",
                    err))) {
        rc = err ? err->code : NPSW_EIO;
        goto rollback;
    }
    sqlite3_bind_int64(st, 1, lab_id);
    if (sqlite3_step(st) != SQLITE_ROW) {
        rc = fail(l, err, "counting submissions");
        goto rollback;
    }
    total = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    /* the number of the submission at row r (newest first) is total - r */
    if (!(st = prep(l,
                    "SELECT ?2 - (row_number() OVER (ORDER BY id DESC)) + 1 AS number, " SUB_COLUMNS
                    " FROM submissions WHERE lab_id = ?1 ORDER BY id DESC LIMIT ?4 OFFSET ?3",
                    "listing submissions", err))) {
        rc = err ? err->code : NPSW_EIO;
        goto rollback;
    }
    sqlite3_bind_int64(st, 1, lab_id);
    sqlite3_bind_int64(st, 2, total);
    sqlite3_bind_int64(st, 3, offset);
    sqlite3_bind_int64(st, 4, limit);
    rc = rows_into(l, st, a, "listing submissions", err);
    if (rc >= 0) rc = 0;
rollback:
    sqlite3_exec(npsw_ledger_db(l), "COMMIT", NULL, NULL, NULL);
    if (rc == 0 && (!cJSON_AddNumberToObject(o, "total", (double)total) ||
                    !cJSON_AddNumberToObject(o, "offset", (double)offset)))
        rc = nomem(err);
done:
    sqlite3_finalize(st);
    if (rc < 0) cJSON_Delete(o);
    else *out = o;
    return rc;
}

int npsw_view_submission(npsw_ledger *l, int64_t lab_id, int64_t number, int results,
                         cJSON **out, int64_t *id_out, npsw_err *err)
{
    *out = NULL;
    if (number < 1)
        return npsw_err_set(err, NPSW_EINVAL, NULL, 0, "no such submission");
    int rc = 0;
    sqlite3_stmt *st = NULL, *sp = NULL, *rs = NULL;
    cJSON *o = cJSON_CreateObject();
    if (!o) return nomem(err);
    if (sqlite3_exec(npsw_ledger_db(l), "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        rc = fail(l, err, "reading a submission");
        goto done;
    }
    if (!(st = prep(l,
                    "SELECT id, ?2 AS number, " SUB_COLUMNS ", report_json AS json_report FROM "
                    "submissions WHERE lab_id = ?1 ORDER BY id LIMIT 1 OFFSET ?2 - 1",
                    "reading a submission", err))) {
        rc = err ? err->code : NPSW_EIO;
        goto end;
    }
    sqlite3_bind_int64(st, 1, lab_id);
    sqlite3_bind_int64(st, 2, number);
    int x = sqlite3_step(st);
    if (x == SQLITE_DONE) {
        rc = npsw_err_set(err, NPSW_EINVAL, NULL, 0, "no submission %" PRId64 " of this laboratory",
                          number);
        goto end;
    }
    if (x != SQLITE_ROW) {
        rc = fail(l, err, "reading a submission");
        goto end;
    }
    int64_t id = sqlite3_column_int64(st, 0);
    if (id_out) *id_out = id;
    for (int i = 1; i < sqlite3_column_count(st); i++) {
        const char *name = sqlite3_column_name(st, i);
        if ((!strncmp(name, "json_", 5) ? put_json(o, name + 5, st, i) : put_col(o, name, st, i)) <
            0) {
            rc = nomem(err);
            goto end;
        }
    }
    if (!results) goto end;
    cJSON *spectra = cJSON_AddArrayToObject(o, "spectra");
    if (!spectra) {
        rc = nomem(err);
        goto end;
    }
    if (!(sp = prep(l,
                    "SELECT id, position, name, precursor_mz, n_peaks, status FROM spectra WHERE "
                    "submission_id = ? ORDER BY position",
                    "reading spectra", err)) ||
        !(rs = prep(l,
                    "SELECT created_utc, npswatch_version, library_sha256, verdict, confidence, "
                    "p_in_library, p_analogue, best_index, best_name, best_inchikey, best_score, "
                    "best_mf, best_rmf, analogue_index, analogue_name, analogue_delta, "
                    "analogue_score, substituents, predicted_class, class_confidence, "
                    "diagnostic_ions, analysis_json AS json_analysis, run_json AS json_run FROM "
                    "results WHERE spectrum_id = ? ORDER BY id",
                    "reading results", err))) {
        rc = err ? err->code : NPSW_EIO;
        goto end;
    }
    sqlite3_bind_int64(sp, 1, id);
    while ((x = sqlite3_step(sp)) == SQLITE_ROW) {
        cJSON *s = cJSON_CreateObject();
        if (!s || !cJSON_AddItemToArray(spectra, s)) {
            cJSON_Delete(s);
            rc = nomem(err);
            goto end;
        }
        for (int i = 1; i < 6; i++)
            if (put_col(s, sqlite3_column_name(sp, i), sp, i) < 0) {
                rc = nomem(err);
                goto end;
            }
        cJSON *ra = cJSON_AddArrayToObject(s, "results");
        if (!ra) {
            rc = nomem(err);
            goto end;
        }
        sqlite3_reset(rs);
        sqlite3_bind_int64(rs, 1, sqlite3_column_int64(sp, 0));
        if ((rc = rows_into(l, rs, ra, "reading results", err)) < 0) goto end;
        rc = 0;
    }
    if (x != SQLITE_DONE) rc = fail(l, err, "reading spectra");
end:
    sqlite3_exec(npsw_ledger_db(l), "COMMIT", NULL, NULL, NULL);
done:
    sqlite3_finalize(st);
    sqlite3_finalize(sp);
    sqlite3_finalize(rs);
    if (rc < 0) cJSON_Delete(o);
    else *out = o;
    return rc;
}

/* The consensus peaks ("peaks" encoding of docs/ledger.md) as [[mz, intensity], ...]. */
static int put_peaks(cJSON *o, const char *key, sqlite3_stmt *st, int i)
{
    cJSON *a = cJSON_AddArrayToObject(o, key);
    if (!a) return -1;
    const unsigned char *b = sqlite3_column_blob(st, i);
    int len = sqlite3_column_bytes(st, i);
    if (!b || len <= 0 || len % 12) return 0;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    if (npsw_ledger_peaks_decode(b, (size_t)len, &s) < 0) {
        npsw_spectrum_free(&s);
        return 0; /* a damaged consensus is left out; audit verify reports damage */
    }
    int rc = 0;
    for (uint32_t k = 0; k < s.n && rc == 0; k++) {
        cJSON *p = cJSON_CreateArray();
        if (!p || !cJSON_AddItemToArray(a, p)) {
            cJSON_Delete(p);
            rc = -1;
            break;
        }
        cJSON *m = cJSON_CreateNumber(s.mz[k]), *v = cJSON_CreateNumber(s.intensity[k]);
        if (!m || !cJSON_AddItemToArray(p, m)) {
            cJSON_Delete(m);
            cJSON_Delete(v);
            rc = -1;
        } else if (!v || !cJSON_AddItemToArray(p, v)) {
            cJSON_Delete(v);
            rc = -1;
        }
    }
    npsw_spectrum_free(&s);
    return rc;
}

int npsw_view_signals(npsw_ledger *l, uint32_t min_labs, int64_t id, cJSON **out, npsw_err *err)
{
    *out = NULL;
    int rc = 0, x;
    sqlite3_stmt *st = NULL;
    cJSON *o = cJSON_CreateObject(), *a = o ? cJSON_AddArrayToObject(o, "signals") : NULL;
    if (!a || !cJSON_AddNumberToObject(o, "min_labs", min_labs)) {
        cJSON_Delete(o);
        return nomem(err);
    }
    if (!(st = prep(l,
                    "SELECT id, status, n_labs, n_submissions, countries, first_seen_utc, "
                    "last_seen_utc, score, predicted_class, created_utc, updated_utc, "
                    "details_json, consensus_peaks, (SELECT json_group_array(k) FROM (SELECT "
                    "DISTINCT advisory_key AS k FROM advisories WHERE signal_id = signals.id "
                    "ORDER BY k)) FROM signals WHERE n_labs >= ?1 AND (?2 = 0 OR id = ?2) ORDER "
                    "BY score DESC, id",
                    "listing signals", err))) {
        cJSON_Delete(o);
        return err ? err->code : NPSW_EIO;
    }
    sqlite3_bind_int64(st, 1, min_labs);
    sqlite3_bind_int64(st, 2, id);
    int n = 0;
    while ((x = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *s = cJSON_CreateObject();
        if (!s || !cJSON_AddItemToArray(a, s)) {
            cJSON_Delete(s);
            rc = nomem(err);
            break;
        }
        int bad = 0;
        for (int i = 0; i <= 10 && !bad; i++) bad = put_col(s, sqlite3_column_name(st, i), st, i) < 0;
        if (!bad) bad = put_json(s, "details", st, 11) < 0 || put_peaks(s, "consensus", st, 12) < 0 ||
                        put_json(s, "advisories", st, 13) < 0;
        if (bad) {
            rc = nomem(err);
            break;
        }
        n++;
    }
    if (rc == 0 && x != SQLITE_DONE) rc = fail(l, err, "listing signals");
    if (rc == 0 && id > 0 && n == 0)
        rc = npsw_err_set(err, NPSW_EINVAL, NULL, 0,
                          "no signal %" PRId64 " seen by at least %u laboratories", id, min_labs);
    sqlite3_finalize(st);
    if (rc < 0) cJSON_Delete(o);
    else *out = o;
    return rc;
}

#define ADV_COLUMNS                                                                             \
    "id, advisory_key AS key, version, signal_id, state, supersedes_id, retracted_utc, "     \
    "created_utc, reviewed_utc, reviewer, note"

int npsw_view_advisories(npsw_ledger *l, cJSON **out, npsw_err *err)
{
    *out = NULL;
    cJSON *o = cJSON_CreateObject(), *a = o ? cJSON_AddArrayToObject(o, "advisories") : NULL;
    if (!a) {
        cJSON_Delete(o);
        return nomem(err);
    }
    sqlite3_stmt *st = prep(l, "SELECT " ADV_COLUMNS " FROM advisories ORDER BY id DESC",
                            "listing advisories", err);
    int rc = st ? rows_into(l, st, a, "listing advisories", err) : (err ? err->code : NPSW_EIO);
    sqlite3_finalize(st);
    if (rc < 0) {
        cJSON_Delete(o);
        return rc;
    }
    *out = o;
    return 0;
}

static int all_digits(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

int npsw_view_advisory(npsw_ledger *l, const char *key_or_id, cJSON **out, char **dir,
                       npsw_err *err)
{
    *out = NULL;
    if (dir) *dir = NULL;
    int by_id = all_digits(key_or_id);
    sqlite3_stmt *st =
        prep(l,
             by_id ? "SELECT " ADV_COLUMNS ", advisory_json AS json_advisory, dir_path FROM "
                     "advisories WHERE id = ?"
                   : "SELECT " ADV_COLUMNS ", advisory_json AS json_advisory, dir_path FROM "
                     "advisories WHERE advisory_key = ? ORDER BY version DESC LIMIT 1",
             "reading an advisory", err);
    if (!st) return err ? err->code : NPSW_EIO;
    if (by_id) sqlite3_bind_int64(st, 1, strtoll(key_or_id, NULL, 10));
    else sqlite3_bind_text(st, 1, key_or_id, -1, SQLITE_TRANSIENT);
    int rc = 0, x = sqlite3_step(st);
    cJSON *o = NULL;
    if (x == SQLITE_DONE) {
        rc = npsw_err_set(err, NPSW_EINVAL, NULL, 0, "no advisory '%s'", key_or_id);
    } else if (x != SQLITE_ROW) {
        rc = fail(l, err, "reading an advisory");
    } else if (!(o = cJSON_CreateObject())) {
        rc = nomem(err);
    } else {
        int n = sqlite3_column_count(st) - 1; /* dir_path is not shown */
        for (int i = 0; i < n && rc == 0; i++) {
            const char *name = sqlite3_column_name(st, i);
            if ((!strncmp(name, "json_", 5) ? put_json(o, name + 5, st, i)
                                            : put_col(o, name, st, i)) < 0)
                rc = nomem(err);
        }
        const char *d = (const char *)sqlite3_column_text(st, n);
        if (rc == 0 && dir && d && !(*dir = strdup(d))) rc = nomem(err);
    }
    sqlite3_finalize(st);
    if (rc < 0) {
        cJSON_Delete(o);
        if (dir) {
            free(*dir);
            *dir = NULL;
        }
        return rc;
    }
    *out = o;
    return 0;
}

int npsw_view_libraries(npsw_ledger *l, int64_t id, cJSON **out, char **file, npsw_err *err)
{
    *out = NULL;
    if (file) *file = NULL;
    cJSON *o = cJSON_CreateObject(), *a = o ? cJSON_AddArrayToObject(o, "libraries") : NULL;
    if (!a) {
        cJSON_Delete(o);
        return nomem(err);
    }
    sqlite3_stmt *st = prep(l,
                            "SELECT v.id, v.name, v.version, v.content_sha256, v.parent_sha256, "
                            "a.advisory_key, v.created_utc, v.file_path IS NOT NULL AS has_file, "
                            "v.file_path FROM library_versions v LEFT JOIN advisories a ON a.id = "
                            "v.advisory_id WHERE ?1 = 0 OR v.id = ?1 ORDER BY v.id",
                            "listing library versions", err);
    if (!st) {
        cJSON_Delete(o);
        return err ? err->code : NPSW_EIO;
    }
    sqlite3_bind_int64(st, 1, id);
    int rc = 0, x, n = 0;
    while ((x = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *v = cJSON_CreateObject();
        if (!v || !cJSON_AddItemToArray(a, v)) {
            cJSON_Delete(v);
            rc = nomem(err);
            break;
        }
        for (int i = 0; i < 8 && rc == 0; i++) {
            const char *name = sqlite3_column_name(st, i);
            if (i == 7) {
                if (!cJSON_AddBoolToObject(v, name, sqlite3_column_int(st, i))) rc = nomem(err);
            } else if (put_col(v, !strcmp(name, "advisory_key") ? "advisory_key" : name, st, i) < 0)
                rc = nomem(err);
        }
        const char *f = (const char *)sqlite3_column_text(st, 8);
        if (rc == 0 && file && id > 0 && f && !(*file = strdup(f))) rc = nomem(err);
        n++;
    }
    if (rc == 0 && x != SQLITE_DONE && x != SQLITE_ROW) rc = fail(l, err, "listing library versions");
    if (rc == 0 && id > 0 && n == 0)
        rc = npsw_err_set(err, NPSW_EINVAL, NULL, 0, "no library version %" PRId64, id);
    sqlite3_finalize(st);
    if (rc < 0) {
        cJSON_Delete(o);
        if (file) {
            free(*file);
            *file = NULL;
        }
        return rc;
    }
    *out = o;
    return 0;
}
