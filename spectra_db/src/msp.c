/* msp.c - NIST MSP text (NIST, SWGDRUG, MoNA, MassBank, MS-DIAL, AMDIS flavours).
 *
 * A record is a run of "Key: value" header lines followed by peak lines. Records are separated
 * by blank lines, or simply start at the next "Name:" line. Keys are case-insensitive and have
 * many spellings (see key_table). Peak lines may hold several pairs in any of the separators that
 * npsw_parse_peak_line() accepts. Unknown keys are kept verbatim in the comments. See
 * docs/formats.md for the full list of what is accepted.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader_internal.h"

enum msp_key {
    K_UNKNOWN,
    K_NAME,
    K_SYNON,
    K_FORMULA,
    K_MW,
    K_EXACTMASS,
    K_CAS,
    K_NIST,
    K_DB,
    K_INCHIKEY,
    K_SMILES,
    K_PRECURSORMZ,
    K_PRECURSORTYPE,
    K_IONMODE,
    K_INSTRUMENT,
    K_INSTRUMENT_TYPE,
    K_IONIZATION,
    K_COLLISION_ENERGY,
    K_SOURCE,
    K_LICENSE,
    K_COMMENTS,
    K_RI,
    K_NUMPEAKS,
    K_SPECTRUM_TYPE,
    K_CLASS
};

/* Keys compare after lower-casing and dropping ' ', '_', '-' and '#'. */
static const struct {
    const char *key;
    enum msp_key k;
} key_table[] = {
    {"name", K_NAME},
    {"synon", K_SYNON},
    {"synonym", K_SYNON},
    {"synonyms", K_SYNON},
    {"formula", K_FORMULA},
    {"molecularformula", K_FORMULA},
    {"mw", K_MW},
    {"molweight", K_MW},
    {"molecularweight", K_MW},
    {"nominalmass", K_MW},
    {"exactmass", K_EXACTMASS},
    {"monoisotopicmass", K_EXACTMASS},
    {"cas", K_CAS},
    {"casno", K_CAS},
    {"casnumber", K_CAS},
    {"nist", K_NIST},
    {"nistno", K_NIST},
    {"db", K_DB},
    {"dbno", K_DB},
    {"accession", K_DB},
    {"id", K_DB},
    {"spectrumid", K_DB},
    {"inchikey", K_INCHIKEY},
    {"smiles", K_SMILES},
    {"precursormz", K_PRECURSORMZ},
    {"pepmass", K_PRECURSORMZ},
    {"precursortype", K_PRECURSORTYPE},
    {"adduct", K_PRECURSORTYPE},
    {"ionmode", K_IONMODE},
    {"ionmodes", K_IONMODE},
    {"polarity", K_IONMODE},
    {"instrument", K_INSTRUMENT},
    {"instrumenttype", K_INSTRUMENT_TYPE},
    {"ionization", K_IONIZATION},
    {"ionisation", K_IONIZATION},
    {"iontype", K_IONIZATION},
    {"collisionenergy", K_COLLISION_ENERGY},
    {"source", K_SOURCE},
    {"contributor", K_SOURCE},
    {"license", K_LICENSE},
    {"licence", K_LICENSE},
    {"comment", K_COMMENTS},
    {"comments", K_COMMENTS},
    {"retentionindex", K_RI},
    {"ri", K_RI},
    {"numpeaks", K_NUMPEAKS},
    {"npeaks", K_NUMPEAKS},
    {"spectrumtype", K_SPECTRUM_TYPE},
    {"class", K_CLASS},
    {"drugclass", K_CLASS},
};

static enum msp_key lookup_key(const char *p, size_t len)
{
    char norm[40];
    if (npsw_key_normalise(p, len, " _-#\t", norm, sizeof norm) < 0) return K_UNKNOWN;
    for (size_t i = 0; i < sizeof key_table / sizeof key_table[0]; i++)
        if (strcmp(norm, key_table[i].key) == 0) return key_table[i].k;
    return K_UNKNOWN;
}

/* A peak line starts (after blanks) with a digit, '(', '[', '.', '+' or '-' followed by a
 * digit. */
static int is_peak_line(const char *p, size_t len)
{
    npsw_trim(&p, &len);
    if (!len) return 0;
    unsigned char c = (unsigned char)p[0];
    if (isdigit(c)) return 1;
    if ((c == '(' || c == '[' || c == '.' || c == '+' || c == '-') && len > 1)
        return isdigit((unsigned char)p[1]) || p[1] == '(' || p[1] == ' ' || p[1] == '.';
    return 0;
}

