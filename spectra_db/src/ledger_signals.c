/* ledger_signals.c - signals and advisories in the lab-submissions ledger
 * (npsw/ledger_signals.h; docs/signals.md, docs/advisory.md, docs/ledger.md).
 *
 * The ledger gives the clustering (core/src/signals.c) what it needs of each candidate
 * spectrum: its cleaned peaks, its latest result and, for the counts only, its laboratory,
 * country, submission and time. What comes back and what is stored in `signals` describes a
 * signal by counts and countries; laboratory ids stay in the ledger's own tables.
 */
#include "npsw/ledger_signals.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npsw/config.h"
#include "npsw/hash.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static int sql_err(npsw_ledger *l, npsw_err *err, const char *what)
{
    sqlite3 *db = npsw_ledger_db(l);
    int prim = sqlite3_extended_errcode(db) & 0xff;
    int code = prim == SQLITE_NOMEM ? NPSW_ENOMEM : prim == SQLITE_CONSTRAINT ? NPSW_EINVAL : NPSW_EIO;
    return npsw_err_set(err, code, sqlite3_db_filename(db, "main"), 0, "SQLite: %s (while %s)",
                        sqlite3_errmsg(db), what);
}

static sqlite3_stmt *prep(npsw_ledger *l, const char *sql, const char *what, npsw_err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(npsw_ledger_db(l), sql, -1, &st, NULL) != SQLITE_OK) {
        sql_err(l, err, what);
        sqlite3_finalize(st);
        return NULL;
    }
    return st;
}

static int nomem(npsw_ledger *l, npsw_err *err)
{
    return npsw_err_set(err, NPSW_ENOMEM, sqlite3_db_filename(npsw_ledger_db(l), "main"), 0,
                        "out of memory");
}

/* The ledger records when things happened: the real clock (docs/ledger.md). */
static void utc_now(char buf[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void utc_of(int64_t t, char buf[32])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm)) snprintf(buf, 32, "1970-01-01T00:00:00Z");
    else strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil) */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int npsw_ledger_parse_utc(const char *s, int64_t *t)
{
    int y, mo, d, h, mi, se;
    char z = 0;
    int n = 0;
    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%c%n", &y, &mo, &d, &h, &mi, &se, &z, &n) != 7 ||
        z != 'Z' || s[n] != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        se > 60 || h < 0 || mi < 0 || se < 0)
        return NPSW_EPARSE;
    *t = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
    return 0;
}

void npsw_ledger_signals_free(npsw_ledger_signal *v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) npsw_signal_free(&v[i].sig);
    free(v);
}

/* ---- candidates ----------------------------------------------------------------------------- */

/* What the clustering reads, with the strings and peaks it points to. */
typedef struct cand_set {
    npsw_signal_spectrum *v;
    npsw_spectrum *peaks;   /* decoded spectra.peaks */
    char **strs;            /* every string v points to (freed together) */
    char (*lib)[65];        /* per candidate: results.library_sha256 */
    int64_t *analogue_index;
    size_t n, cap, nstr, capstr;
} cand_set;

static void cands_free(cand_set *c)
{
    for (size_t i = 0; i < c->n; i++) npsw_spectrum_free(&c->peaks[i]);
    for (size_t i = 0; i < c->nstr; i++) free(c->strs[i]);
    free(c->v);
    free(c->peaks);
    free(c->strs);
    free(c->lib);
    free(c->analogue_index);
    memset(c, 0, sizeof *c);
}

/* A copy of column i (NULL stays NULL), kept in the set. 0 or -1 (out of memory). */
static int keep_str(cand_set *c, sqlite3_stmt *st, int i, const char **out)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    *out = NULL;
    if (!t) return 0;
    if (c->nstr == c->capstr) {
        size_t cap = c->capstr ? 2 * c->capstr : 256;
        char **v = realloc(c->strs, cap * sizeof *v);
        if (!v) return -1;
        c->strs = v;
        c->capstr = cap;
    }
    char *s = strdup((const char *)t);
    if (!s) return -1;
    c->strs[c->nstr++] = s;
    *out = s;
    return 0;
}

static int cands_grow(cand_set *c)
{
    if (c->n < c->cap) return 0;
    size_t cap = c->cap ? 2 * c->cap : 64;
    npsw_signal_spectrum *v = realloc(c->v, cap * sizeof *v);
    if (v) c->v = v;
    npsw_spectrum *p = realloc(c->peaks, cap * sizeof *p);
    if (p) c->peaks = p;
    char(*lib)[65] = realloc(c->lib, cap * sizeof *lib);
    if (lib) c->lib = lib;
    int64_t *ai = realloc(c->analogue_index, cap * sizeof *ai);
    if (ai) c->analogue_index = ai;
    if (!v || !p || !lib || !ai) return -1;
    c->cap = cap;
    return 0;
}

