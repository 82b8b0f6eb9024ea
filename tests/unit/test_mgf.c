/* test_mgf.c - the MGF importer: blocks, keys, precursor and ion mode rules, error recovery.
 * Expected values are worked out by hand from the inline texts (and from
 * tests/data/mgf/synthetic_library.mgf), not copied from the program's output. */

/* intensities are compared within 1e-3 here */
#define TEST_PEAK_INTENSITY_EPS 1e-3
#include "test_util.h"

static void open_text_opts(fixture *f, const char *text, size_t len, npsw_read_opts o)
{
    fixture_open(f, text, len, "t.mgf", o);
    assert_int_equal(npsw_reader_format(f->r), NPSW_FMT_MGF);
}

static void open_text(fixture *f, const char *text)
{
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FMT_MGF;
    open_text_opts(f, text, strlen(text), o);
}

/* ---- blocks ---------------------------------------------------------------------------- */

static void test_mgf_multiple_blocks(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\n"            /* 1 */
                  "TITLE=first\n"           /* 2 */
                  "PEPMASS=200.5\n"         /* 3 */
                  "55.1 100\n"              /* 4 */
                  "56.2 50\n"               /* 5 */
                  "END IONS\n"              /* 6 */
                  "\n"                      /* 7 */
                  "BEGIN IONS\n"            /* 8 */
                  "TITLE=second\n"          /* 9 */
                  "70 1\n"                  /* 10 */
                  "END IONS\n"              /* 11 */
                  "BEGIN IONS\n"            /* 12 */
                  "TITLE=third\n"
                  "80\t2\n"
                  "81\t3\n"
                  "82\t4\n"
                  "END IONS\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "first");
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 0, 55.1, 100);
    assert_peak(&f.s, 1, 56.2, 50);
    assert_near(f.s.precursor_mz, 200.5, 1e-12);
    assert_int_equal(f.s.src_line, 1);
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "second");
    assert_int_equal(f.s.n, 1);
    assert_near(f.s.precursor_mz, 0, 0); /* reset between blocks */
    assert_int_equal(f.s.src_line, 8);
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "third");
    assert_int_equal(f.s.n, 3);
    assert_peak(&f.s, 2, 82, 4);
    assert_int_equal(f.s.src_line, 12);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
}

static void test_mgf_crlf(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\r\nTITLE=crlf\r\nPEPMASS=150.25\r\nCHARGE=1+\r\n"
                  "60.5 10\r\n61.5 20\r\nEND IONS\r\nBEGIN IONS\r\nTITLE=two\r\n1 2\r\n"
                  "END IONS\r\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "crlf"); /* no stray CR */
    assert_near(f.s.precursor_mz, 150.25, 1e-12);
    assert_int_equal(f.s.ion_mode, NPSW_ION_POSITIVE);
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 1, 61.5, 20);
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "two");
    assert_int_equal(f.s.src_line, 8);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

/* ---- precursor ------------------------------------------------------------------------- */

static void test_mgf_pepmass_with_intensity(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\nPEPMASS=281.1 1234.5\nCHARGE=2+\n10 1\nEND IONS\n");
    assert_int_equal(fixture_next(&f), 0);
    /* the intensity is dropped and the m/z is not divided by the charge */
    assert_near(f.s.precursor_mz, 281.1, 1e-12);
    fixture_done(&f);
}

static void test_mgf_pepmass_comma_decimal(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\nPEPMASS=281,2013306\n10 1\nEND IONS\n"
                  "BEGIN IONS\nPEPMASS=195,5\t3000,25\n10 1\nEND IONS\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_near(f.s.precursor_mz, 281.2013306, 1e-9);
    assert_int_equal(fixture_next(&f), 0);
    assert_near(f.s.precursor_mz, 195.5, 1e-12);
    fixture_done(&f);
}

