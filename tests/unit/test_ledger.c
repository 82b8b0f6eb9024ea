/* test_ledger.c - the lab-submissions ledger (npsw/ledger.h, docs/ledger.md): schema creation,
 * migration from a version-0 file, refusal of newer schemas and of files that are not ledgers,
 * token hashing, content addressing, transaction atomicity, the audit chain (its hash recomputed
 * here from the documented canonical text) and tampering detected with the right sequence
 * number. Spectra and results are synthetic and made here; tampering goes through a second,
 * raw SQLite connection, as an attacker with the file would. */
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

#include "npsw/hash.h"
#include "npsw/ledger.h"

static char dir[256];
static int counter;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/npsw_test_ledger.XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A fresh path in the scratch directory. */
static void new_path(char *path, size_t size, const char *stem)
{
    snprintf(path, size, "%s/%s%d.db", dir, stem, ++counter);
}

/* ---- raw SQL on the file (a second connection) ---------------------------------------- */

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) print_error("raw SQL failed: %s: %s\n", sql, msg ? msg : "?");
    sqlite3_free(msg);
    sqlite3_close(db);
    assert_int_equal(rc, SQLITE_OK);
}

/* Raw SQL that must fail; returns SQLite's message. */
static void raw_exec_fails(const char *path, const char *sql, const char *expect_in_msg)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    assert_int_not_equal(rc, SQLITE_OK);
    assert_non_null(msg);
    if (!strstr(msg, expect_in_msg)) print_error("message: %s\n", msg);
    assert_non_null(strstr(msg, expect_in_msg));
    sqlite3_free(msg);
    sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static int64_t lcount(npsw_ledger *l, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(npsw_ledger_db(l), sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static npsw_ledger *create(const char *path)
{
    npsw_err e;
    int created = -1;
    npsw_ledger *l = npsw_ledger_open(path, NPSW_LEDGER_CREATE, "test", &created, &e);
    if (!l) print_error("open %s: %s\n", path, e.msg);
    assert_non_null(l);
    assert_int_equal(created, 1);
    return l;
}

/* ---- synthetic submissions -------------------------------------------------------------- */

typedef struct sub_fixture {
    npsw_spectrum s[3];
    npsw_ledger_result r[3];
    npsw_ledger_spectrum sp[3];
    npsw_ledger_submission sub;
} sub_fixture;

static const char run_json[] =
    "{\"record\":\"run\",\"npswatch_version\":\"test\",\"library_sha256\":"
    "\"1111111111111111111111111111111111111111111111111111111111111111\"}";

static void fixture_make(sub_fixture *f, int64_t lab, const char *bytes)
{
    memset(f, 0, sizeof *f);
    for (int i = 0; i < 3; i++) {
        npsw_spectrum_init(&f->s[i]);
        for (int k = 0; k < 2 + i; k++)
            assert_int_equal(npsw_spectrum_push(&f->s[i], 41.0 + 13 * k + i, (float)(999 - 100 * k)), 0);
        char name[32];
        snprintf(name, sizeof name, "unknown %d", i + 1);
        assert_int_equal(npsw_spectrum_set_meta(&f->s[i], NPSW_META_NAME, name, (size_t)-1), 0);
        f->s[i].src_line = 1 + 10 * (uint64_t)i;
        f->r[i] = (npsw_ledger_result){.run_json = run_json,
                                       .verdict = i == 2 ? "analogue" : "in_library",
                                       .confidence = 0.7,
                                       .p_in_library = 0.7,
                                       .p_analogue = 0.2,
                                       .best_index = 5 + i,
                                       .best_name = "Ephedrine",
                                       .best_inchikey = "KWGRBVOPPLSCSI-UHFFFAOYSA-N",
                                       .best_score = 0.9,
                                       .best_mf = 900,
                                       .best_rmf = 910,
                                       .analogue_index = i == 2 ? 7 : 0,
                                       .analogue_name = i == 2 ? "Methcathinone" : NULL,
                                       .analogue_delta = 14.016,
                                       .analogue_score = 0.8,
                                       .substituents = "+CH2 (+14.016)",
                                       .predicted_class = "cathinone",
                                       .class_confidence = 0.6,
                                       .diagnostic_ions = "58:phenethylamine",
                                       .analysis_json = "{\"record\":\"analysis\"}"};
        f->sp[i] = (npsw_ledger_spectrum){&f->s[i], (uint32_t)(i + 1), NPSW_SPECTRUM_ANALYSED,
                                          &f->r[i]};
    }
    f->sub = (npsw_ledger_submission){
        .lab_id = lab,
        .actor = NULL,
        .token_verified = 1,
        .file_name = "batch.msp",
        .bytes = bytes,
        .len = strlen(bytes),
        .format = "msp",
        .n_skipped = 0,
        .report_json = "{\"format\":\"msp\",\"spectra_read\":3}",
        .library_name = "test lib",
        .library_version = "1",
        .library_sha256 = "1111111111111111111111111111111111111111111111111111111111111111",
        .library_path = "test.h5",
        .spectra = f->sp,
        .n_spectra = 3,
    };
}

static void fixture_free(sub_fixture *f)
{
    for (int i = 0; i < 3; i++) npsw_spectrum_free(&f->s[i]);
}

static const char file_a[] = "Name: unknown 1\nNum Peaks: 2\n41 999\n54 899\n";
static const char file_b[] = "Name: something else\nNum Peaks: 1\n77 999\n";

static int64_t add_lab(npsw_ledger *l, const char *name, char token[NPSW_LEDGER_TOKEN_LEN + 1])
{
    char tok[NPSW_LEDGER_TOKEN_LEN + 1];
    int64_t id = 0;
    npsw_err e;
    int rc = npsw_ledger_lab_add(l, name, "de", NPSW_ROLE_LAB, "test", &id, token ? token : tok, &e);
    if (rc < 0) print_error("lab_add: %s\n", e.msg);
    assert_int_equal(rc, 0);
    assert_true(id > 0);
    return id;
}

static int64_t submit(npsw_ledger *l, int64_t lab, const char *bytes)
{
    sub_fixture f;
    fixture_make(&f, lab, bytes);
    int64_t id = 0;
    npsw_err e;
    int rc = npsw_ledger_submit(l, &f.sub, &id, &e);
    if (rc < 0) print_error("submit: %s\n", e.msg);
    assert_int_equal(rc, 0);
    fixture_free(&f);
    return id;
}

/* A ledger with two labs and two submissions: audit entries 1 ledger.create, 2 lab.add,
 * 3 lab.add, 4 submit (submission 1), 5 submit (submission 2). */
static void make_populated(char *path, size_t size)
{
    new_path(path, size, "pop");
    npsw_ledger *l = create(path);
    int64_t a = add_lab(l, "Lab A", NULL), b = add_lab(l, "Lab B", NULL);
    assert_int_equal(submit(l, a, file_a), 1);
    assert_int_equal(submit(l, b, file_b), 2);
    npsw_ledger_close(l);
}

static int verify(const char *path, const char *head, npsw_audit_report *rep)
{
    npsw_err e;
    npsw_ledger *l = npsw_ledger_open(path, 0, NULL, NULL, &e);
    if (!l) print_error("open %s: %s\n", path, e.msg);
    assert_non_null(l);
    int rc = npsw_ledger_audit_verify(l, head, rep, &e);
    if (rc != 0 && rc != NPSW_ECHECKSUM) print_error("verify: %s\n", e.msg);
    npsw_ledger_close(l);
    return rc;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_schema_created(void **state)
{
    (void)state;
    char path[320];
    new_path(path, sizeof path, "schema");
    npsw_ledger *l = create(path);
    assert_int_equal(npsw_ledger_schema_version(l), NPSW_LEDGER_SCHEMA_VERSION);
    static const char *const tables[] = {"advisories", "audit_log", "blobs", "labs",
                                         "library_versions", "results", "schema_migrations",
                                         "signal_members", "signals", "spectra", "submissions"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) assert_int_equal(lcount(l, tables[i]) >= 0, 1);
    npsw_ledger_info info;
    npsw_err e;
    assert_int_equal(npsw_ledger_get_info(l, &info, &e), 0);
    assert_int_equal(info.n_tables, sizeof tables / sizeof tables[0]);
    for (size_t i = 0; i < info.n_tables; i++) assert_string_equal(info.tables[i].name, tables[i]);
    assert_string_equal(info.journal_mode, "wal");
    assert_int_equal(info.audit_head_seq, 1);
    /* per connection: foreign keys on */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(npsw_ledger_db(l), "PRAGMA foreign_keys", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    /* a foreign key is enforced: a submission of a lab that does not exist */
    sub_fixture f;
    fixture_make(&f, 42, file_a);
    int64_t id;
    assert_int_equal(npsw_ledger_submit(l, &f.sub, &id, &e), NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "FOREIGN KEY"));
    fixture_free(&f);
    npsw_ledger_close(l);
    assert_int_equal(raw_int(path, "PRAGMA user_version"), NPSW_LEDGER_SCHEMA_VERSION);
    assert_int_equal(raw_int(path, "PRAGMA application_id"), NPSW_LEDGER_APPLICATION_ID);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM schema_migrations"), 1);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM audit_log WHERE action = 'ledger.create'"), 1);
    /* opening again changes nothing */
    int created = -1;
    l = npsw_ledger_open(path, NPSW_LEDGER_CREATE, "test", &created, &e);
    assert_non_null(l);
    assert_int_equal(created, 0);
    npsw_ledger_close(l);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM audit_log"), 1);
}

static void test_migrate_from_version_0(void **state)
{
    (void)state;
    char path[320], zero[320];
    /* a version-0 SQLite file: a database header, no schema objects, user_version 0 */
    new_path(path, sizeof path, "v0");
    raw_exec(path, "CREATE TABLE t (x); DROP TABLE t;");
    assert_int_equal(raw_int(path, "PRAGMA user_version"), 0);
    npsw_err e;
    /* without CREATE it is not taken for a ledger, and left alone */
    assert_null(npsw_ledger_open(path, 0, NULL, NULL, &e));
    assert_int_equal(e.code, NPSW_EFORMAT);
    assert_non_null(strstr(e.msg, "ledger init"));
    assert_int_equal(raw_int(path, "PRAGMA user_version"), 0);
    npsw_ledger *l = create(path);
    assert_int_equal(npsw_ledger_schema_version(l), NPSW_LEDGER_SCHEMA_VERSION);
    npsw_ledger_close(l);
    assert_int_equal(raw_int(path, "PRAGMA user_version"), NPSW_LEDGER_SCHEMA_VERSION);
    assert_int_equal(raw_int(path, "SELECT max(version) FROM schema_migrations"), NPSW_LEDGER_SCHEMA_VERSION);
    /* a zero-byte file is version 0 too */
    new_path(zero, sizeof zero, "zero");
    FILE *fz = fopen(zero, "wb");
    assert_non_null(fz);
    fclose(fz);
    l = create(zero);
    npsw_ledger_close(l);
    assert_int_equal(raw_int(zero, "PRAGMA user_version"), NPSW_LEDGER_SCHEMA_VERSION);
}

static void test_refuse_newer_and_foreign(void **state)
{
    (void)state;
    char path[320];
    npsw_err e;
    new_path(path, sizeof path, "newer");
    npsw_ledger_close(create(path));
    raw_exec(path, "PRAGMA user_version = 99");
    assert_null(npsw_ledger_open(path, 0, NULL, NULL, &e));
    assert_int_equal(e.code, NPSW_EVERSION);
    assert_non_null(strstr(e.msg, "99"));
    assert_non_null(strstr(e.msg, "newer npswatch"));
    assert_null(npsw_ledger_open(path, NPSW_LEDGER_CREATE, NULL, NULL, &e));
    assert_int_equal(e.code, NPSW_EVERSION);
    assert_int_equal(raw_int(path, "PRAGMA user_version"), 99);

    /* another application's SQLite database: refused, not even its journal mode changes */
    new_path(path, sizeof path, "foreign");
    raw_exec(path, "CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('keep me');");
    assert_null(npsw_ledger_open(path, NPSW_LEDGER_CREATE, NULL, NULL, &e));
    assert_int_equal(e.code, NPSW_EFORMAT);
    assert_non_null(strstr(e.msg, "not an npswatch ledger"));
    assert_int_equal(raw_int(path, "SELECT count(*) FROM notes"), 1);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master"), 1);

    /* not SQLite at all: refused, bytes untouched */
    new_path(path, sizeof path, "text");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    static const char text[] = "Name: a spectrum, not a database\nNum Peaks: 1\n41 999\n";
    fputs(text, f);
    fclose(f);
    assert_null(npsw_ledger_open(path, NPSW_LEDGER_CREATE, NULL, NULL, &e));
    assert_int_equal(e.code, NPSW_EFORMAT);
    char buf[256] = {0};
    f = fopen(path, "rb");
    assert_non_null(f);
    size_t got = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    assert_int_equal(got, strlen(text));
    assert_string_equal(buf, text);

    /* missing file without CREATE */
    new_path(path, sizeof path, "missing");
    assert_null(npsw_ledger_open(path, 0, NULL, NULL, &e));
    assert_int_equal(e.code, NPSW_EIO);
    assert_non_null(strstr(e.msg, "ledger init"));
    assert_int_equal(access(path, F_OK), -1);
}

static void test_tokens_and_labs(void **state)
{
    (void)state;
    char path[320], t1[NPSW_LEDGER_TOKEN_LEN + 1], t2[NPSW_LEDGER_TOKEN_LEN + 1];
    new_path(path, sizeof path, "tokens");
    npsw_ledger *l = create(path);
    int64_t a = add_lab(l, "Lab A", t1), b = add_lab(l, "Lab B", t2);
    assert_int_equal(strlen(t1), NPSW_LEDGER_TOKEN_LEN);
    assert_memory_equal(t1, "npsw_", 5);
    assert_int_equal(strspn(t1 + 5, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    assert_string_not_equal(t1, t2);
    npsw_err e;
    assert_int_equal(npsw_ledger_lab_check_token(l, a, t1, &e), 1);
    assert_int_equal(npsw_ledger_lab_check_token(l, b, t2, &e), 1);
    assert_int_equal(npsw_ledger_lab_check_token(l, a, t2, &e), 0); /* another lab's token */
    char wrong[NPSW_LEDGER_TOKEN_LEN + 1];
    memcpy(wrong, t1, sizeof wrong);
    wrong[20] = wrong[20] == 'A' ? 'B' : 'A';
    assert_int_equal(npsw_ledger_lab_check_token(l, a, wrong, &e), 0);
    assert_int_equal(npsw_ledger_lab_check_token(l, a, "", &e), 0);
    assert_int_equal(npsw_ledger_lab_check_token(l, 99, t1, &e), NPSW_EINVAL);
    /* only the SHA-256 of the token is stored */
    char hex[65], sql[256];
    npsw_sha256_hex(t1, strlen(t1), hex);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM labs WHERE id = %lld AND token_sha256 = '%s'",
             (long long)a, hex);
    npsw_ledger_close(l);
    assert_int_equal(raw_int(path, sql), 1);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM labs WHERE instr(name || country || role || token_sha256, '%s')",
             t1 + 5);
    assert_int_equal(raw_int(path, sql), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit_log WHERE instr(details, '%s')", t1 + 5);
    assert_int_equal(raw_int(path, sql), 0);

    l = npsw_ledger_open(path, 0, NULL, NULL, &e);
    assert_non_null(l);
    npsw_ledger_lab lab;
    assert_int_equal(npsw_ledger_lab_find(l, "lab b", &lab, &e), 0); /* names ignore case */
    assert_int_equal(lab.id, b);
    assert_string_equal(lab.country, "DE");
    assert_int_equal(lab.role, NPSW_ROLE_LAB);
    assert_true(lab.has_token);
    char idtxt[32];
    snprintf(idtxt, sizeof idtxt, "%lld", (long long)a);
    assert_int_equal(npsw_ledger_lab_find(l, idtxt, &lab, &e), 0);
    assert_string_equal(lab.name, "Lab A");
    assert_int_equal(npsw_ledger_lab_find(l, "Lab C", &lab, &e), NPSW_EINVAL);
    assert_int_equal(npsw_ledger_lab_find(l, "77", &lab, &e), NPSW_EINVAL);
    /* refused: duplicate name (any case), all digits, bad country, control characters */
    int64_t id;
    char tok[NPSW_LEDGER_TOKEN_LEN + 1];
    assert_int_equal(npsw_ledger_lab_add(l, "LAB A", "FR", NPSW_ROLE_LAB, "t", &id, tok, &e), NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "already exists"));
    assert_int_equal(npsw_ledger_lab_add(l, "12345", "FR", NPSW_ROLE_LAB, "t", &id, tok, &e), NPSW_EINVAL);
    assert_int_equal(npsw_ledger_lab_add(l, "Lab UK", "UK", NPSW_ROLE_LAB, "t", &id, tok, &e), NPSW_EINVAL);
    assert_non_null(strstr(e.msg, "ISO 3166"));
    assert_int_equal(npsw_ledger_lab_add(l, "Lab\nX", "FR", NPSW_ROLE_LAB, "t", &id, tok, &e), NPSW_EINVAL);
    assert_int_equal(npsw_ledger_lab_add(l, "", "FR", NPSW_ROLE_LAB, "t", &id, tok, &e), NPSW_EINVAL);
    assert_int_equal(npsw_ledger_lab_add(l, "Curators", "gb", NPSW_ROLE_CURATOR, "t", &id, tok, &e), 0);
    assert_int_equal(npsw_ledger_lab_find(l, "Curators", &lab, &e), 0);
    assert_string_equal(lab.country, "GB");
    assert_int_equal(lab.role, NPSW_ROLE_CURATOR);
    assert_int_equal(lcount(l, "labs"), 3);
    npsw_ledger_close(l);
}

static void test_countries(void **state)
{
    (void)state;
    static const char *const ok[] = {"DE", "FR", "GB", "US", "NL", "AX", "ZW", "XK", "CW", "SS"};
    static const char *const bad[] = {"UK", "EU", "de", "D", "DEU", "", "ZZ", "XX", "1A"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) assert_true(npsw_ledger_country_valid(ok[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_false(npsw_ledger_country_valid(bad[i]));
    /* ISO 3166-1 has 249 officially assigned alpha-2 codes; XK makes 250 */
    int n = 0;
    char cc[3] = "AA";
    for (char x = 'A'; x <= 'Z'; x++)
        for (char y = 'A'; y <= 'Z'; y++) {
            cc[0] = x;
            cc[1] = y;
            n += npsw_ledger_country_valid(cc);
        }
    assert_int_equal(n, 250);
}

static void test_content_addressing(void **state)
{
    (void)state;
    char path[320];
    new_path(path, sizeof path, "blobs");
    npsw_ledger *l = create(path);
    int64_t a = add_lab(l, "Lab A", NULL), b = add_lab(l, "Lab B", NULL);
    assert_int_equal(submit(l, a, file_a), 1);
    assert_int_equal(submit(l, b, file_a), 2); /* the same bytes from another lab */
    assert_int_equal(submit(l, a, file_b), 3);
    assert_int_equal(lcount(l, "submissions"), 3);
    assert_int_equal(lcount(l, "blobs"), 2);
    assert_int_equal(lcount(l, "spectra"), 9);
    assert_int_equal(lcount(l, "results"), 9);
    assert_int_equal(lcount(l, "library_versions"), 1);
    char hex[65];
    npsw_sha256_hex(file_a, strlen(file_a), hex);
    void *data;
    size_t len;
    npsw_err e;
    assert_int_equal(npsw_ledger_blob_get(l, hex, &data, &len, &e), 0);
    assert_int_equal(len, strlen(file_a));
    assert_memory_equal(data, file_a, len);
    free(data);
    assert_int_equal(npsw_ledger_blob_get(l, "00", &data, &len, &e), NPSW_EINVAL);
    npsw_ledger_close(l);
    char sql[200];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM submissions WHERE sha256 = '%s'", hex);
    assert_int_equal(raw_int(path, sql), 2);
    snprintf(sql, sizeof sql, "SELECT size FROM blobs WHERE sha256 = '%s'", hex);
    assert_int_equal(raw_int(path, sql), (int64_t)strlen(file_a));
    /* spectra: position, source line and peaks as stored */
    assert_int_equal(raw_int(path, "SELECT src_line FROM spectra WHERE submission_id = 1 AND position = 3"), 21);
    assert_int_equal(raw_int(path, "SELECT n_peaks FROM spectra WHERE submission_id = 1 AND position = 3"), 4);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM results WHERE analogue_index IS NOT NULL"), 3);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM results WHERE best_mf = 900"), 9);
}

static void test_peaks_round_trip(void **state)
{
    (void)state;
    npsw_spectrum s, t;
    npsw_spectrum_init(&s);
    npsw_spectrum_init(&t);
    assert_int_equal(npsw_spectrum_push(&s, 41.0, 999.0f), 0);
    assert_int_equal(npsw_spectrum_push(&s, 105.0421, 12.5f), 0);
    unsigned char buf[24];
    npsw_ledger_peaks_encode(&s, buf);
    /* little-endian float64 m/z, then float32 intensities: 41.0 = 0x4044800000000000 */
    static const unsigned char mz0[8] = {0, 0, 0, 0, 0, 0x80, 0x44, 0x40};
    assert_memory_equal(buf, mz0, 8);
    static const unsigned char in0[4] = {0, 0xc0, 0x79, 0x44}; /* 999.0f = 0x4479c000 */
    assert_memory_equal(buf + 16, in0, 4);
    assert_int_equal(npsw_ledger_peaks_decode(buf, sizeof buf, &t), 2);
    assert_true(t.mz[1] == 105.0421 && t.intensity[1] == 12.5f);
    assert_int_equal(npsw_ledger_peaks_decode(buf, 23, &t), NPSW_EPARSE);
    npsw_spectrum_free(&s);
    npsw_spectrum_free(&t);
}

static void test_atomic_submission(void **state)
{
    (void)state;
    char path[320];
    new_path(path, sizeof path, "atomic");
    npsw_ledger *l = create(path);
    int64_t a = add_lab(l, "Lab A", NULL);
    int64_t audit0 = lcount(l, "audit_log");
    npsw_err e;
    int64_t id = -1;
    /* failure midway: the blob, the submission and the first spectrum and its result are
     * inserted, then the second spectrum breaks a CHECK constraint */
    sub_fixture f;
    fixture_make(&f, a, file_a);
    f.sp[1].status = (npsw_ledger_spectrum_status)7;
    assert_int_equal(npsw_ledger_submit(l, &f.sub, &id, &e), NPSW_EINVAL);
    assert_int_equal(id, -1);
    assert_non_null(strstr(e.msg, "CHECK"));
    fixture_free(&f);
    /* ... and later: the third spectrum's result is not JSON */
    fixture_make(&f, a, file_b);
    f.r[2].analysis_json = "{not json";
    assert_int_equal(npsw_ledger_submit(l, &f.sub, &id, &e), NPSW_EINVAL);
    fixture_free(&f);
    static const char *const tables[] = {"blobs", "submissions", "spectra", "results", "library_versions"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) assert_int_equal(lcount(l, tables[i]), 0);
    assert_int_equal(lcount(l, "audit_log"), audit0);
    /* the ledger goes on working, and the ids were not used up by the failures */
    assert_int_equal(submit(l, a, file_a), 1);
    assert_int_equal(lcount(l, "spectra"), 3);
    npsw_audit_report rep;
    assert_int_equal(npsw_ledger_audit_verify(l, NULL, &rep, &e), 0);
    npsw_ledger_close(l);
}

/* The documented canonical text (docs/ledger.md, "Audit log"), built here independently. */
static void expected_hash(const char *prev, long long seq, const char *utc, const char *actor,
                          const char *action, const char *object, const char *details,
                          char hex[65])
{
    char seqtxt[32], buf[4096];
    snprintf(seqtxt, sizeof seqtxt, "%lld", seq);
    const char *f[6] = {seqtxt, utc, actor, action, object, details};
    int n = snprintf(buf, sizeof buf, "%snpsw-audit-1", prev);
    for (int i = 0; i < 6; i++) n += snprintf(buf + n, sizeof buf - (size_t)n, "\n%zu:%s", strlen(f[i]), f[i]);
    npsw_sha256_hex(buf, (size_t)n, hex);
}

static void test_audit_chain(void **state)
{
    (void)state;
    char path[320];
    make_populated(path, sizeof path);
    npsw_audit_report rep;
    assert_int_equal(verify(path, NULL, &rep), 0);
    assert_int_equal(rep.n_entries, 5);
    assert_int_equal(rep.head_seq, 5);
    assert_int_equal(rep.n_submissions, 2);
    assert_int_equal(rep.n_blobs, 2);
    assert_int_equal(rep.bad_seq, 0);
    /* every stored hash recomputed from the documented canonical text */
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT seq, utc, actor, action, object, details, prev_hash, "
                                        "hash FROM audit_log ORDER BY seq",
                                        -1, &st, NULL),
                     SQLITE_OK);
    char prev[65] = "0000000000000000000000000000000000000000000000000000000000000000";
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *c[8];
        for (int i = 1; i < 8; i++) c[i] = (const char *)sqlite3_column_text(st, i);
        char hex[65];
        assert_string_equal(c[6], prev);
        expected_hash(prev, sqlite3_column_int64(st, 0), c[1], c[2], c[3], c[4], c[5], hex);
        assert_string_equal(hex, c[7]);
        memcpy(prev, hex, sizeof prev);
        rows++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    assert_int_equal(rows, 5);
    assert_string_equal(prev, rep.head_hash);
    /* the actors and actions */
    assert_int_equal(raw_int(path, "SELECT count(*) FROM audit_log WHERE action = 'submit' AND actor = 'lab:1' AND object = 'submission:1'"), 1);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM audit_log WHERE action = 'lab.add' AND actor = 'test'"), 2);
    /* the triggers keep the log append-only */
    raw_exec_fails(path, "UPDATE audit_log SET details = '{}' WHERE seq = 3", "append-only");
    raw_exec_fails(path, "DELETE FROM audit_log WHERE seq = 5", "append-only");
    raw_exec_fails(path,
                   "INSERT INTO audit_log VALUES (9, 'x', 'x', 'x', 'x', '{}', "
                   "'0000000000000000000000000000000000000000000000000000000000000000', "
                   "'0000000000000000000000000000000000000000000000000000000000000000')",
                   "must follow");
    raw_exec_fails(path, "DELETE FROM submissions WHERE id = 1", "cannot be deleted");
    raw_exec_fails(path, "UPDATE blobs SET size = 1", "cannot be changed");
    raw_exec_fails(path, "DELETE FROM results", "cannot be deleted");
    assert_int_equal(verify(path, NULL, &rep), 0);
}

