/* test_mzml.c - the mzML importer: binary arrays (32/64-bit, zlib or not), metadata, param groups,
 * the indexedmzML wrapper, format detection, and every documented error: each must name the
 * file and the line, skip only the bad spectrum (or end the file for XML errors), never crash.
 *
 * All mzML here is synthetic, built by the test itself: the peak values are chosen, packed
 * little-endian, zlib-compressed with compress2() and base64-encoded by a small encoder below
 * (checked against fixed RFC 4648 vectors), so every expected value is known independently of
 * the importer. Expected line numbers are counted from the fixture text (line_of), not taken
 * from the importer's output. */

/* intensities are floats: compared within 1e-6 (values here are exact in binary) */
#define TEST_PEAK_INTENSITY_EPS 1e-6
#include "test_util.h"

#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "npsw/clean.h"

/* ---- building mzML text ---------------------------------------------------------------- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_b64(FILE *f, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i += 3) {
        unsigned long w = (unsigned long)p[i] << 16;
        if (i + 1 < n) w |= (unsigned long)p[i + 1] << 8;
        if (i + 2 < n) w |= p[i + 2];
        fputc(b64_alphabet[w >> 18 & 63], f);
        fputc(b64_alphabet[w >> 12 & 63], f);
        fputc(i + 1 < n ? b64_alphabet[w >> 6 & 63] : '=', f);
        fputc(i + 2 < n ? b64_alphabet[w & 63] : '=', f);
    }
}

static char *b64_string(const unsigned char *p, size_t n)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    assert_non_null(f);
    put_b64(f, p, n);
    fclose(f);
    return s;
}

/* Values as little-endian 32-bit floats or 64-bit doubles. */
static unsigned char *pack(const double *v, size_t n, int bits, size_t *len)
{
    size_t w = bits == 32 ? 4 : 8;
    unsigned char *b = malloc(n * w + 1);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        uint64_t u;
        if (bits == 32) {
            float x = (float)v[i];
            uint32_t u32;
            memcpy(&u32, &x, 4);
            u = u32;
        } else {
            memcpy(&u, &v[i], 8);
        }
        for (size_t k = 0; k < w; k++) b[i * w + k] = (unsigned char)(u >> (8 * k));
    }
    *len = n * w;
    return b;
}

static unsigned char *zlib_pack(const unsigned char *raw, size_t n, size_t *len)
{
    uLongf dl = compressBound((uLong)n);
    unsigned char *z = malloc(dl);
    assert_non_null(z);
    assert_int_equal(compress2(z, &dl, raw, (uLong)n, 6), Z_OK);
    *len = dl;
    return z;
}

/* base64 of the values, packed as `bits`-bit floats and zlib-compressed when `zlib`. */
static char *encode(const double *v, size_t n, int bits, int zlib)
{
    size_t len;
    unsigned char *raw = pack(v, n, bits, &len);
    if (zlib) {
        size_t zl;
        unsigned char *z = zlib_pack(raw, len, &zl);
        free(raw);
        raw = z;
        len = zl;
    }
    char *s = b64_string(raw, len);
    free(raw);
    return s;
}

enum { MZ, INT };

/* One binaryDataArray with the given base64 text, 6 lines. */
static void put_array_b64(FILE *f, int kind, int bits, const char *comp_acc, const char *comp_name,
                          const char *b64)
{
    fprintf(f, "<binaryDataArray encodedLength=\"%zu\">\n", strlen(b64));
    fprintf(f, "<cvParam cvRef=\"MS\" accession=\"%s\" name=\"%s\"/>\n",
            bits == 32 ? "MS:1000521" : "MS:1000523", bits == 32 ? "32-bit float" : "64-bit float");
    fprintf(f, "<cvParam cvRef=\"MS\" accession=\"%s\" name=\"%s\"/>\n", comp_acc, comp_name);
    fprintf(f, "<cvParam cvRef=\"MS\" accession=\"%s\" name=\"%s\"/>\n",
            kind == MZ ? "MS:1000514" : "MS:1000515", kind == MZ ? "m/z array" : "intensity array");
    fprintf(f, "<binary>%s</binary>\n", b64);
    fprintf(f, "</binaryDataArray>\n");
}

static void put_array(FILE *f, int kind, const double *v, size_t n, int bits, int zlib)
{
    char *b = encode(v, n, bits, zlib);
    put_array_b64(f, kind, bits, zlib ? "MS:1000574" : "MS:1000576",
                  zlib ? "zlib compression" : "no compression", b);
    free(b);
}

/* A whole <spectrum>: the start tag, `params` (cvParam lines etc.), both arrays. */
static void put_spectrum(FILE *f, int index, const char *id, const char *params, const double *mz,
                         const double *in, size_t n, int bits, int zlib)
{
    fprintf(f, "<spectrum index=\"%d\" id=\"%s\" defaultArrayLength=\"%zu\">\n", index, id, n);
    fputs(params ? params : "", f);
    fprintf(f, "<binaryDataArrayList count=\"2\">\n");
    put_array(f, MZ, mz, n, bits, zlib);
    put_array(f, INT, in, n, bits, zlib);
    fprintf(f, "</binaryDataArrayList>\n</spectrum>\n");
}

#define HEAD                                                                 \
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"                           \
    "<mzML xmlns=\"http://psi.hupo.org/ms/mzml\" version=\"1.1.0\">\n"       \
    "<run id=\"synthetic\">\n"                                               \
    "<spectrumList count=\"3\">\n"
#define TAIL "</spectrumList>\n</run>\n</mzML>\n"

typedef struct doc {
    char *p;
    size_t n;
    FILE *f;
} doc;

static void doc_open(doc *d)
{
    d->p = NULL;
    d->n = 0;
    d->f = open_memstream(&d->p, &d->n);
    assert_non_null(d->f);
}

static void doc_close(doc *d) { assert_int_equal(fclose(d->f), 0); }

/* 1-based line of the first occurrence of `needle` in `text` (counted from the text). */
static uint64_t line_of(const char *text, const char *needle)
{
    const char *at = strstr(text, needle);
    if (!at) {
        print_error("line_of: '%s' is not in the fixture\n", needle);
        fail();
    }
    uint64_t line = 1;
    for (const char *c = text; c < at; c++) line += *c == '\n';
    return line;
}

static void open_doc(fixture *f, const doc *d)
{
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FMT_MZML;
    fixture_open(f, d->p, d->n, "t.mzML", o);
}

static void assert_contains_at(const char *s, const char *part, const char *file, int line)
{
    if (!strstr(s, part)) {
        print_error("%s:%d: \"%s\" does not contain \"%s\"\n", file, line, s, part);
        fail();
    }
}
#define assert_contains(s, part) assert_contains_at((s), (part), __FILE__, __LINE__)