static void test_mgf_pepmass_zero(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\nTITLE=ei-like\nPEPMASS=0\n41 999\nEND IONS\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_true(f.s.precursor_mz == 0);
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
}

static void test_mgf_precursor_mz_preferred(void **state)
{
    (void)state;
    fixture f;
    /* agree within 0.01: no warning; disagree: PRECURSOR_MZ wins with a warning, either order */
    open_text(&f, "BEGIN IONS\nPEPMASS=300.105\nPRECURSOR_MZ=300.1\n1 1\nEND IONS\n"
                  "BEGIN IONS\nPRECURSORMZ=250.5\nPEPMASS=251.0\n1 1\nEND IONS\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_near(f.s.precursor_mz, 300.1, 1e-12);
    assert_int_equal(f.warnings, 0);
    assert_int_equal(fixture_next(&f), 0);
    assert_near(f.s.precursor_mz, 250.5, 1e-12);
    assert_int_equal(f.warnings, 1);
    assert_non_null(strstr(f.last_warning, "PRECURSOR_MZ"));
    fixture_done(&f);
}

static void test_mgf_bad_pepmass_warns(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\nPEPMASS=n/a\n1 1\nEND IONS\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_true(f.s.precursor_mz == 0);
    assert_int_equal(f.warnings, 1);
    fixture_done(&f);
}

/* ---- ion mode -------------------------------------------------------------------------- */

static void test_mgf_charge_sign(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\nCHARGE=1+\n1 1\nEND IONS\n"
                  "BEGIN IONS\nCHARGE=2-\n1 1\nEND IONS\n"
                  "BEGIN IONS\nCHARGE=-1\n1 1\nEND IONS\n"
                  "BEGIN IONS\nCHARGE=0\n1 1\nEND IONS\n"
                  "BEGIN IONS\nCHARGE=2+ and 3+\n1 1\nEND IONS\n"
                  "BEGIN IONS\nIONMODE=Negative\n1 1\nEND IONS\n"
                  "BEGIN IONS\nCHARGE=1+\nIONMODE=negative\n1 1\nEND IONS\n");
    const int expect[] = {NPSW_ION_POSITIVE, NPSW_ION_NEGATIVE, NPSW_ION_NEGATIVE,
                          NPSW_ION_UNKNOWN,  NPSW_ION_POSITIVE, NPSW_ION_NEGATIVE,
                          NPSW_ION_NEGATIVE};
    for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++) {
        assert_int_equal(fixture_next(&f), 0);
        assert_int_equal(f.s.ion_mode, expect[i]);
    }
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(f.warnings, 1); /* IONMODE and CHARGE disagree in the last block */
    fixture_done(&f);
}

static void test_mgf_global_parameters(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "COM=search of the week\n"   /* Mascot search setting: ignored, warned */
                  "CHARGE=1-\n"                /* default for every block */
                  "INSTRUMENT=Orbitrap X\n"    /* default for every block */
                  "\n"
                  "BEGIN IONS\nTITLE=a\n1 1\nEND IONS\n"
                  "BEGIN IONS\nTITLE=b\nCHARGE=1+\nINSTRUMENT=QTOF Y\n1 1\nEND IONS\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.ion_mode, NPSW_ION_NEGATIVE);
    assert_string_equal(f.s.meta[NPSW_META_INSTRUMENT], "Orbitrap X");
    assert_null(f.s.meta[NPSW_META_COMMENTS]);
    assert_int_equal(f.warnings, 1);
    assert_non_null(strstr(f.last_warning, "COM"));
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.ion_mode, NPSW_ION_POSITIVE);
    assert_string_equal(f.s.meta[NPSW_META_INSTRUMENT], "QTOF Y");
    assert_null(f.s.meta[NPSW_META_COMMENTS]); /* an overridden default is not a comment */
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

/* ---- names and metadata ---------------------------------------------------------------- */