static void test_tamper_update_detail(void **state)
{
    (void)state;
    char path[320];
    make_populated(path, sizeof path);
    raw_exec(path, "DROP TRIGGER audit_log_no_update; "
                   "UPDATE audit_log SET details = replace(details, '\"DE\"', '\"FR\"') WHERE seq = 3");
    npsw_audit_report rep;
    assert_int_equal(verify(path, NULL, &rep), NPSW_ECHECKSUM);
    assert_int_equal(rep.bad_seq, 3);
    assert_non_null(strstr(rep.problem, "entry 3 was modified"));
}

static void test_tamper_rehash(void **state)
{
    (void)state;
    /* entry 2 changed and its hash recomputed correctly: entry 3 no longer follows it */
    char path[320];
    make_populated(path, sizeof path);
    sqlite3 *db;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT utc, actor, action, object, prev_hash FROM audit_log WHERE seq = 2", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char c[5][128];
    for (int i = 0; i < 5; i++) snprintf(c[i], sizeof c[i], "%s", (const char *)sqlite3_column_text(st, i));
    sqlite3_finalize(st);
    sqlite3_close(db);
    const char *details = "{\"name\":\"Lab Z\",\"country\":\"DE\",\"role\":\"lab\"}";
    char hex[65], sql[512];
    expected_hash(c[4], 2, c[0], c[1], c[2], c[3], details, hex);
    snprintf(sql, sizeof sql, "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET details = '%s', hash = '%s' WHERE seq = 2", details, hex);
    raw_exec(path, sql);
    npsw_audit_report rep;
    assert_int_equal(verify(path, NULL, &rep), NPSW_ECHECKSUM);
    assert_int_equal(rep.bad_seq, 3);
    assert_non_null(strstr(rep.problem, "does not follow entry 2"));
}

