/* test_curate.c - the curator loop (npsw/ledger_curate.h): accepting a draft advisory adds its
 * signal's consensus spectrum as the last entry of a new library version (the parent's spectra
 * unchanged, lineage recorded), records the review, the library version, the closed signal and
 * an audit entry in one transaction; rejecting records the review; only drafts are reviewed;
 * failures (unwritable output, a failing ledger transaction, bad input) leave the ledger as it
 * was and no new file behind.
 *
 * The ledger's signals and advisories are inserted here with plain SQL through
 * npsw_ledger_db() (as the signals and advise parts will write them: docs/ledger.md). The parent
 * library and the consensus spectrum are SYNTHETIC; the consensus peaks are chosen so that the
 * cleaned entry can be worked out by hand: m/z 57.0, 91.1, 119.0, 134.2 with intensities 200,
 * 1000, 400, 100 become nominal m/z 57, 91, 119, 134 (ceil(m/z - 0.649)) with intensities 200,
 * 999, 400, 100 (base peak scaled to 999: 199.8, 999, 399.6, 99.9, rounded). */
#define _XOPEN_SOURCE 700 /* realpath */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "npsw/ledger.h"
#include "npsw/ledger_curate.h"
#include "npsw/libfile.h"
#include "npsw/search.h"

static char dir[256];
static int counter;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/npsw_test_curate.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- SQL helpers ------------------------------------------------------------------------ */

static void sql(npsw_ledger *l, const char *q)
{
    char *msg = NULL;
    int rc = sqlite3_exec(npsw_ledger_db(l), q, NULL, NULL, &msg);
    if (rc != SQLITE_OK) print_error("SQL failed: %s: %s\n", q, msg ? msg : "?");
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
}

/* The first column of the first row as text ("" for NULL / no row) into out. */
static const char *sql_text(npsw_ledger *l, const char *q, char *out, size_t size)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(npsw_ledger_db(l), q, -1, &st, NULL), SQLITE_OK);
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, size, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static int64_t sql_int(npsw_ledger *l, const char *q)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(npsw_ledger_db(l), q, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Everything a review may change, as one string: advisories, signals, library versions and the
 * audit log. */
static void snapshot(npsw_ledger *l, char *out, size_t size)
{
    char a[2048], b[512], c[2048], d[64];
    sql_text(l,
             "SELECT group_concat(id || ':' || state || ':' || coalesce(reviewer, '-') || ':' || "
             "coalesce(note, '-') || ':' || coalesce(reviewed_utc, '-'), ';') FROM advisories",
             a, sizeof a);
    sql_text(l, "SELECT group_concat(id || ':' || status || ':' || updated_utc, ';') FROM signals", b,
             sizeof b);
    sql_text(l,
             "SELECT group_concat(id || ':' || content_sha256 || ':' || coalesce(advisory_id, '-'), "
             "';') FROM library_versions",
             c, sizeof c);
    sql_text(l, "SELECT count(*) || ':' || coalesce(max(hash), '') FROM audit_log", d, sizeof d);
    snprintf(out, size, "%s|%s|%s|%s", a, b, c, d);
}

/* ---- fixture ------------------------------------------------------------------------------ */

#define N_PARENT 20
static const double cons_mz[4] = {57.0, 91.1, 119.0, 134.2};
static const float cons_in[4] = {200, 1000, 400, 100};
static const double want_mz[4] = {57, 91, 119, 134};
static const float want_in[4] = {200, 999, 400, 100};

typedef struct fixture {
    char parent[320], ledger[320], out[320];
    npsw_ledger *l;
    char parent_sha[65];
} fixture;

/* A synthetic parent library of N_PARENT spectra (pseudo-random peaks, accessions SYN-i), plus
 * `extra_accession` as one more entry's accession when not NULL. */
static void write_parent(const char *path, const char *extra_accession, char sha[65])
{
    size_t n = N_PARENT + (extra_accession != NULL);
    npsw_spectrum *s = calloc(n, sizeof *s);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        npsw_spectrum_init(&s[i]);
        for (int k = 0; k < 8; k++) {
            x = x * 1103515245u + 12345u;
            double mz = 30 + (x >> 8) % 270;
            x = x * 1103515245u + 12345u;
            assert_int_equal(npsw_spectrum_push(&s[i], mz, (float)(1 + (x >> 8) % 999)), 0);
        }
        char name[48], acc[48];
        snprintf(name, sizeof name, "synthetic parent %zu", i);
        snprintf(acc, sizeof acc, "SYN-%zu", i);
        assert_int_equal(npsw_spectrum_set_meta(&s[i], NPSW_META_NAME, name, (size_t)-1), 0);
        assert_int_equal(npsw_spectrum_set_meta(&s[i], NPSW_META_ACCESSION,
                                                i == N_PARENT ? extra_accession : acc, (size_t)-1),
                         0);
    }
    npsw_clean_opts co = npsw_clean_opts_default();
    npsw_err e;
    npsw_lib *lib = npsw_lib_build(s, n, &co, "synthetic", "5.0", NULL, 0, NULL, &e);
    assert_non_null(lib);
    assert_int_equal(npsw_lib_write(lib, path, &e), 0);
    snprintf(sha, 65, "%s", npsw_lib_get_info(lib)->content_sha256);
    npsw_lib_free(lib);
    for (size_t i = 0; i < n; i++) npsw_spectrum_free(&s[i]);
    free(s);
}