/* The spectrum columns every query below selects, then the result's; `where` picks the rows. */
#define CAND_COLUMNS                                                                           \
    "SELECT sp.id, sp.peaks, sub.id, sub.lab_id, lab.country, sub.received_utc, r.verdict, "   \
    "r.predicted_class, r.best_name, r.analogue_name, r.analogue_delta, r.substituents, "      \
    "r.library_sha256, r.analogue_index "                                                      \
    "FROM spectra sp JOIN submissions sub ON sub.id = sp.submission_id "                       \
    "JOIN labs lab ON lab.id = sub.lab_id "                                                    \
    "JOIN results r ON r.id = (SELECT max(r2.id) FROM results r2 WHERE r2.spectrum_id = sp.id) "

static int load_rows(npsw_ledger *l, sqlite3_stmt *st, cand_set *c, npsw_err *err)
{
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (cands_grow(c) < 0) return nomem(l, err);
        npsw_signal_spectrum *x = &c->v[c->n];
        npsw_spectrum *sp = &c->peaks[c->n];
        memset(x, 0, sizeof *x);
        npsw_spectrum_init(sp);
        c->lib[c->n][0] = '\0';
        c->analogue_index[c->n] = 0;
        c->n++; /* counted now: freed with the set whatever follows */
        x->id = sqlite3_column_int64(st, 0);
        const void *blob = sqlite3_column_blob(st, 1);
        int blen = sqlite3_column_bytes(st, 1);
        if (blen > 0) {
            int rc = npsw_ledger_peaks_decode(blob, (size_t)blen, sp);
            if (rc == NPSW_ENOMEM) return nomem(l, err);
            if (rc < 0)
                return npsw_err_set(err, NPSW_EFORMAT,
                                    sqlite3_db_filename(npsw_ledger_db(l), "main"), 0,
                                    "spectrum %" PRId64 ": malformed peaks", x->id);
        }
        x->submission = sqlite3_column_int64(st, 2);
        x->lab = sqlite3_column_int64(st, 3);
        const unsigned char *cc = sqlite3_column_text(st, 4);
        snprintf(x->country, sizeof x->country, "%s", cc ? (const char *)cc : "");
        const unsigned char *rt = sqlite3_column_text(st, 5);
        if (!rt || npsw_ledger_parse_utc((const char *)rt, &x->t) < 0)
            return npsw_err_set(err, NPSW_EFORMAT, sqlite3_db_filename(npsw_ledger_db(l), "main"),
                                0, "submission %" PRId64 ": received_utc '%s' is not ISO 8601 UTC",
                                x->submission, rt ? (const char *)rt : "");
        const unsigned char *vd = sqlite3_column_text(st, 6);
        x->verdict = vd && !strcmp((const char *)vd, "in_library") ? NPSW_VERDICT_IN_LIBRARY
                     : vd && !strcmp((const char *)vd, "analogue") ? NPSW_VERDICT_ANALOGUE
                                                                   : NPSW_VERDICT_UNKNOWN;
        if (keep_str(c, st, 7, &x->predicted_class) < 0 || keep_str(c, st, 8, &x->best_name) < 0 ||
            keep_str(c, st, 9, &x->analogue_name) < 0 || keep_str(c, st, 11, &x->substituents) < 0)
            return nomem(l, err);
        x->analogue_delta = sqlite3_column_double(st, 10);
        const unsigned char *ls = sqlite3_column_text(st, 12);
        snprintf(c->lib[c->n - 1], 65, "%s", ls ? (const char *)ls : "");
        c->analogue_index[c->n - 1] = sqlite3_column_int64(st, 13);
    }
    if (s != SQLITE_DONE) return sql_err(l, err, "reading candidate spectra");
    /* peaks views: the spectra array does not move any more */
    for (size_t i = 0; i < c->n; i++)
        c->v[i].peaks = (npsw_peaks){c->peaks[i].mz, c->peaks[i].intensity, c->peaks[i].n};
    return 0;
}

/* ---- update -------------------------------------------------------------------------------- */

typedef struct membership {
    int64_t spectrum, signal;
} membership;