/* "Key: value": the key starts with a letter (or '$'), is at most 64 bytes and has no control
 * characters. Returns 1 and splits, or 0. */
static int split_key(const char *p, size_t len, const char **k, size_t *kl, const char **v,
                     size_t *vl)
{
    npsw_trim(&p, &len);
    if (!len || !(isalpha((unsigned char)p[0]) || p[0] == '$')) return 0;
    size_t i = 0;
    while (i < len && i < 64 && p[i] != ':' && p[i] != '=' && (unsigned char)p[i] >= 0x20) i++;
    if (i == len || i == 64 || (p[i] != ':' && p[i] != '=')) return 0;
    *k = p;
    *kl = i;
    npsw_trim(k, kl);
    *v = p + i + 1;
    *vl = len - i - 1;
    npsw_trim(v, vl);
    return 1;
}

static int is_name_line(const char *p, size_t len)
{
    const char *k, *v;
    size_t kl, vl;
    return split_key(p, len, &k, &kl, &v, &vl) && lookup_key(k, kl) == K_NAME;
}

/* Skip to the start of the next record: past a blank line, or up to (not past) a Name: line. */
static void resync(npsw_reader *r)
{
    npsw_line ln;
    while (npsw_lines_peek(&r->lines, &ln) == 0) {
        if (is_name_line(ln.p, ln.len)) return;
        (void)npsw_lines_next(&r->lines, &ln);
        if (npsw_is_blank(ln.p, ln.len)) return;
    }
}

static int parse_number_field(npsw_reader *r, const char *v, size_t vl, uint64_t line,
                              const char *what, double *out)
{
    /* accept a leading number followed by anything ("281.1 100" for PEPMASS with intensity,
     * "290 (nominal)") and comma decimals ("281,2013306") */
    double x;
    size_t used;
    if (npsw_parse_double(v, vl, 1, &x, &used) < 0) {
        npsw_reader_warn(r, line, "%s: expected a number, found '%.*s'; ignored", what,
                         (int)(vl > 40 ? 40 : vl), v);
        return 0;
    }
    *out = x;
    return 1;
}

