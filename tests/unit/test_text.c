/* test_text.c - the text helpers every importer shares (spectra_db/src/text.c): peak-line
 * parsing, number parsing, text-encoding conversion, CAS normalisation and line splitting.
 *
 * Every expected value below is worked out by hand from the input written next to it (CAS check
 * digits are computed in the comments, UTF-8 byte sequences come from the Unicode code charts),
 * never copied from the program's output. */
#include "test_util.h"

/* Parse one peak line into a fresh spectrum; returns the parser's return code. */
static int peaks(const char *line, npsw_decimal_comma mode, uint32_t max_peaks, npsw_spectrum *s,
                 char *why, size_t whysize)
{
    npsw_spectrum_free(s);
    why[0] = '\0';
    return npsw_parse_peak_line(line, strlen(line), mode, max_peaks, s, why, whysize);
}

/* ---- npsw_parse_peak_line ---------------------------------------------------------------- */

static void test_peak_line_space(void **state)
{
    (void)state;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    char why[200];
    assert_int_equal(peaks("55 102", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why), 1);
    assert_int_equal(s.n, 1);
    assert_peak(&s, 0, 55, 102);
    /* leading/trailing blanks and several spaces/tabs between the values */
    assert_int_equal(peaks("  55   102\t ", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why), 1);
    assert_peak(&s, 0, 55, 102);
    /* decimals on both sides */
    assert_int_equal(peaks("55.0423 10.25", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why),
                     1);
    assert_peak(&s, 0, 55.0423, 10.25);
    npsw_spectrum_free(&s);
}

static void test_peak_line_semicolons(void **state)
{
    (void)state;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    char why[200];
    assert_int_equal(peaks("55 102; 56 33;", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why),
                     2);
    assert_int_equal(s.n, 2);
    assert_peak(&s, 0, 55, 102);
    assert_peak(&s, 1, 56, 33);
    /* the original SWGDRUG form: "37 1; 38 4; " with a trailing blank */
    assert_int_equal(peaks("37 1; 38 4; 39 100; ", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why,
                           sizeof why),
                     3);
    assert_peak(&s, 0, 37, 1);
    assert_peak(&s, 1, 38, 4);
    assert_peak(&s, 2, 39, 100);
    npsw_spectrum_free(&s);
}

static void test_peak_line_parentheses(void **state)
{
    (void)state;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    char why[200];
    assert_int_equal(peaks("(55 102) (56 33)", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why,
                           sizeof why),
                     2);
    assert_peak(&s, 0, 55, 102);
    assert_peak(&s, 1, 56, 33);
    npsw_spectrum_free(&s);
}

static void test_peak_line_colons(void **state)
{
    (void)state;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    char why[200];
    assert_int_equal(peaks("55:102 56:33", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why),
                     2);
    assert_peak(&s, 0, 55, 102);
    assert_peak(&s, 1, 56, 33);
    npsw_spectrum_free(&s);
}

static void test_peak_line_tab_annotation(void **state)
{
    (void)state;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    char why[200];
    assert_int_equal(peaks("55\t102\t\"C4H7+\"", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why,
                           sizeof why),
                     1);
    assert_int_equal(s.n, 1);
    assert_peak(&s, 0, 55, 102);
    /* digits inside the quoted annotation must not become values */
    assert_int_equal(peaks("91\t999\t\"C7H7+ 91.0542 p-1\"", NPSW_DECIMAL_COMMA_AUTO, 1000, &s,
                           why, sizeof why),
                     1);
    assert_int_equal(s.n, 1);
    assert_peak(&s, 0, 91, 999);
    npsw_spectrum_free(&s);
}

static void test_peak_line_comma_separator(void **state)
{
    (void)state;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    char why[200];
    /* one comma and one token: a separator (a single number 55.102 would leave no intensity) */
    assert_int_equal(peaks("55,102", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why), 1);
    assert_peak(&s, 0, 55, 102);
    /* NO mode: the comma always separates */
    assert_int_equal(peaks("55,102", NPSW_DECIMAL_COMMA_NO, 1000, &s, why, sizeof why), 1);
    assert_peak(&s, 0, 55, 102);
    npsw_spectrum_free(&s);
}

