/* test_jcamp.c - the JCAMP-DX importer (spectra_db/src/jcamp.c).
 *
 * Files come from $NPSW_TEST_DATA/jcamp/ (all synthetic, see the "$$" first line of each); short
 * cases are inline. Expected values were worked out by hand from the JCAMP-DX rules; the
 * ASDF files carry the working in their "$$" comments.
 */
#include "test_util.h"

/* ---- helpers --------------------------------------------------------------------------- */

/* Open `text` as the JCAMP-DX file mem.jdx with the options `o` (NULL: the defaults). */
static void open_jcamp(fixture *f, const char *text, const npsw_read_opts *o)
{
    npsw_read_opts local = o ? *o : npsw_read_opts_default();
    local.format = NPSW_FMT_JCAMP;
    fixture_open(f, text, strlen(text), "mem.jdx", local);
}

/* tests/data/jcamp/NAME into `path`; NULL when NPSW_TEST_DATA is not set. */
static const char *jcamp_path(const char *name, char *path, size_t size)
{
    char rel[256];
    snprintf(rel, sizeof rel, "jcamp/%s", name);
    return data_path(rel, path, size);
}

/* Open tests/data/jcamp/NAME (format detected), or skip the test when NPSW_TEST_DATA is not
 * set. */
static void open_data(fixture *f, const char *name)
{
    char path[1024];
    if (!jcamp_path(name, path, sizeof path)) skip();
    fixture_open_file(f, path, npsw_read_opts_default());
}

/* JCAMP values are compared relative to their size: within 1e-9 * max(|expected|, 1). */
static double rel_eps(double b)
{
    return 1e-9 * (fabs(b) > 1 ? fabs(b) : 1);
}
#define assert_close(a, b) assert_near((a), (b), rel_eps(b))

/* The peaks of `s` must be exactly the (mz, intensity) pairs in `want` (n pairs). */
static void assert_peaks_at(const npsw_spectrum *s, const double *want, uint32_t n,
                            const char *file, int line)
{
    if (s->n != n) {
        print_error("%s:%d: %u peaks, expected %u\n", file, line, s->n, n);
        fail();
    }
    for (uint32_t i = 0; i < n; i++) {
        assert_near_at(s->mz[i], want[2 * i], rel_eps(want[2 * i]), file, line);
        assert_near_at(s->intensity[i], want[2 * i + 1], rel_eps(want[2 * i + 1]), file, line);
    }
}
#define assert_peaks(s, want, n) assert_peaks_at((s), (want), (n), __FILE__, __LINE__)

/* The next record must be read and named `name`. */
static void expect_ok_at(fixture *f, const char *name, const char *file, int line)
{
    int rc = fixture_next(f);
    if (rc != 0) {
        print_error("%s:%d: expected '%s', got %d: %s (line %llu)\n", file, line, name, rc,
                    f->err.msg, (unsigned long long)f->err.line);
        fail();
    }
    const char *got = npsw_spectrum_meta(&f->s, NPSW_META_NAME);
    if (strcmp(got, name) != 0) {
        print_error("%s:%d: read '%s', expected '%s'\n", file, line, got, name);
        fail();
    }
}
#define expect_ok(f, name) expect_ok_at((f), (name), __FILE__, __LINE__)

static void expect_eof_at(fixture *f, const char *file, int line)
{
    int rc = fixture_next(f);
    if (rc != NPSW_EOF) {
        print_error("%s:%d: expected the end, got %d\n", file, line, rc);
        fail();
    }
}
#define expect_eof(f) expect_eof_at((f), __FILE__, __LINE__)

/* The next record must fail at `line` (0: any line) with a message containing `part`. */
static void expect_error_at(fixture *f, uint64_t line, const char *part, const char *file,
                            int srcline)
{
    int rc = fixture_next(f);
    if (rc >= 0 || rc == NPSW_EOF) {
        print_error("%s:%d: expected an error containing '%s', got %d\n", file, srcline, part,
                    rc);
        fail();
    }
    if (!strstr(f->err.msg, part)) {
        print_error("%s:%d: message '%s' lacks '%s'\n", file, srcline, f->err.msg, part);
        fail();
    }
    if (line && f->err.line != line) {
        print_error("%s:%d: error at line %llu, expected %llu: %s\n", file, srcline,
                    (unsigned long long)f->err.line, (unsigned long long)line, f->err.msg);
        fail();
    }
}
#define expect_error(f, line, part) expect_error_at((f), (line), (part), __FILE__, __LINE__)