/* The error of the last fixture_next: code, file name, line, and a part of the message. */
static void assert_error_at(const fixture *f, int rc, int code, uint64_t line, const char *part,
                            const char *file, int fline)
{
    if (rc != code || f->err.code != code || f->err.line != line ||
        strcmp(f->err.where, "t.mzML") != 0 || !strstr(f->err.msg, part)) {
        print_error("%s:%d: got rc %d, error %d at %s:%llu \"%s\"; expected %d at t.mzML:%llu "
                    "containing \"%s\"\n",
                    file, fline, rc, f->err.code, f->err.where, (unsigned long long)f->err.line,
                    f->err.msg, code, (unsigned long long)line, part);
        fail();
    }
}
#define assert_error(f, rc, code, line, part) \
    assert_error_at((f), (rc), (code), (line), (part), __FILE__, __LINE__)

static const double MZ3[] = {41.0390625, 57.0703125, 105.0703125};
static const double IN3[] = {120.5, 999.0, 33.25};

/* ---- the test's own encoder ------------------------------------------------------------ */

static void test_mzml_encoder_vectors(void **state)
{
    (void)state;
    /* RFC 4648 section 10 test vectors */
    const char *in[] = {"f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 6; i++) {
        char *s = b64_string((const unsigned char *)in[i], strlen(in[i]));
        assert_string_equal(s, out[i]);
        free(s);
    }
    /* 1.0 as a little-endian double is 00 00 00 00 00 00 F0 3F; as a float 00 00 80 3F */
    double one = 1.0;
    char *d = encode(&one, 1, 64, 0), *f = encode(&one, 1, 32, 0);
    assert_string_equal(d, "AAAAAAAA8D8=");
    assert_string_equal(f, "AACAPw==");
    free(d);
    free(f);
}

/* ---- what is read ---------------------------------------------------------------------- */

/* Literal base64 (not from the encoder): m/z 1.0 and 2.0 as doubles, intensities 1.0 and 0.5
 * as floats. */
static void test_mzml_literal_arrays(void **state)
{
    (void)state;
    const char *text =
        HEAD
        "<spectrum index=\"0\" id=\"scan=1\" defaultArrayLength=\"2\">\n" /* 5 */
        "<binaryDataArrayList count=\"2\">\n"
        "<binaryDataArray>\n"
        "<cvParam accession=\"MS:1000523\"/><cvParam accession=\"MS:1000576\"/>\n"
        "<cvParam accession=\"MS:1000514\"/>\n"
        "<binary>AAAAAAAA8D8AAAAAAAAAQA==</binary>\n"
        "</binaryDataArray>\n"
        "<binaryDataArray>\n"
        "<cvParam accession=\"MS:1000521\"/><cvParam accession=\"MS:1000576\"/>\n"
        "<cvParam accession=\"MS:1000515\"/>\n"
        "<binary>AACAPwAAAD8=</binary>\n"
        "</binaryDataArray>\n"
        "</binaryDataArrayList>\n"
        "</spectrum>\n" TAIL;
    doc d = {(char *)text, strlen(text), NULL};
    fixture f;
    open_doc(&f, &d);
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.n, 2);
    assert_peak(&f.s, 0, 1.0, 1.0);
    assert_peak(&f.s, 1, 2.0, 0.5);
    assert_int_equal(f.s.src_line, 5);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
}

static void test_mzml_ms1_64bit_uncompressed(void **state)
{
    (void)state;
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    put_spectrum(d.f, 0, "controllerType=0 controllerNumber=1 scan=7",
                 "<cvParam cvRef=\"MS\" accession=\"MS:1000511\" name=\"ms level\" value=\"1\"/>\n"
                 "<cvParam cvRef=\"MS\" accession=\"MS:1000130\" name=\"positive scan\" "
                 "value=\"\"/>\n"
                 "<cvParam cvRef=\"MS\" accession=\"MS:1000127\" name=\"centroid spectrum\"/>\n"
                 "<scanList count=\"1\"><scan>\n"
                 "<cvParam cvRef=\"MS\" accession=\"MS:1000016\" name=\"scan start time\" "
                 "value=\"5.89\" unitCvRef=\"UO\" unitAccession=\"UO:0000031\" "
                 "unitName=\"minute\"/>\n"
                 "</scan></scanList>\n",
                 MZ3, IN3, 3, 64, 0);
    fputs(TAIL, d.f);
    doc_close(&d);
    fixture f;
    open_doc(&f, &d);
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.n, 3);
    for (int i = 0; i < 3; i++) assert_peak(&f.s, (uint32_t)i, MZ3[i], IN3[i]);
    assert_meta(&f.s, NPSW_META_NAME, "controllerType=0 controllerNumber=1 scan=7");
    assert_meta(&f.s, NPSW_META_ACCESSION, "controllerType=0 controllerNumber=1 scan=7");
    assert_meta(&f.s, NPSW_META_COMMENTS, "MS level: 1\nscan start time: 5.89 min");
    assert_int_equal(f.s.ion_mode, NPSW_ION_POSITIVE);
    assert_true(f.s.precursor_mz == 0);
    assert_int_equal(f.s.src_line, 5);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
    free(d.p);
}

