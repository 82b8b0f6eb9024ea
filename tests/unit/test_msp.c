/* test_msp.c - the MSP importer (spectra_db/src/msp.c) through the public reader API:
 * record layouts (SWGDRUG, NIST, MS-DIAL), peak-line forms, metadata keys, encodings, warnings,
 * error recovery and the whole-file reader (strict vs lenient).
 *
 * Expected values are worked out by hand from the inline texts, from
 * tests/data/msp/synthetic_mixed.msp (line numbers counted in that file) and, for the optional
 * real-data test, from ../shared/data/swgdrug/swgdrug_v3.4.msp (counted independently with
 * grep/awk/python: 2988 records, 396397 peak lines, every 'Num Peaks:' equal to its peak lines,
 * first record Epiandrosterone with 211 peaks starting "40 42", last record N-Propylcathinone
 * ending "192 1"). Nothing is copied from the program's output. */
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

static void open_opts(fixture *f, const char *text, size_t len, npsw_read_opts o)
{
    fixture_open(f, text, len, "t.msp", o);
    assert_int_equal(npsw_reader_format(f->r), NPSW_FMT_MSP);
}

/* Explicit MSP format. */
static void open_msp(fixture *f, const char *text)
{
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FMT_MSP;
    open_opts(f, text, strlen(text), o);
}

/* Format detection (NPSW_FMT_AUTO). */
static void open_auto(fixture *f, const char *text)
{
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FMT_AUTO;
    open_opts(f, text, strlen(text), o);
}

/* An expected parse error: code, file name and line. */
static void assert_parse_error_at(fixture *f, int rc, uint64_t line, const char *file, int srcline)
{
    if (rc != NPSW_EPARSE || f->err.code != NPSW_EPARSE || f->err.line != line ||
        strcmp(f->err.where, "t.msp") != 0) {
        print_error("%s:%d: expected NPSW_EPARSE at t.msp:%llu, got rc %d, err %d at %s:%llu (%s)\n",
                    file, srcline, (unsigned long long)line, rc, f->err.code, f->err.where,
                    (unsigned long long)f->err.line, f->err.msg);
        fail();
    }
    assert_true(f->err.msg[0] != '\0');
}
#define assert_parse_error(f, rc, line) assert_parse_error_at((f), (rc), (line), __FILE__, __LINE__)

/* ---- record layouts -------------------------------------------------------------------- */

static void test_msp_swgdrug_record(void **state)
{
    (void)state;
    fixture f;
    open_auto(&f, "Name: Epiandrosterone\n"                           /* 1 */
                  "Synon: Isoandrosterone\n"                          /* 2 */
                  "Synon: 3.beta.-hydroxy-5.alpha.-Androstan-17-one\n" /* 3 */
                  "Formula: C19H30O2\n"                               /* 4 */
                  "MW: 290\n"                                         /* 5 */
                  "ExactMass: 290.22458\n"                            /* 6 */
                  "CAS#: 481-29-8\n"                                  /* 7 */
                  "InChIKey: QGXBDMJGAMFCBF-IDBYYWHPSA-N\n"           /* 8 */
                  "DB#: SWGDRUG-3.4-314\n"                            /* 9 */
                  "Comments: DEA SWL\n"                               /* 10 */
                  "Num Peaks: 4\n"                                    /* 11 */
                  "40 42\n"                                           /* 12 */
                  "41 493\n"                                          /* 13 */
                  "290 999\n"                                         /* 14 */
                  "291 210\n"                                         /* 15 */
                  "\n"                                                /* 16 */
                  "Name: Second record\n"                             /* 17 */
                  "Num Peaks: 1\n"                                    /* 18 */
                  "50 5\n");                                          /* 19 */
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Epiandrosterone");
    assert_meta(&f.s, NPSW_META_SYNONYMS,
                "Isoandrosterone\n3.beta.-hydroxy-5.alpha.-Androstan-17-one");
    assert_meta(&f.s, NPSW_META_FORMULA, "C19H30O2");
    assert_near(f.s.mw, 290, 0);
    assert_near(f.s.exact_mass, 290.22458, 1e-9);
    assert_meta(&f.s, NPSW_META_CAS, "481-29-8");
    assert_meta(&f.s, NPSW_META_INCHIKEY, "QGXBDMJGAMFCBF-IDBYYWHPSA-N");
    assert_meta(&f.s, NPSW_META_ACCESSION, "SWGDRUG-3.4-314");
    assert_meta(&f.s, NPSW_META_COMMENTS, "DEA SWL");
    assert_meta(&f.s, NPSW_META_SMILES, NULL);
    assert_true(f.s.precursor_mz == 0);
    assert_int_equal(f.s.ion_mode, NPSW_ION_UNKNOWN);
    assert_int_equal(f.s.src_line, 1);
    assert_int_equal(f.s.n, 4);
    assert_peak(&f.s, 0, 40, 42);
    assert_peak(&f.s, 1, 41, 493);
    assert_peak(&f.s, 2, 290, 999);
    assert_peak(&f.s, 3, 291, 210);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Second record");
    /* nothing carried over from the previous record */
    assert_meta(&f.s, NPSW_META_SYNONYMS, NULL);
    assert_meta(&f.s, NPSW_META_CAS, NULL);
    assert_meta(&f.s, NPSW_META_COMMENTS, NULL);
    assert_true(f.s.mw == 0);
    assert_int_equal(f.s.src_line, 17);
    assert_int_equal(f.s.n, 1);
    assert_peak(&f.s, 0, 50, 5);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(f.warnings, 0);
    assert_int_equal(npsw_reader_warnings(f.r), 0);
    fixture_done(&f);
}