/* ---- tests ----------------------------------------------------------------------------- */

static void test_probe(void **state)
{
    (void)state;
    const char *a = "##TITLE=x\n", *b = "$$ comment\n\n##JCAMP-DX=5.01\n", *c = "Name: x\n",
               *d = "## TITLE = x\n";
    assert_int_equal(npsw_jcamp_ops.probe(a, strlen(a)), 90);
    assert_int_equal(npsw_jcamp_ops.probe(b, strlen(b)), 90);
    assert_int_equal(npsw_jcamp_ops.probe(c, strlen(c)), 0);
    assert_int_equal(npsw_jcamp_ops.probe(d, strlen(d)), 90);
    assert_int_equal(npsw_jcamp_ops.probe("##", 2), 0);
    assert_int_equal(npsw_jcamp_ops.probe("", 0), 0);

    /* automatic detection picks JCAMP */
    npsw_err err;
    npsw_reader *r = npsw_reader_open_mem(a, strlen(a), "mem", NULL, &err);
    assert_non_null(r);
    assert_int_equal(npsw_reader_format(r), NPSW_FMT_JCAMP);
    npsw_reader_close(r);
}

static void test_peak_table_and_metadata(void **state)
{
    (void)state;
    fixture f;
    open_data(&f, "peak_table.jdx");
    expect_ok(&f, "Synthetic amine A");
    /* several pairs per line, ';' and ' ' between pairs, a "$$" comment after them */
    static const double want[] = {41, 120, 42, 35, 44, 999, 58, 410,
                                  65, 80,  91, 250, 105, 60, 149, 15};
    assert_peaks(&f.s, want, 8);
    assert_string_equal(f.s.meta[NPSW_META_SYNONYMS], "Synthetic amine A\nTest compound alpha");
    assert_string_equal(f.s.meta[NPSW_META_FORMULA], "C10H15N");
    assert_string_equal(f.s.meta[NPSW_META_CAS], "123-45-5");
    assert_close(f.s.mw, 149);
    assert_string_equal(f.s.meta[NPSW_META_SOURCE], "npswatch test suite");
    assert_string_equal(f.s.meta[NPSW_META_INSTRUMENT], "Example GC/MS 1000");
    assert_string_equal(f.s.meta[NPSW_META_IONIZATION], "EI+");
    assert_int_equal(f.s.ion_mode, NPSW_ION_POSITIVE);
    assert_string_equal(f.s.meta[NPSW_META_INCHIKEY], "AAAAAAAAAAAAAA-BBBBBBBBBB-N");
    assert_string_equal(f.s.meta[NPSW_META_SMILES], "CC(N)Cc1ccccc1C");
    /* $NIST MASS SPEC NO beats the earlier BLOCK_ID */
    assert_string_equal(f.s.meta[NPSW_META_ACCESSION], "NIST#12345");
    assert_close(f.s.retention_index, 1234.5);
    /* OWNER after ORIGIN and private labels go to the comments */
    assert_string_equal(f.s.meta[NPSW_META_COMMENTS], "OWNER=public domain\n$NIST SOURCE=TEST");
    assert_int_equal(f.s.src_line, 2);
    assert_int_equal(f.warnings, 0); /* NPOINTS=8 matches */
    expect_eof(&f);
    fixture_done(&f);
}

static void test_crlf(void **state)
{
    (void)state;
    fixture f;
    open_jcamp(&f, "$$ synthetic test data\r\n"
                   "##TITLE=Synthetic CRLF\r\n"
                   "##DATA TYPE=MASS SPECTRUM\r\n"
                   "##NAMES=first\r\n"
                   "second\r\n"
                   "##PEAK TABLE=(XY..XY)\r\n"
                   "30,1 31,2\r\n"
                   "32,3\r\n"
                   "##END=\r\n",
                   NULL);
    expect_ok(&f, "Synthetic CRLF");
    static const double want[] = {30, 1, 31, 2, 32, 3};
    assert_peaks(&f.s, want, 3);
    assert_string_equal(f.s.meta[NPSW_META_SYNONYMS], "first\nsecond");
    expect_eof(&f);
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
}