static void test_mzml_ms2_32bit_zlib_precursor(void **state)
{
    (void)state;
    const double mz[] = {77.0390625, 91.0546875, 105.0703125, 182.1171875};
    const double in[] = {12.0, 100.0, 55.5, 8.25};
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    put_spectrum(d.f, 0, "scan=12",
                 "<cvParam cvRef=\"MS\" accession=\"MS:1000511\" name=\"ms level\" value=\"2\"/>\n"
                 "<cvParam cvRef=\"MS\" accession=\"MS:1000796\" name=\"spectrum title\" "
                 "value=\"Methcathinone MS2 &amp; more\"/>\n"
                 "<cvParam cvRef=\"MS\" accession=\"MS:1000130\" name=\"positive scan\"/>\n"
                 "<scanList count=\"1\"><scan>\n"
                 "<cvParam cvRef=\"MS\" accession=\"MS:1000016\" name=\"scan start time\" "
                 "value=\"353.4\" unitCvRef=\"UO\" unitAccession=\"UO:0000010\" "
                 "unitName=\"second\"/>\n"
                 "</scan></scanList>\n"
                 "<precursorList count=\"1\"><precursor spectrumRef=\"scan=11\">\n"
                 "<isolationWindow><cvParam cvRef=\"MS\" accession=\"MS:1000827\" "
                 "name=\"isolation window target m/z\" value=\"164.5\"/></isolationWindow>\n"
                 "<selectedIonList count=\"1\"><selectedIon>\n"
                 "<cvParam cvRef=\"MS\" accession=\"MS:1000744\" name=\"selected ion m/z\" "
                 "value=\"164.10699\" unitAccession=\"MS:1000040\" unitName=\"m/z\"/>\n"
                 "<cvParam cvRef=\"MS\" accession=\"MS:1000041\" name=\"charge state\" "
                 "value=\"1\"/>\n"
                 "</selectedIon></selectedIonList>\n"
                 "<activation><cvParam cvRef=\"MS\" accession=\"MS:1000422\" "
                 "name=\"beam-type collision-induced dissociation\"/>\n"
                 "<cvParam cvRef=\"MS\" accession=\"MS:1000045\" name=\"collision energy\" "
                 "value=\"35\" unitCvRef=\"UO\" unitAccession=\"UO:0000266\" "
                 "unitName=\"electronvolt\"/>\n"
                 "</activation></precursor></precursorList>\n"
                 "<productList count=\"1\"><product><isolationWindow>\n"
                 "<cvParam cvRef=\"MS\" accession=\"MS:1000744\" name=\"selected ion m/z\" "
                 "value=\"1\"/>\n"
                 "</isolationWindow></product></productList>\n",
                 mz, in, 4, 32, 1);
    fputs(TAIL, d.f);
    doc_close(&d);
    fixture f;
    open_doc(&f, &d);
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.n, 4);
    for (uint32_t i = 0; i < 4; i++) assert_peak(&f.s, i, (double)(float)mz[i], (float)in[i]);
    /* the title wins over the id for the name; "&amp;" is an '&' */
    assert_meta(&f.s, NPSW_META_NAME, "Methcathinone MS2 & more");
    assert_meta(&f.s, NPSW_META_ACCESSION, "scan=12");
    assert_near(f.s.precursor_mz, 164.10699, 1e-12); /* not the isolation window target */
    assert_meta(&f.s, NPSW_META_COLLISION_ENERGY, "35 eV");
    assert_meta(&f.s, NPSW_META_COMMENTS, "MS level: 2\nscan start time: 353.4 s\ncharge state: 1");
    assert_int_equal(f.s.ion_mode, NPSW_ION_POSITIVE);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
    free(d.p);
}

static void test_mzml_polarity(void **state)
{
    (void)state;
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    put_spectrum(d.f, 0, "neg", "<cvParam accession=\"MS:1000129\" name=\"negative scan\"/>\n",
                 MZ3, IN3, 3, 64, 1);
    put_spectrum(d.f, 1, "none", NULL, MZ3, IN3, 3, 64, 1);
    put_spectrum(d.f, 2, "both",
                 "<cvParam accession=\"MS:1000129\" name=\"negative scan\"/>\n"
                 "<cvParam accession=\"MS:1000130\" name=\"positive scan\"/>\n",
                 MZ3, IN3, 3, 64, 1);
    fputs(TAIL, d.f);
    doc_close(&d);
    fixture f;
    open_doc(&f, &d);
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.ion_mode, NPSW_ION_NEGATIVE);
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.ion_mode, NPSW_ION_UNKNOWN);
    assert_int_equal(f.warnings, 0);
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.ion_mode, NPSW_ION_UNKNOWN);
    assert_int_equal(f.warnings, 1);
    assert_contains(f.last_warning, "both positive scan");
    assert_int_equal(f.last_warning_line, line_of(d.p, "id=\"both\""));
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
    free(d.p);
}

/* referenceableParamGroupRef at spectrum and binaryDataArray level; a ref to an unknown group is
 * an error for that spectrum only. */
static void test_mzml_param_groups(void **state)
{
    (void)state;
    char *mz = encode(MZ3, 3, 64, 1), *in = encode(IN3, 3, 32, 0);
    doc d;
    doc_open(&d);
    fputs("<?xml version=\"1.0\"?>\n"
          "<mzML xmlns=\"http://psi.hupo.org/ms/mzml\">\n"
          "<referenceableParamGroupList count=\"3\">\n"
          "<referenceableParamGroup id=\"ms2neg\">\n"
          "<cvParam accession=\"MS:1000511\" name=\"ms level\" value=\"2\"/>\n"
          "<cvParam accession=\"MS:1000129\" name=\"negative scan\"/>\n"
          "</referenceableParamGroup>\n"
          "<referenceableParamGroup id=\"mz64zlib\">\n"
          "<cvParam accession=\"MS:1000523\" name=\"64-bit float\"/>\n"
          "<cvParam accession=\"MS:1000574\" name=\"zlib compression\"/>\n"
          "<cvParam accession=\"MS:1000514\" name=\"m/z array\"/>\n"
          "</referenceableParamGroup>\n"
          "<referenceableParamGroup id=\"int32\">\n"
          "<cvParam accession=\"MS:1000521\" name=\"32-bit float\"/>\n"
          "<cvParam accession=\"MS:1000576\" name=\"no compression\"/>\n"
          "<cvParam accession=\"MS:1000515\" name=\"intensity array\"/>\n"
          "</referenceableParamGroup>\n"
          "</referenceableParamGroupList>\n"
          "<run id=\"r\"><spectrumList count=\"2\">\n",
          d.f);
    for (int i = 0; i < 2; i++) {
        fprintf(d.f,
                "<spectrum index=\"%d\" id=\"s%d\" defaultArrayLength=\"3\">\n"
                "<referenceableParamGroupRef ref=\"%s\"/>\n"
                "<binaryDataArrayList count=\"2\">\n"
                "<binaryDataArray><referenceableParamGroupRef ref=\"mz64zlib\"/>\n"
                "<binary>%s</binary></binaryDataArray>\n"
                "<binaryDataArray><referenceableParamGroupRef ref=\"int32\"/>\n"
                "<binary>%s</binary></binaryDataArray>\n"
                "</binaryDataArrayList></spectrum>\n",
                i, i, i == 0 ? "ms2neg" : "nosuchgroup", mz, in);
    }
    fputs(TAIL, d.f);
    doc_close(&d);
    fixture f;
    open_doc(&f, &d);
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.n, 3);
    for (uint32_t i = 0; i < 3; i++) assert_peak(&f.s, i, MZ3[i], IN3[i]);
    assert_int_equal(f.s.ion_mode, NPSW_ION_NEGATIVE);
    assert_meta(&f.s, NPSW_META_COMMENTS, "MS level: 2");
    int rc = fixture_next(&f);
    assert_error(&f, rc, NPSW_EPARSE, line_of(d.p, "ref=\"nosuchgroup\""), "nosuchgroup");
    assert_contains(f.err.msg, "index 1 (id 's1')");
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
    free(d.p);
    free(mz);
    free(in);
}

/* The indexedmzML wrapper (index list, checksum) and a chromatogram, which is ignored; the
 * format is recognised from the content under any name. */