static void test_msp_crlf_and_semicolon_pairs(void **state)
{
    (void)state;
    fixture f;
    /* the raw SWGDRUG form: CRLF, several "m/z intensity; " pairs per line */
    open_auto(&f, "Name: Cocaine\r\n"          /* 1 */
                  "Formula: C17H21NO4\r\n"     /* 2 */
                  "MW: 303\r\n"                /* 3 */
                  "CAS#: 50-36-2\r\n"          /* 4: 6+3*2+0*3+5*4 = 32 -> 2 */
                  "Num Peaks: 5\r\n"           /* 5 */
                  "42 100; 82 999; 182 850; \r\n" /* 6 */
                  "303 300; 304 60; \r\n"      /* 7 */
                  "\r\n"                       /* 8 */
                  "Name: Next\r\n"             /* 9 */
                  "Num Peaks: 1\r\n"           /* 10 */
                  "44 5\r\n");                 /* 11 */
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Cocaine"); /* no stray CR */
    assert_meta(&f.s, NPSW_META_FORMULA, "C17H21NO4");
    assert_meta(&f.s, NPSW_META_CAS, "50-36-2");
    assert_near(f.s.mw, 303, 0);
    assert_int_equal(f.s.n, 5);
    assert_peak(&f.s, 0, 42, 100);
    assert_peak(&f.s, 1, 82, 999);
    assert_peak(&f.s, 2, 182, 850);
    assert_peak(&f.s, 3, 303, 300);
    assert_peak(&f.s, 4, 304, 60);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Next");
    assert_int_equal(f.s.src_line, 9);
    assert_int_equal(f.s.n, 1);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
}

static void test_msp_no_blank_line_between_records(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: A\n"       /* 1 */
                 "Num Peaks: 2\n"  /* 2 */
                 "50 100\n"        /* 3 */
                 "51 50\n"         /* 4 */
                 "Name: B\n"       /* 5 */
                 "MW: 100\n"       /* 6 */
                 "Num Peaks: 1\n"  /* 7 */
                 "60 10\n"         /* 8 */
                 "NAME: C\n"       /* 9: keys are case-insensitive */
                 "Num Peaks: 1\n"  /* 10 */
                 "70 7");          /* 11: no final newline */
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "A");
    assert_int_equal(f.s.src_line, 1);
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 1, 51, 50);
    assert_true(f.s.mw == 0);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "B");
    assert_int_equal(f.s.src_line, 5);
    assert_near(f.s.mw, 100, 0);
    assert_int_equal(f.s.n, 1);
    assert_peak(&f.s, 0, 60, 10);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "C");
    assert_int_equal(f.s.src_line, 9);
    assert_int_equal(f.s.n, 1);
    assert_peak(&f.s, 0, 70, 7);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
}

/* A blank line between "Num Peaks:" and the peaks does not split the record; a record whose
 * announced peaks never come is one error, and the next record is still read. */