static void test_linked_file(void **state)
{
    (void)state;
    fixture f;
    open_data(&f, "linked.jdx");
    /* the LINK block and the structure block yield nothing */
    expect_ok(&f, "Synthetic linked MS one");
    static const double one[] = {50, 100, 51, 200, 52, 300};
    assert_peaks(&f.s, one, 3);
    assert_string_equal(f.s.meta[NPSW_META_ACCESSION], "1");
    assert_int_equal(f.s.src_line, 6);
    expect_ok(&f, "Synthetic linked MS two");
    static const double two[] = {60, 5, 61, 6, 62, 7};
    assert_peaks(&f.s, two, 3);
    assert_string_equal(f.s.meta[NPSW_META_ACCESSION], "3");
    expect_ok(&f, "Synthetic standalone after the link");
    static const double three[] = {70, 1};
    assert_peaks(&f.s, three, 1);
    expect_eof(&f);
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
}

static void test_link_without_end(void **state)
{
    (void)state;
    fixture f;
    open_jcamp(&f, "##TITLE=outer\n##DATA TYPE=LINK\n##BLOCKS=1\n"
                   "##TITLE=inner\n##PEAK TABLE=(XY..XY)\n1,2\n##END=\n",
                   NULL);
    expect_ok(&f, "inner");
    expect_error(&f, 1, "LINK");
    expect_eof(&f);
    fixture_done(&f);
}

static void test_xydata_affn_factors(void **state)
{
    (void)state;
    fixture f;
    open_data(&f, "xydata_affn.jdx");
    expect_ok(&f, "Synthetic profile AFFN");
    /* X: 400*0.1 = 40, then +1 per value; Y: 10..80 times 2.5; "7.0E+01" = 70, "+80" = 80 */
    static const double want[] = {40, 25,  41, 50,  42, 75,  43, 100,
                                  44, 125, 45, 150, 46, 175, 47, 200};
    assert_peaks(&f.s, want, 8);
    assert_int_equal(f.warnings, 0);
    expect_eof(&f);
    fixture_done(&f);
}

static void test_peak_table_factors(void **state)
{
    (void)state;
    fixture f;
    open_jcamp(&f, "##TITLE=Synthetic factors\n##XFACTOR=0.5\n##YFACTOR=10\n"
                   "##PEAK TABLE=(XY..XY)\n100,1.5 102,3\n##END=\n",
                   NULL);
    expect_ok(&f, "Synthetic factors");
    static const double want[] = {50, 15, 51, 30};
    assert_peaks(&f.s, want, 2);
    fixture_done(&f);
}

static void test_npoints_mismatch_warns(void **state)
{
    (void)state;
    fixture f;
    open_jcamp(&f, "##TITLE=Synthetic count\n##FIRSTX=1\n##DELTAX=1\n##NPOINTS=4\n"
                   "##XYDATA=(X++(Y..Y))\n1 10 20 30\n##END=\n",
                   NULL);
    expect_ok(&f, "Synthetic count");
    static const double want[] = {1, 10, 2, 20, 3, 30};
    assert_peaks(&f.s, want, 3);
    assert_int_equal(f.warnings, 1);
    assert_non_null(strstr(f.last_warning, "NPOINTS=4"));
    fixture_done(&f);
}

static void test_asdf_sqz(void **state)
{
    (void)state;
    fixture f;
    open_data(&f, "asdf_sqz.jdx");
    expect_ok(&f, "Synthetic SQZ");
    /* "10@A0B5C00": @=0, A0=10, B5=25, C00=300; "14E22D1a5": E22=522, D1=41, a5=-15 */
    static const double want[] = {10, 0, 11, 10, 12, 25, 13, 300, 14, 522, 15, 41, 16, -15};
    assert_peaks(&f.s, want, 7);
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
}

static void test_asdf_dif(void **state)
{
    (void)state;
    fixture f;
    open_data(&f, "asdf_dif.jdx");
    expect_ok(&f, "Synthetic DIF");
    /* the check values 130 (line 2) and 200 (line 3) are not stored twice */
    static const double want[] = {50, 100, 51, 110, 52, 105, 53, 105,
                                  54, 130, 55, 128, 56, 200, 57, 200};
    assert_peaks(&f.s, want, 8);
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
}