static void test_mgf_name_rules(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\nTITLE=scan 5\nNAME=Cocaine\n1 1\nEND IONS\n"
                  "BEGIN IONS\nNAME=Heroin\nTITLE=scan 9\n1 1\nEND IONS\n"
                  "BEGIN IONS\nPEPMASS=100\n1 1\nEND IONS\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "Cocaine");
    assert_string_equal(f.s.meta[NPSW_META_COMMENTS], "TITLE=scan 5");
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "Heroin");
    assert_string_equal(f.s.meta[NPSW_META_COMMENTS], "TITLE=scan 9");
    assert_int_equal(fixture_next(&f), 0); /* no name at all: still a spectrum */
    assert_null(f.s.meta[NPSW_META_NAME]);
    assert_string_equal(npsw_spectrum_meta(&f.s, NPSW_META_NAME), "");
    assert_int_equal(f.s.n, 1);
    fixture_done(&f);
}

static void test_mgf_latin1_title(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\nTITLE=Caf\xe9ine M\xfcller\n1 1\nEND IONS\n");
    assert_int_equal(fixture_next(&f), 0);
    /* e-acute U+00E9 = C3 A9, u-umlaut U+00FC = C3 BC */
    assert_string_equal(f.s.meta[NPSW_META_NAME], "Caf\xc3\xa9ine M\xc3\xbcller");
    assert_int_equal(f.warnings, 1);
    assert_non_null(strstr(f.last_warning, "Latin-1"));
    fixture_done(&f);
}

static void test_mgf_metadata(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\n"
                  "title=lower-case keys\n"
                  "Adduct=[M+H]+\n"
                  "INCHIKEY=ZPUCINDJVBIVPJ-LJISPDSOSA-N\n"
                  "SMILES=CN1C2CCC1C(C(C2)OC(=O)C3=CC=CC=C3)C(=O)OC\n"
                  "FORMULA=C17H21NO4\n"
                  "CAS=000050-36-2\n"
                  "SCANS=12\n"
                  "SPECTRUMID=CCMSLIB00000001\n"
                  "INSTRUMENT_TYPE=LC-ESI-QTOF\n"
                  "ION_SOURCE=ESI\n"
                  "COLLISION_ENERGY=35 eV\n"
                  "LICENSE=CC0\n"
                  "COMMENT=first comment\n"
                  "EXACTMASS=303.1471\n"
                  "MW=303\n"
                  "MSLEVEL=2\n"
                  "RTINSECONDS=12.5\n"
                  "ORGANISM=GNPS-LIBRARY\n"
                  "1 1\n"
                  "END IONS\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "lower-case keys");
    assert_string_equal(f.s.meta[NPSW_META_PRECURSOR_TYPE], "[M+H]+");
    assert_string_equal(f.s.meta[NPSW_META_INCHIKEY], "ZPUCINDJVBIVPJ-LJISPDSOSA-N");
    assert_string_equal(f.s.meta[NPSW_META_SMILES], "CN1C2CCC1C(C(C2)OC(=O)C3=CC=CC=C3)C(=O)OC");
    assert_string_equal(f.s.meta[NPSW_META_FORMULA], "C17H21NO4");
    assert_string_equal(f.s.meta[NPSW_META_CAS], "50-36-2");
    assert_string_equal(f.s.meta[NPSW_META_ACCESSION], "CCMSLIB00000001"); /* beats SCANS */
    assert_string_equal(f.s.meta[NPSW_META_INSTRUMENT_TYPE], "LC-ESI-QTOF");
    assert_string_equal(f.s.meta[NPSW_META_IONIZATION], "ESI");
    assert_string_equal(f.s.meta[NPSW_META_COLLISION_ENERGY], "35 eV");
    assert_string_equal(f.s.meta[NPSW_META_LICENSE], "CC0");
    assert_near(f.s.exact_mass, 303.1471, 1e-12);
    assert_near(f.s.mw, 303, 0);
    assert_string_equal(f.s.meta[NPSW_META_COMMENTS], "SCANS=12\n"
                                                      "first comment\n"
                                                      "MSLEVEL=2\n"
                                                      "RTINSECONDS=12.5\n"
                                                      "ORGANISM=GNPS-LIBRARY");
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
}