static void test_tamper_delete_row(void **state)
{
    (void)state;
    char path[320];
    make_populated(path, sizeof path);
    raw_exec(path, "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 2");
    npsw_audit_report rep;
    assert_int_equal(verify(path, NULL, &rep), NPSW_ECHECKSUM);
    assert_int_equal(rep.bad_seq, 2);
    assert_non_null(strstr(rep.problem, "entry 2 is missing"));
}

static void test_tamper_data(void **state)
{
    (void)state;
    npsw_audit_report rep;
    char path[320];
    /* a spectrum renamed (no trigger stops it): the submit entry 5 no longer matches */
    make_populated(path, sizeof path);
    raw_exec(path, "UPDATE spectra SET name = 'renamed' WHERE submission_id = 2 AND position = 1");
    assert_int_equal(verify(path, NULL, &rep), NPSW_ECHECKSUM);
    assert_int_equal(rep.bad_seq, 5);
    assert_non_null(strstr(rep.problem, "submission 2"));
    /* a submission moved to another lab, triggers dropped: entry 4 */
    make_populated(path, sizeof path);
    raw_exec(path, "DROP TRIGGER submissions_no_update; UPDATE submissions SET lab_id = 2 WHERE id = 1");
    assert_int_equal(verify(path, NULL, &rep), NPSW_ECHECKSUM);
    assert_int_equal(rep.bad_seq, 4);
    /* a result deleted */
    make_populated(path, sizeof path);
    raw_exec(path, "DROP TRIGGER results_no_delete; DELETE FROM results WHERE id = 2");
    assert_int_equal(verify(path, NULL, &rep), NPSW_ECHECKSUM);
    assert_int_equal(rep.bad_seq, 4);
    /* a stored file's bytes replaced */
    make_populated(path, sizeof path);
    raw_exec(path, "DROP TRIGGER blobs_no_update; UPDATE blobs SET data = zeroblob(10) WHERE size = 41");
    assert_int_equal(verify(path, NULL, &rep), NPSW_ECHECKSUM);
    assert_non_null(strstr(rep.problem, "decompress"));
    /* a laboratory inserted behind the log's back */
    make_populated(path, sizeof path);
    raw_exec(path, "INSERT INTO labs (name, country, role, created_utc) VALUES ('Ghost', 'DE', 'admin', 'x')");
    assert_int_equal(verify(path, NULL, &rep), NPSW_ECHECKSUM);
    assert_non_null(strstr(rep.problem, "laboratory 3 has no lab.add"));
}