static void test_mzml_indexed_wrapper_and_detection(void **state)
{
    (void)state;
    const double tic[] = {1.0, 2.0};
    doc d;
    doc_open(&d);
    fputs("\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
          "<indexedmzML xmlns=\"http://psi.hupo.org/ms/mzml\">\n"
          "<mzML xmlns=\"http://psi.hupo.org/ms/mzml\" version=\"1.1.0\">\n"
          "<run id=\"r\"><spectrumList count=\"2\">\n",
          d.f);
    put_spectrum(d.f, 0, "scan=1", NULL, MZ3, IN3, 3, 64, 0);
    put_spectrum(d.f, 1, "scan=2", NULL, MZ3 + 1, IN3 + 1, 2, 32, 1);
    fputs("</spectrumList>\n<chromatogramList count=\"1\">\n"
          "<chromatogram index=\"0\" id=\"TIC\" defaultArrayLength=\"2\">\n"
          "<binaryDataArrayList count=\"1\">\n",
          d.f);
    put_array(d.f, INT, tic, 2, 64, 0);
    fputs("</binaryDataArrayList></chromatogram></chromatogramList>\n"
          "</run>\n</mzML>\n"
          "<indexList count=\"1\"><index name=\"spectrum\">\n"
          "<offset idRef=\"scan=1\">123</offset><offset idRef=\"scan=2\">4567</offset>\n"
          "</index></indexList>\n"
          "<indexListOffset>8910</indexListOffset>\n"
          "<fileChecksum>0123456789abcdef0123456789abcdef01234567</fileChecksum>\n"
          "</indexedmzML>\n",
          d.f);
    doc_close(&d);
    const char *names[] = {"run.mzML", "run.xml", "run", "run.csv", "run.msp"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        fixture f;
        fixture_open(&f, d.p, d.n, names[k], npsw_read_opts_default());
        assert_int_equal(npsw_reader_format(f.r), NPSW_FMT_MZML);
        assert_int_equal(fixture_next(&f), 0);
        assert_meta(&f.s, NPSW_META_NAME, "scan=1");
        assert_int_equal(f.s.n, 3);
        assert_int_equal(f.s.src_line, line_of(d.p, "id=\"scan=1\""));
        assert_int_equal(fixture_next(&f), 0);
        assert_meta(&f.s, NPSW_META_NAME, "scan=2");
        assert_int_equal(f.s.n, 2);
        assert_peak(&f.s, 1, (float)MZ3[2], IN3[2]);
        assert_int_equal(fixture_next(&f), NPSW_EOF);
        assert_int_equal(f.warnings, 0);
        fixture_done(&f);
    }
    free(d.p);
}

static void test_mzml_format_names_and_probe(void **state)
{
    (void)state;
    assert_string_equal(npsw_format_name(NPSW_FMT_MZML), "mzml");
    assert_int_equal(npsw_format_from_name("mzML"), NPSW_FMT_MZML);
    assert_int_equal(npsw_format_from_name("MZML"), NPSW_FMT_MZML);
    /* other formats are not taken for mzML, even when they mention it */
    const char *mgf = "BEGIN IONS\nTITLE=<mzML> export\n10 1\nEND IONS\n";
    npsw_err e;
    npsw_reader *r = npsw_reader_open_mem(mgf, strlen(mgf), "x.mzML", NULL, &e);
    assert_non_null(r);
    assert_int_equal(npsw_reader_format(r), NPSW_FMT_MGF);
    npsw_reader_close(r);
    /* other XML named .mzML is handed to the mzML reader, which says what is wrong */
    const char *xml = "<?xml version=\"1.0\"?>\n<html><body/></html>\n";
    fixture f;
    fixture_open(&f, xml, strlen(xml), "t.mzML", npsw_read_opts_default());
    assert_int_equal(npsw_reader_format(f.r), NPSW_FMT_MZML);
    int rc = fixture_next(&f);
    assert_error(&f, rc, NPSW_EFORMAT, 2, "root element is <html>");
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

/* Padding (0, 1 or 2 '='), white space and line breaks inside <binary>; a missing compression
 * term is read as uncompressed with a warning. */
static void test_mzml_base64_padding_and_whitespace(void **state)
{
    (void)state;
    const double mz[] = {50.5, 60.25, 70.125};
    const double in[] = {1.0, 2.0, 3.0};
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    for (size_t n = 1; n <= 3; n++) /* 4, 8, 12 bytes: two, one and no '=' */
        put_spectrum(d.f, (int)n, n == 1 ? "pad2" : n == 2 ? "pad1" : "pad0", NULL, mz, in, n, 32,
                     0);
    /* 24 bytes of doubles broken over lines with spaces, tabs and CRLF */
    char *b = encode(mz, 3, 64, 0), *bi = encode(in, 3, 64, 0);
    assert_int_equal(strlen(b), 32);
    fprintf(d.f, "<spectrum index=\"4\" id=\"ws\" defaultArrayLength=\"3\"><binaryDataArrayList>\n"
                 "<binaryDataArray><cvParam accession=\"MS:1000523\"/>"
                 "<cvParam accession=\"MS:1000514\"/>\n"
                 "<binary>\n  %.10s\r\n\t%.10s  %.12s\n</binary></binaryDataArray>\n",
            b, b + 10, b + 20);
    put_array(d.f, INT, in, 3, 64, 0);
    fputs("</binaryDataArrayList></spectrum>\n", d.f);
    fputs(TAIL, d.f);
    doc_close(&d);
    fixture f;
    open_doc(&f, &d);
    for (uint32_t n = 1; n <= 3; n++) {
        assert_int_equal(fixture_next(&f), 0);
        assert_int_equal(f.s.n, n);
        for (uint32_t i = 0; i < n; i++) assert_peak(&f.s, i, mz[i], in[i]);
    }
    assert_int_equal(f.warnings, 0);
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.n, 3);
    for (uint32_t i = 0; i < 3; i++) assert_peak(&f.s, i, mz[i], in[i]);
    assert_int_equal(f.warnings, 1);
    assert_contains(f.last_warning, "names no compression");
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
    free(d.p);
    free(b);
    free(bi);
}

/* ---- errors: one bad spectrum is skipped, the next one is read ------------------------- */

/* A document of spectra "good0", "bad", "good2" where the bad one's m/z array carries
 * `bad_b64` (declared 32-bit, with `comp_acc`); checks the error and that the good ones
 * around it are read. */
static void check_bad_mz_array(const char *bad_b64, const char *comp_acc, int bits, int code,
                               const char *line_needle, const char *part)
{
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    put_spectrum(d.f, 0, "good0", NULL, MZ3, IN3, 3, 32, 0);
    fprintf(d.f, "<spectrum index=\"1\" id=\"bad\" defaultArrayLength=\"3\">\n"
                 "<binaryDataArrayList count=\"2\">\n");
    put_array_b64(d.f, MZ, bits, comp_acc, "compression", bad_b64);
    put_array(d.f, INT, IN3, 3, 32, 0);
    fputs("</binaryDataArrayList>\n</spectrum>\n", d.f);
    put_spectrum(d.f, 2, "good2", NULL, MZ3, IN3, 3, 32, 0);
    fputs(TAIL, d.f);
    doc_close(&d);
    fixture f;
    open_doc(&f, &d);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "good0");
    int rc = fixture_next(&f);
    assert_error(&f, rc, code, line_of(d.p, line_needle), part);
    assert_contains(f.err.msg, "spectrum index 1 (id 'bad')");
    assert_contains(f.err.msg, "spectrum skipped");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "good2");
    assert_int_equal(f.s.n, 3);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
    free(d.p);
}