static int handle_key(npsw_reader *r, npsw_spectrum *s, enum msp_key key, const char *k,
                      size_t kl, const char *v, size_t vl, uint64_t line, long *num_peaks)
{
    char cas[32];
    double x;
    switch (key) {
    case K_NAME: return npsw_reader_set_text(r, s, NPSW_META_NAME, v, vl, line);
    case K_SYNON:
        if (vl >= 2 && v[0] == '$' && v[1] == ':') /* NIST tagged metadata ($:00in-source) */
            return npsw_reader_append_text(r, s, NPSW_META_COMMENTS, v, vl, line);
        return vl ? npsw_reader_append_text(r, s, NPSW_META_SYNONYMS, v, vl, line) : 0;
    case K_FORMULA: return npsw_reader_set_text(r, s, NPSW_META_FORMULA, v, vl, line);
    case K_MW:
        if (parse_number_field(r, v, vl, line, "MW", &x) && x > 0) s->mw = x;
        return 0;
    case K_EXACTMASS:
        if (parse_number_field(r, v, vl, line, "ExactMass", &x) && x > 0) s->exact_mass = x;
        return 0;
    case K_CAS: {
        /* "CAS#: 58-08-2;  NIST#: 12345" */
        const char *semi = memchr(v, ';', vl);
        size_t cl = semi ? (size_t)(semi - v) : vl;
        int c = npsw_normalise_cas(v, cl, cas, sizeof cas);
        if (c > 0) {
            if (npsw_spectrum_set_meta(s, NPSW_META_CAS, cas, (size_t)-1) < 0) return NPSW_ENOMEM;
        } else if (c < 0) {
            npsw_reader_warn(r, line, "CAS number '%.*s' is not valid (check digit); ignored",
                             (int)(cl > 30 ? 30 : cl), v);
        }
        if (semi) {
            /* one level only: the rest is handled as its own key unless it is another CAS#
             * (no recursion, whatever the line holds) */
            const char *rest = semi + 1;
            size_t rl = vl - cl - 1;
            const char *k2, *v2;
            size_t kl2, vl2;
            if (split_key(rest, rl, &k2, &kl2, &v2, &vl2)) {
                enum msp_key key2 = lookup_key(k2, kl2);
                if (key2 != K_CAS)
                    return handle_key(r, s, key2, k2, kl2, v2, vl2, line, num_peaks);
            }
            npsw_reader_warn(r, line, "unexpected text after the CAS number ignored");
        }
        return 0;
    }
    case K_NIST:
        if (!s->meta[NPSW_META_ACCESSION] && vl) {
            char buf[80];
            snprintf(buf, sizeof buf, "NIST#%.*s", (int)(vl > 60 ? 60 : vl), v);
            return npsw_reader_set_text(r, s, NPSW_META_ACCESSION, buf, strlen(buf), line);
        }
        return 0;
    case K_DB: return npsw_reader_set_text(r, s, NPSW_META_ACCESSION, v, vl, line);
    case K_INCHIKEY: return npsw_reader_set_text(r, s, NPSW_META_INCHIKEY, v, vl, line);
    case K_SMILES: return npsw_reader_set_text(r, s, NPSW_META_SMILES, v, vl, line);
    case K_PRECURSORMZ:
        /* PrecursorMZ: 0 means "no precursor" (EI records exported by MS-DIAL and others) */
        if (parse_number_field(r, v, vl, line, "PrecursorMZ", &x)) s->precursor_mz = x > 0 ? x : 0;
        return 0;
    case K_PRECURSORTYPE: return npsw_reader_set_text(r, s, NPSW_META_PRECURSOR_TYPE, v, vl, line);
    case K_IONMODE:
        if (vl && (v[0] == 'P' || v[0] == 'p' || v[0] == '+'))
            s->ion_mode = NPSW_ION_POSITIVE;
        else if (vl && (v[0] == 'N' || v[0] == 'n' || v[0] == '-'))
            s->ion_mode = NPSW_ION_NEGATIVE;
        return 0;
    case K_INSTRUMENT: return npsw_reader_set_text(r, s, NPSW_META_INSTRUMENT, v, vl, line);
    case K_INSTRUMENT_TYPE:
        return npsw_reader_set_text(r, s, NPSW_META_INSTRUMENT_TYPE, v, vl, line);
    case K_IONIZATION: return npsw_reader_set_text(r, s, NPSW_META_IONIZATION, v, vl, line);
    case K_COLLISION_ENERGY:
        return npsw_reader_set_text(r, s, NPSW_META_COLLISION_ENERGY, v, vl, line);
    case K_SOURCE: return npsw_reader_set_text(r, s, NPSW_META_SOURCE, v, vl, line);
    case K_LICENSE: return npsw_reader_set_text(r, s, NPSW_META_LICENSE, v, vl, line);
    case K_COMMENTS: return vl ? npsw_reader_append_text(r, s, NPSW_META_COMMENTS, v, vl, line) : 0;
    case K_RI:
        if (parse_number_field(r, v, vl, line, "RI", &x) && x > 0) s->retention_index = x;
        return 0;
    case K_NUMPEAKS:
        if (parse_number_field(r, v, vl, line, "Num Peaks", &x) && x >= 0 && x <= 4e9)
            *num_peaks = (long)x;
        return 0;
    case K_CLASS: return npsw_reader_set_text(r, s, NPSW_META_CLASS, v, vl, line);
    case K_SPECTRUM_TYPE: /* MS1/MS2: kept with the comments */
    case K_UNKNOWN:
    default: {
        /* keep the original key and value */
        size_t tl = kl + 2 + vl;
        char *t = malloc(tl + 1);
        if (!t) return NPSW_ENOMEM;
        memcpy(t, k, kl);
        memcpy(t + kl, ": ", 2);
        memcpy(t + kl + 2, v, vl);
        t[tl] = '\0';
        int rc = npsw_reader_append_text(r, s, NPSW_META_COMMENTS, t, tl, line);
        free(t);
        return rc;
    }
    }
}