static void test_msp_blank_line_before_peaks(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: A\n"      /* 1 */
                 "Num Peaks: 2\n" /* 2 */
                 "\n"             /* 3 */
                 "50 100\n"       /* 4 */
                 "51 50\n"        /* 5 */
                 "\n"             /* 6 */
                 "Name: B\n"      /* 7 */
                 "Num Peaks: 1\n" /* 8 */
                 "\n"             /* 9 */
                 "Name: C\n"      /* 10 */
                 "Num Peaks: 1\n" /* 11 */
                 "70 7\n");       /* 12 */
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "A");
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 1, 51, 50);
    assert_int_equal(fixture_next(&f), NPSW_EPARSE);
    assert_int_equal(f.err.line, 7);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "C");
    assert_peak(&f.s, 0, 70, 7);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_msp_blank_lines_and_bom(void **state)
{
    (void)state;
    fixture f;
    /* BOM, leading blank lines, several blank lines between records, trailing blanks */
    open_auto(&f, "\xef\xbb\xbf\n\n"   /* 1, 2 */
                  "Name: Bom\n"        /* 3 */
                  "Num Peaks: 1\n"     /* 4 */
                  "50 1\n"             /* 5 */
                  "\n \n\t\n"          /* 6, 7, 8 */
                  "Name: Two\n"        /* 9 */
                  "Num Peaks: 1\n"     /* 10 */
                  "60 2\n\n\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Bom");
    assert_int_equal(f.s.src_line, 3);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Two");
    assert_int_equal(f.s.src_line, 9);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

/* ---- peak-line forms ------------------------------------------------------------------- */

static void test_msp_peak_forms(void **state)
{
    (void)state;
    fixture f;
    open_auto(&f, "Name: Forms\n"
                  "Num Peaks: 6\n"
                  "(55 102) (56 33)\n"
                  "57:10 58:20\n"
                  "59\t30\t\"C4H7+\"\n"
                  "60 40\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.n, 6);
    assert_peak(&f.s, 0, 55, 102);
    assert_peak(&f.s, 1, 56, 33);
    assert_peak(&f.s, 2, 57, 10);
    assert_peak(&f.s, 3, 58, 20);
    assert_peak(&f.s, 4, 59, 30);
    assert_peak(&f.s, 5, 60, 40);
    assert_int_equal(f.warnings, 0);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_msp_msdial_tab_annotation(void **state)
{
    (void)state;
    fixture f;
    open_auto(&f, "NAME: Toluene\n"
                  "PRECURSORMZ: 0\n"
                  "PRECURSORTYPE: [M]+\n"
                  "IONMODE: Positive\n"
                  "SMILES: Cc1ccccc1\n"
                  "Num Peaks: 2\n"
                  "65.0386\t120\t\"C5H5+\"\n"
                  "91.0542\t999\t\"C7H7+ tropylium\"\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Toluene");
    assert_true(f.s.precursor_mz == 0);
    assert_meta(&f.s, NPSW_META_PRECURSOR_TYPE, "[M]+");
    assert_meta(&f.s, NPSW_META_SMILES, "Cc1ccccc1");
    assert_int_equal(f.s.ion_mode, NPSW_ION_POSITIVE);
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 0, 65.0386, 120);
    assert_peak(&f.s, 1, 91.0542, 999);
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
}

static void test_msp_comma_decimal_intensities(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: Komma\n"
                 "Num Peaks: 4\n"
                 "55 10,5\n"
                 "56 999,0\n"
                 "57 20,25; 58 1,5\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.n, 4);
    assert_peak(&f.s, 0, 55, 10.5);
    assert_peak(&f.s, 1, 56, 999);
    assert_peak(&f.s, 2, 57, 20.25);
    assert_peak(&f.s, 3, 58, 1.5);
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
}

static void test_msp_comma_pairs(void **state)
{
    (void)state;
    fixture f;
    /* "m/z,intensity" per line: the comma separates (one token per line) */
    open_msp(&f, "Name: Pairs\nNum Peaks: 2\n55,102\n56,33\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 0, 55, 102);
    assert_peak(&f.s, 1, 56, 33);
    fixture_done(&f);
}

/* ---- metadata keys --------------------------------------------------------------------- */

static void test_msp_cas_with_nist_number(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: Caffeine\n"
                 "CAS#: 58-08-2;  NIST#: 12345\n"
                 "Num Peaks: 1\n"
                 "194 999\n"
                 "\n"
                 "Name: Dashless CAS\n"
                 "CAS#: 58082\n"
                 "NIST#: 777\n"
                 "Num Peaks: 1\n"
                 "194 999\n"
                 "\n"
                 "Name: Unknown CAS\n"
                 "CAS#: 0;  NIST#: 888\n"
                 "Num Peaks: 1\n"
                 "194 999\n"
                 "\n"
                 "Name: Overflow CAS\n"
                 "CAS#: 2147483647\n"
                 "Num Peaks: 1\n"
                 "194 999\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_CAS, "58-08-2");
    assert_meta(&f.s, NPSW_META_ACCESSION, "NIST#12345");
    assert_int_equal(f.warnings, 0);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_CAS, "58-08-2");
    assert_meta(&f.s, NPSW_META_ACCESSION, "NIST#777");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_CAS, NULL); /* 0 = unknown */
    assert_meta(&f.s, NPSW_META_ACCESSION, "NIST#888");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_CAS, NULL); /* 2147483647 = unknown */
    assert_int_equal(f.warnings, 0);       /* "unknown" is not a problem */
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_msp_bad_cas_warns(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: Bad check digit\n" /* 1 */
                 "CAS#: 58-08-3\n"         /* 2: the check digit should be 2 */
                 "Num Peaks: 1\n"
                 "194 999\n");
    assert_int_equal(fixture_next(&f), 0); /* the record is kept */
    assert_meta(&f.s, NPSW_META_CAS, NULL);
    assert_int_equal(f.warnings, 1);
    assert_int_equal(f.last_warning_line, 2);
    assert_string_equal(f.last_warning_where, "t.msp");
    fixture_done(&f);
}

static void test_msp_num_peaks_disagrees(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: Too few\n"  /* 1 */
                 "Num Peaks: 3\n"   /* 2 */
                 "50 100\n"         /* 3 */
                 "51 200\n"         /* 4 */
                 "\n"               /* 5 */
                 "Name: Too many\n" /* 6 */
                 "Num Peaks: 1\n"   /* 7 */
                 "60 10; 61 20\n"   /* 8 */
                 "\n"
                 "Name: Right\n"
                 "Num Peaks: 2\n"
                 "70 1\n"
                 "71 2\n");
    assert_int_equal(fixture_next(&f), 0); /* kept, with the peaks present */
    assert_meta(&f.s, NPSW_META_NAME, "Too few");
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 1, 51, 200);
    assert_int_equal(f.warnings, 1);
    assert_string_equal(f.last_warning_where, "t.msp");
    assert_true(f.last_warning_line >= 2 && f.last_warning_line <= 4);
    assert_non_null(strstr(f.all_warnings, "Num Peaks"));
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Too many");
    assert_int_equal(f.s.n, 2);
    assert_int_equal(f.warnings, 2);
    assert_true(f.last_warning_line >= 6 && f.last_warning_line <= 8);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Right");
    assert_int_equal(f.warnings, 2); /* agreeing: no warning */
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(npsw_reader_warnings(f.r), 2);
    fixture_done(&f);
}