static void test_mzml_bad_base64(void **state)
{
    (void)state;
    check_bad_mz_array("QUJD*EFG", "MS:1000576", 32, NPSW_EPARSE, "QUJD*EFG", "'*' at base64");
    check_bad_mz_array("QUJDREVGSEk", "MS:1000576", 32, NPSW_EPARSE, "QUJDREVGSEk",
                       "not a multiple of 4");
    check_bad_mz_array("QU=DREVGSElK", "MS:1000576", 32, NPSW_EPARSE, "QU=DREVGSElK",
                       "padding '='");
    check_bad_mz_array("QUJDREVGSE=K", "MS:1000576", 32, NPSW_EPARSE, "QUJDREVGSE=K",
                       "after the padding");
    /* valid base64 of 9 bytes where 3 floats need 12 */
    check_bad_mz_array("QUJDREVGR0hJ", "MS:1000576", 32, NPSW_EPARSE, "QUJDREVGR0hJ",
                       "holds 9 bytes; 3 values of 32-bit floats take 12");
}

static void test_mzml_bad_zlib(void **state)
{
    (void)state;
    /* not zlib at all: "ABCDEFGHIJKL" */
    check_bad_mz_array("QUJDREVGR0hJSktM", "MS:1000574", 32, NPSW_EPARSE, "QUJDREVGR0hJSktM",
                       "not valid zlib data");
    /* a valid stream of 4 floats where the spectrum says 3 */
    const double four[] = {1, 2, 3, 4}, two[] = {1, 2};
    char *z4 = encode(four, 4, 32, 1), *z2 = encode(two, 2, 32, 1);
    check_bad_mz_array(z4, "MS:1000574", 32, NPSW_EPARSE, z4, "inflate to more than the 12 bytes");
    check_bad_mz_array(z2, "MS:1000574", 32, NPSW_EPARSE, z2, "inflate to 8 bytes");
    /* a valid stream of 3 floats, its checksum cut short */
    size_t zl;
    size_t raw_n;
    unsigned char *raw = pack(four, 3, 32, &raw_n);
    unsigned char *z = zlib_pack(raw, raw_n, &zl);
    char *z3cut = b64_string(z, zl - 3);
    check_bad_mz_array(z3cut, "MS:1000574", 32, NPSW_EPARSE, z3cut, "cut short");
    /* and one with bytes after its end */
    unsigned char *z_more = malloc(zl + 3);
    memcpy(z_more, z, zl);
    memcpy(z_more + zl, "xyz", 3);
    char *ztrail = b64_string(z_more, zl + 3);
    check_bad_mz_array(ztrail, "MS:1000574", 32, NPSW_EPARSE, ztrail,
                       "3 bytes follow the zlib stream");
    free(z4);
    free(z2);
    free(raw);
    free(z);
    free(z3cut);
    free(z_more);
    free(ztrail);
}

static void test_mzml_numpress_unsupported(void **state)
{
    (void)state;
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    put_spectrum(d.f, 0, "good0", NULL, MZ3, IN3, 3, 64, 0);
    fprintf(d.f, "<spectrum index=\"1\" id=\"np\" defaultArrayLength=\"3\">\n"
                 "<binaryDataArrayList count=\"2\">\n"
                 "<binaryDataArray>\n"
                 "<cvParam accession=\"MS:1000523\" name=\"64-bit float\"/>\n"
                 "<cvParam accession=\"MS:1002312\" name=\"MS-Numpress linear prediction "
                 "compression\"/>\n"
                 "<cvParam accession=\"MS:1000514\" name=\"m/z array\"/>\n"
                 "<binary>QUJDREVGR0hJSktM</binary>\n"
                 "</binaryDataArray>\n");
    put_array(d.f, INT, IN3, 3, 64, 0);
    fputs("</binaryDataArrayList>\n</spectrum>\n", d.f);
    /* numpress on an array npswatch does not read is no reason to refuse the spectrum */
    fprintf(d.f, "<spectrum index=\"2\" id=\"extra\" defaultArrayLength=\"3\">\n"
                 "<binaryDataArrayList count=\"3\">\n");
    put_array(d.f, MZ, MZ3, 3, 64, 0);
    put_array(d.f, INT, IN3, 3, 64, 0);
    fputs("<binaryDataArray><cvParam accession=\"MS:1000523\"/>"
          "<cvParam accession=\"MS:1002314\" name=\"MS-Numpress short logged float "
          "compression\"/>\n"
          "<cvParam accession=\"MS:1000517\" name=\"signal to noise array\"/>\n"
          "<binary>QUJD</binary></binaryDataArray>\n"
          "</binaryDataArrayList>\n</spectrum>\n",
          d.f);
    fputs(TAIL, d.f);
    doc_close(&d);
    fixture f;
    open_doc(&f, &d);
    assert_int_equal(fixture_next(&f), 0);
    int rc = fixture_next(&f);
    assert_error(&f, rc, NPSW_EUNSUPPORTED, line_of(d.p, "MS:1002312"), "MS:1002312");
    assert_contains(f.err.msg, "MS-Numpress linear prediction compression");
    assert_contains(f.err.msg, "spectrum index 1 (id 'np')");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "extra");
    assert_int_equal(f.s.n, 3);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
    free(d.p);
}