static void test_peak_line_comma_decimal_auto(void **state)
{
    (void)state;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    char why[200];
    /* "55 10,5": two tokens, one of them with a comma between digits -> decimal mark */
    assert_int_equal(peaks("55 10,5", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why), 1);
    assert_int_equal(s.n, 1);
    assert_peak(&s, 0, 55, 10.5);
    npsw_spectrum_free(&s);
}

static void test_peak_line_comma_auto_vs_yes(void **state)
{
    (void)state;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    char why[200];
    /* "55,1 102,5": every token holds a comma, so AUTO cannot tell a decimal mark from a pair
     * separator and reads two "m/z,intensity" pairs ... */
    assert_int_equal(peaks("55,1 102,5", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why), 2);
    assert_peak(&s, 0, 55, 1);
    assert_peak(&s, 1, 102, 5);
    /* ... while YES reads one pair with decimal commas */
    assert_int_equal(peaks("55,1 102,5", NPSW_DECIMAL_COMMA_YES, 1000, &s, why, sizeof why), 1);
    assert_int_equal(s.n, 1);
    assert_peak(&s, 0, 55.1, 102.5);
    /* and NO reads two pairs */
    assert_int_equal(peaks("55,1 102,5", NPSW_DECIMAL_COMMA_NO, 1000, &s, why, sizeof why), 2);
    assert_peak(&s, 1, 102, 5);
    /* NO: "55 10,5" is three values -> an odd count, an error */
    assert_int_equal(peaks("55 10,5", NPSW_DECIMAL_COMMA_NO, 1000, &s, why, sizeof why),
                     NPSW_EPARSE);
    npsw_spectrum_free(&s);
}

static void test_peak_line_odd_count(void **state)
{
    (void)state;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    char why[200];
    assert_int_equal(peaks("55 102 56", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why),
                     NPSW_EPARSE);
    assert_true(why[0] != '\0');
    assert_non_null(strstr(why, "odd"));
    assert_int_equal(peaks("55", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why), NPSW_EPARSE);
    assert_true(why[0] != '\0');
    npsw_spectrum_free(&s);
}

static void test_peak_line_junk(void **state)
{
    (void)state;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    char why[200];
    /* a number glued to letters */
    assert_int_equal(peaks("55 1x2", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why),
                     NPSW_EPARSE);
    assert_true(why[0] != '\0');
    /* an intensity that is a word */
    assert_int_equal(peaks("55 abc", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why),
                     NPSW_EPARSE);
    assert_true(why[0] != '\0');
    /* no numbers at all */
    assert_int_equal(peaks("hello world", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why),
                     NPSW_EPARSE);
    assert_true(why[0] != '\0');
    assert_int_equal(peaks("", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why), NPSW_EPARSE);
    /* inf and nan are not intensities */
    assert_int_equal(peaks("55 inf", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why),
                     NPSW_EPARSE);
    assert_int_equal(peaks("55 nan", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why),
                     NPSW_EPARSE);
    npsw_spectrum_free(&s);
}

static void test_peak_line_word_between_mz_and_intensity(void **state)
{
    (void)state;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    char why[200];
    /* reader_internal.h/text.c tolerate an annotation column AFTER complete pairs. A word
     * between an m/z and its intensity is not an annotation: "55 abc 102" is not a peak list
     * (it must not silently become the peak 55/102). */
    int rc = peaks("55 abc 102", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why);
    uint32_t n = s.n;
    npsw_spectrum_free(&s); /* before asserting: no leak report on top of a failure */
    if (rc != NPSW_EPARSE) {
        print_error("\"55 abc 102\" returned %d (%u peaks), expected NPSW_EPARSE\n", rc, n);
        fail();
    }
    /* ...while a trailing unquoted annotation after a complete pair is fine */
    assert_int_equal(peaks("55 102 C4H7+", NPSW_DECIMAL_COMMA_AUTO, 1000, &s, why, sizeof why),
                     1);
    assert_peak(&s, 0, 55, 102);
    npsw_spectrum_free(&s);
}