static int cmp_membership(const void *a, const void *b)
{
    const membership *x = a, *y = b;
    if (x->spectrum != y->spectrum) return x->spectrum < y->spectrum ? -1 : 1;
    return x->signal < y->signal ? -1 : x->signal > y->signal;
}

typedef struct overlap {
    size_t cluster;
    int64_t signal;
    size_t n;
} overlap;

static int cmp_pair(const void *a, const void *b)
{
    const overlap *x = a, *y = b;
    if (x->cluster != y->cluster) return x->cluster < y->cluster ? -1 : 1;
    return x->signal < y->signal ? -1 : x->signal > y->signal;
}

/* best first: more shared members, then the older signal, then the earlier cluster */
static int cmp_overlap(const void *a, const void *b)
{
    const overlap *x = a, *y = b;
    if (x->n != y->n) return x->n > y->n ? -1 : 1;
    if (x->signal != y->signal) return x->signal < y->signal ? -1 : 1;
    return x->cluster < y->cluster ? -1 : x->cluster > y->cluster;
}

typedef struct old_signal {
    int64_t id;
    char status[16];
    char created[32];
    int64_t updated;  /* when it was last written (for a closed signal: when it was closed) */
    size_t n_members;
    size_t matched; /* cluster index + 1, 0 = none */
} old_signal;

static int cmp_old(const void *a, const void *b)
{
    int64_t x = ((const old_signal *)a)->id, y = ((const old_signal *)b)->id;
    return x < y ? -1 : x > y;
}

static old_signal *find_old(old_signal *v, size_t n, int64_t id)
{
    old_signal key = {.id = id};
    return n ? bsearch(&key, v, n, sizeof *v, cmp_old) : NULL;
}