static void test_mgf_bad_cas_warns(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\nCAS=50-36-3\n1 1\nEND IONS\n"); /* check digit should be 2 */
    assert_int_equal(fixture_next(&f), 0);
    assert_null(f.s.meta[NPSW_META_CAS]);
    assert_int_equal(f.warnings, 1);
    fixture_done(&f);
}

/* ---- peak lines ------------------------------------------------------------------------ */

static void test_mgf_peak_line_forms(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\n"
                  "55.1 102 1+\n"            /* charge column */
                  "56.2\t33\t\"y2-H2O\"\n"   /* annotation column */
                  "57.3 44 b3 extra words\n" /* unquoted annotation */
                  "58,5 10,25\n"             /* comma decimals */
                  "59 1.5e2\n"
                  "END IONS\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.n, 5);
    assert_peak(&f.s, 0, 55.1, 102);
    assert_peak(&f.s, 1, 56.2, 33);
    assert_peak(&f.s, 2, 57.3, 44);
    assert_peak(&f.s, 3, 58.5, 10.25);
    assert_peak(&f.s, 4, 59, 150);
    fixture_done(&f);
}

static void test_mgf_decimal_comma_no(void **state)
{
    (void)state;
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FMT_MGF;
    o.decimal_comma = NPSW_DECIMAL_COMMA_NO;
    const char *t = "BEGIN IONS\n55,102\nEND IONS\n"; /* the comma separates */
    fixture f;
    open_text_opts(&f, t, strlen(t), o);
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.n, 1);
    assert_peak(&f.s, 0, 55, 102);
    fixture_done(&f);
}

/* ---- errors and recovery --------------------------------------------------------------- */