static void test_peak_line_max_peaks(void **state)
{
    (void)state;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    char why[200];
    /* exactly at the limit: fine */
    assert_int_equal(peaks("1 1 2 2 3 3", NPSW_DECIMAL_COMMA_AUTO, 3, &s, why, sizeof why), 3);
    /* one more: a limit error, with a message */
    assert_int_equal(peaks("1 1 2 2 3 3 4 4", NPSW_DECIMAL_COMMA_AUTO, 3, &s, why, sizeof why),
                     NPSW_ELIMIT);
    assert_true(why[0] != '\0');
    /* the limit counts the peaks already in the spectrum (lines add up) */
    npsw_spectrum_free(&s);
    const char *l1 = "10 1; 11 2";
    const char *l2 = "12 3";
    assert_int_equal(npsw_parse_peak_line(l1, strlen(l1), NPSW_DECIMAL_COMMA_AUTO, 2, &s, why,
                                          sizeof why),
                     2);
    assert_int_equal(npsw_parse_peak_line(l2, strlen(l2), NPSW_DECIMAL_COMMA_AUTO, 2, &s, why,
                                          sizeof why),
                     NPSW_ELIMIT);
    npsw_spectrum_free(&s);
}

static void test_peak_line_appends(void **state)
{
    (void)state;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    char why[200];
    const char *l1 = "40 42";
    const char *l2 = "41 493; 42 63";
    assert_int_equal(npsw_parse_peak_line(l1, strlen(l1), NPSW_DECIMAL_COMMA_AUTO, 100, &s, why,
                                          sizeof why),
                     1);
    assert_int_equal(npsw_parse_peak_line(l2, strlen(l2), NPSW_DECIMAL_COMMA_AUTO, 100, &s, why,
                                          sizeof why),
                     2);
    assert_int_equal(s.n, 3);
    assert_peak(&s, 0, 40, 42);
    assert_peak(&s, 1, 41, 493);
    assert_peak(&s, 2, 42, 63);
    npsw_spectrum_free(&s);
}

static void test_peak_line_not_nul_terminated(void **state)
{
    (void)state;
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    char why[200];
    /* only the first 6 bytes count: "55 102"; the rest must not be read */
    const char buf[] = {'5', '5', ' ', '1', '0', '2', '9', '9'};
    assert_int_equal(npsw_parse_peak_line(buf, 6, NPSW_DECIMAL_COMMA_AUTO, 100, &s, why,
                                          sizeof why),
                     1);
    assert_peak(&s, 0, 55, 102);
    npsw_spectrum_free(&s);
}

/* ---- npsw_parse_double ------------------------------------------------------------------- */

static void test_double_plain(void **state)
{
    (void)state;
    double v = -1;
    size_t used = 0;
    assert_int_equal(npsw_parse_double("42", 2, 0, &v, &used), 0);
    assert_near(v, 42, 0);
    assert_int_equal(used, 2);
    assert_int_equal(npsw_parse_double("  -2.5 rest", 11, 0, &v, &used), 0);
    assert_near(v, -2.5, 0);
    assert_int_equal(used, 6); /* two blanks + "-2.5" */
    assert_int_equal(npsw_parse_double(".5", 2, 0, &v, &used), 0);
    assert_near(v, 0.5, 0);
    assert_int_equal(used, 2);
    assert_int_equal(npsw_parse_double("55.", 3, 0, &v, &used), 0);
    assert_near(v, 55, 0);
    assert_int_equal(used, 3);
    assert_int_equal(npsw_parse_double("+7", 2, 0, &v, &used), 0);
    assert_near(v, 7, 0);
}

static void test_double_exponents(void **state)
{
    (void)state;
    double v = -1;
    size_t used = 0;
    assert_int_equal(npsw_parse_double("1e3", 3, 0, &v, &used), 0);
    assert_near(v, 1000, 0);
    assert_int_equal(used, 3);
    assert_int_equal(npsw_parse_double("1.5E-2", 6, 0, &v, &used), 0);
    assert_near(v, 0.015, 1e-15);
    assert_int_equal(used, 6);
    assert_int_equal(npsw_parse_double("-2.5e+1", 7, 0, &v, &used), 0);
    assert_near(v, -25, 0);
    assert_int_equal(used, 7);
    assert_int_equal(npsw_parse_double("2E2x", 4, 0, &v, &used), 0);
    assert_near(v, 200, 0);
    assert_int_equal(used, 3);
    /* "e" without exponent digits is not part of the number */
    assert_int_equal(npsw_parse_double("3e", 2, 0, &v, &used), 0);
    assert_near(v, 3, 0);
    assert_int_equal(used, 1);
    /* overflow to infinity is refused */
    assert_int_equal(npsw_parse_double("1e400", 5, 0, &v, &used), NPSW_EPARSE);
    /* an absurdly long exponent is refused */
    assert_int_equal(npsw_parse_double("1e123456", 8, 0, &v, &used), NPSW_EPARSE);
    /* the largest finite exponent range still works */
    assert_int_equal(npsw_parse_double("1e300", 5, 0, &v, &used), 0);
    assert_near(v / 1e300, 1, 1e-12);
}

