/* test_csv.c - the two-column CSV/TSV importer: separators, decimal commas, headers, names,
 * multi-spectrum tables and errors. Expected values are worked out by hand from the inline texts
 * (and from tests/data/csv/), not copied from the program's output. */

/* intensities are compared within 1e-3 here */
#define TEST_PEAK_INTENSITY_EPS 1e-3
#include "test_util.h"

static void open_named(fixture *f, const char *text, const char *name, npsw_decimal_comma dc)
{
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FMT_CSV;
    o.decimal_comma = dc;
    fixture_open(f, text, strlen(text), name, o);
}

static void open_text(fixture *f, const char *text)
{
    open_named(f, text, "spectrum.csv", NPSW_DECIMAL_COMMA_AUTO);
}

/* Read one single-spectrum text and check it holds exactly the peaks (55.1, 102.5), (56, 33). */
static void expect_two_peaks(const char *text, npsw_decimal_comma dc)
{
    fixture f;
    open_named(&f, text, "spectrum.csv", dc);
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 0, 55.1, 102.5);
    assert_peak(&f.s, 1, 56, 33);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

/* ---- separators and decimal marks ------------------------------------------------------ */

static void test_csv_comma(void **state)
{
    (void)state;
    expect_two_peaks("55.1,102.5\n56,33\n", NPSW_DECIMAL_COMMA_AUTO);
    expect_two_peaks("55.1, 102.5\n56 ,33,\n", NPSW_DECIMAL_COMMA_AUTO);
    expect_two_peaks("\"55.1\",\"102.5\"\n\"56\",\"33\"\n", NPSW_DECIMAL_COMMA_AUTO);
}

static void test_csv_tab(void **state)
{
    (void)state;
    expect_two_peaks("55.1\t102.5\n56\t33\n", NPSW_DECIMAL_COMMA_AUTO);
    expect_two_peaks("55.1 \t 102.5\n\t56\t33\t\n", NPSW_DECIMAL_COMMA_AUTO);
}

static void test_csv_semicolon(void **state)
{
    (void)state;
    expect_two_peaks("55.1;102.5\n56;33\n", NPSW_DECIMAL_COMMA_AUTO);
}

static void test_csv_spaces(void **state)
{
    (void)state;
    expect_two_peaks("55.1 102.5\n  56    33  \n", NPSW_DECIMAL_COMMA_AUTO);
}

static void test_csv_comma_decimal_semicolon(void **state)
{
    (void)state;
    expect_two_peaks("55,1;102,5\n56;33\n", NPSW_DECIMAL_COMMA_AUTO);
}

static void test_csv_comma_decimal_tab(void **state)
{
    (void)state;
    expect_two_peaks("55,1\t102,5\n56,0\t33,0\n", NPSW_DECIMAL_COMMA_AUTO);
}

static void test_csv_comma_decimal_spaces(void **state)
{
    (void)state;
    expect_two_peaks("55,1 102,5\n56 33\n", NPSW_DECIMAL_COMMA_AUTO);
}

static void test_csv_decimal_comma_option(void **state)
{
    (void)state;
    /* YES: "100,5" is one number, so the line lacks an intensity */
    fixture f;
    open_named(&f, "100,5\n", "x.csv", NPSW_DECIMAL_COMMA_YES);
    assert_int_equal(fixture_next(&f), NPSW_EPARSE);
    assert_int_equal(f.err.line, 1);
    fixture_done(&f);
    /* AUTO: the same line is m/z 100, intensity 5 */
    open_named(&f, "100,5\n", "x.csv", NPSW_DECIMAL_COMMA_AUTO);
    assert_int_equal(fixture_next(&f), 0);
    assert_peak(&f.s, 0, 100, 5);
    fixture_done(&f);
    /* NO: ',' never a decimal mark, so "55,1" is not a number */
    open_named(&f, "55,1;102,5\n", "x.csv", NPSW_DECIMAL_COMMA_NO);
    assert_int_equal(fixture_next(&f), NPSW_EPARSE);
    fixture_done(&f);
    expect_two_peaks("55,1 102,5\n56,0 33,0\n", NPSW_DECIMAL_COMMA_YES);
    expect_two_peaks("55.1,102.5\n56,33\n", NPSW_DECIMAL_COMMA_NO);
}