static void test_mgf_missing_end_before_begin(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\n"     /* 1 */
                  "TITLE=broken\n"   /* 2 */
                  "55 10\n"          /* 3 */
                  "BEGIN IONS\n"     /* 4 */
                  "TITLE=good\n"     /* 5 */
                  "60 20\n"          /* 6 */
                  "END IONS\n");     /* 7 */
    assert_int_equal(fixture_next(&f), NPSW_EPARSE);
    assert_int_equal(f.err.line, 1);
    assert_string_equal(f.err.where, "t.mgf");
    assert_non_null(strstr(f.err.msg, "END IONS"));
    assert_non_null(strstr(f.err.msg, "broken"));
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "good");
    assert_int_equal(f.s.n, 1);
    assert_peak(&f.s, 0, 60, 20);
    assert_int_equal(f.s.src_line, 4);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_mgf_missing_end_at_eof(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\nTITLE=ok\n1 1\nEND IONS\n"
                  "BEGIN IONS\nTITLE=cut off\n55 10\n"); /* block starts at line 5 */
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(fixture_next(&f), NPSW_EPARSE);
    assert_int_equal(f.err.line, 5);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_mgf_bad_peak_line(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\n"       /* 1 */
                  "TITLE=bad peaks\n"  /* 2 */
                  "55 10\n"            /* 3 */
                  "56 ten\n"           /* 4: bad */
                  "57 10\n"            /* 5: skipped */
                  "END IONS\n"         /* 6 */
                  "BEGIN IONS\n"       /* 7 */
                  "TITLE=next\n"
                  "70 7\n"
                  "END IONS\n"
                  "BEGIN IONS\n"       /* 11 */
                  "TITLE=no end\n"
                  "garbage line\n"     /* 13: bad, and no END IONS follows */
                  "BEGIN IONS\n"       /* 14: resynchronised here */
                  "TITLE=last\n"
                  "80 8\n"
                  "END IONS\n");
    assert_int_equal(fixture_next(&f), NPSW_EPARSE);
    assert_int_equal(f.err.line, 4);
    assert_non_null(strstr(f.err.msg, "bad peaks"));
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "next");
    assert_int_equal(f.s.n, 1);
    assert_int_equal(fixture_next(&f), NPSW_EPARSE);
    assert_int_equal(f.err.line, 13);
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "last");
    assert_peak(&f.s, 0, 80, 8);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_mgf_no_peaks(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "BEGIN IONS\nTITLE=empty\nPEPMASS=100\nEND IONS\nBEGIN IONS\n1 1\nEND IONS\n");
    assert_int_equal(fixture_next(&f), NPSW_EPARSE);
    assert_int_equal(f.err.line, 1);
    assert_non_null(strstr(f.err.msg, "no peaks"));
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_mgf_max_peaks(void **state)
{
    (void)state;
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FMT_MGF;
    o.max_peaks = 2;
    const char *t = "BEGIN IONS\n1 1\n2 2\n3 3\nEND IONS\nBEGIN IONS\n4 4\nEND IONS\n";
    fixture f;
    open_text_opts(&f, t, strlen(t), o);
    assert_int_equal(fixture_next(&f), NPSW_ELIMIT);
    assert_int_equal(f.err.line, 4);
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.n, 1);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_mgf_text_outside_blocks(void **state)
{
    (void)state;
    fixture f;
    open_text(&f, "# a comment\n"
                  "BEGIN IONS\n1 1\nEND IONS\n"
                  "stray line\n"
                  "TITLE=also stray\n" /* after the first block: not a global parameter */
                  "\n"
                  "BEGIN IONS\n2 2\nEND IONS\n"
                  "END IONS\n");
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(fixture_next(&f), 0);
    assert_peak(&f.s, 0, 2, 2);
    assert_null(f.s.meta[NPSW_META_NAME]);
    assert_int_equal(f.warnings, 1); /* one warning for the run of two stray lines */
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(f.warnings, 2); /* the stray END IONS */
    fixture_done(&f);
}

static void test_mgf_probe(void **state)
{
    (void)state;
    const char *mgf = "# exported\nBEGIN IONS\nTITLE=x\n1 1\nEND IONS\n";
    const char *msp = "Name: x\nNum Peaks: 1\n1 1\n";
    assert_int_equal(npsw_mgf_ops.probe(mgf, strlen(mgf)), 90);
    assert_int_equal(npsw_mgf_ops.probe(msp, strlen(msp)), 0);
    assert_int_equal(npsw_mgf_ops.probe("", 0), 0);
    npsw_err err;
    npsw_reader *r = npsw_reader_open_mem(mgf, strlen(mgf), "query.txt", NULL, &err);
    assert_non_null(r);
    assert_int_equal(npsw_reader_format(r), NPSW_FMT_MGF);
    npsw_reader_close(r);
}

/* Arbitrary bytes must never crash the reader, and every call must make progress. */
static void test_mgf_garbage_terminates(void **state)
{
    (void)state;
    static const char *const pieces[] = {"BEGIN IONS\n", "END IONS\n", "TITLE=\xff\xfe\n",
                                         "PEPMASS=1e999\n", "55 1+\n", "\0\0\n", "\r",
                                         "CHARGE=+-\n", "1,2,3\n", "KEY=", "=\n", "1e5 2\n"};
    uint32_t seed = 12345;
    char buf[512];
    for (int round = 0; round < 300; round++) {
        size_t len = 0;
        while (len < sizeof buf - 20) {
            seed = seed * 1103515245u + 12345u;
            const char *p = pieces[(seed >> 16) % (sizeof pieces / sizeof pieces[0])];
            size_t pl = p[0] ? strlen(p) : 3;
            memcpy(buf + len, p, pl);
            len += pl;
            if ((seed >> 8) % 7 == 0) break;
        }
        npsw_read_opts o = npsw_read_opts_default();
        o.format = NPSW_FMT_MGF;
        npsw_err err;
        npsw_reader *r = npsw_reader_open_mem(buf, len, "g.mgf", &o, &err);
        assert_non_null(r);
        npsw_spectrum s;
        npsw_spectrum_init(&s);
        int calls = 0;
        while (npsw_reader_next(r, &s, &err) != NPSW_EOF) assert_true(++calls <= (int)len + 1);
        npsw_spectrum_free(&s);
        npsw_reader_close(r);
    }
}