static void test_double_huge_digit_strings(void **state)
{
    (void)state;
    char buf[301];
    memset(buf, '9', 300);
    buf[300] = '\0';
    double v = -1;
    size_t used = 0;
    /* 300 digits: must be refused, not truncated to some smaller number */
    assert_int_equal(npsw_parse_double(buf, 300, 0, &v, &used), NPSW_EPARSE);
    assert_int_equal(npsw_parse_double_full(buf, 300, 0, &v), NPSW_EPARSE);
    /* long fraction: "1." followed by 200 ones */
    char frac[203];
    frac[0] = '1';
    frac[1] = '.';
    memset(frac + 2, '1', 200);
    frac[202] = '\0';
    assert_int_equal(npsw_parse_double(frac, 202, 0, &v, &used), NPSW_EPARSE);
}

static void test_double_inf_nan(void **state)
{
    (void)state;
    const char *bad[] = {"inf", "INF", "-inf", "Infinity", "nan", "NaN", "-nan", "", " ", "-",
                         "+", ".", "e5", "abc", "0x"};
    double v = 12345;
    size_t used = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = npsw_parse_double(bad[i], strlen(bad[i]), 0, &v, &used);
        if (strcmp(bad[i], "0x") == 0) {
            /* "0x": the number 0, then something else; parse_double_full refuses it */
            assert_int_equal(rc, 0);
            assert_near(v, 0, 0);
            assert_int_equal(used, 1);
            assert_int_equal(npsw_parse_double_full(bad[i], strlen(bad[i]), 0, &v), NPSW_EPARSE);
            continue;
        }
        if (rc != NPSW_EPARSE) {
            print_error("npsw_parse_double(\"%s\") returned %d, expected NPSW_EPARSE\n", bad[i],
                        rc);
            fail();
        }
    }
}

static void test_double_comma(void **state)
{
    (void)state;
    double v = -1;
    size_t used = 0;
    assert_int_equal(npsw_parse_double("10,5", 4, 1, &v, &used), 0);
    assert_near(v, 10.5, 0);
    assert_int_equal(used, 4);
    assert_int_equal(npsw_parse_double("10,5", 4, 0, &v, &used), 0);
    assert_near(v, 10, 0);
    assert_int_equal(used, 2);
    assert_int_equal(npsw_parse_double("281,2013", 8, 1, &v, &used), 0);
    assert_near(v, 281.2013, 1e-12);
    /* a comma not followed by a digit is never a decimal mark */
    assert_int_equal(npsw_parse_double("10,", 3, 1, &v, &used), 0);
    assert_near(v, 10, 0);
    assert_int_equal(used, 2);
}

static void test_double_full(void **state)
{
    (void)state;
    double v = -1;
    assert_int_equal(npsw_parse_double_full("  12.5\t", 7, 0, &v), 0);
    assert_near(v, 12.5, 0);
    assert_int_equal(npsw_parse_double_full("12.5x", 5, 0, &v), NPSW_EPARSE);
    assert_int_equal(npsw_parse_double_full("12 5", 4, 0, &v), NPSW_EPARSE);
    assert_int_equal(npsw_parse_double_full("", 0, 0, &v), NPSW_EPARSE);
    assert_int_equal(npsw_parse_double_full("3,25", 4, 1, &v), 0);
    assert_near(v, 3.25, 0);
    assert_int_equal(npsw_parse_double_full("3,25", 4, 0, &v), NPSW_EPARSE);
}

/* ---- npsw_to_utf8 ------------------------------------------------------------------------ */

static void check_utf8(const char *in, size_t len, npsw_encoding enc, const char *expect,
                       npsw_encoding expect_used)
{
    npsw_encoding used = (npsw_encoding)-1;
    char *out = npsw_to_utf8(in, len, enc, &used);
    assert_non_null(out);
    if (strcmp(out, expect) != 0) {
        print_error("npsw_to_utf8: got \"");
        for (const unsigned char *p = (const unsigned char *)out; *p; p++)
            print_error(*p >= 0x20 && *p < 0x7f ? "%c" : "\\x%02x", *p);
        print_error("\"\n");
        free(out);
        fail();
    }
    free(out);
    assert_int_equal(used, expect_used);
}