static void test_msp_missing_num_peaks(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: No count\n"
                 "50 100\n"
                 "51 200\n"
                 "\n"
                 "Name: No count, no blank\n"
                 "60 1\n"
                 "Name: Last\n"
                 "Num Peaks: 1\n"
                 "70 1\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "No count");
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 0, 50, 100);
    assert_peak(&f.s, 1, 51, 200);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "No count, no blank");
    assert_int_equal(f.s.n, 1);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Last");
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_msp_latin1_name(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: Caf\xe9ine\n"           /* Latin-1 é */
                 "Synon: M\xfcller's base\n"    /* Latin-1 ü */
                 "Num Peaks: 1\n"
                 "194 999\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Caf\xc3\xa9ine");
    assert_meta(&f.s, NPSW_META_SYNONYMS, "M\xc3\xbcller's base");
    assert_true(f.warnings >= 1); /* an 8-bit conversion is reported */
    fixture_done(&f);
}

static void test_msp_cp437_name(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: \xe1-Hydroxyfentanyl\n" /* CP437 beta */
                 "Num Peaks: 1\n"
                 "50 1\n"
                 "\n"
                 "Name: \xeb" "9-THC\n"          /* CP437 delta */
                 "Num Peaks: 1\n"
                 "50 1\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "\xce\xb2-Hydroxyfentanyl"); /* U+03B2 */
    assert_true(f.warnings >= 1);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "\xce\xb4" "9-THC"); /* U+03B4 */
    fixture_done(&f);
}

static void test_msp_explicit_encoding(void **state)
{
    (void)state;
    fixture f;
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FMT_MSP;
    o.encoding = NPSW_ENC_LATIN1;
    const char *t = "Name: \xe1-Hydroxy\nNum Peaks: 1\n50 1\n";
    open_opts(&f, t, strlen(t), o);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "\xc3\xa1-Hydroxy"); /* Latin-1 á, U+00E1 */
    fixture_done(&f);
    o.encoding = NPSW_ENC_CP437;
    const char *u = "Name: Caf\x82\nNum Peaks: 1\n50 1\n";
    open_opts(&f, u, strlen(u), o);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Caf\xc3\xa9"); /* CP437 0x82 = é */
    fixture_done(&f);
}

static void test_msp_utf8_name_untouched(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: \xce\xb1-PVP\nNum Peaks: 1\n50 1\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "\xce\xb1-PVP");
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
}

static void test_msp_precursor(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: EI\nPrecursorMZ: 0\nNum Peaks: 1\n50 1\n\n"
                 "Name: Comma\nPrecursorMZ: 281,2013\nNum Peaks: 1\n50 1\n\n"
                 "Name: Dot\nPrecursorMZ: 195.0877\nNum Peaks: 1\n50 1\n\n"
                 "Name: None\nNum Peaks: 1\n50 1\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_true(f.s.precursor_mz == 0);
    assert_int_equal(f.warnings, 0);
    assert_int_equal(fixture_next(&f), 0);
    assert_near(f.s.precursor_mz, 281.2013, 1e-9);
    assert_int_equal(fixture_next(&f), 0);
    assert_near(f.s.precursor_mz, 195.0877, 1e-9);
    assert_int_equal(fixture_next(&f), 0);
    assert_true(f.s.precursor_mz == 0); /* reset between records */
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
}

static void test_msp_synonyms_accumulate(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: Methyl phenylacetate\n"
                 "Synon: Benzeneacetic acid, methyl ester\n"
                 "Synon: Methyl benzeneacetate\n"
                 "Synon:\n" /* empty: ignored */
                 "Synon: Methyl alpha-toluate\n"
                 "Synon: $:00in-source\n" /* NIST tagged metadata: not a synonym */
                 "Num Peaks: 1\n"
                 "91 999\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_SYNONYMS,
                "Benzeneacetic acid, methyl ester\nMethyl benzeneacetate\nMethyl alpha-toluate");
    assert_non_null(f.s.meta[NPSW_META_COMMENTS]);
    assert_non_null(strstr(f.s.meta[NPSW_META_COMMENTS], "$:00in-source"));
    fixture_done(&f);
}

static void test_msp_unknown_keys_in_comments(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: Keys\n"
                 "Comments: DEA SWL\n"
                 "Retention_time: 5.5\n"
                 "Foo Bar: baz qux\n"
                 "Num Peaks: 1\n"
                 "50 1\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_COMMENTS, "DEA SWL\nRetention_time: 5.5\nFoo Bar: baz qux");
    assert_int_equal(f.s.n, 1);
    fixture_done(&f);
}

static void test_msp_other_keys(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: Many keys\n"
                 "Formula: C8H10N4O2\n"
                 "MW: 194\n"
                 "ExactMass: 194.08038\n"
                 "Instrument_type: GC-EI-Q\n"
                 "Instrument: GCMS-QP2010 Plus\n"
                 "Ionization: EI\n"
                 "License: CC BY\n"
                 "Accession: MSBNK-TEST-0001\n"
                 "Contributor: Synthetic lab\n"
                 "Ion_mode: N\n"
                 "RI: 1834\n"
                 "Num Peaks: 1\n"
                 "194 999\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_FORMULA, "C8H10N4O2");
    assert_near(f.s.mw, 194, 0);
    assert_near(f.s.exact_mass, 194.08038, 1e-9);
    assert_meta(&f.s, NPSW_META_INSTRUMENT_TYPE, "GC-EI-Q");
    assert_meta(&f.s, NPSW_META_INSTRUMENT, "GCMS-QP2010 Plus");
    assert_meta(&f.s, NPSW_META_IONIZATION, "EI");
    assert_meta(&f.s, NPSW_META_LICENSE, "CC BY");
    assert_meta(&f.s, NPSW_META_ACCESSION, "MSBNK-TEST-0001");
    assert_meta(&f.s, NPSW_META_SOURCE, "Synthetic lab");
    assert_int_equal(f.s.ion_mode, NPSW_ION_NEGATIVE);
    assert_near(f.s.retention_index, 1834, 0);
    assert_meta(&f.s, NPSW_META_COMMENTS, NULL);
    fixture_done(&f);
}