static void test_csv_crlf_and_blank_lines(void **state)
{
    (void)state;
    expect_two_peaks("m/z,intensity\r\n\r\n55.1,102.5\r\n\r\n\r\n56,33\r\n",
                     NPSW_DECIMAL_COMMA_AUTO);
}

/* ---- headers and columns --------------------------------------------------------------- */

static void test_csv_header_lines(void **state)
{
    (void)state;
    expect_two_peaks("m/z,intensity\n55.1,102.5\n56,33\n", NPSW_DECIMAL_COMMA_AUTO);
    expect_two_peaks("mz\tint\n55.1\t102.5\n56\t33\n", NPSW_DECIMAL_COMMA_AUTO);
    expect_two_peaks("Mass;Abundance\n55,1;102,5\n56;33\n", NPSW_DECIMAL_COMMA_AUTO);
    expect_two_peaks("Spectrum export\nScan 12, RT 3.5 min\nm/z,Intensity\n55.1,102.5\n56,33\n",
                     NPSW_DECIMAL_COMMA_AUTO);
}

static void test_csv_extra_and_named_columns(void **state)
{
    (void)state;
    expect_two_peaks("55.1,102.5,0.3,note\n56,33,0.1\n", NPSW_DECIMAL_COMMA_AUTO);
    /* columns found by name, in any order */
    expect_two_peaks("Intensity,Point,m/z\n102.5,1,55.1\n33,2,56\n", NPSW_DECIMAL_COMMA_AUTO);
}

/* ---- names ----------------------------------------------------------------------------- */

static void test_csv_name_from_comment(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "# exported by XYZ\n# name: Cocaine HCl\n55,1\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "Cocaine HCl");
    fixture_done(&f);
    open_text(&f, "55,1\n#Name=3-MMC\n"); /* anywhere in the file */
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "3-MMC");
    fixture_done(&f);
    open_text(&f, "# names of the columns follow\n55,1\n"); /* not a name comment */
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "spectrum");
    fixture_done(&f);
}

static void test_csv_name_from_file(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"data/run 7/cocaine_scan5.csv", "cocaine_scan5"},
        {"C:\\lab\\heroin.v2.txt", "heroin.v2"},
        {"plain", "plain"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fixture f;
        open_named(&f, "55 1\n", cases[i][0], NPSW_DECIMAL_COMMA_AUTO);
        assert_int_equal(fixture_next(&f), 0);
        assert_string_equal(f.s.meta[NPSW_META_NAME], cases[i][1]);
        fixture_done(&f);
    }
}

/* ---- multi-spectrum tables ------------------------------------------------------------- */

static void test_csv_table(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "name;m/z;intensity;comment\n"    /* 1 */
                  "Cocaine;82,07;999;\n"            /* 2 */
                  "Cocaine;182,12;500,5;base\n"     /* 3 */
                  "\n"                              /* 4 */
                  "Heroin;327,15;999\n"             /* 5 */
                  "MDMA;58;999\n");                 /* 6 */
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "Cocaine");
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 0, 82.07, 999);
    assert_peak(&f.s, 1, 182.12, 500.5);
    assert_int_equal(f.s.src_line, 2);
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "Heroin");
    assert_int_equal(f.s.n, 1);
    assert_peak(&f.s, 0, 327.15, 999);
    assert_int_equal(f.s.src_line, 5);
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "MDMA");
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_csv_table_columns_by_name(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "Abundance\tSpectrum ID\tMass\n10\tA-1\t40\n20\tA-1\t41\n5\tB-2\t50\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "A-1");
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 1, 41, 20);
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "B-2");
    assert_peak(&f.s, 0, 50, 5);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

/* Tab-separated table whose first column is empty on some rows: the leading tab is an empty
 * field, not padding, so the columns do not shift. */