static void test_utf8_valid_kept(void **state)
{
    (void)state;
    check_utf8("Cocaine", 7, NPSW_ENC_AUTO, "Cocaine", NPSW_ENC_UTF8);
    /* "Café" in UTF-8 (é = U+00E9 = C3 A9) */
    check_utf8("Caf\xc3\xa9", 5, NPSW_ENC_AUTO, "Caf\xc3\xa9", NPSW_ENC_UTF8);
    /* β-hydroxy in UTF-8 (β = U+03B2 = CE B2): no double conversion */
    check_utf8("\xce\xb2-hydroxy", 10, NPSW_ENC_AUTO, "\xce\xb2-hydroxy", NPSW_ENC_UTF8);
    /* full-width Latin capital A (U+FF21 = EF BC A1) */
    check_utf8("\xef\xbc\xa1", 3, NPSW_ENC_AUTO, "\xef\xbc\xa1", NPSW_ENC_UTF8);
    /* 4-byte sequence U+1F600 = F0 9F 98 80 */
    check_utf8("x\xf0\x9f\x98\x80", 5, NPSW_ENC_UTF8, "x\xf0\x9f\x98\x80", NPSW_ENC_UTF8);
    check_utf8("", 0, NPSW_ENC_AUTO, "", NPSW_ENC_UTF8);
}

static void test_utf8_validity(void **state)
{
    (void)state;
    assert_true(npsw_utf8_valid("abc", 3));
    assert_true(npsw_utf8_valid("\xc3\xa9", 2));
    assert_true(npsw_utf8_valid("\xf0\x9f\x98\x80", 4));
    assert_false(npsw_utf8_valid("\xe9", 1));              /* Latin-1 é */
    assert_false(npsw_utf8_valid("\xc3", 1));              /* truncated */
    assert_false(npsw_utf8_valid("\xe2\x82", 2));          /* truncated 3-byte */
    assert_false(npsw_utf8_valid("\xc0\xaf", 2));          /* overlong '/' */
    assert_false(npsw_utf8_valid("\xe0\x80\xaf", 3));      /* overlong '/' */
    assert_false(npsw_utf8_valid("\xed\xa0\x80", 3));      /* surrogate U+D800 */
    assert_false(npsw_utf8_valid("\xf4\x90\x80\x80", 4));  /* > U+10FFFF */
    assert_false(npsw_utf8_valid("\x80", 1));              /* lone continuation byte */
    assert_false(npsw_utf8_valid("\xc3\x28", 2));          /* bad continuation */
}

static void test_utf8_latin1_auto(void **state)
{
    (void)state;
    /* Latin-1 é (0xE9) -> U+00E9 -> C3 A9 */
    check_utf8("\xe9", 1, NPSW_ENC_AUTO, "\xc3\xa9", NPSW_ENC_LATIN1);
    check_utf8("Caf\xe9ine", 7, NPSW_ENC_AUTO, "Caf\xc3\xa9ine", NPSW_ENC_LATIN1);
    /* ü (0xFC -> C3 BC) between letters */
    check_utf8("M\xfcller", 6, NPSW_ENC_AUTO, "M\xc3\xbcller", NPSW_ENC_LATIN1);
}

static void test_utf8_cp437_auto(void **state)
{
    (void)state;
    /* CP437 0xE1 next to '-' is beta (U+03B2 = CE B2) */
    check_utf8("\xe1-hydroxy", 9, NPSW_ENC_AUTO, "\xce\xb2-hydroxy", NPSW_ENC_CP437);
    /* CP437 0xEB is delta (U+03B4 = CE B4): "δ9-THC" */
    check_utf8("\xeb" "9-THC", 6, NPSW_ENC_AUTO, "\xce\xb4" "9-THC", NPSW_ENC_CP437);
    /* CP437 0xE0 alpha (U+03B1 = CE B1) after a digit and a dot: "17.α-methyl" */
    check_utf8("17\xe0-methyl", 10, NPSW_ENC_AUTO, "17\xce\xb1-methyl", NPSW_ENC_CP437);
    /* a C1 byte (0x82) is not Latin-1 text: CP437, where 0x82 is é (U+00E9 = C3 A9) */
    check_utf8("Caf\x82", 4, NPSW_ENC_AUTO, "Caf\xc3\xa9", NPSW_ENC_CP437);
}