/* ---- malformed records and recovery ---------------------------------------------------- */

static void test_msp_bad_peak_line_recovers(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: Good1\n"       /* 1 */
                 "Num Peaks: 1\n"      /* 2 */
                 "50 100\n"            /* 3 */
                 "\n"                  /* 4 */
                 "Name: Bad Peaks\n"   /* 5 */
                 "Num Peaks: 3\n"      /* 6 */
                 "55 102\n"            /* 7 */
                 "55 abc\n"            /* 8 */
                 "56 33\n"             /* 9: part of the bad record, skipped */
                 "\n"                  /* 10 */
                 "Name: Good2\n"       /* 11 */
                 "Num Peaks: 1\n"      /* 12 */
                 "60 100\n");          /* 13 */
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Good1");
    int rc = fixture_next(&f);
    assert_parse_error(&f, rc, 8);
    assert_non_null(strstr(f.err.msg, "Bad Peaks")); /* the message names the record */
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Good2");
    assert_int_equal(f.s.src_line, 11);
    assert_int_equal(f.s.n, 1);
    assert_peak(&f.s, 0, 60, 100);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_msp_bad_number_recovers_without_blank(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: Bad\n"       /* 1 */
                 "Num Peaks: 2\n"    /* 2 */
                 "55 1x2\n"          /* 3 */
                 "56 10\n"           /* 4 */
                 "Name: Good\n"      /* 5: next record starts without a blank line */
                 "Num Peaks: 1\n"
                 "60 1\n");
    int rc = fixture_next(&f);
    assert_parse_error(&f, rc, 3);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Good");
    assert_int_equal(f.s.src_line, 5);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_msp_record_without_peaks(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: Empty one\n"   /* 1 */
                 "Formula: C2H6O\n"    /* 2 */
                 "\n"                  /* 3 */
                 "Name: Good\n"        /* 4 */
                 "Num Peaks: 1\n"      /* 5 */
                 "50 1\n"              /* 6 */
                 "\n"                  /* 7 */
                 "Name: Empty two\n"   /* 8 */
                 "Num Peaks: 0\n"      /* 9 */
                 "\n"                  /* 10 */
                 "Name: Good again\n"  /* 11 */
                 "Num Peaks: 1\n"
                 "60 1\n"
                 "\n"
                 "Name: Empty at the end\n" /* 15 */
                 "Num Peaks: 0\n");
    int rc = fixture_next(&f);
    assert_parse_error(&f, rc, 1);
    assert_non_null(strstr(f.err.msg, "Empty one"));
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Good");
    rc = fixture_next(&f);
    assert_parse_error(&f, rc, 8);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Good again");
    rc = fixture_next(&f);
    assert_parse_error(&f, rc, 15);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_msp_junk_line_recovers(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Name: Junk\n"                         /* 1 */
                 "Num Peaks: 1\n"                       /* 2 */
                 "this line is neither key nor peaks\n" /* 3 */
                 "50 1\n"                               /* 4 */
                 "\n"                                   /* 5 */
                 "Name: Good\n"                         /* 6 */
                 "Num Peaks: 1\n"                       /* 7 */
                 "60 1\n"                               /* 8 */
                 "\n"                                   /* 9 */
                 "Name: Junk before name\n"             /* 10 */
                 "#comment line\n"                      /* 11 */
                 "Name: Good2\n"                        /* 12: no blank line */
                 "Num Peaks: 1\n"
                 "70 1\n");
    int rc = fixture_next(&f);
    assert_parse_error(&f, rc, 3);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Good");
    assert_int_equal(f.s.src_line, 6);
    rc = fixture_next(&f);
    assert_parse_error(&f, rc, 11);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Good2");
    assert_int_equal(f.s.src_line, 12);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_msp_record_without_name(void **state)
{
    (void)state;
    fixture f;
    open_msp(&f, "Num Peaks: 1\n"  /* 1 */
                 "50 1\n"          /* 2 */
                 "\n"              /* 3 */
                 "Name: Good\n"    /* 4 */
                 "Num Peaks: 1\n"
                 "60 1\n");
    int rc = fixture_next(&f);
    assert_parse_error(&f, rc, 1);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Good");
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_msp_max_peaks(void **state)
{
    (void)state;
    fixture f;
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FMT_MSP;
    o.max_peaks = 2;
    const char *t = "Name: Three\n"   /* 1 */
                    "Num Peaks: 3\n"  /* 2 */
                    "50 1\n"          /* 3 */
                    "51 1\n"          /* 4 */
                    "52 1\n"          /* 5: the third peak is over the limit */
                    "\n"
                    "Name: Two\n"
                    "Num Peaks: 2\n"
                    "60 1; 61 1\n";
    open_opts(&f, t, strlen(t), o);
    int rc = fixture_next(&f);
    assert_parse_error(&f, rc, 5);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "Two");
    assert_int_equal(f.s.n, 2);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_msp_garbage_terminates(void **state)
{
    (void)state;
    /* fixed pseudo-random bytes (LCG), with some MSP-looking lines mixed in: every call must
     * make progress, so the loop ends; no call may crash (run under ASan/UBSan) */
    static char buf[8192];
    uint32_t x = 12345u;
    for (size_t i = 0; i < sizeof buf; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (char)(x >> 16);
    }
    const char *msp = "\nName: inside\nNum Peaks: 1\n50 1\n\n";
    memcpy(buf + 4000, msp, strlen(msp));
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FMT_MSP;
    npsw_err err;
    npsw_reader *r = npsw_reader_open_mem(buf, sizeof buf, "garbage.msp", &o, &err);
    assert_non_null(r);
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    int calls = 0, rc, good = 0;
    while ((rc = npsw_reader_next(r, &s, &err)) != NPSW_EOF) {
        if (rc == 0) good++;
        else assert_int_equal(rc, NPSW_EPARSE);
        assert_true(++calls < (int)sizeof buf); /* at most one record per byte */
    }
    assert_true(good >= 1); /* the embedded record is found */
    npsw_spectrum_free(&s);
    npsw_reader_close(r);
}

/* Format detection from the content: a text whose records start with "Name:" lines followed by
 * "m/z intensity" lines is MSP whatever the file is called (io.h: the extension is only a
 * hint). NIST exports are often renamed *.txt. */
static int detected_format(const char *text, const char *name, int *n_read)
{
    npsw_read_opts o = npsw_read_opts_default();
    npsw_err err;
    *n_read = 0;
    npsw_reader *r = npsw_reader_open_mem(text, strlen(text), name, &o, &err);
    if (!r) return -1;
    int f = (int)npsw_reader_format(r);
    npsw_spectrum s;
    npsw_spectrum_init(&s);
    int rc;
    while ((rc = npsw_reader_next(r, &s, &err)) != NPSW_EOF)
        if (rc == 0) ++*n_read;
    npsw_spectrum_free(&s);
    npsw_reader_close(r);
    return f;
}

static void test_msp_auto_detect(void **state)
{
    (void)state;
    /* a NIST-style record pair, 250 peaks each (SWGDRUG records have up to several hundred:
     * Epiandrosterone has 211), so the second "Name:" is far from the start */
    static char with_count[16384], without_count[16384];
    size_t a = 0, b = 0;
    for (int rec = 0; rec < 2; rec++) {
        a += (size_t)snprintf(with_count + a, sizeof with_count - a,
                              "Name: Record %d\nFormula: C9H10O2\nNum Peaks: 250\n", rec);
        b += (size_t)snprintf(without_count + b, sizeof without_count - b, "Name: Record %d\n",
                              rec);
        for (int k = 0; k < 250; k++) {
            a += (size_t)snprintf(with_count + a, sizeof with_count - a, "%d %d\n", 40 + k,
                                  (k * 37) % 999 + 1);
            b += (size_t)snprintf(without_count + b, sizeof without_count - b, "%d %d\n",
                                  40 + k, (k * 37) % 999 + 1);
        }
        a += (size_t)snprintf(with_count + a, sizeof with_count - a, "\n");
        b += (size_t)snprintf(without_count + b, sizeof without_count - b, "\n");
    }
    const char *names[] = {"lib.msp", "lib.MSP", "lib.txt", "lib", "lib.csv"};
    const char *texts[] = {with_count, without_count};
    const char *what[] = {"with", "without"};
    int bad = 0;
    for (int t = 0; t < 2; t++) {
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            /* without Num Peaks the content is weaker evidence: a ".csv" name may win */
            if (t == 1 && strcmp(names[i], "lib.csv") == 0) continue;
            int n;
            int f = detected_format(texts[t], names[i], &n);
            if (f != NPSW_FMT_MSP || n != 2) {
                print_error("MSP %s 'Num Peaks:' named '%s': detected as %s, %d of 2 records "
                            "read; expected MSP and 2\n",
                            what[t], names[i], f >= 0 ? npsw_format_name((npsw_format)f) : "(open failed)",
                            n);
                bad = 1;
            }
        }
    }
    if (bad) fail();
}