/* Insert a signal with the given consensus peaks (n = 0: NULL consensus). */
static void insert_signal(npsw_ledger *l, int64_t id, const double *mz, const float *in, int n,
                          int labs, int subs, const char *cls)
{
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    for (int k = 0; k < n; k++) assert_int_equal(npsw_spectrum_push(&s, mz[k], in[k]), 0);
    unsigned char buf[12 * 16];
    npsw_ledger_peaks_encode(&s, buf);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(npsw_ledger_db(l),
                                        "INSERT INTO signals (id, created_utc, updated_utc, "
                                        "status, n_labs, n_submissions, countries, "
                                        "first_seen_utc, last_seen_utc, score, predicted_class, "
                                        "consensus_peaks) VALUES (?, '2026-11-01T00:00:00Z', "
                                        "'2026-11-01T00:00:00Z', 'advised', ?, ?, 'BE,DE,FR', "
                                        "'2026-10-01T00:00:00Z', '2026-10-30T00:00:00Z', 0.8, ?, ?)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int(st, 2, labs);
    sqlite3_bind_int(st, 3, subs);
    sqlite3_bind_text(st, 4, cls, -1, SQLITE_STATIC);
    if (n) sqlite3_bind_blob(st, 5, buf, 12 * n, SQLITE_STATIC);
    else sqlite3_bind_null(st, 5);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    npsw_spectrum_free(&s);
}

/* A ledger with: signal 1 (the consensus above, 3 labs, 5 submissions, cathinone), signal 2
 * (another consensus), signal 3 (no consensus); advisories 1 NPSW-2026-0001 (draft, signal 1),
 * 2 NPSW-2026-0002 (draft, signal 2), 3 NPSW-2026-0003 (accepted), 4 NPSW-2026-0004 (draft,
 * signal 3). With record_parent, the parent library is in library_versions with its path. */
static void fixture_make(fixture *f, int record_parent)
{
    memset(f, 0, sizeof *f);
    counter++;
    snprintf(f->parent, sizeof f->parent, "%s/parent%d.h5", dir, counter);
    snprintf(f->ledger, sizeof f->ledger, "%s/ledger%d.db", dir, counter);
    snprintf(f->out, sizeof f->out, "%s/new%d.h5", dir, counter);
    write_parent(f->parent, NULL, f->parent_sha);
    npsw_err e;
    f->l = npsw_ledger_open(f->ledger, NPSW_LEDGER_CREATE, "test", NULL, &e);
    if (!f->l) print_error("ledger: %s\n", e.msg);
    assert_non_null(f->l);
    static const double mz2[3] = {44, 72, 100};
    static const float in2[3] = {999, 500, 250};
    insert_signal(f->l, 1, cons_mz, cons_in, 4, 3, 5, "cathinone");
    insert_signal(f->l, 2, mz2, in2, 3, 2, 2, "");
    insert_signal(f->l, 3, NULL, NULL, 0, 2, 3, "opioid");
    sql(f->l, "INSERT INTO advisories (id, advisory_key, version, signal_id, state, created_utc) "
              "VALUES (1, 'NPSW-2026-0001', 1, 1, 'draft', '2026-11-02T00:00:00Z'), "
              "(2, 'NPSW-2026-0002', 1, 2, 'draft', '2026-11-02T00:00:00Z'), "
              "(3, 'NPSW-2026-0003', 1, 2, 'accepted', '2026-11-02T00:00:00Z'), "
              "(4, 'NPSW-2026-0004', 1, 3, 'draft', '2026-11-02T00:00:00Z')");
    if (record_parent) {
        char *q = sqlite3_mprintf("INSERT INTO library_versions (name, version, content_sha256, "
                                  "file_path, created_utc) VALUES ('synthetic', '5.0', %Q, %Q, "
                                  "'2026-01-01T00:00:00Z')",
                                  f->parent_sha, f->parent);
        sql(f->l, q);
        sqlite3_free(q);
    }
}

static void fixture_free(fixture *f) { npsw_ledger_close(f->l); }

static npsw_curate_opts accept_opts(const char *advisory, const char *out)
{
    return (npsw_curate_opts){.advisory = advisory, .actor = "cli:curator", .note = "checked",
                              .name = "4-CMC (early warning)", .out_path = out};
}

static void audit_ok(npsw_ledger *l)
{
    npsw_audit_report rep;
    npsw_err e;
    int rc = npsw_ledger_audit_verify(l, NULL, &rep, &e);
    if (rc) print_error("audit verify: %s\n", e.msg);
    assert_int_equal(rc, 0);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_accept(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 1);
    npsw_curate_opts o = accept_opts("NPSW-2026-0001", f.out);
    npsw_curate_result r;
    npsw_err e;
    int rc = npsw_curate_accept(f.l, &o, &r, &e);
    if (rc) print_error("accept: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_string_equal(r.state, "accepted");
    assert_int_equal(r.advisory_id, 1);
    assert_int_equal(r.signal_id, 1);
    assert_string_equal(r.parent_path, f.parent); /* the recorded library version's file */
    assert_string_equal(r.parent_sha256, f.parent_sha);
    assert_string_equal(r.library_version, "5.0.adv1");
    assert_string_equal(r.accession, "NPSW-2026-0001");
    assert_string_equal(r.entry_class, "cathinone"); /* the signal's predicted class */
    assert_int_equal(r.entry_index, N_PARENT);
    assert_int_equal(r.n_spectra, N_PARENT + 1);

    /* the new library: the parent's spectra unchanged, then the consensus */
    npsw_lib *parent = npsw_lib_open(f.parent, &e), *lib = npsw_lib_open(f.out, &e);
    assert_non_null(parent);
    assert_non_null(lib);
    assert_int_equal(npsw_lib_verify(lib, &e), 0);
    const npsw_lib_info *li = npsw_lib_get_info(lib);
    assert_string_equal(li->content_sha256, r.library_sha256);
    assert_string_equal(li->version, "5.0.adv1");
    assert_string_equal(li->name, "synthetic");
    assert_int_equal(npsw_lib_size(lib), N_PARENT + 1);
    for (uint64_t i = 0; i < N_PARENT; i++) {
        npsw_peaks a = npsw_lib_peaks(parent, i), b = npsw_lib_peaks(lib, i);
        assert_int_equal(a.n, b.n);
        assert_memory_equal(a.mz, b.mz, a.n * sizeof *a.mz);
        assert_memory_equal(a.in, b.in, a.n * sizeof *a.in);
        char an[64];
        snprintf(an, sizeof an, "%s", npsw_lib_meta(parent, i, NPSW_META_ACCESSION));
        assert_string_equal(npsw_lib_meta(lib, i, NPSW_META_ACCESSION), an);
    }
    npsw_peaks last = npsw_lib_peaks(lib, N_PARENT);
    assert_int_equal(last.n, 4);
    for (int k = 0; k < 4; k++) {
        assert_true(last.mz[k] == want_mz[k]);
        assert_true(last.in[k] == want_in[k]);
    }
    assert_string_equal(npsw_lib_meta(lib, N_PARENT, NPSW_META_NAME), "4-CMC (early warning)");
    assert_string_equal(npsw_lib_meta(lib, N_PARENT, NPSW_META_ACCESSION), "NPSW-2026-0001");
    assert_string_equal(npsw_lib_meta(lib, N_PARENT, NPSW_META_CLASS), "cathinone");
    const char *cm = npsw_lib_meta(lib, N_PARENT, NPSW_META_COMMENTS);
    assert_non_null(strstr(cm, "accepted npswatch advisory NPSW-2026-0001"));
    assert_non_null(strstr(cm, "5 submissions from 3 laboratories"));
    assert_non_null(strstr(cm, "not a certified reference standard"));

    /* searching the consensus finds the new entry first, MF 999 */
    npsw_spectrum q;
    npsw_spectrum_init(&q);
    for (int k = 0; k < 4; k++) assert_int_equal(npsw_spectrum_push(&q, cons_mz[k], cons_in[k]), 0);
    assert_true(npsw_clean(&q, &li->clean, NULL) == 4);
    npsw_search_opts so = npsw_search_opts_default();
    npsw_hit hits[5];
    uint32_t nh = 0;
    assert_int_equal(npsw_search(lib, &q, 1, &so, hits, &nh, NULL, &e), 0);
    assert_true(nh >= 1);
    assert_int_equal(hits[0].index, N_PARENT);
    assert_int_equal((int)(hits[0].all.mf * 999 + 0.5), 999);
    npsw_spectrum_free(&q);

    /* lineage */
    const npsw_lib_lineage *g = &li->lineage;
    assert_string_equal(g->parent_sha256, f.parent_sha);
    assert_string_equal(g->parent_version, "5.0");
    assert_string_equal(g->advisory_key, "NPSW-2026-0001");
    assert_int_equal(g->advisory_id, 1);
    assert_int_equal(g->n_added, 1);
    assert_int_equal(g->added[0].index, N_PARENT);
    assert_string_equal(g->added[0].accession, "NPSW-2026-0001");
    assert_non_null(strstr(g->added[0].reason, "NPSW-2026-0001"));
    assert_int_equal(g->n_ancestors, 1);
    assert_string_equal(g->ancestors[0].content_sha256, f.parent_sha);

    /* the ledger */
    char buf[1024];
    assert_string_equal(sql_text(f.l, "SELECT state || '|' || reviewer || '|' || note FROM advisories WHERE id = 1", buf, sizeof buf),
                        "accepted|cli:curator|checked");
    assert_int_equal(sql_int(f.l, "SELECT reviewed_utc IS NOT NULL FROM advisories WHERE id = 1"), 1);
    assert_string_equal(sql_text(f.l, "SELECT status FROM signals WHERE id = 1", buf, sizeof buf), "closed");
    assert_string_equal(sql_text(f.l, "SELECT status FROM signals WHERE id = 2", buf, sizeof buf), "advised");
    char q2[256];
    snprintf(q2, sizeof q2,
             "SELECT parent_sha256 || '|' || advisory_id || '|' || version || '|' || file_path FROM "
             "library_versions WHERE content_sha256 = '%s'",
             r.library_sha256);
    char want[4200], real[4096];
    assert_non_null(realpath(f.out, real));
    snprintf(want, sizeof want, "%s|1|5.0.adv1|%s", f.parent_sha, real);
    assert_string_equal(sql_text(f.l, q2, buf, sizeof buf), want);
    assert_int_equal(sql_int(f.l, "SELECT count(*) FROM library_versions"), 2);
    assert_string_equal(sql_text(f.l, "SELECT action || '|' || actor || '|' || object FROM audit_log ORDER BY seq DESC LIMIT 1", buf, sizeof buf),
                        "advisory.accept|cli:curator|advisory:1");
    assert_int_equal(sql_int(f.l, "SELECT max(seq) FROM audit_log"), r.audit_seq);
    assert_string_equal(sql_text(f.l, "SELECT json_extract(details, '$.library_sha256') FROM audit_log ORDER BY seq DESC LIMIT 1", buf, sizeof buf),
                        r.library_sha256);
    assert_string_equal(sql_text(f.l, "SELECT json_extract(details, '$.parent_sha256') FROM audit_log ORDER BY seq DESC LIMIT 1", buf, sizeof buf),
                        f.parent_sha);
    audit_ok(f.l);

    /* accepting twice fails, naming the state, and changes nothing */
    char before[8192], after[8192], out2[340];
    snapshot(f.l, before, sizeof before);
    snprintf(out2, sizeof out2, "%s.again.h5", f.out);
    o = accept_opts("1", out2);
    assert_int_equal(npsw_curate_accept(f.l, &o, &r, &e), NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "is accepted"));
    assert_non_null(strstr(e.msg, "only a draft"));
    assert_int_equal(access(out2, F_OK), -1);
    npsw_curate_opts rj = {.advisory = "NPSW-2026-0001", .actor = "cli:curator"};
    assert_int_equal(npsw_curate_reject(f.l, &rj, &r, &e), NPSW_EINVAL);
    snapshot(f.l, after, sizeof after);
    assert_string_equal(before, after);

    npsw_lib_free(parent);
    npsw_lib_free(lib);
    fixture_free(&f);
}

/* A second accepted advisory goes on the newest version by default: the ancestry grows. */
static void test_accept_chain(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 1);
    npsw_curate_opts o = accept_opts("NPSW-2026-0001", f.out);
    npsw_curate_result r1, r2;
    npsw_err e;
    assert_int_equal(npsw_curate_accept(f.l, &o, &r1, &e), 0);
    char out2[340];
    snprintf(out2, sizeof out2, "%s.v2.h5", f.out);
    o = accept_opts("2", out2);
    o.name = "second substance";
    o.class_name = "phenethylamine";
    o.lib_version = "6.0";
    int rc = npsw_curate_accept(f.l, &o, &r2, &e);
    if (rc) print_error("accept: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_string_equal(r2.parent_sha256, r1.library_sha256);
    assert_int_equal(r2.entry_index, N_PARENT + 1);
    npsw_lib *a = npsw_lib_open(f.out, &e), *b = npsw_lib_open(out2, &e);
    assert_non_null(a);
    assert_non_null(b);
    const npsw_lib_info *bi = npsw_lib_get_info(b);
    assert_string_equal(bi->version, "6.0");
    assert_int_equal(npsw_lib_size(b), N_PARENT + 2);
    /* the first accepted entry keeps its index */
    assert_string_equal(npsw_lib_meta(b, N_PARENT, NPSW_META_ACCESSION), "NPSW-2026-0001");
    assert_string_equal(npsw_lib_meta(b, N_PARENT + 1, NPSW_META_ACCESSION), "NPSW-2026-0002");
    assert_string_equal(npsw_lib_meta(b, N_PARENT + 1, NPSW_META_CLASS), "phenethylamine");
    assert_non_null(strstr(npsw_lib_meta(b, N_PARENT + 1, NPSW_META_COMMENTS),
                           "2 submissions from 2 laboratories"));
    const npsw_lib_lineage *g = &bi->lineage;
    assert_int_equal(g->n_ancestors, 2);
    assert_string_equal(g->ancestors[0].content_sha256, f.parent_sha);
    assert_string_equal(g->ancestors[0].advisory_key, "");
    assert_string_equal(g->ancestors[1].content_sha256, r1.library_sha256);
    assert_string_equal(g->ancestors[1].version, "5.0.adv1");
    assert_string_equal(g->ancestors[1].advisory_key, "NPSW-2026-0001");
    assert_string_equal(g->advisory_key, "NPSW-2026-0002");
    char buf[256];
    assert_string_equal(sql_text(f.l, "SELECT group_concat(coalesce(advisory_id, '-'), ',') FROM (SELECT advisory_id FROM library_versions ORDER BY id)", buf, sizeof buf),
                        "-,1,2");
    audit_ok(f.l);
    npsw_lib_free(a);
    npsw_lib_free(b);
    fixture_free(&f);
}

static void test_reject(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 1);
    npsw_curate_opts o = {.advisory = "NPSW-2026-0002", .actor = "cli:curator", .note = "artefact"};
    npsw_curate_result r;
    npsw_err e;
    assert_int_equal(npsw_curate_reject(f.l, &o, &r, &e), 0);
    assert_string_equal(r.state, "rejected");
    assert_int_equal(r.advisory_id, 2);
    char buf[512];
    assert_string_equal(sql_text(f.l, "SELECT state || '|' || reviewer || '|' || note FROM advisories WHERE id = 2", buf, sizeof buf),
                        "rejected|cli:curator|artefact");
    assert_int_equal(sql_int(f.l, "SELECT reviewed_utc IS NOT NULL FROM advisories WHERE id = 2"), 1);
    assert_string_equal(sql_text(f.l, "SELECT status FROM signals WHERE id = 2", buf, sizeof buf), "advised");
    assert_int_equal(sql_int(f.l, "SELECT count(*) FROM library_versions"), 1);
    assert_string_equal(sql_text(f.l, "SELECT action || '|' || object || '|' || json_extract(details, '$.note') FROM audit_log ORDER BY seq DESC LIMIT 1", buf, sizeof buf),
                        "advisory.reject|advisory:2|artefact");
    audit_ok(f.l);
    /* a rejected advisory cannot be accepted, nor rejected again; an accepted one not rejected */
    npsw_curate_opts a = accept_opts("2", f.out);
    assert_int_equal(npsw_curate_accept(f.l, &a, &r, &e), NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "is rejected"));
    assert_int_equal(access(f.out, F_OK), -1);
    assert_int_equal(npsw_curate_reject(f.l, &o, &r, &e), NPSW_EINVAL);
    o.advisory = "3";
    assert_int_equal(npsw_curate_reject(f.l, &o, &r, &e), NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "is accepted"));
    assert_string_equal(r.state, "accepted");
    fixture_free(&f);
}