static void test_asdf_dif_check_mismatch(void **state)
{
    (void)state;
    /* line 7 checks 131 against 130: a warning; decoding goes on from 131:
     * k -> 129, P2 -> 201, % -> 201; line 8 checks 201 = B01 (no warning) */
    fixture f;
    open_jcamp(&f, "$$ synthetic test data\n"
                   "##TITLE=Synthetic DIF mismatch\n"
                   "##FIRSTX=50\n"
                   "##LASTX=57\n"
                   "##NPOINTS=8\n"
                   "##XYDATA=(X++(Y..Y))\n"
                   "50A00J0n%K5\n"
                   "54A31kP2%\n"
                   "57B01\n"
                   "##END=\n",
                   NULL);
    expect_ok(&f, "Synthetic DIF mismatch");
    static const double want[] = {50, 100, 51, 110, 52, 105, 53, 105,
                                  54, 130, 55, 129, 56, 201, 57, 201};
    assert_peaks(&f.s, want, 8);
    assert_int_equal(f.warnings, 1);
    assert_int_equal(f.last_warning_line, 8);
    assert_non_null(strstr(f.last_warning, "Y-value check"));
    fixture_done(&f);
}

static void test_asdf_dup(void **state)
{
    (void)state;
    fixture f;
    open_data(&f, "asdf_dup.jdx");
    expect_ok(&f, "Synthetic DUP");
    static const double want[] = {1, 5, 2, 5, 3, 5, 4, 5, 5, 8, 6, 11, 7, 14, 8, 13, 9, 12};
    assert_peaks(&f.s, want, 9);
    expect_ok(&f, "Synthetic DUP two digits");
    assert_int_equal(f.s.n, 11);
    for (uint32_t i = 0; i < 11; i++) {
        assert_close(f.s.mz[i], 100 + i);
        assert_close(f.s.intensity[i], 10);
    }
    expect_ok(&f, "Synthetic DUP s and Z");
    assert_int_equal(f.s.n, 17);
    for (uint32_t i = 0; i < 17; i++) {
        assert_close(f.s.mz[i], 1 + i);
        assert_close(f.s.intensity[i], i < 9 ? 10 : 20);
    }
    expect_eof(&f);
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
}

static void test_asdf_errors(void **state)
{
    (void)state;
    fixture f;
    open_jcamp(&f, "##TITLE=Synthetic DIF first\n##DELTAX=1\n##XYDATA=(X++(Y..Y))\n"
                   "1J2\n##END=\n"
                   "##TITLE=Synthetic DUP first\n##DELTAX=1\n##XYDATA=(X++(Y..Y))\n"
                   "1S3\n##END=\n"
                   "##TITLE=Synthetic no spacing\n##XYDATA=(X++(Y..Y))\n1 2 3\n"
                   "##END=\n"
                   "##TITLE=Synthetic X only\n##DELTAX=1\n##XYDATA=(X++(Y..Y))\n7\n"
                   "##END=\n",
                   NULL);
    expect_error(&f, 4, "DIF value needs a preceding Y");
    expect_error(&f, 9, "DUP count must follow a Y value");
    expect_error(&f, 13, "X spacing is unknown");
    expect_error(&f, 18, "expected Y values");
    expect_eof(&f);
    fixture_done(&f);
}

static void test_datatype_spellings(void **state)
{
    (void)state;
    fixture f;
    open_data(&f, "datatype_spellings.jdx");
    expect_ok(&f, "Synthetic spelling one");
    expect_ok(&f, "Synthetic spelling two");
    assert_close(f.s.mz[0], 21);
    expect_ok(&f, "Synthetic spelling three");
    assert_close(f.s.mz[0], 22);
    expect_error(&f, 18, "INFRARED SPECTRUM is not a mass spectrum");
    expect_ok(&f, "Synthetic after infrared");
    assert_close(f.s.intensity[0], 4);
    expect_eof(&f);
    fixture_done(&f);
}

static void test_error_names_line_then_continues(void **state)
{
    (void)state;
    fixture f;
    open_data(&f, "bad_then_good.jdx");
    assert_int_equal(fixture_next(&f), NPSW_EPARSE);
    assert_int_equal(f.err.line, 8);
    assert_non_null(strstr(f.err.msg, "Synthetic bad XYDATA"));
    assert_non_null(strstr(f.err.msg, "found '#'"));
    assert_non_null(strstr(f.err.where, "bad_then_good.jdx"));
    expect_ok(&f, "Synthetic good after bad");
    static const double want[] = {10, 5, 11, 6};
    assert_peaks(&f.s, want, 2);
    expect_eof(&f);
    fixture_done(&f);
}