static void test_cut_tail_needs_head(void **state)
{
    (void)state;
    /* the last entry and what it recorded removed together leave a valid shorter chain; a head
     * hash recorded before (ledger info) catches it */
    char path[320];
    make_populated(path, sizeof path);
    npsw_audit_report rep;
    assert_int_equal(verify(path, NULL, &rep), 0);
    char head[65];
    memcpy(head, rep.head_hash, sizeof head);
    assert_int_equal(verify(path, head, &rep), 0);
    raw_exec(path, "PRAGMA foreign_keys = OFF; DROP TRIGGER audit_log_no_delete; DROP TRIGGER submissions_no_delete; "
                   "DROP TRIGGER spectra_no_delete; DROP TRIGGER results_no_delete; "
                   "DELETE FROM results WHERE spectrum_id IN (SELECT id FROM spectra WHERE submission_id = 2); "
                   "DELETE FROM spectra WHERE submission_id = 2; DELETE FROM submissions WHERE id = 2; "
                   "DELETE FROM audit_log WHERE seq = 5");
    assert_int_equal(verify(path, NULL, &rep), 0);
    assert_int_equal(verify(path, head, &rep), NPSW_ECHECKSUM);
    assert_non_null(strstr(rep.problem, "recorded head"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_created),
        cmocka_unit_test(test_migrate_from_version_0),
        cmocka_unit_test(test_refuse_newer_and_foreign),
        cmocka_unit_test(test_tokens_and_labs),
        cmocka_unit_test(test_countries),
        cmocka_unit_test(test_content_addressing),
        cmocka_unit_test(test_peaks_round_trip),
        cmocka_unit_test(test_atomic_submission),
        cmocka_unit_test(test_audit_chain),
        cmocka_unit_test(test_tamper_update_detail),
        cmocka_unit_test(test_tamper_rehash),
        cmocka_unit_test(test_tamper_delete_row),
        cmocka_unit_test(test_tamper_data),
        cmocka_unit_test(test_cut_tail_needs_head),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