/* Write the columns of a signal (insert when id == 0, else update); *id receives the id. */
static int store_signal(npsw_ledger *l, int64_t *id, const char *status, const char *utc,
                        const npsw_signal *s, const npsw_signal_opts *o, npsw_err *err)
{
    const char *sql = *id == 0
                          ? "INSERT INTO signals (created_utc, updated_utc, status, n_labs, "
                            "n_submissions, countries, first_seen_utc, last_seen_utc, score, "
                            "predicted_class, consensus_peaks, details_json) VALUES "
                            "(?1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
                          : "UPDATE signals SET updated_utc = ?1, status = ?2, n_labs = ?3, "
                            "n_submissions = ?4, countries = ?5, first_seen_utc = ?6, "
                            "last_seen_utc = ?7, score = ?8, predicted_class = ?9, "
                            "consensus_peaks = ?10, details_json = ?11 WHERE id = ?12";
    sqlite3_stmt *st = prep(l, sql, "storing a signal", err);
    if (!st) return err ? err->code : NPSW_EIO;
    unsigned char *blob = malloc(12 * (size_t)s->n_consensus + 1);
    char *details = npsw_signal_json(s, 0, NULL, o);
    int rc = 0;
    if (!blob || !details) {
        rc = nomem(l, err);
        goto done;
    }
    npsw_spectrum view;
    npsw_spectrum_init(&view);
    view.n = s->n_consensus;
    view.mz = s->consensus_mz;
    view.intensity = s->consensus_in;
    npsw_ledger_peaks_encode(&view, blob);
    char first[32], last[32];
    utc_of(s->first_seen, first);
    utc_of(s->last_seen, last);
    sqlite3_bind_text(st, 1, utc, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 3, s->n_labs);
    sqlite3_bind_int64(st, 4, s->n_submissions);
    sqlite3_bind_text(st, 5, s->countries, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, first, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, last, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 8, s->urgency.score);
    sqlite3_bind_text(st, 9, s->predicted_class, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob64(st, 10, blob, 12 * (sqlite3_uint64)s->n_consensus, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 11, details, -1, SQLITE_TRANSIENT);
    if (*id) sqlite3_bind_int64(st, 12, *id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = sql_err(l, err, "storing a signal");
        goto done;
    }
    if (!*id) *id = sqlite3_last_insert_rowid(npsw_ledger_db(l));
done:
    sqlite3_finalize(st);
    free(blob);
    free(details);
    return rc;
}

static int store_members(npsw_ledger *l, int64_t id, const npsw_signal *s, npsw_err *err)
{
    sqlite3_stmt *del = prep(l, "DELETE FROM signal_members WHERE signal_id = ?",
                             "replacing a signal's members", err);
    if (!del) return err ? err->code : NPSW_EIO;
    sqlite3_bind_int64(del, 1, id);
    int rc = sqlite3_step(del) == SQLITE_DONE ? 0 : sql_err(l, err, "replacing a signal's members");
    sqlite3_finalize(del);
    if (rc < 0) return rc;
    sqlite3_stmt *ins = prep(l,
                             "INSERT INTO signal_members (signal_id, spectrum_id, similarity) "
                             "VALUES (?, ?, ?)",
                             "storing a signal's members", err);
    if (!ins) return err ? err->code : NPSW_EIO;
    for (size_t i = 0; i < s->n_members && rc == 0; i++) {
        sqlite3_reset(ins);
        sqlite3_bind_int64(ins, 1, id);
        sqlite3_bind_int64(ins, 2, s->member_id[i]);
        sqlite3_bind_double(ins, 3, floor(s->member_sim[i] * 1e6 + 0.5) / 1e6);
        if (sqlite3_step(ins) != SQLITE_DONE) rc = sql_err(l, err, "storing a signal's members");
    }
    sqlite3_finalize(ins);
    return rc;
}

int npsw_ledger_signals_update(npsw_ledger *l, const npsw_signal_opts *o, const char *actor,
                               npsw_ledger_signal **out, size_t *n_out,
                               npsw_ledger_signals_report *rep, npsw_err *err)
{
    npsw_ledger_signals_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    if (out) *out = NULL;
    if (n_out) *n_out = 0;
    int rc = npsw_signal_opts_check(o, err);
    if (rc < 0) return rc;
    sqlite3 *db = npsw_ledger_db(l);
    cand_set c = {0};
    npsw_signal *sig = NULL;
    size_t nsig = 0;
    membership *mem = NULL;
    old_signal *olds = NULL;
    overlap *ov = NULL;
    int64_t *ids = NULL;
    npsw_ledger_signal *res = NULL;
    size_t nold = 0, nmem = 0;
    char *details = NULL;
    int in_tx = 0;
    /* 1. the candidates, in one read transaction (a consistent snapshot) */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return sql_err(l, err, "starting a read transaction");
    sqlite3_stmt *st = prep(l,
                            CAND_COLUMNS "WHERE sp.status = 'analysed' AND sp.n_peaks > 0 AND "
                                         "r.verdict IN ('analogue', 'unknown') ORDER BY sp.id",
                            "reading candidate spectra", err);
    if (!st) rc = err ? err->code : NPSW_EIO;
    else rc = load_rows(l, st, &c, err);
    sqlite3_finalize(st);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    if (rc < 0) goto done;
    rep->n_candidates = c.n;
    /* 2. the clustering, outside any transaction */
    if ((rc = npsw_signals_cluster(c.v, c.n, o, &sig, &nsig, err)) < 0) goto done;
    rep->n_signals = nsig;
    /* 3. store, in one write transaction */
    if ((rc = npsw_ledger_begin(l, err)) < 0) goto done;
    in_tx = 1;
    st = prep(l, "SELECT id, status, created_utc, (SELECT count(*) FROM signal_members m "
                 "WHERE m.signal_id = s.id), updated_utc FROM signals s ORDER BY id",
              "reading signals", err);
    if (!st) goto fail_code;
    int s;
    size_t capold = 0;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (nold == capold) {
            capold = capold ? 2 * capold : 16;
            old_signal *v = realloc(olds, capold * sizeof *v);
            if (!v) {
                sqlite3_finalize(st);
                goto oom;
            }
            olds = v;
        }
        old_signal *x = &olds[nold++];
        memset(x, 0, sizeof *x);
        x->id = sqlite3_column_int64(st, 0);
        snprintf(x->status, sizeof x->status, "%s", (const char *)sqlite3_column_text(st, 1));
        snprintf(x->created, sizeof x->created, "%s", (const char *)sqlite3_column_text(st, 2));
        x->n_members = (size_t)sqlite3_column_int64(st, 3);
        const unsigned char *up = sqlite3_column_text(st, 4);
        if (!up || npsw_ledger_parse_utc((const char *)up, &x->updated) < 0) x->updated = 0;
    }
    sqlite3_finalize(st);
    if (s != SQLITE_DONE) {
        rc = sql_err(l, err, "reading signals");
        goto fail;
    }
    st = prep(l, "SELECT spectrum_id, signal_id FROM signal_members", "reading signal members",
              err);
    if (!st) goto fail_code;
    size_t capmem = 0;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (nmem == capmem) {
            capmem = capmem ? 2 * capmem : 64;
            membership *v = realloc(mem, capmem * sizeof *v);
            if (!v) {
                sqlite3_finalize(st);
                goto oom;
            }
            mem = v;
        }
        mem[nmem++] = (membership){sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1)};
    }
    sqlite3_finalize(st);
    if (s != SQLITE_DONE) {
        rc = sql_err(l, err, "reading signal members");
        goto fail;
    }
    if (nmem) qsort(mem, nmem, sizeof *mem, cmp_membership);
    /* overlaps: (cluster, old signal, shared members) */
    size_t nov = 0, capov = 0;
    for (size_t k = 0; k < nsig; k++)
        for (size_t i = 0; i < sig[k].n_members; i++) {
            membership key = {sig[k].member_id[i], INT64_MIN};
            size_t lo = 0, hi = nmem;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (cmp_membership(&mem[mid], &key) < 0) lo = mid + 1;
                else hi = mid;
            }
            for (size_t j = lo; j < nmem && mem[j].spectrum == key.spectrum; j++) {
                if (nov == capov) {
                    capov = capov ? 2 * capov : 64;
                    overlap *v = realloc(ov, capov * sizeof *v);
                    if (!v) goto oom;
                    ov = v;
                }
                ov[nov++] = (overlap){k, mem[j].signal, 1};
            }
        }
    if (nov) {
        qsort(ov, nov, sizeof *ov, cmp_pair);
        size_t w = 0;
        for (size_t i = 0; i < nov; i++) {
            if (w && ov[w - 1].cluster == ov[i].cluster && ov[w - 1].signal == ov[i].signal)
                ov[w - 1].n++;
            else ov[w++] = ov[i];
        }
        nov = w;
        qsort(ov, nov, sizeof *ov, cmp_overlap);
    }
    ids = calloc(nsig ? nsig : 1, sizeof *ids);
    res = calloc(nsig ? nsig : 1, sizeof *res);
    if (!ids || !res) goto oom;
    for (size_t i = 0; i < nov; i++) {
        old_signal *x = find_old(olds, nold, ov[i].signal);
        if (!x || x->matched || ids[ov[i].cluster]) continue;
        x->matched = ov[i].cluster + 1;
        ids[ov[i].cluster] = x->id;
    }
    char utc[32];
    utc_now(utc);
    for (size_t k = 0; k < nsig; k++) {
        npsw_ledger_signal *r = &res[k];
        old_signal *x = ids[k] ? find_old(olds, nold, ids[k]) : NULL;
        int same = 0;
        if (x) {
            /* the same members? (the overlap is at most both sizes) */
            for (size_t i = 0; i < nov; i++)
                if (ov[i].cluster == k && ov[i].signal == x->id)
                    same = ov[i].n == sig[k].n_members && ov[i].n == x->n_members;
            /* a closed signal (e.g. accepted into the library) stays closed unless spectra
             * received after it was closed continue it */
            int reopen = 0;
            if (!strcmp(x->status, "closed"))
                for (size_t i = 0; i < sig[k].n_members; i++)
                    reopen |= sig[k].member_t[i] > x->updated;
            snprintf(r->status, sizeof r->status, "%s", reopen ? "open" : x->status);
            snprintf(r->created_utc, sizeof r->created_utc, "%s", x->created);
        } else {
            snprintf(r->status, sizeof r->status, "open");
            snprintf(r->created_utc, sizeof r->created_utc, "%s", utc);
        }
        snprintf(r->updated_utc, sizeof r->updated_utc, "%s", utc);
        int64_t id = ids[k];
        if ((rc = store_signal(l, &id, r->status, utc, &sig[k], o, err)) < 0) goto fail;
        if (!same && (rc = store_members(l, id, &sig[k], err)) < 0) goto fail;
        r->id = id;
        if (!x) rep->n_new++;
        else if (same) rep->n_unchanged++;
        else rep->n_changed++;
    }
    /* earlier signals no cluster continues */
    sqlite3_stmt *cl = prep(l, "UPDATE signals SET status = 'closed', updated_utc = ? WHERE id = ?",
                            "closing a signal", err);
    if (!cl) goto fail_code;
    for (size_t i = 0; i < nold; i++) {
        if (olds[i].matched || !strcmp(olds[i].status, "closed")) continue;
        sqlite3_reset(cl);
        sqlite3_bind_text(cl, 1, utc, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(cl, 2, olds[i].id);
        if (sqlite3_step(cl) != SQLITE_DONE) {
            rc = sql_err(l, err, "closing a signal");
            sqlite3_finalize(cl);
            goto fail;
        }
        rep->n_closed++;
    }
    sqlite3_finalize(cl);
    /* the audit entry: counts and parameters (no laboratory ids) */
    cJSON *d = cJSON_CreateObject();
    char now[32];
    utc_of(o->now, now);
    cJSON_AddNumberToObject(d, "candidates", (double)rep->n_candidates);
    cJSON_AddNumberToObject(d, "signals", (double)rep->n_signals);
    cJSON_AddNumberToObject(d, "new", (double)rep->n_new);
    cJSON_AddNumberToObject(d, "changed", (double)rep->n_changed);
    cJSON_AddNumberToObject(d, "unchanged", (double)rep->n_unchanged);
    cJSON_AddNumberToObject(d, "closed", (double)rep->n_closed);
    cJSON_AddStringToObject(d, "similarity", npsw_score_name(o->score));
    cJSON_AddNumberToObject(d, "int_power", o->params.int_power);
    cJSON_AddNumberToObject(d, "mz_power", o->params.mz_power);
    cJSON_AddNumberToObject(d, "link", o->link);
    cJSON_AddNumberToObject(d, "edge_min", o->edge_min);
    cJSON_AddNumberToObject(d, "min_members", o->min_members);
    cJSON_AddStringToObject(d, "trend_reference_utc", now);
    cJSON_AddStringToObject(d, "npswatch_version", NPSW_VERSION);
    details = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    if (!details) goto oom;
    if ((rc = npsw_ledger_audit_append(l, actor && *actor ? actor : "npswatch", "signals.update",
                                       "signals", details, &rep->audit_seq, err)) < 0)
        goto fail;
    in_tx = 0;
    if ((rc = npsw_ledger_commit(l, err)) < 0) goto done;
    /* the current signals, by id */
    for (size_t k = 0; k < nsig; k++) {
        res[k].sig = sig[k];
        memset(&sig[k], 0, sizeof sig[k]);
    }
    for (size_t i = 1; i < nsig; i++) { /* insertion sort by id (few signals) */
        npsw_ledger_signal t = res[i];
        size_t j = i;
        while (j > 0 && res[j - 1].id > t.id) {
            res[j] = res[j - 1];
            j--;
        }
        res[j] = t;
    }
    if (out) {
        *out = res;
        res = NULL;
        if (n_out) *n_out = nsig;
    }
    rc = 0;
    goto done;
oom:
    rc = nomem(l, err);
    goto fail;
fail_code:
    rc = err && err->code < 0 ? err->code : NPSW_EIO;
fail:
    if (in_tx) npsw_ledger_rollback(l);
done:
    if (res) npsw_ledger_signals_free(res, nsig);
    npsw_signals_free(sig, nsig);
    cands_free(&c);
    free(mem);
    free(olds);
    free(ov);
    free(ids);
    cJSON_free(details);
    return rc;
}