static void test_bad_blocks(void **state)
{
    (void)state;
    fixture f;
    open_jcamp(&f, "##TITLE=Synthetic huge\n"           /* 1 */
                   "##NPOINTS=99999999999\n"            /* 2 */
                   "##PEAK TABLE=(XY..XY)\n1,1\n##END=\n" /* 3-5 */
                   "##TITLE=Synthetic junk npoints\n"   /* 6 */
                   "##NPOINTS=12abc\n"                  /* 7 */
                   "##END=\n"                           /* 8 */
                   "##TITLE=Synthetic no end\n"         /* 9 */
                   "##PEAK TABLE=(XY..XY)\n1,1\n"       /* 10-11 */
                   "##TITLE=Synthetic no data\n"        /* 12 */
                   "##DATA TYPE=MASS SPECTRUM\n##END=\n" /* 13-14 */
                   "##TITLE=Synthetic odd pairs\n"      /* 15 */
                   "##PEAK TABLE=(XY..XY)\n1,1 2\n##END=\n" /* 16-18 */
                   "##TITLE=Synthetic gcms\n##NTUPLES=MASS SPECTRUM\n"
                   "##PAGE=1\n##END NTUPLES=MASS SPECTRUM\n##END=\n" /* 19-23 */
                   "##TITLE=Synthetic XYW\n##PEAK TABLE=(XYW..XYW)\n1,2,3\n"
                   "##END=\n" /* 24-27 */
                   "##TITLE=Synthetic good\n##PEAK TABLE=(XY..XY)\n5,6\n##END=\n"
                   "##TITLE=Synthetic eof\n##PEAK TABLE=(XY..XY)\n5,6\n", /* 32 */
                   NULL);
    expect_error(&f, 2, "more than the limit");
    expect_error(&f, 7, "expects a number");
    expect_error(&f, 12, "has no ##END=");
    expect_error(&f, 12, "no peak data");
    expect_error(&f, 17, "odd number of values");
    expect_error(&f, 20, "not supported");
    expect_error(&f, 25, "(XYW..XYW) is not supported");
    expect_ok(&f, "Synthetic good");
    expect_error(&f, 32, "has no ##END=");
    expect_eof(&f);
    fixture_done(&f);
}

static void test_max_peaks(void **state)
{
    (void)state;
    npsw_read_opts o = npsw_read_opts_default();
    o.max_peaks = 5;
    fixture f;
    open_jcamp(&f, "##TITLE=Synthetic many\n##DELTAX=1\n##XYDATA=(X++(Y..Y))\n"
                   "1A0s\n##END=\n"
                   "##TITLE=Synthetic many pairs\n##PEAK TABLE=(XY..XY)\n"
                   "1,1 2,2 3,3 4,4 5,5 6,6\n##END=\n"
                   "##TITLE=Synthetic npoints\n##NPOINTS=6\n##END=\n"
                   "##TITLE=Synthetic few\n##PEAK TABLE=(XY..XY)\n1,1\n##END=\n",
                   &o);
    assert_int_equal(fixture_next(&f), NPSW_ELIMIT);
    assert_int_equal(f.err.line, 4);
    assert_int_equal(fixture_next(&f), NPSW_ELIMIT);
    assert_int_equal(f.err.line, 8);
    expect_error(&f, 11, "limit of 5 peaks");
    expect_ok(&f, "Synthetic few");
    expect_eof(&f);
    fixture_done(&f);
}

static void test_latin1_title(void **state)
{
    (void)state;
    fixture f;
    open_data(&f, "latin1_title.jdx");
    expect_ok(&f, "Synthetic caf\xc3\xa9ine");
    assert_int_equal(f.warnings, 1);
    assert_non_null(strstr(f.last_warning, "Latin-1"));
    static const double want[] = {194, 999, 109, 50};
    assert_peaks(&f.s, want, 2);
    fixture_done(&f);
}