static void test_utf8_explicit(void **state)
{
    (void)state;
    /* explicit CP437: 0x82 = é, 0x81 = ü (C3 BC), 0xE1 = β */
    check_utf8("\x82\x81\xe1", 3, NPSW_ENC_CP437, "\xc3\xa9\xc3\xbc\xce\xb2", NPSW_ENC_CP437);
    /* explicit Latin-1: 0xE1 is á (U+00E1 = C3 A1), not β, even next to '-' */
    check_utf8("\xe1-hydroxy", 9, NPSW_ENC_LATIN1, "\xc3\xa1-hydroxy", NPSW_ENC_LATIN1);
    /* explicit Latin-1: C1 controls (0x80-0x9F) become spaces */
    check_utf8("a\x85" "b", 3, NPSW_ENC_LATIN1, "a b", NPSW_ENC_LATIN1);
    /* explicit Latin-1 on ASCII: unchanged */
    check_utf8("abc", 3, NPSW_ENC_LATIN1, "abc", NPSW_ENC_LATIN1);
    /* declared UTF-8 that is not valid UTF-8: kept readable as Latin-1 */
    check_utf8("Caf\xe9", 4, NPSW_ENC_UTF8, "Caf\xc3\xa9", NPSW_ENC_LATIN1);
    /* declared UTF-8 that is valid: unchanged */
    check_utf8("Caf\xc3\xa9", 5, NPSW_ENC_UTF8, "Caf\xc3\xa9", NPSW_ENC_UTF8);
    /* CP437 box and symbol range: 0xB0 = U+2591 (E2 96 91), 0xF8 = degree U+00B0 (C2 B0) */
    check_utf8("\xb0\xf8", 2, NPSW_ENC_CP437, "\xe2\x96\x91\xc2\xb0", NPSW_ENC_CP437);
}

static void test_utf8_controls_and_nul(void **state)
{
    (void)state;
    /* NUL bytes are dropped */
    check_utf8("a\0b", 3, NPSW_ENC_AUTO, "ab", NPSW_ENC_UTF8);
    check_utf8("\0\0", 2, NPSW_ENC_AUTO, "", NPSW_ENC_UTF8);
    /* other control characters become spaces, tab is kept, DEL becomes a space */
    check_utf8("a\x01" "b\tc\x7f" "d\x1b", 8, NPSW_ENC_AUTO, "a b\tc d ", NPSW_ENC_UTF8);
    check_utf8("x\ry\nz", 5, NPSW_ENC_AUTO, "x y z", NPSW_ENC_UTF8);
    /* also in an 8-bit conversion */
    check_utf8("\xe9\x01\0", 3, NPSW_ENC_LATIN1, "\xc3\xa9 ", NPSW_ENC_LATIN1);
}

static void test_utf8_null_converted_ok(void **state)
{
    (void)state;
    char *out = npsw_to_utf8("abc", 3, NPSW_ENC_AUTO, NULL);
    assert_non_null(out);
    assert_string_equal(out, "abc");
    free(out);
}

/* ---- npsw_normalise_cas ------------------------------------------------------------------ */

static void check_cas(const char *in, int expect_rc, const char *expect)
{
    char out[32] = "untouched";
    int rc = npsw_normalise_cas(in, strlen(in), out, sizeof out);
    if (rc != expect_rc) {
        print_error("npsw_normalise_cas(\"%s\") returned %d, expected %d\n", in, rc, expect_rc);
        fail();
    }
    if (expect) assert_string_equal(out, expect);
}