/* Integer arrays are a binary data type npswatch does not read: refused with the term named. */
static void test_mzml_integer_array_unsupported(void **state)
{
    (void)state;
    const char *text =
        HEAD
        "<spectrum index=\"0\" id=\"int\" defaultArrayLength=\"1\">\n" /* 5 */
        "<binaryDataArrayList count=\"2\">\n"
        "<binaryDataArray>\n"
        "<cvParam accession=\"MS:1000519\" name=\"32-bit integer\"/>\n" /* 8 */
        "<cvParam accession=\"MS:1000576\"/><cvParam accession=\"MS:1000514\"/>\n"
        "<binary>AQAAAA==</binary>\n"
        "</binaryDataArray>\n"
        "<binaryDataArray>\n"
        "<cvParam accession=\"MS:1000521\"/><cvParam accession=\"MS:1000576\"/>\n"
        "<cvParam accession=\"MS:1000515\"/>\n"
        "<binary>AACAPw==</binary>\n"
        "</binaryDataArray>\n"
        "</binaryDataArrayList>\n"
        "</spectrum>\n" TAIL;
    doc d = {(char *)text, strlen(text), NULL};
    fixture f;
    open_doc(&f, &d);
    int rc = fixture_next(&f);
    assert_error(&f, rc, NPSW_EUNSUPPORTED, 8, "MS:1000519 (32-bit integer)");
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

static void test_mzml_mismatched_array_lengths(void **state)
{
    (void)state;
    char *mz = encode(MZ3, 3, 64, 0), *in = encode(IN3, 2, 64, 0);
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    fprintf(d.f, "<spectrum index=\"0\" id=\"mismatch\" defaultArrayLength=\"3\">\n"
                 "<binaryDataArrayList count=\"2\">\n"
                 "<binaryDataArray><cvParam accession=\"MS:1000523\"/>"
                 "<cvParam accession=\"MS:1000576\"/><cvParam accession=\"MS:1000514\"/>\n"
                 "<binary>%s</binary></binaryDataArray>\n"
                 "<binaryDataArray arrayLength=\"2\"><cvParam accession=\"MS:1000523\"/>"
                 "<cvParam accession=\"MS:1000576\"/><cvParam accession=\"MS:1000515\"/>\n"
                 "<binary>%s</binary></binaryDataArray>\n"
                 "</binaryDataArrayList></spectrum>\n",
            mz, in);
    put_spectrum(d.f, 1, "after", NULL, MZ3, IN3, 3, 64, 0);
    fputs(TAIL, d.f);
    doc_close(&d);
    fixture f;
    open_doc(&f, &d);
    int rc = fixture_next(&f);
    assert_error(&f, rc, NPSW_EPARSE, line_of(d.p, "id=\"mismatch\""),
                 "the m/z array has 3 values but the intensity array 2");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "after");
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
    free(d.p);
    free(mz);
    free(in);
}

static void test_mzml_missing_arrays_and_empty(void **state)
{
    (void)state;
    char *mz = encode(MZ3, 3, 64, 0);
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    fprintf(d.f, "<spectrum index=\"0\" id=\"only-mz\" defaultArrayLength=\"3\">\n"
                 "<binaryDataArrayList count=\"1\">\n"
                 "<binaryDataArray><cvParam accession=\"MS:1000523\"/>"
                 "<cvParam accession=\"MS:1000576\"/><cvParam accession=\"MS:1000514\"/>\n"
                 "<binary>%s</binary></binaryDataArray>\n"
                 "</binaryDataArrayList></spectrum>\n"
                 "<spectrum index=\"1\" id=\"empty\" defaultArrayLength=\"0\">\n"
                 "<binaryDataArrayList count=\"0\"/></spectrum>\n"
                 "<spectrum index=\"2\" id=\"notype\" defaultArrayLength=\"3\">\n"
                 "<binaryDataArrayList count=\"1\">\n"
                 "<binaryDataArray><cvParam accession=\"MS:1000576\"/>"
                 "<cvParam accession=\"MS:1000514\"/>\n"
                 "<binary>%s</binary></binaryDataArray>\n"
                 "</binaryDataArrayList></spectrum>\n",
            mz, mz);
    fputs(TAIL, d.f);
    doc_close(&d);
    fixture f;
    open_doc(&f, &d);
    int rc = fixture_next(&f);
    assert_error(&f, rc, NPSW_EPARSE, line_of(d.p, "id=\"only-mz\""), "no intensity array");
    rc = fixture_next(&f);
    assert_error(&f, rc, NPSW_EPARSE, line_of(d.p, "id=\"empty\""), "no peaks");
    rc = fixture_next(&f);
    uint64_t bda = line_of(d.p, "id=\"notype\"") + 2;
    assert_error(&f, rc, NPSW_EPARSE, bda, "no binary data type");
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
    free(d.p);
    free(mz);
}

/* NaN, infinity and values beyond 1e30 are errors, as in the text importers; zero and negative
 * values are read as they are and dropped by cleaning, as MGF's are. */
static void test_mzml_invalid_and_nonpositive_values(void **state)
{
    (void)state;
    const double nan_in[] = {1, NAN, 3}, inf_mz[] = {41, INFINITY, 57}, big[] = {41, 1e31, 57};
    const double np_in[] = {-3.0, 0.0, 7.0};
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    put_spectrum(d.f, 0, "nan", NULL, MZ3, nan_in, 3, 64, 0);
    put_spectrum(d.f, 1, "inf", NULL, inf_mz, IN3, 3, 32, 1);
    put_spectrum(d.f, 2, "big", NULL, big, IN3, 3, 64, 1);
    put_spectrum(d.f, 3, "nonpositive", NULL, MZ3, np_in, 3, 64, 0);
    fputs(TAIL, d.f);
    doc_close(&d);
    fixture f;
    open_doc(&f, &d);
    int rc = fixture_next(&f);
    uint64_t l = line_of(d.p, "id=\"nan\"");
    /* put_spectrum: the m/z <binary> is 6 lines below <spectrum>, the intensity one 12 */
    assert_error(&f, rc, NPSW_EPARSE, l + 12, "value 2 of the intensity array is NaN");
    rc = fixture_next(&f);
    assert_error(&f, rc, NPSW_EPARSE, line_of(d.p, "id=\"inf\"") + 6,
                 "value 2 of the m/z array is infinite");
    rc = fixture_next(&f);
    assert_error(&f, rc, NPSW_EPARSE, line_of(d.p, "id=\"big\"") + 6, "out of range");
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.n, 3);
    assert_peak(&f.s, 0, MZ3[0], -3.0);
    assert_peak(&f.s, 1, MZ3[1], 0.0);
    npsw_clean_opts co = npsw_clean_opts_default();
    assert_int_equal(npsw_clean(&f.s, &co, NULL), 1);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
    free(d.p);
    /* the same peaks as MGF text: kept by the importer in the same way */
    const char *mgf = "BEGIN IONS\n41.0390625 -3\n57.0703125 0\n105.0703125 7\nEND IONS\n";
    fixture g;
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FMT_MGF;
    fixture_open(&g, mgf, strlen(mgf), "t.mgf", o);
    assert_int_equal(fixture_next(&g), 0);
    assert_int_equal(g.s.n, 3);
    assert_peak(&g.s, 0, MZ3[0], -3.0);
    fixture_done(&g);
}

static void test_mzml_max_peaks(void **state)
{
    (void)state;
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    put_spectrum(d.f, 0, "three", NULL, MZ3, IN3, 3, 64, 1);
    put_spectrum(d.f, 1, "two", NULL, MZ3, IN3, 2, 64, 1);
    fprintf(d.f, "<spectrum index=\"2\" id=\"overlong\" defaultArrayLength=\"2\">\n"
                 "<binaryDataArrayList count=\"1\">\n");
    put_array_b64(d.f, MZ, 32, "MS:1000576", "no compression", "AAAAAAAAAAAAAAAA");
    fputs("</binaryDataArrayList>\n</spectrum>\n", d.f);
    fputs(TAIL, d.f);
    doc_close(&d);
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FMT_MZML;
    o.max_peaks = 2;
    fixture f;
    fixture_open(&f, d.p, d.n, "t.mzML", o);
    int rc = fixture_next(&f);
    assert_error(&f, rc, NPSW_ELIMIT, line_of(d.p, "id=\"three\""), "limit of 2 peaks");
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "two");
    assert_int_equal(f.s.n, 2);
    /* 16 base64 characters where two uncompressed floats take 12: refused while reading */
    rc = fixture_next(&f);
    assert_error(&f, rc, NPSW_EPARSE, line_of(d.p, "AAAAAAAAAAAAAAAA"), "longer than 2 values");
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
    free(d.p);
}