static void test_csv_table_empty_first_field(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "note\tSpectrum ID\tm/z\tIntensity\n"
                  "first\tA\t40\t10\n"
                  "\tA\t41\t20\n"
                  "\tB\t70\t7\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "A");
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 1, 41, 20);
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "B");
    assert_peak(&f.s, 0, 70, 7);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_csv_table_bad_row(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "compound,mz,int\n" /* 1 */
                  "A,10,1\n"          /* 2 */
                  "B,20,2\n"          /* 3 */
                  "B,x,3\n"           /* 4: bad */
                  "B,22,4\n"          /* 5: same spectrum, skipped */
                  "C,30,5\n");        /* 6 */
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "A");
    assert_int_equal(fixture_next(&f), NPSW_EPARSE);
    assert_int_equal(f.err.line, 4);
    assert_string_equal(f.err.where, "spectrum.csv");
    assert_non_null(strstr(f.err.msg, "'B'"));
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "C");
    assert_peak(&f.s, 0, 30, 5);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

/* ---- errors ---------------------------------------------------------------------------- */

static void test_csv_bad_line(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "m/z,intensity\n" /* 1 */
                  "55,10\n"         /* 2 */
                  "\n"              /* 3 */
                  "56\n"            /* 4: one number */
                  "57,10\n");       /* 5 */
    assert_int_equal(fixture_next(&f), NPSW_EPARSE);
    assert_int_equal(f.err.line, 4);
    assert_string_equal(f.err.where, "spectrum.csv");
    assert_non_null(strstr(f.err.msg, "expected two numbers"));
    assert_int_equal(fixture_next(&f), NPSW_EOF); /* the one spectrum of the file was reported */
    fixture_done(&f);
    open_text(&f, "55,10\n56,abc\n");
    assert_int_equal(fixture_next(&f), NPSW_EPARSE);
    assert_int_equal(f.err.line, 2);
    fixture_done(&f);
}

static void test_csv_no_peaks(void **state)
{
    (void)state;
    static const char *const texts[] = {"", "\n\n", "# only a comment\n", "m/z,intensity\n",
                                        "name,mz,intensity\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        fixture f;
        open_text(&f, texts[i]);
        assert_int_equal(fixture_next(&f), NPSW_EPARSE);
        assert_non_null(strstr(f.err.msg, "no peaks"));
        assert_int_equal(fixture_next(&f), NPSW_EOF);
        fixture_done(&f);
    }
}