static void test_cas_valid(void **state)
{
    (void)state;
    /* formaldehyde 50-00-0: digits 5,0,0,0 from the right weighted 1..4: 0+0+0+5*4 = 20 -> 0 */
    check_cas("50-00-0", 1, "50-00-0");
    check_cas("50000", 1, "50-00-0");
    check_cas("000050-00-0", 1, "50-00-0");
    check_cas("  50-00-0  ", 1, "50-00-0");
    /* caffeine 58-08-2: 8*1 + 0*2 + 8*3 + 5*4 = 52 -> 2 */
    check_cas("58-08-2", 1, "58-08-2");
    check_cas("58082", 1, "58-08-2");
    /* epiandrosterone 481-29-8: 9*1 + 2*2 + 1*3 + 8*4 + 4*5 = 68 -> 8 */
    check_cas("481298", 1, "481-29-8");
    /* water 7732-18-5: 8*1+1*2+2*3+3*4+7*5+7*6 = 105 -> 5 */
    check_cas("7732-18-5", 1, "7732-18-5");
    /* the largest form, 10 digits: 1234567-89-5: 9+16+21+24+25+24+21+16+9 = 165 -> 5 */
    check_cas("1234567-89-5", 1, "1234567-89-5");
}

static void test_cas_unknown(void **state)
{
    (void)state;
    check_cas("0", 0, NULL);
    check_cas("", 0, NULL);
    check_cas("   ", 0, NULL);
    check_cas("0000", 0, NULL);
    check_cas("2147483647", 0, NULL);
}

static void test_cas_bad(void **state)
{
    (void)state;
    check_cas("50-00-1", -1, NULL);     /* check digit should be 0 */
    check_cas("58-08-3", -1, NULL);     /* should be 2 */
    check_cas("481-29-9", -1, NULL);    /* should be 8 */
    check_cas("1234", -1, NULL);        /* too short */
    check_cas("12345678901", -1, NULL); /* 11 digits: too long */
    check_cas("CAS 50-00-0", -1, NULL); /* letters */
    check_cas("50.00.0", -1, NULL);
    /* a very long digit string must not overflow anything */
    check_cas("111111111111111111111111111111111111111111111111", -1, NULL);
}

/* ---- npsw_lines_next --------------------------------------------------------------------- */

static void expect_line(npsw_lines *ls, const char *text, uint64_t no)
{
    npsw_line ln;
    int rc = npsw_lines_next(ls, &ln);
    if (rc != 0) {
        print_error("expected line %llu \"%s\", got end of input\n", (unsigned long long)no, text);
        fail();
    }
    if (ln.len != strlen(text) || memcmp(ln.p, text, ln.len) != 0) {
        print_error("line %llu: got \"%.*s\" (%zu bytes), expected \"%s\"\n",
                    (unsigned long long)no, (int)ln.len, ln.p, ln.len, text);
        fail();
    }
    assert_int_equal(ln.no, no);
}

static void expect_eof(npsw_lines *ls)
{
    npsw_line ln;
    assert_int_equal(npsw_lines_next(ls, &ln), NPSW_EOF);
    assert_int_equal(npsw_lines_next(ls, &ln), NPSW_EOF);
}

static npsw_lines lines_of(const char *buf, size_t len)
{
    npsw_lines ls;
    memset(&ls, 0, sizeof ls);
    ls.buf = buf;
    ls.len = len;
    return ls;
}

static void test_lines_endings(void **state)
{
    (void)state;
    const char *t = "a\r\nb\rc\nd";
    npsw_lines ls = lines_of(t, strlen(t));
    expect_line(&ls, "a", 1); /* CRLF */
    expect_line(&ls, "b", 2); /* lone CR */
    expect_line(&ls, "c", 3); /* LF */
    expect_line(&ls, "d", 4); /* last line without a newline */
    expect_eof(&ls);
}

static void test_lines_empty_lines(void **state)
{
    (void)state;
    const char *t = "a\n\nb\r\n\r\nc\n";
    npsw_lines ls = lines_of(t, strlen(t));
    expect_line(&ls, "a", 1);
    expect_line(&ls, "", 2);
    expect_line(&ls, "b", 3);
    expect_line(&ls, "", 4);
    expect_line(&ls, "c", 5);
    expect_eof(&ls); /* the final newline does not start another line */
    /* "\n\r": LF then a lone CR are two line endings: two empty lines */
    const char *u = "\n\r";
    ls = lines_of(u, 2);
    expect_line(&ls, "", 1);
    expect_line(&ls, "", 2);
    expect_eof(&ls);
    /* "x\r" : one line */
    ls = lines_of("x\r", 2);
    expect_line(&ls, "x", 1);
    expect_eof(&ls);
    /* empty input */
    ls = lines_of("", 0);
    expect_eof(&ls);
}