/* ---- errors that end the file ---------------------------------------------------------- */

static uint64_t count_lines(const char *p, size_t n)
{
    uint64_t lines = 0;
    for (size_t i = 0; i < n; i++) lines += p[i] == '\n';
    return lines + (n && p[n - 1] != '\n');
}

static void test_mzml_truncated(void **state)
{
    (void)state;
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    put_spectrum(d.f, 0, "first", NULL, MZ3, IN3, 3, 64, 1);
    put_spectrum(d.f, 1, "second", NULL, MZ3, IN3, 3, 64, 1);
    fputs(TAIL, d.f);
    doc_close(&d);
    /* cut inside the second spectrum's m/z <binary> */
    const char *second = strstr(d.p, "id=\"second\"");
    const char *cut = strstr(second, "<binary>") + 12;
    size_t len = (size_t)(cut - d.p);
    fixture f;
    npsw_read_opts o = npsw_read_opts_default();
    o.format = NPSW_FMT_MZML;
    fixture_open(&f, d.p, len, "t.mzML", o);
    assert_int_equal(fixture_next(&f), 0);
    assert_meta(&f.s, NPSW_META_NAME, "first");
    int rc = fixture_next(&f);
    assert_error(&f, rc, NPSW_EPARSE, count_lines(d.p, len), "truncated");
    assert_contains(f.err.msg, "inside spectrum index 1 (id 'second')");
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
    /* cut right after the first spectrum, at a line end */
    const char *end1 = strstr(d.p, "</spectrum>\n") + 12;
    len = (size_t)(end1 - d.p);
    fixture_open(&f, d.p, len, "t.mzML", o);
    assert_int_equal(fixture_next(&f), 0);
    rc = fixture_next(&f);
    assert_error(&f, rc, NPSW_EPARSE, count_lines(d.p, len),
                 "before the mzML document is complete");
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
    free(d.p);
}

static void test_mzml_xml_error_in_the_middle(void **state)
{
    (void)state;
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    put_spectrum(d.f, 0, "first", NULL, MZ3, IN3, 3, 64, 0);
    /* an unclosed cvParam: the end tag on the next line does not match it */
    put_spectrum(d.f, 1, "second", "<cvParam accession=\"MS:1000511\" name=\"UNCLOSED\">\n", MZ3,
                 IN3, 3, 64, 0);
    put_spectrum(d.f, 2, "third", NULL, MZ3, IN3, 3, 64, 0);
    fputs(TAIL, d.f);
    doc_close(&d);
    fixture f;
    open_doc(&f, &d);
    assert_int_equal(fixture_next(&f), 0);
    int rc = fixture_next(&f);
    /* the second's </spectrum>: one params line, then 15 as in every put_spectrum */
    uint64_t expect = line_of(d.p, "id=\"second\"") + 16;
    assert_error(&f, rc, NPSW_EPARSE, expect, "XML error in spectrum index 1 (id 'second')");
    assert_contains(f.err.msg, "the rest of the file cannot be read");
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
    free(d.p);
}

/* A billion-laughs document and an external entity (XXE) are refused at the DOCTYPE: nothing is
 * expanded and no file is read. */
static void test_mzml_doctype_refused(void **state)
{
    (void)state;
    const char *lol =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE mzML [\n"
        " <!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
        " <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
        " <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
        " <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
        " <!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
        " <!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
        " <!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
        "]>\n"
        "<mzML><run><spectrumList><spectrum index=\"0\" id=\"&g;\" defaultArrayLength=\"1\">\n"
        "<cvParam accession=\"MS:1000796\" value=\"&g;\"/>&g;\n"
        "</spectrum></spectrumList></run></mzML>\n";
    fixture f;
    npsw_read_opts o = npsw_read_opts_default();
    fixture_open(&f, lol, strlen(lol), "t.mzML", o);
    assert_int_equal(npsw_reader_format(f.r), NPSW_FMT_MZML);
    int rc = fixture_next(&f);
    /* at the DOCTYPE line: the parse stops before the internal subset is read */
    assert_error(&f, rc, NPSW_EUNSUPPORTED, 2, "document type declaration");
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);

    char path[] = "/tmp/npsw_test_mzml_xxe_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "SECRET-CONTENT", 14), 14);
    close(fd);
    doc d;
    doc_open(&d);
    fprintf(d.f, "<?xml version=\"1.0\"?>\n"
                 "<!DOCTYPE mzML [ <!ENTITY x SYSTEM \"file://%s\"> ]>\n"
                 "<mzML><spectrum index=\"0\" id=\"&x;\" defaultArrayLength=\"0\">&x;</spectrum>"
                 "</mzML>\n",
            path);
    doc_close(&d);
    fixture_open(&f, d.p, d.n, "t.mzML", o);
    rc = fixture_next(&f);
    assert_error(&f, rc, NPSW_EUNSUPPORTED, 2, "document type declaration");
    assert_null(strstr(f.err.msg, "SECRET"));
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(f.warnings, 0);
    fixture_done(&f);
    unlink(path);
    free(d.p);
}

/* Bytes that the declared encoding cannot convert end the file with an XML error (libxml2
 * reports them from inside xmlParseChunk, where halting the parser crashed it: fuzz_mzml). */
static void test_mzml_encoding_error(void **state)
{
    (void)state;
    const char *text = "<?xml version=\"1.0\" encoding=\"utf-7\"?>\n"
                       "<mzML>\n"
                       "<run><spectrumList><spectrum id=\"a\xFF\" defaultArrayLength=\"1\">\n"
                       "</spectrum></spectrumList></run></mzML>\n";
    fixture f;
    doc d = {(char *)text, strlen(text), NULL};
    open_doc(&f, &d);
    int rc = fixture_next(&f);
    assert_int_equal(rc, NPSW_EPARSE);
    assert_string_equal(f.err.where, "t.mzML");
    assert_contains(f.err.msg, "XML error");
    assert_true(f.err.line >= 1 && f.err.line <= 4);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
}