/* ---- one signal ------------------------------------------------------------------------------- */

int npsw_ledger_signal_get(npsw_ledger *l, int64_t id, const npsw_signal_opts *o,
                           npsw_ledger_signal *out, npsw_ledger_signal_library *lib,
                           npsw_err *err)
{
    memset(out, 0, sizeof *out);
    if (lib) memset(lib, 0, sizeof *lib);
    int rc = npsw_signal_opts_check(o, err);
    if (rc < 0) return rc;
    sqlite3 *db = npsw_ledger_db(l);
    const char *path = sqlite3_db_filename(db, "main");
    cand_set c = {0};
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return sql_err(l, err, "starting a read transaction");
    sqlite3_stmt *st = prep(l, "SELECT status, created_utc, updated_utc FROM signals WHERE id = ?",
                            "reading a signal", err);
    if (!st) goto fail_code;
    sqlite3_bind_int64(st, 1, id);
    int s = sqlite3_step(st);
    if (s == SQLITE_DONE) {
        sqlite3_finalize(st);
        rc = npsw_err_set(err, NPSW_EINVAL, path, 0, "no signal %" PRId64 " in the ledger", id);
        goto done;
    }
    if (s != SQLITE_ROW) {
        rc = sql_err(l, err, "reading a signal");
        sqlite3_finalize(st);
        goto done;
    }
    out->id = id;
    snprintf(out->status, sizeof out->status, "%s", (const char *)sqlite3_column_text(st, 0));
    snprintf(out->created_utc, sizeof out->created_utc, "%s",
             (const char *)sqlite3_column_text(st, 1));
    snprintf(out->updated_utc, sizeof out->updated_utc, "%s",
             (const char *)sqlite3_column_text(st, 2));
    sqlite3_finalize(st);
    st = prep(l,
              CAND_COLUMNS "JOIN signal_members m ON m.spectrum_id = sp.id WHERE m.signal_id = ? "
                           "ORDER BY sp.id",
              "reading a signal's members", err);
    if (!st) goto fail_code;
    sqlite3_bind_int64(st, 1, id);
    rc = load_rows(l, st, &c, err);
    sqlite3_finalize(st);
    if (rc < 0) goto done;
    if (!c.n) {
        rc = npsw_err_set(err, NPSW_EINVAL, path, 0, "signal %" PRId64 " has no members", id);
        goto done;
    }
    if ((rc = npsw_signal_summarise(c.v, c.n, o, &out->sig, err)) < 0) goto done;
    if (lib) {
        /* the library most members were analysed with (ties: the smaller SHA-256) */
        size_t best = 0, best_n = 0;
        for (size_t i = 0; i < c.n; i++) {
            size_t k = 0;
            for (size_t j = 0; j < c.n; j++) k += !strcmp(c.lib[i], c.lib[j]);
            if (k > best_n || (k == best_n && strcmp(c.lib[i], c.lib[best]) < 0)) best = i, best_n = k;
        }
        snprintf(lib->sha256, sizeof lib->sha256, "%s", c.lib[best]);
        lib->n_members = (uint32_t)best_n;
        /* the index of the most frequent analogue in that library, as the results gave it */
        if (out->sig.n_analogues) {
            const char *an = out->sig.analogues[0].name;
            int64_t bi = 0;
            size_t bn = 0;
            for (size_t i = 0; i < c.n; i++) {
                if (!c.analogue_index[i] || strcmp(c.lib[i], lib->sha256) ||
                    !c.v[i].analogue_name || strcmp(c.v[i].analogue_name, an))
                    continue;
                size_t k = 0;
                for (size_t j = 0; j < c.n; j++)
                    k += c.analogue_index[j] == c.analogue_index[i] && !strcmp(c.lib[j], lib->sha256);
                if (k > bn || (k == bn && c.analogue_index[i] < bi)) bi = c.analogue_index[i], bn = k;
            }
            lib->analogue_index = bi;
        }
        st = prep(l, "SELECT name, version, file_path FROM library_versions WHERE content_sha256 = ?",
                  "reading the library version", err);
        if (!st) goto fail_code;
        sqlite3_bind_text(st, 1, lib->sha256, -1, SQLITE_TRANSIENT);
        s = sqlite3_step(st);
        if (s == SQLITE_ROW) {
            snprintf(lib->name, sizeof lib->name, "%s", (const char *)sqlite3_column_text(st, 0));
            snprintf(lib->version, sizeof lib->version, "%s",
                     (const char *)sqlite3_column_text(st, 1));
            const unsigned char *fp = sqlite3_column_text(st, 2);
            if (fp && !(lib->file_path = strdup((const char *)fp))) {
                sqlite3_finalize(st);
                rc = nomem(l, err);
                goto done;
            }
        } else if (s != SQLITE_DONE) {
            rc = sql_err(l, err, "reading the library version");
        }
        sqlite3_finalize(st);
    }
    goto done;
fail_code:
    rc = err && err->code < 0 ? err->code : NPSW_EIO;
done:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    cands_free(&c);
    if (rc < 0) {
        npsw_signal_free(&out->sig);
        if (lib) {
            free(lib->file_path);
            lib->file_path = NULL;
        }
    }
    return rc;
}