static void test_csv_max_peaks(void **state)
{
    (void)state;
    fixture f;
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FMT_CSV;
    o.max_peaks = 2;
    const char *t = "1,1\n2,2\n3,3\n";
    fixture_open(&f, t, strlen(t), "m.csv", o);
    assert_int_equal(fixture_next(&f), NPSW_ELIMIT);
    assert_int_equal(f.err.line, 3);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_csv_probe(void **state)
{
    (void)state;
    const char *two = "m/z,intensity\n41,10\n42,20\n43,999\n";
    const char *table = "name,mz,intensity\nA,41,10\nA,42,20\n";
    const char *prose = "This is a note.\nNothing numeric here.\n";
    const char *msp = "Name: Cocaine\nFormula: C17H21NO4\nMW: 303\nDB#: 1\nNum Peaks: 2\n"
                      "82 999\n182 500\n";
    const char *jcamp = "##TITLE=x\n##JCAMP-DX=4.24\n##PEAK TABLE=(XY..XY)\n41,10\n##END=\n";
    assert_int_equal(npsw_csv_ops.probe(two, strlen(two)), 30);
    assert_int_equal(npsw_csv_ops.probe(table, strlen(table)), 30);
    assert_int_equal(npsw_csv_ops.probe(prose, strlen(prose)), 0);
    assert_int_equal(npsw_csv_ops.probe(msp, strlen(msp)), 0);
    assert_int_equal(npsw_csv_ops.probe(jcamp, strlen(jcamp)), 0);
    assert_int_equal(npsw_csv_ops.probe("", 0), 0);
    /* detection: an MSP record still reads as MSP even when its peaks look like CSV */
    const char *msp2 = "Name: x\nNum Peaks: 2\n41 10\n42 20\n43 30\n44 40\n45 50\n";
    npsw_err err;
    npsw_reader *r = npsw_reader_open_mem(msp2, strlen(msp2), "x.txt", NULL, &err);
    assert_non_null(r);
    assert_int_equal(npsw_reader_format(r), NPSW_FMT_MSP);
    npsw_reader_close(r);
    r = npsw_reader_open_mem(two, strlen(two), "x.dat", NULL, &err);
    assert_non_null(r);
    assert_int_equal(npsw_reader_format(r), NPSW_FMT_CSV);
    npsw_reader_close(r);
}

/* Arbitrary bytes must never crash the reader, and every call must make progress. */
static void test_csv_garbage_terminates(void **state)
{
    (void)state;
    static const char *const pieces[] = {"name,mz,int\n", "\"", "A,1,2\n", ";", "\t", ",",
                                         "55,1 ",         "\0", "\r\n", "#name:", "1e999",
                                         "x",             "\n"};
    uint32_t seed = 99;
    char buf[400];
    for (int round = 0; round < 300; round++) {
        size_t len = 0;
        while (len < sizeof buf - 20) {
            seed = seed * 1103515245u + 12345u;
            const char *p = pieces[(seed >> 16) % (sizeof pieces / sizeof pieces[0])];
            size_t pl = p[0] ? strlen(p) : 1;
            memcpy(buf + len, p, pl);
            len += pl;
            if ((seed >> 8) % 11 == 0) break;
        }
        npsw_read_opts o = npsw_read_opts_default();
        o.format = NPSW_FMT_CSV;
        npsw_err err;
        npsw_reader *r = npsw_reader_open_mem(buf, len, "g.csv", &o, &err);
        assert_non_null(r);
        (void)npsw_csv_ops.probe(buf, len);
        npsw_spectrum s;
        npsw_spectrum_init(&s);
        int calls = 0;
        while (npsw_reader_next(r, &s, &err) != NPSW_EOF) assert_true(++calls <= (int)len + 2);
        npsw_spectrum_free(&s);
        npsw_reader_close(r);
    }
}

/* ---- files on disk --------------------------------------------------------------------- */

static void test_csv_data_files(void **state)
{
    (void)state;
    char path[1024];
    if (!data_path("csv/cocaine_scan5.txt", path, sizeof path)) skip();
    fixture f;
    fixture_open_file(&f, path, npsw_read_opts_default());
    assert_int_equal(npsw_reader_format(f.r), NPSW_FMT_CSV);
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "cocaine_scan5");
    assert_int_equal(f.s.n, 3);
    assert_peak(&f.s, 0, 82.1, 999);
    assert_peak(&f.s, 1, 182.1, 500.5);
    assert_peak(&f.s, 2, 303.2, 120);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);

    assert_non_null(data_path("csv/table.csv", path, sizeof path));
    fixture_open_file(&f, path, npsw_read_opts_default());
    assert_int_equal(npsw_reader_format(f.r), NPSW_FMT_CSV);
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "Cocaine, base");
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 1, 182.12, 500);
    assert_int_equal(f.s.src_line, 3);
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "Heroin");
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 1, 268.13, 400);
    /* the same name again, not next to its first rows: a separate spectrum */
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "Cocaine, base");
    assert_int_equal(f.s.n, 1);
    assert_peak(&f.s, 0, 303.15, 120);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_comma),
        cmocka_unit_test(test_csv_tab),
        cmocka_unit_test(test_csv_semicolon),
        cmocka_unit_test(test_csv_spaces),
        cmocka_unit_test(test_csv_comma_decimal_semicolon),
        cmocka_unit_test(test_csv_comma_decimal_tab),
        cmocka_unit_test(test_csv_comma_decimal_spaces),
        cmocka_unit_test(test_csv_decimal_comma_option),
        cmocka_unit_test(test_csv_crlf_and_blank_lines),
        cmocka_unit_test(test_csv_header_lines),
        cmocka_unit_test(test_csv_extra_and_named_columns),
        cmocka_unit_test(test_csv_name_from_comment),
        cmocka_unit_test(test_csv_name_from_file),
        cmocka_unit_test(test_csv_table),
        cmocka_unit_test(test_csv_table_columns_by_name),
        cmocka_unit_test(test_csv_table_empty_first_field),
        cmocka_unit_test(test_csv_table_bad_row),
        cmocka_unit_test(test_csv_bad_line),
        cmocka_unit_test(test_csv_no_peaks),
        cmocka_unit_test(test_csv_max_peaks),
        cmocka_unit_test(test_csv_probe),
        cmocka_unit_test(test_csv_garbage_terminates),
        cmocka_unit_test(test_csv_data_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