/* The library file cannot be written: the ledger is not touched. */
static void test_unwritable_output(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 1);
    char before[8192], after[8192], bad[400];
    snapshot(f.l, before, sizeof before);
    snprintf(bad, sizeof bad, "%s/no/such/dir/new.h5", dir);
    npsw_curate_opts o = accept_opts("NPSW-2026-0001", bad);
    npsw_curate_result r;
    npsw_err e;
    assert_true(npsw_curate_accept(f.l, &o, &r, &e) < 0);
    assert_non_null(strstr(e.where, "no/such/dir"));
    assert_int_equal(r.sqlite_code, 0);
    snapshot(f.l, after, sizeof after);
    assert_string_equal(before, after);
    audit_ok(f.l);
    /* and the advisory can still be accepted afterwards */
    o = accept_opts("NPSW-2026-0001", f.out);
    assert_int_equal(npsw_curate_accept(f.l, &o, &r, &e), 0);
    fixture_free(&f);
}

/* The ledger transaction fails after the file was written (a trigger makes the library_versions
 * insert abort): everything is rolled back and the new file removed. */
static void test_ledger_failure_removes_file(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 0);
    sql(f.l, "CREATE TRIGGER inject_failure BEFORE INSERT ON library_versions WHEN "
             "NEW.advisory_id IS NOT NULL BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
    char before[8192], after[8192];
    snapshot(f.l, before, sizeof before);
    npsw_curate_opts o = accept_opts("NPSW-2026-0001", f.out);
    o.parent_path = f.parent; /* nothing recorded: -l */
    npsw_curate_result r;
    npsw_err e;
    assert_true(npsw_curate_accept(f.l, &o, &r, &e) < 0);
    assert_non_null(strstr(e.msg, "injected failure"));
    assert_int_equal(access(f.out, F_OK), -1); /* removed */
    snapshot(f.l, after, sizeof after);
    assert_string_equal(before, after); /* not even the parent's row */
    audit_ok(f.l);
    sql(f.l, "DROP TRIGGER inject_failure");
    assert_int_equal(npsw_curate_accept(f.l, &o, &r, &e), 0);
    assert_int_equal(access(f.out, F_OK), 0);
    /* given with -l, the parent is recorded too (without a parent of its own) */
    char buf[256], want[256];
    snprintf(want, sizeof want, "-:-,%s:1", f.parent_sha);
    assert_string_equal(sql_text(f.l, "SELECT group_concat(coalesce(parent_sha256, '-') || ':' || coalesce(advisory_id, '-'), ',') FROM (SELECT * FROM library_versions ORDER BY id)", buf, sizeof buf),
                        want);
    fixture_free(&f);
}