/* A "CAS#:" value may carry more "Key: value" pairs after ';' ("CAS#: 58-08-2;  NIST#: 12345").
 * A line with a very long chain of them (1.5 MB here) must not crash the reader (npsw/io.h:
 * "Importers never crash on any byte sequence"): the pairs are only metadata. The reader runs
 * in a child process so that a crash (stack overflow) is reported as this test's failure instead
 * of killing the whole test program. */
static void test_msp_long_semicolon_chain_no_crash(void **state)
{
    (void)state;
    const size_t levels = 300000;
    const char *head = "Name: Chain\nCAS#: 58-08-2";
    const char *tail = "\nNum Peaks: 1\n194 999\n";
    size_t len = strlen(head) + levels * 5 + strlen(tail);
    char *text = malloc(len + 1);
    assert_non_null(text);
    char *p = text;
    memcpy(p, head, strlen(head));
    p += strlen(head);
    for (size_t i = 0; i < levels; i++, p += 5) memcpy(p, ";CAS:", 5);
    memcpy(p, tail, strlen(tail) + 1);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        npsw_read_opts o = npsw_read_opts_default();
        o.format = NPSW_FMT_MSP;
        npsw_err err;
        npsw_reader *r = npsw_reader_open_mem(text, len, "chain.msp", &o, &err);
        if (!r) _exit(3);
        npsw_spectrum s;
        npsw_spectrum_init(&s);
        int rc = npsw_reader_next(r, &s, &err);
        int ok = rc == 0 && s.n == 1 && s.meta[NPSW_META_CAS] &&
                 strcmp(s.meta[NPSW_META_CAS], "58-08-2") == 0;
        _exit(ok ? 0 : 4);
    }
    free(text);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) {
        print_error("the reader crashed with signal %d on a 'CAS#: x;CAS:;CAS:;...' line of %zu "
                    "bytes (unbounded recursion in msp.c handle_key?)\n",
                    WTERMSIG(status), len);
        fail();
    }
    if (WEXITSTATUS(status) != 0) {
        print_error("the reader child exited with status %d (3: open failed, 4: record not read "
                    "as expected, other: a sanitizer report such as stack-overflow)\n",
                    WEXITSTATUS(status));
        fail();
    }
}