/* ---- advisories ------------------------------------------------------------------------------ */

int npsw_ledger_advisory_create(npsw_ledger *l, int64_t signal_id, int year, const char *dir_path,
                                const char *actor, npsw_ledger_advisory_writer writer, void *user,
                                npsw_ledger_advisory_rec *out, npsw_err *err)
{
    npsw_ledger_advisory_rec local;
    if (!out) out = &local;
    memset(out, 0, sizeof *out);
    sqlite3 *db = npsw_ledger_db(l);
    const char *path = sqlite3_db_filename(db, "main");
    if (!writer) return npsw_err_set(err, NPSW_EINVAL, path, 0, "no advisory writer");
    char *json = NULL, *details = NULL;
    char supersedes[96] = "";
    int rc;
    if ((rc = npsw_ledger_begin(l, err)) < 0) return rc;
    sqlite3_stmt *st = prep(l, "SELECT count(*) FROM signals WHERE id = ?", "reading a signal", err);
    if (!st) goto fail_code;
    sqlite3_bind_int64(st, 1, signal_id);
    int exists = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > 0;
    sqlite3_finalize(st);
    if (!exists) {
        rc = npsw_err_set(err, NPSW_EINVAL, path, 0, "no signal %" PRId64 " in the ledger",
                          signal_id);
        goto fail;
    }
    /* an earlier advisory of this signal: same key, next version, superseded */
    st = prep(l,
              "SELECT id, advisory_key, version FROM advisories WHERE signal_id = ? "
              "ORDER BY version DESC, id DESC LIMIT 1",
              "reading advisories", err);
    if (!st) goto fail_code;
    sqlite3_bind_int64(st, 1, signal_id);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        out->supersedes_id = sqlite3_column_int64(st, 0);
        snprintf(out->key, sizeof out->key, "%s", (const char *)sqlite3_column_text(st, 1));
        out->version = sqlite3_column_int(st, 2) + 1;
        snprintf(supersedes, sizeof supersedes, "%s v%d", out->key, out->version - 1);
    } else if (s == SQLITE_DONE) {
        snprintf(out->key, sizeof out->key, "NPSW-ADV-%04d-%04" PRId64, year, signal_id);
        out->version = 1;
    } else {
        rc = sql_err(l, err, "reading advisories");
        sqlite3_finalize(st);
        goto fail;
    }
    sqlite3_finalize(st);
    /* the files */
    if ((rc = writer(user, out->key, out->version, supersedes[0] ? supersedes : NULL, &json,
                     err)) < 0)
        goto fail;
    out->files_written = 1;
    char utc[32], sha[65];
    utc_now(utc);
    npsw_sha256_hex(json, strlen(json), sha);
    st = prep(l,
              "INSERT INTO advisories (advisory_key, version, signal_id, state, supersedes_id, "
              "created_utc, advisory_json, dir_path) VALUES (?, ?, ?, 'draft', ?, ?, ?, ?)",
              "storing the advisory", err);
    if (!st) goto fail_code;
    sqlite3_bind_text(st, 1, out->key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, out->version);
    sqlite3_bind_int64(st, 3, signal_id);
    if (out->supersedes_id) sqlite3_bind_int64(st, 4, out->supersedes_id);
    else sqlite3_bind_null(st, 4);
    sqlite3_bind_text(st, 5, utc, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 7, dir_path, -1, SQLITE_TRANSIENT);
    s = sqlite3_step(st);
    sqlite3_finalize(st);
    if (s != SQLITE_DONE) {
        rc = sql_err(l, err, "storing the advisory");
        goto fail;
    }
    out->id = sqlite3_last_insert_rowid(db);
    st = prep(l, "UPDATE signals SET status = 'advised', updated_utc = ? WHERE id = ?",
              "marking the signal advised", err);
    if (!st) goto fail_code;
    sqlite3_bind_text(st, 1, utc, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, signal_id);
    s = sqlite3_step(st);
    sqlite3_finalize(st);
    if (s != SQLITE_DONE) {
        rc = sql_err(l, err, "marking the signal advised");
        goto fail;
    }
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "advisory_key", out->key);
    cJSON_AddNumberToObject(d, "version", out->version);
    cJSON_AddNumberToObject(d, "signal_id", (double)signal_id);
    if (supersedes[0]) cJSON_AddStringToObject(d, "supersedes", supersedes);
    else cJSON_AddNullToObject(d, "supersedes");
    cJSON_AddStringToObject(d, "state", "draft");
    cJSON_AddStringToObject(d, "dir_path", dir_path ? dir_path : "");
    cJSON_AddStringToObject(d, "advisory_json_sha256", sha);
    details = cJSON_PrintUnformatted(d);
    cJSON_Delete(d);
    if (!details) {
        rc = nomem(l, err);
        goto fail;
    }
    char obj[48];
    snprintf(obj, sizeof obj, "advisory:%" PRId64, out->id);
    if ((rc = npsw_ledger_audit_append(l, actor && *actor ? actor : "npswatch", "advisory.create",
                                       obj, details, NULL, err)) < 0)
        goto fail;
    rc = npsw_ledger_commit(l, err);
    goto done;
fail_code:
    rc = err && err->code < 0 ? err->code : NPSW_EIO;
fail:
    npsw_ledger_rollback(l);
done:
    free(json);
    cJSON_free(details);
    return rc;
}