static void test_names_without_title(void **state)
{
    (void)state;
    fixture f;
    open_jcamp(&f, "##TITLE=\n##NAMES=Synthetic first name\nsecond name\n"
                   "third name\n##PEAK TABLE=(XY..XY)\n1,1\n##END=\n",
                   NULL);
    expect_ok(&f, "Synthetic first name");
    assert_string_equal(f.s.meta[NPSW_META_SYNONYMS], "second name\nthird name");
    fixture_done(&f);
}

static void test_stray_text_and_comments(void **state)
{
    (void)state;
    /* text before the first block is ignored with one warning; "$$" lines are comments; a
     * continued value is joined with a space */
    fixture f;
    open_jcamp(&f, "some junk\nmore junk\n$$ comment\n"
                   "##TITLE=Synthetic long\ntitle\n"
                   "##DATE=2024 $$ the date\n"
                   "##PEAK TABLE=(XY..XY) $$ comment\n"
                   "$$ whole comment line\n"
                   "\n"
                   "1,2\n"
                   "##END=\n",
                   NULL);
    expect_ok(&f, "Synthetic long title");
    assert_string_equal(f.s.meta[NPSW_META_COMMENTS], "DATE=2024");
    assert_int_equal(f.s.n, 1);
    assert_int_equal(f.warnings, 1);
    assert_int_equal(f.last_warning_line, 1);
    expect_eof(&f);
    fixture_done(&f);
}

/* Every prefix and many byte mutations of every test file: no crash (ASan), no hang, and each
 * call either returns a spectrum, an error or the end. */
static void read_all(const char *buf, size_t len)
{
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FMT_JCAMP;
    o.max_peaks = 1000;
    npsw_err err;
    npsw_reader *r = npsw_reader_open_mem(buf, len, "fuzz", &o, &err);
    assert_non_null(r);
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    int calls = 0, rc;
    while ((rc = npsw_reader_next(r, &s, &err)) != NPSW_EOF) {
        assert_true(rc == 0 || rc < -1);
        assert_true(++calls <= (int)len + 2);
    }
    npsw_spectrum_free(&s);
    npsw_reader_close(r);
}

static void test_truncation_and_mutation(void **state)
{
    (void)state;
    static const char *const files[] = {"peak_table.jdx", "linked.jdx", "xydata_affn.jdx",
                                        "asdf_sqz.jdx",   "asdf_dif.jdx", "asdf_dup.jdx"};
    char path[1024];
    if (!jcamp_path(files[0], path, sizeof path)) skip();
    static const char alphabet[] = "#=$,;. \n\r\0+-0123456789@AIaiJRjrSZs%?E";
    uint32_t seed = 12345;
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        char buf[4096];
        jcamp_path(files[f], path, sizeof path);
        FILE *fp = fopen(path, "rb");
        assert_non_null(fp);
        size_t len = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        for (size_t n = 0; n <= len; n++) read_all(buf, n);
        for (int k = 0; k < 300; k++) {
            char m[4096];
            memcpy(m, buf, len);
            for (int j = 0; j < 4; j++) {
                seed = seed * 1103515245u + 12345u;
                size_t at = (seed >> 8) % len;
                seed = seed * 1103515245u + 12345u;
                m[at] = alphabet[(seed >> 8) % (sizeof alphabet - 1)];
            }
            read_all(m, len);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_peak_table_and_metadata),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_linked_file),
        cmocka_unit_test(test_link_without_end),
        cmocka_unit_test(test_xydata_affn_factors),
        cmocka_unit_test(test_peak_table_factors),
        cmocka_unit_test(test_npoints_mismatch_warns),
        cmocka_unit_test(test_asdf_sqz),
        cmocka_unit_test(test_asdf_dif),
        cmocka_unit_test(test_asdf_dif_check_mismatch),
        cmocka_unit_test(test_asdf_dup),
        cmocka_unit_test(test_asdf_errors),
        cmocka_unit_test(test_datatype_spellings),
        cmocka_unit_test(test_error_names_line_then_continues),
        cmocka_unit_test(test_bad_blocks),
        cmocka_unit_test(test_max_peaks),
        cmocka_unit_test(test_latin1_title),
        cmocka_unit_test(test_names_without_title),
        cmocka_unit_test(test_stray_text_and_comments),
        cmocka_unit_test(test_truncation_and_mutation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