/* ---- whole files ----------------------------------------------------------------------- */

/* One npsw_read_file call with the default options: the file, what it returns, what it reads. */
typedef struct file_read {
    char path[1024];
    npsw_spectra out;
    npsw_read_report rep;
    npsw_err err;
} file_read;

/* Prepare reading `path`: empty results, a clear error. */
static void file_read_init(file_read *fr, const char *path)
{
    memset(fr, 0, sizeof *fr);
    snprintf(fr->path, sizeof fr->path, "%s", path);
    npsw_err_clear(&fr->err);
}

/* Prepare reading tests/data/REL; fails when NPSW_TEST_DATA is not set. */
static void file_read_data(file_read *fr, const char *rel)
{
    char path[1024];
    if (!data_path(rel, path, sizeof path)) {
        print_error("NPSW_TEST_DATA is not set (ctest sets it)\n");
        fail();
    }
    file_read_init(fr, path);
}

/* npsw_read_file of fr->path, strict or lenient, appending to fr->out. */
static int file_read_run(file_read *fr, int strict)
{
    npsw_read_opts o = npsw_read_opts_default();
    return npsw_read_file(fr->path, &o, strict, &fr->out, &fr->rep, &fr->err);
}

/* tests/data/msp/synthetic_mixed.msp: Good One (lines 1-5), Bad Peak Line (7-11, "61 abc" on
 * line 11), Good Two (13-16), No Peaks (18-20), Good Three (22-25). */
static void test_msp_read_file_lenient(void **state)
{
    (void)state;
    file_read fr;
    file_read_data(&fr, "msp/synthetic_mixed.msp");
    int rc = file_read_run(&fr, 0);
    assert_int_equal(rc, 3);
    assert_int_equal(fr.out.n, 3);
    assert_int_equal(fr.rep.n_read, 3);
    assert_int_equal(fr.rep.n_skipped, 2);
    assert_int_equal(fr.rep.format, NPSW_FMT_MSP);
    assert_int_equal(strlen(fr.rep.sha256), 64);
    assert_int_equal(fr.rep.first[0].code, NPSW_EPARSE);
    assert_int_equal(fr.rep.first[0].line, 11);
    assert_string_equal(fr.rep.first[0].where, fr.path);
    assert_int_equal(fr.rep.first[1].code, NPSW_EPARSE);
    assert_int_equal(fr.rep.first[1].line, 18);
    assert_string_equal(fr.rep.first[1].where, fr.path);
    assert_string_equal(fr.out.v[0].meta[NPSW_META_NAME], "Synthetic Good One");
    assert_string_equal(fr.out.v[1].meta[NPSW_META_NAME], "Synthetic Good Two");
    assert_string_equal(fr.out.v[2].meta[NPSW_META_NAME], "Synthetic Good Three");
    assert_int_equal(fr.out.v[1].n, 3);
    assert_peak(&fr.out.v[1], 2, 72, 999);
    assert_int_equal(fr.out.v[1].src_line, 13);
    assert_int_equal(fr.out.v[2].src_line, 22);
    npsw_spectra_free(&fr.out);
}

static void test_msp_read_file_strict(void **state)
{
    (void)state;
    file_read fr;
    file_read_data(&fr, "msp/synthetic_mixed.msp");
    int rc = file_read_run(&fr, 1);
    assert_int_equal(rc, NPSW_EPARSE);
    assert_int_equal(fr.err.code, NPSW_EPARSE);
    assert_int_equal(fr.err.line, 11);
    assert_string_equal(fr.err.where, fr.path);
    assert_int_equal(fr.rep.n_read, 1); /* spectra read before the bad record stay */
    assert_int_equal(fr.rep.n_skipped, 1);
    assert_int_equal(fr.out.n, 1);
    assert_string_equal(fr.out.v[0].meta[NPSW_META_NAME], "Synthetic Good One");
    npsw_spectra_free(&fr.out);
}