/* ---- a file on disk -------------------------------------------------------------------- */

static void test_mgf_data_file(void **state)
{
    (void)state;
    char path[1024];
    if (!data_path("mgf/synthetic_library.mgf", path, sizeof path)) skip();
    fixture f;
    fixture_open_file(&f, path, npsw_read_opts_default());
    assert_int_equal(npsw_reader_format(f.r), NPSW_FMT_MGF);
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "Cocaine");
    assert_near(f.s.precursor_mz, 304.1543, 1e-12);
    assert_int_equal(f.s.ion_mode, NPSW_ION_POSITIVE);
    assert_string_equal(f.s.meta[NPSW_META_PRECURSOR_TYPE], "[M+H]+");
    assert_string_equal(f.s.meta[NPSW_META_CAS], "50-36-2");
    assert_string_equal(f.s.meta[NPSW_META_ACCESSION], "SYNTH00001");
    assert_string_equal(f.s.meta[NPSW_META_INSTRUMENT], "LC-ESI-QTOF");
    assert_string_equal(f.s.meta[NPSW_META_IONIZATION], "ESI");
    assert_string_equal(f.s.meta[NPSW_META_COLLISION_ENERGY], "20");
    assert_string_equal(f.s.meta[NPSW_META_COMMENTS],
                        "TITLE=cocaine_pos_scan12\nMSLEVEL=2\nORGANISM=SYNTHETIC");
    assert_int_equal(f.s.n, 3);
    assert_peak(&f.s, 2, 182.1176, 999);
    assert_int_equal(f.s.src_line, 2);
    assert_int_equal(fixture_next(&f), 0);
    assert_string_equal(f.s.meta[NPSW_META_NAME], "unknown query 7");
    assert_true(f.s.precursor_mz == 0);
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 0, 40.5, 12.5);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mgf_multiple_blocks),
        cmocka_unit_test(test_mgf_crlf),
        cmocka_unit_test(test_mgf_pepmass_with_intensity),
        cmocka_unit_test(test_mgf_pepmass_comma_decimal),
        cmocka_unit_test(test_mgf_pepmass_zero),
        cmocka_unit_test(test_mgf_precursor_mz_preferred),
        cmocka_unit_test(test_mgf_bad_pepmass_warns),
        cmocka_unit_test(test_mgf_charge_sign),
        cmocka_unit_test(test_mgf_global_parameters),
        cmocka_unit_test(test_mgf_name_rules),
        cmocka_unit_test(test_mgf_latin1_title),
        cmocka_unit_test(test_mgf_metadata),
        cmocka_unit_test(test_mgf_bad_cas_warns),
        cmocka_unit_test(test_mgf_peak_line_forms),
        cmocka_unit_test(test_mgf_decimal_comma_no),
        cmocka_unit_test(test_mgf_missing_end_before_begin),
        cmocka_unit_test(test_mgf_missing_end_at_eof),
        cmocka_unit_test(test_mgf_bad_peak_line),
        cmocka_unit_test(test_mgf_no_peaks),
        cmocka_unit_test(test_mgf_max_peaks),
        cmocka_unit_test(test_mgf_text_outside_blocks),
        cmocka_unit_test(test_mgf_probe),
        cmocka_unit_test(test_mgf_garbage_terminates),
        cmocka_unit_test(test_mgf_data_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