static void test_bad_input(void **state)
{
    (void)state;
    fixture f;
    fixture_make(&f, 0);
    char before[8192], after[8192];
    snapshot(f.l, before, sizeof before);
    npsw_curate_result r;
    npsw_err e;
    npsw_curate_opts o = accept_opts("NPSW-2099-9999", f.out);
    o.parent_path = f.parent;
    assert_int_equal(npsw_curate_accept(f.l, &o, &r, &e), NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "no advisory with key 'NPSW-2099-9999'"));
    o.advisory = "99";
    assert_int_equal(npsw_curate_reject(f.l, &o, &r, &e), NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "no advisory with id '99'"));
    /* no name, no output, no actor */
    o = accept_opts("1", f.out);
    o.parent_path = f.parent;
    o.name = NULL;
    assert_int_equal(npsw_curate_accept(f.l, &o, &r, &e), NPSW_EINVAL);
    o = accept_opts("1", NULL);
    assert_int_equal(npsw_curate_accept(f.l, &o, &r, &e), NPSW_EINVAL);
    o = accept_opts("1", f.out);
    o.actor = NULL;
    assert_int_equal(npsw_curate_accept(f.l, &o, &r, &e), NPSW_EINVAL);
    /* no parent recorded and none given */
    o = accept_opts("1", f.out);
    assert_int_equal(npsw_curate_accept(f.l, &o, &r, &e), NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "-l"));
    /* a signal without a consensus spectrum */
    o = accept_opts("NPSW-2026-0004", f.out);
    o.parent_path = f.parent;
    assert_int_equal(npsw_curate_accept(f.l, &o, &r, &e), NPSW_EEMPTY);
    /* an existing output file is not replaced */
    o = accept_opts("1", f.parent);
    o.parent_path = f.parent;
    assert_int_equal(npsw_curate_accept(f.l, &o, &r, &e), NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "exists already"));
    /* the parent already holds the accession */
    char clash[340], clash_sha[65];
    snprintf(clash, sizeof clash, "%s/clash%d.h5", dir, counter);
    write_parent(clash, "NPSW-2026-0001", clash_sha);
    o = accept_opts("1", f.out);
    o.parent_path = clash;
    assert_int_equal(npsw_curate_accept(f.l, &o, &r, &e), NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "'NPSW-2026-0001'"));
    assert_non_null(strstr(e.msg, "already in the library"));
    assert_int_equal(access(f.out, F_OK), -1);
    snapshot(f.l, after, sizeof after);
    assert_string_equal(before, after);
    /* a recorded library whose file has changed since is refused */
    char *q = sqlite3_mprintf("INSERT INTO library_versions (name, version, content_sha256, "
                              "file_path, created_utc) VALUES ('x', '1', %Q, %Q, "
                              "'2026-01-01T00:00:00Z')",
                              "ab00000000000000000000000000000000000000000000000000000000000000",
                              f.parent);
    sql(f.l, q);
    sqlite3_free(q);
    snapshot(f.l, before, sizeof before);
    o = accept_opts("1", f.out);
    assert_int_equal(npsw_curate_accept(f.l, &o, &r, &e), NPSW_ECHECKSUM);
    snapshot(f.l, after, sizeof after);
    assert_string_equal(before, after);
    assert_int_equal(access(f.out, F_OK), -1);
    audit_ok(f.l);
    fixture_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept),
        cmocka_unit_test(test_accept_chain),
        cmocka_unit_test(test_reject),
        cmocka_unit_test(test_unwritable_output),
        cmocka_unit_test(test_ledger_failure_removes_file),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