/* Errors and spectra beyond line 65535 carry their exact line. */
static void test_mzml_line_numbers_beyond_65535(void **state)
{
    (void)state;
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    for (int i = 0; i < 70000; i++) fputs("<!-- synthetic padding -->\n", d.f);
    put_spectrum(d.f, 0, "late", NULL, MZ3, IN3, 3, 64, 1);
    fprintf(d.f, "<spectrum index=\"1\" id=\"late-bad\" defaultArrayLength=\"3\">\n"
                 "<binaryDataArrayList count=\"2\">\n");
    put_array_b64(d.f, MZ, 64, "MS:1000574", "zlib compression", "bm90IHpsaWI=");
    put_array(d.f, INT, IN3, 3, 64, 1);
    fputs("</binaryDataArrayList>\n</spectrum>\n", d.f);
    fputs(TAIL, d.f);
    doc_close(&d);
    fixture f;
    open_doc(&f, &d);
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.src_line, line_of(d.p, "id=\"late\""));
    assert_true(f.s.src_line > 70000);
    int rc = fixture_next(&f);
    assert_error(&f, rc, NPSW_EPARSE, line_of(d.p, "bm90IHpsaWI="), "not valid zlib data");
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
    free(d.p);
}

/* A million peaks uncompressed in 64 bits: a 10.7 MB <binary> text, more than libxml2's tree
 * builder accepts in one text node; the SAX reader takes it. */
static void test_mzml_large_uncompressed_array(void **state)
{
    (void)state;
    const size_t n = 1000000;
    double *mz = malloc(n * sizeof *mz), *in = malloc(n * sizeof *in);
    assert_non_null(mz);
    assert_non_null(in);
    for (size_t i = 0; i < n; i++) {
        mz[i] = 50.0 + (double)i / 1024.0;
        in[i] = (double)(i % 1000) + 1.0;
    }
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    put_spectrum(d.f, 0, "million", NULL, mz, in, n, 64, 0);
    fputs(TAIL, d.f);
    doc_close(&d);
    fixture f;
    open_doc(&f, &d);
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(f.s.n, n);
    assert_peak(&f.s, 0, mz[0], in[0]);
    assert_peak(&f.s, 123456, mz[123456], in[123456]);
    assert_peak(&f.s, (uint32_t)(n - 1), mz[n - 1], in[n - 1]);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    fixture_done(&f);
    free(d.p);
    free(mz);
    free(in);
}

static void test_mzml_profile_warns_once(void **state)
{
    (void)state;
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    for (int i = 0; i < 2; i++)
        put_spectrum(d.f, i, i ? "p1" : "p0",
                     "<cvParam accession=\"MS:1000128\" name=\"profile spectrum\"/>\n", MZ3, IN3,
                     3, 64, 0);
    fputs(TAIL, d.f);
    doc_close(&d);
    fixture f;
    open_doc(&f, &d);
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(fixture_next(&f), 0);
    assert_int_equal(fixture_next(&f), NPSW_EOF);
    assert_int_equal(f.warnings, 1);
    assert_contains(f.last_warning, "profile data");
    assert_int_equal(f.last_warning_line, line_of(d.p, "id=\"p0\""));
    fixture_done(&f);
    free(d.p);
}

/* ---- whole files: strict stops, lenient skips ------------------------------------------ */

static void test_mzml_read_file_strict_and_lenient(void **state)
{
    (void)state;
    doc d;
    doc_open(&d);
    fputs(HEAD, d.f);
    put_spectrum(d.f, 0, "a", NULL, MZ3, IN3, 3, 64, 1);
    fprintf(d.f, "<spectrum index=\"1\" id=\"b\" defaultArrayLength=\"3\">\n"
                 "<binaryDataArrayList count=\"2\">\n");
    put_array_b64(d.f, MZ, 64, "MS:1002312", "MS-Numpress linear prediction compression",
                  "QUJD");
    put_array(d.f, INT, IN3, 3, 64, 1);
    fputs("</binaryDataArrayList>\n</spectrum>\n", d.f);
    put_spectrum(d.f, 2, "c", NULL, MZ3, IN3, 3, 64, 1);
    fputs(TAIL, d.f);
    doc_close(&d);
    char path[] = "/tmp/npsw_test_mzml_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, d.p, d.n), (ssize_t)d.n);
    close(fd);
    uint64_t bad_line = line_of(d.p, "MS:1002312");

    npsw_spectra out = {0};
    npsw_read_report rep;
    npsw_err e;
    int rc = npsw_read_file(path, NULL, 1, &out, &rep, &e);
    assert_int_equal(rc, NPSW_EUNSUPPORTED);
    assert_int_equal(out.n, 1);
    assert_int_equal(e.line, bad_line);
    assert_string_equal(e.where, path);
    assert_int_equal(rep.format, NPSW_FMT_MZML);
    npsw_spectra_free(&out);

    rc = npsw_read_file(path, NULL, 0, &out, &rep, &e);
    assert_int_equal(rc, 2);
    assert_int_equal(out.n, 2);
    assert_string_equal(out.v[0].meta[NPSW_META_NAME], "a");
    assert_string_equal(out.v[1].meta[NPSW_META_NAME], "c");
    assert_int_equal(rep.n_read, 2);
    assert_int_equal(rep.n_skipped, 1);
    assert_int_equal(rep.first[0].code, NPSW_EUNSUPPORTED);
    assert_int_equal(rep.first[0].line, bad_line);
    npsw_spectra_free(&out);
    unlink(path);
    free(d.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mzml_encoder_vectors),
        cmocka_unit_test(test_mzml_literal_arrays),
        cmocka_unit_test(test_mzml_ms1_64bit_uncompressed),
        cmocka_unit_test(test_mzml_ms2_32bit_zlib_precursor),
        cmocka_unit_test(test_mzml_polarity),
        cmocka_unit_test(test_mzml_param_groups),
        cmocka_unit_test(test_mzml_indexed_wrapper_and_detection),
        cmocka_unit_test(test_mzml_format_names_and_probe),
        cmocka_unit_test(test_mzml_base64_padding_and_whitespace),
        cmocka_unit_test(test_mzml_bad_base64),
        cmocka_unit_test(test_mzml_bad_zlib),
        cmocka_unit_test(test_mzml_numpress_unsupported),
        cmocka_unit_test(test_mzml_integer_array_unsupported),
        cmocka_unit_test(test_mzml_mismatched_array_lengths),
        cmocka_unit_test(test_mzml_missing_arrays_and_empty),
        cmocka_unit_test(test_mzml_invalid_and_nonpositive_values),
        cmocka_unit_test(test_mzml_max_peaks),
        cmocka_unit_test(test_mzml_truncated),
        cmocka_unit_test(test_mzml_xml_error_in_the_middle),
        cmocka_unit_test(test_mzml_doctype_refused),
        cmocka_unit_test(test_mzml_encoding_error),
        cmocka_unit_test(test_mzml_line_numbers_beyond_65535),
        cmocka_unit_test(test_mzml_large_uncompressed_array),
        cmocka_unit_test(test_mzml_profile_warns_once),
        cmocka_unit_test(test_mzml_read_file_strict_and_lenient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