static void test_lines_bom(void **state)
{
    (void)state;
    const char *t = "\xef\xbb\xbfName: x\r\nNum Peaks: 1\n";
    npsw_lines ls = lines_of(t, strlen(t));
    expect_line(&ls, "Name: x", 1);
    expect_line(&ls, "Num Peaks: 1", 2);
    expect_eof(&ls);
    /* only a BOM: no lines */
    ls = lines_of("\xef\xbb\xbf", 3);
    expect_eof(&ls);
    /* a BOM later in the file is not skipped */
    const char *u = "a\n\xef\xbb\xbf" "b\n";
    ls = lines_of(u, strlen(u));
    expect_line(&ls, "a", 1);
    expect_line(&ls, "\xef\xbb\xbf" "b", 2);
    expect_eof(&ls);
}

static void test_lines_peek(void **state)
{
    (void)state;
    const char *t = "\xef\xbb\xbf" "first\nsecond";
    npsw_lines ls = lines_of(t, strlen(t));
    npsw_line a, b;
    assert_int_equal(npsw_lines_peek(&ls, &a), 0);
    assert_int_equal(a.len, 5);
    assert_memory_equal(a.p, "first", 5);
    assert_int_equal(a.no, 1);
    assert_int_equal(npsw_lines_peek(&ls, &b), 0); /* peeking twice: the same line */
    assert_ptr_equal(a.p, b.p);
    expect_line(&ls, "first", 1);
    assert_int_equal(npsw_lines_peek(&ls, &a), 0);
    assert_int_equal(a.no, 2);
    assert_memory_equal(a.p, "second", 6);
    expect_line(&ls, "second", 2);
    assert_int_equal(npsw_lines_peek(&ls, &a), NPSW_EOF);
    expect_eof(&ls);
}

static void test_lines_nul_inside(void **state)
{
    (void)state;
    const char t[] = {'a', '\0', 'b', '\n', 'c'};
    npsw_lines ls = lines_of(t, sizeof t);
    npsw_line ln;
    assert_int_equal(npsw_lines_next(&ls, &ln), 0);
    assert_int_equal(ln.len, 3);
    assert_int_equal(ln.no, 1);
    assert_int_equal(npsw_lines_next(&ls, &ln), 0);
    assert_int_equal(ln.len, 1);
    assert_int_equal(ln.p[0], 'c');
    assert_int_equal(ln.no, 2);
    expect_eof(&ls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peak_line_space),
        cmocka_unit_test(test_peak_line_semicolons),
        cmocka_unit_test(test_peak_line_parentheses),
        cmocka_unit_test(test_peak_line_colons),
        cmocka_unit_test(test_peak_line_tab_annotation),
        cmocka_unit_test(test_peak_line_comma_separator),
        cmocka_unit_test(test_peak_line_comma_decimal_auto),
        cmocka_unit_test(test_peak_line_comma_auto_vs_yes),
        cmocka_unit_test(test_peak_line_odd_count),
        cmocka_unit_test(test_peak_line_junk),
        cmocka_unit_test(test_peak_line_word_between_mz_and_intensity),
        cmocka_unit_test(test_peak_line_max_peaks),
        cmocka_unit_test(test_peak_line_appends),
        cmocka_unit_test(test_peak_line_not_nul_terminated),
        cmocka_unit_test(test_double_plain),
        cmocka_unit_test(test_double_exponents),
        cmocka_unit_test(test_double_huge_digit_strings),
        cmocka_unit_test(test_double_inf_nan),
        cmocka_unit_test(test_double_comma),
        cmocka_unit_test(test_double_full),
        cmocka_unit_test(test_utf8_valid_kept),
        cmocka_unit_test(test_utf8_validity),
        cmocka_unit_test(test_utf8_latin1_auto),
        cmocka_unit_test(test_utf8_cp437_auto),
        cmocka_unit_test(test_utf8_explicit),
        cmocka_unit_test(test_utf8_controls_and_nul),
        cmocka_unit_test(test_utf8_null_converted_ok),
        cmocka_unit_test(test_cas_valid),
        cmocka_unit_test(test_cas_unknown),
        cmocka_unit_test(test_cas_bad),
        cmocka_unit_test(test_lines_endings),
        cmocka_unit_test(test_lines_empty_lines),
        cmocka_unit_test(test_lines_bom),
        cmocka_unit_test(test_lines_peek),
        cmocka_unit_test(test_lines_nul_inside),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