static int msp_next(npsw_reader *r, npsw_spectrum *s, npsw_err *err)
{
    npsw_line ln;
    /* skip blank lines before the record */
    for (;;) {
        if (npsw_lines_peek(&r->lines, &ln) != 0) return NPSW_EOF;
        if (!npsw_is_blank(ln.p, ln.len)) break;
        (void)npsw_lines_next(&r->lines, &ln);
    }
    uint64_t first = ln.no;
    s->src_line = first;
    long num_peaks = -1;
    int in_peaks = 0, have_name = 0;
    uint64_t peaks_line = 0;
    char why[200];
    int rc;
    while (npsw_lines_peek(&r->lines, &ln) == 0) {
        if (npsw_is_blank(ln.p, ln.len)) {
            (void)npsw_lines_next(&r->lines, &ln);
            if (s->n || in_peaks || num_peaks == 0) break; /* end of record */
            continue; /* blank line among the headers or before the announced peaks */
        }
        if (is_peak_line(ln.p, ln.len)) {
            (void)npsw_lines_next(&r->lines, &ln);
            if (!in_peaks) peaks_line = ln.no;
            in_peaks = 1;
            rc = npsw_parse_peak_line(ln.p, ln.len, r->opts.decimal_comma, r->opts.max_peaks, s,
                                      why, sizeof why);
            if (rc < 0) {
                if (rc == NPSW_ENOMEM) return npsw_err_set(err, rc, r->name, ln.no, "out of memory");
                resync(r);
                return npsw_reader_fail(r, err, ln.no, "record '%s': %s",
                                        npsw_spectrum_meta(s, NPSW_META_NAME), why);
            }
            continue;
        }
        const char *k, *v;
        size_t kl, vl;
        if (!split_key(ln.p, ln.len, &k, &kl, &v, &vl)) {
            (void)npsw_lines_next(&r->lines, &ln);
            resync(r);
            return npsw_reader_fail(r, err, ln.no,
                                    "record '%s': expected 'Key: value' or an 'm/z intensity' "
                                    "peak line, found '%.*s'",
                                    npsw_spectrum_meta(s, NPSW_META_NAME),
                                    (int)(ln.len > 40 ? 40 : ln.len), ln.p);
        }
        enum msp_key key = lookup_key(k, kl);
        if (key == K_NAME && (have_name || in_peaks || s->n)) break; /* next record, no blank */
        (void)npsw_lines_next(&r->lines, &ln);
        if (key == K_NAME) have_name = 1;
        rc = handle_key(r, s, key, k, kl, v, vl, ln.no, &num_peaks);
        if (rc < 0) return npsw_err_set(err, rc, r->name, ln.no, "out of memory");
    }
    if (!have_name)
        return npsw_reader_fail(r, err, first, "record has no 'Name:' line (expected 'Name: ...' "
                                               "at the start of each record)");
    if (s->n == 0)
        return npsw_reader_fail(r, err, first, "record '%s' has no peaks (expected 'm/z "
                                               "intensity' lines after 'Num Peaks:')",
                                npsw_spectrum_meta(s, NPSW_META_NAME));
    if (num_peaks < 0)
        npsw_reader_warn(r, first, "record '%s': no 'Num Peaks:' line; read %u peaks",
                         npsw_spectrum_meta(s, NPSW_META_NAME), s->n);
    else if ((unsigned long)num_peaks != s->n)
        npsw_reader_warn(r, peaks_line, "record '%s': 'Num Peaks: %ld' but %u peaks present; "
                                        "using the peaks present",
                         npsw_spectrum_meta(s, NPSW_META_NAME), num_peaks, s->n);
    return 0;
}

static int msp_probe(const char *buf, size_t len)
{
    npsw_lines ls = {buf, len, 0, 0};
    npsw_line ln;
    int score = 0, lines = 0;
    int first = 1;
    while (lines < 200 && npsw_lines_next(&ls, &ln) == 0) {
        lines++;
        if (npsw_is_blank(ln.p, ln.len)) continue;
        const char *k, *v;
        size_t kl, vl;
        if (split_key(ln.p, ln.len, &k, &kl, &v, &vl)) {
            enum msp_key key = lookup_key(k, kl);
            if (first && key == K_NAME) return 85; /* records start with Name: */
            if (key == K_NAME) score += 40;
            else if (key == K_NUMPEAKS) score += 40;
            else if (key != K_UNKNOWN) score += 5;
            if (ln.p[0] == '#') return 0;
        }
        first = 0;
        if (score >= 80) return 80;
    }
    return score > 80 ? 80 : score;
}

const npsw_format_ops npsw_msp_ops = {NPSW_FMT_MSP, "msp", msp_probe, msp_next, NULL};