static void test_msp_read_file_appends(void **state)
{
    (void)state;
    file_read fr;
    file_read_data(&fr, "msp/synthetic_small.msp");
    assert_int_equal(file_read_run(&fr, 1), 4);
    assert_int_equal(file_read_run(&fr, 1), 4); /* appended */
    assert_int_equal(fr.out.n, 8);
    assert_int_equal(fr.rep.n_warnings, 0);
    assert_string_equal(fr.out.v[4].meta[NPSW_META_NAME], "Synthetic Alpha");
    assert_string_equal(fr.out.v[7].meta[NPSW_META_NAME], "Synthetic Delta");
    assert_int_equal(fr.out.v[7].n, 5);
    assert_peak(&fr.out.v[7], 4, 165, 220);
    npsw_spectra_free(&fr.out);
}

static void test_msp_read_file_missing(void **state)
{
    (void)state;
    const char *p = "/nonexistent/dir/no_such_file.msp";
    file_read fr;
    file_read_init(&fr, p);
    int rc = file_read_run(&fr, 0);
    assert_int_equal(rc, NPSW_EIO);
    assert_string_equal(fr.err.where, p);
    assert_int_equal(fr.out.n, 0);
    npsw_spectra_free(&fr.out);
}

static void test_msp_shared_swgdrug(void **state)
{
    (void)state;
    const char *dir = getenv("NPSW_SHARED_DATA");
    char path[1024];
    snprintf(path, sizeof path, "%s/swgdrug/swgdrug_v3.4.msp", dir ? dir : "../shared/data");
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        printf("skipped: %s not present (NPSW_SHARED_DATA=%s); the real-data check did not run\n",
               path, dir ? dir : "(unset)");
        skip();
    }
    fclose(probe);
    file_read fr;
    file_read_init(&fr, path);
    int rc = file_read_run(&fr, 0);
    assert_int_equal(rc, 2988);
    assert_int_equal(fr.rep.n_read, 2988);
    assert_int_equal(fr.rep.n_skipped, 0);
    assert_int_equal(fr.rep.n_warnings, 0); /* clean file: every Num Peaks matches, ASCII only */
    assert_int_equal(fr.rep.format, NPSW_FMT_MSP);
    assert_int_equal(fr.out.n, 2988);
    const npsw_spectrum *a = &fr.out.v[0];
    assert_string_equal(a->meta[NPSW_META_NAME], "Epiandrosterone");
    assert_string_equal(a->meta[NPSW_META_SYNONYMS],
                        "Isoandrosterone\n3.beta.-hydroxy-5.alpha.-Androstan-17-one");
    assert_string_equal(a->meta[NPSW_META_CAS], "481-29-8");
    assert_string_equal(a->meta[NPSW_META_ACCESSION], "SWGDRUG-3.4-314");
    assert_near(a->mw, 290, 0);
    assert_int_equal(a->n, 211);
    assert_peak(a, 0, 40, 42);
    assert_peak(a, 1, 41, 493);
    const npsw_spectrum *z = &fr.out.v[2987];
    assert_string_equal(z->meta[NPSW_META_NAME], "N-Propylcathinone");
    assert_peak(z, z->n - 1, 192, 1);
    uint64_t total = 0;
    for (size_t i = 0; i < fr.out.n; i++) total += fr.out.v[i].n;
    assert_int_equal(total, 396397);
    npsw_spectra_free(&fr.out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msp_swgdrug_record),
        cmocka_unit_test(test_msp_crlf_and_semicolon_pairs),
        cmocka_unit_test(test_msp_no_blank_line_between_records),
        cmocka_unit_test(test_msp_blank_line_before_peaks),
        cmocka_unit_test(test_msp_blank_lines_and_bom),
        cmocka_unit_test(test_msp_peak_forms),
        cmocka_unit_test(test_msp_msdial_tab_annotation),
        cmocka_unit_test(test_msp_comma_decimal_intensities),
        cmocka_unit_test(test_msp_comma_pairs),
        cmocka_unit_test(test_msp_cas_with_nist_number),
        cmocka_unit_test(test_msp_bad_cas_warns),
        cmocka_unit_test(test_msp_num_peaks_disagrees),
        cmocka_unit_test(test_msp_missing_num_peaks),
        cmocka_unit_test(test_msp_latin1_name),
        cmocka_unit_test(test_msp_cp437_name),
        cmocka_unit_test(test_msp_explicit_encoding),
        cmocka_unit_test(test_msp_utf8_name_untouched),
        cmocka_unit_test(test_msp_precursor),
        cmocka_unit_test(test_msp_synonyms_accumulate),
        cmocka_unit_test(test_msp_unknown_keys_in_comments),
        cmocka_unit_test(test_msp_other_keys),
        cmocka_unit_test(test_msp_bad_peak_line_recovers),
        cmocka_unit_test(test_msp_bad_number_recovers_without_blank),
        cmocka_unit_test(test_msp_record_without_peaks),
        cmocka_unit_test(test_msp_junk_line_recovers),
        cmocka_unit_test(test_msp_record_without_name),
        cmocka_unit_test(test_msp_max_peaks),
        cmocka_unit_test(test_msp_garbage_terminates),
        cmocka_unit_test(test_msp_auto_detect),
        cmocka_unit_test(test_msp_long_semicolon_chain_no_crash),
        cmocka_unit_test(test_msp_read_file_lenient),
        cmocka_unit_test(test_msp_read_file_strict),
        cmocka_unit_test(test_msp_read_file_appends),
        cmocka_unit_test(test_msp_read_file_missing),
        cmocka_unit_test(test_msp_shared_swgdrug),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
