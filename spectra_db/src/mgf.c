/* mgf.c - Mascot Generic Format, as GNPS, MoNA, MZmine and matchms write MS/MS libraries and
 * queries.
 *
 * A spectrum is a "BEGIN IONS" ... "END IONS" block of "KEY=value" lines (keys case-insensitive,
 * compared without ' ', '_', '-' and '#') and peak lines "m/z intensity [charge or annotation]".
 * Where the keys go:
 *   NAME, COMPOUND_NAME  >  TITLE                  -> name (none: empty name, still a spectrum)
 *   PRECURSOR_MZ, PRECURSORMZ  >  PEPMASS          -> precursor_mz: the first number of the value
 *       ("281.1 1234.5" carries an intensity, "281,2013306" a comma decimal); never divided by
 *       the charge; 0 = no precursor. A warning when the two disagree by more than 0.01.
 *   IONMODE  >  sign of CHARGE ("1+", "2-", "-1") -> ion_mode; an unsigned CHARGE says nothing
 *   SPECTRUMID  >  ACCESSION, DB#  >  SCANS        -> accession
 *   INSTRUMENT  >  SOURCE_INSTRUMENT               -> instrument
 *   IONIZATION  >  ION_SOURCE                      -> ionization
 *   INSTRUMENT_TYPE -> instrument_type (the field msp.c fills from the same key), ADDUCT and
 *   PRECURSORTYPE -> precursor_type, INCHIKEY, SMILES, FORMULA, CAS (normalised),
 *   COLLISION_ENERGY, LICENSE, EXACTMASS, MW -> their fields; COMMENT(S) -> comments
 *   anything else (MSLEVEL, RTINSECONDS, ORGANISM, ...) -> comments as "KEY=value"
 * When several keys (or repeats of one key) feed one field, the better-ranked key wins whatever
 * the order and the other value moves to the comments, so nothing in the file is lost silently.
 *
 * Global parameters (KEY=value lines before the first BEGIN IONS): those that describe the
 * acquisition - CHARGE, IONMODE, the instrument, ionisation, collision energy and licence keys -
 * are defaults for every block, which may override them. Any other global key (Mascot search
 * settings such as COM, ITOL or MASS; anything naming one spectrum) is ignored with a warning:
 * copying it into every spectrum would be wrong.
 *
 * Errors: a block without END IONS (end of file, or another BEGIN IONS comes first) is reported at
 * its BEGIN IONS line and reading goes on with the next block. A bad peak line is reported at that
 * line and reading resumes after the block's END IONS (or at the next BEGIN IONS). A block with
 * no peaks is an error. Other text between blocks is skipped with one warning per run of lines;
 * blank lines and comment lines (starting with '#', ';', '!' or '/', as Mascot allows) are
 * ignored anywhere.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader_internal.h"

enum mgf_key {
    K_UNKNOWN,
    K_TITLE,
    K_NAME,
    K_PEPMASS,
    K_PRECURSORMZ,
    K_CHARGE,
    K_IONMODE,
    K_PRECURSORTYPE,
    K_INCHIKEY,
    K_SMILES,
    K_FORMULA,
    K_CAS,
    K_SPECTRUMID,
    K_ACCESSION,
    K_SCANS,
    K_INSTRUMENT,
    K_SOURCE_INSTRUMENT,
    K_INSTRUMENT_TYPE,
    K_IONIZATION,
    K_ION_SOURCE,
    K_COLLISION_ENERGY,
    K_LICENSE,
    K_COMMENTS,
    K_EXACTMASS,
    K_MW
};

/* Keys compare after lower-casing and dropping ' ', '_', '-' and '#' ("DB#" is "db"). */
static const struct {
    const char *key;
    enum mgf_key k;
} key_table[] = {
    {"title", K_TITLE},
    {"name", K_NAME},
    {"compoundname", K_NAME},
    {"pepmass", K_PEPMASS},
    {"precursormz", K_PRECURSORMZ},
    {"charge", K_CHARGE},
    {"ionmode", K_IONMODE},
    {"polarity", K_IONMODE},
    {"adduct", K_PRECURSORTYPE},
    {"precursortype", K_PRECURSORTYPE},
    {"inchikey", K_INCHIKEY},
    {"smiles", K_SMILES},
    {"formula", K_FORMULA},
    {"cas", K_CAS},
    {"casno", K_CAS},
    {"casnumber", K_CAS},
    {"spectrumid", K_SPECTRUMID},
    {"accession", K_ACCESSION},
    {"db", K_ACCESSION},
    {"scans", K_SCANS},
    {"instrument", K_INSTRUMENT},
    {"sourceinstrument", K_SOURCE_INSTRUMENT},
    {"instrumenttype", K_INSTRUMENT_TYPE},
    {"ionization", K_IONIZATION},
    {"ionisation", K_IONIZATION},
    {"ionsource", K_ION_SOURCE},
    {"collisionenergy", K_COLLISION_ENERGY},
    {"license", K_LICENSE},
    {"licence", K_LICENSE},
    {"comment", K_COMMENTS},
    {"comments", K_COMMENTS},
    {"exactmass", K_EXACTMASS},
    {"mw", K_MW},
};

/* One "KEY=value" line, both parts trimmed; pointers into the reader's buffer. */
typedef struct kv {
    const char *k, *v;
    size_t kl, vl;
    uint64_t line;
} kv;

/* Which line currently fills a text field, and its rank (0 = none yet). */
typedef struct slot {
    kv src;
    int rank;
} slot;

/* What a block has said so far; fields that depend on several keys are settled at END IONS. */
typedef struct mgf_block {
    uint64_t first; /* line of BEGIN IONS */
    slot slots[NPSW_META_COUNT];
    double pepmass, precursor_mz;
    int have_pepmass, have_precursor_mz;
    int charge_mode, ionmode_mode; /* enum npsw_ion_mode from CHARGE and from IONMODE */
    uint64_t ionmode_line;
} mgf_block;

typedef struct mgf_state {
    npsw_spectrum defaults; /* acquisition metadata from the global parameters */
    mgf_block globals;      /* the global parameters' own bookkeeping */
    int default_mode;       /* ion mode from the global parameters */
    int seen_block;         /* a BEGIN IONS was seen: no more global parameters */
} mgf_state;

static enum mgf_key lookup_key(const char *p, size_t len)
{
    char norm[40];
    if (npsw_key_normalise(p, len, " _-#\t", norm, sizeof norm) < 0) return K_UNKNOWN;
    for (size_t i = 0; i < sizeof key_table / sizeof key_table[0]; i++)
        if (strcmp(norm, key_table[i].key) == 0) return key_table[i].k;
    return K_UNKNOWN;
}

/* "BEGIN IONS" / "END IONS": both words in any case, separated by spaces or tabs. */
static int is_marker(const char *p, size_t len, const char *word)
{
    npsw_trim(&p, &len);
    size_t i = strlen(word);
    if (!npsw_istarts(p, len, word) || i == len || (p[i] != ' ' && p[i] != '\t')) return 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t')) i++;
    return npsw_ieq(p + i, len - i, "IONS");
}

static int is_comment(const char *p, size_t len)
{
    npsw_trim(&p, &len);
    return len && (p[0] == '#' || p[0] == ';' || p[0] == '!' || p[0] == '/');
}

/* "KEY=value": the key starts with a letter, is at most 64 bytes and has no control characters.
 * Peak lines start with a digit, so the two cannot be confused. */
static int split_key(const char *p, size_t len, kv *e)
{
    npsw_trim(&p, &len);
    if (!len || !isalpha((unsigned char)p[0])) return 0;
    size_t i = 0;
    while (i < len && i < 64 && p[i] != '=' && (unsigned char)p[i] >= 0x20) i++;
    if (i == len || p[i] != '=') return 0;
    e->k = p;
    e->kl = i;
    npsw_trim(&e->k, &e->kl);
    e->v = p + i + 1;
    e->vl = len - i - 1;
    npsw_trim(&e->v, &e->vl);
    return 1;
}

/* "'Cocaine'" or "(untitled)", for messages. */
static const char *label(const npsw_spectrum *s, char *buf, size_t size)
{
    const char *n = s->meta[NPSW_META_NAME];
    if (n && *n)
        snprintf(buf, size, "'%.120s'", n);
    else
        snprintf(buf, size, "(untitled)");
    return buf;
}

static int keep_in_comments(npsw_reader *r, npsw_spectrum *s, const kv *e)
{
    size_t tl = e->kl + 1 + e->vl;
    char *t = malloc(tl + 1);
    if (!t) return NPSW_ENOMEM;
    memcpy(t, e->k, e->kl);
    t[e->kl] = '=';
    memcpy(t + e->kl + 1, e->v, e->vl);
    t[tl] = '\0';
    int rc = npsw_reader_append_text(r, s, NPSW_META_COMMENTS, t, tl, e->line);
    free(t);
    return rc;
}

/* Decide whether `e`, of rank `rank`, fills `field`. Returns 1 when it does (a value it displaces
 * moves to the comments), 0 when a better-ranked key filled the field already (`e` moves to the
 * comments), or NPSW_ENOMEM. A repeated identical value is not copied to the comments. */
static int claim(npsw_reader *r, npsw_spectrum *s, mgf_block *b, int field, int rank,
                 const kv *e)
{
    slot *sl = &b->slots[field];
    if (sl->rank) {
        const kv *loser = rank >= sl->rank ? &sl->src : e;
        const kv *winner = loser == e ? &sl->src : e;
        if (loser->vl != winner->vl || memcmp(loser->v, winner->v, loser->vl) != 0) {
            int rc = keep_in_comments(r, s, loser);
            if (rc < 0) return rc;
        }
        if (loser == e) return 0;
    }
    sl->src = *e;
    sl->rank = rank;
    return 1;
}

static int set_field(npsw_reader *r, npsw_spectrum *s, mgf_block *b, int field, int rank,
                     const kv *e)
{
    int rc = claim(r, s, b, field, rank, e);
    if (rc <= 0) return rc;
    return npsw_reader_set_text(r, s, field, e->v, e->vl, e->line);
}

/* The leading number of a value; what follows it (PEPMASS's intensity, a unit) is ignored.
 * A comma between digits is a decimal mark unless the caller said otherwise. */
static int number_value(npsw_reader *r, const kv *e, double *out)
{
    int dec = r->opts.decimal_comma != NPSW_DECIMAL_COMMA_NO;
    double x;
    size_t used;
    if (npsw_parse_double(e->v, e->vl, dec, &x, &used) < 0 || x < 0) {
        npsw_reader_warn(r, e->line, "%.*s: expected a non-negative number, found '%.*s'; ignored",
                         (int)e->kl, e->k, (int)(e->vl > 40 ? 40 : e->vl), e->v);
        return 0;
    }
    *out = x;
    return 1;
}

/* "1+", "2-", "-1", "2+ and 3+": the sign gives the polarity; "0", "1" or a mix say nothing. */
static int charge_mode(const char *v, size_t vl)
{
    int plus = memchr(v, '+', vl) != NULL, minus = memchr(v, '-', vl) != NULL;
    if (plus == minus) return NPSW_ION_UNKNOWN;
    return plus ? NPSW_ION_POSITIVE : NPSW_ION_NEGATIVE;
}

static int ionmode_mode(const char *v, size_t vl)
{
    if (npsw_istarts(v, vl, "pos") || npsw_istarts(v, vl, "+")) return NPSW_ION_POSITIVE;
    if (npsw_istarts(v, vl, "neg") || npsw_istarts(v, vl, "-")) return NPSW_ION_NEGATIVE;
    return NPSW_ION_UNKNOWN; /* "N/A", "unknown", ... */
}

static int handle_cas(npsw_reader *r, npsw_spectrum *s, mgf_block *b, const kv *e)
{
    char cas[32];
    int c = npsw_normalise_cas(e->v, e->vl, cas, sizeof cas);
    if (c < 0)
        npsw_reader_warn(r, e->line, "CAS number '%.*s' is not valid (check digit); ignored",
                         (int)(e->vl > 30 ? 30 : e->vl), e->v);
    if (c <= 0) return 0;
    int rc = claim(r, s, b, NPSW_META_CAS, 1, e);
    if (rc <= 0) return rc;
    return npsw_spectrum_set_meta(s, NPSW_META_CAS, cas, (size_t)-1);
}

static int handle_key(npsw_reader *r, npsw_spectrum *s, mgf_block *b, enum mgf_key key,
                      const kv *e)
{
    double x;
    if (!e->vl) return 0; /* "SMILES=": nothing said */
    switch (key) {
    case K_NAME: return set_field(r, s, b, NPSW_META_NAME, 2, e);
    case K_TITLE: return set_field(r, s, b, NPSW_META_NAME, 1, e);
    case K_PEPMASS:
        if (number_value(r, e, &x)) b->pepmass = x, b->have_pepmass = 1;
        return 0;
    case K_PRECURSORMZ:
        if (number_value(r, e, &x)) b->precursor_mz = x, b->have_precursor_mz = 1;
        return 0;
    case K_CHARGE: {
        int m = charge_mode(e->v, e->vl);
        if (m) b->charge_mode = m;
        return 0;
    }
    case K_IONMODE: {
        int m = ionmode_mode(e->v, e->vl);
        if (m) b->ionmode_mode = m, b->ionmode_line = e->line;
        return 0;
    }
    case K_PRECURSORTYPE: return set_field(r, s, b, NPSW_META_PRECURSOR_TYPE, 1, e);
    case K_INCHIKEY: return set_field(r, s, b, NPSW_META_INCHIKEY, 1, e);
    case K_SMILES: return set_field(r, s, b, NPSW_META_SMILES, 1, e);
    case K_FORMULA: return set_field(r, s, b, NPSW_META_FORMULA, 1, e);
    case K_CAS: return handle_cas(r, s, b, e);
    case K_SPECTRUMID: return set_field(r, s, b, NPSW_META_ACCESSION, 3, e);
    case K_ACCESSION: return set_field(r, s, b, NPSW_META_ACCESSION, 2, e);
    case K_SCANS: return set_field(r, s, b, NPSW_META_ACCESSION, 1, e);
    case K_INSTRUMENT: return set_field(r, s, b, NPSW_META_INSTRUMENT, 2, e);
    case K_SOURCE_INSTRUMENT: return set_field(r, s, b, NPSW_META_INSTRUMENT, 1, e);
    case K_INSTRUMENT_TYPE: return set_field(r, s, b, NPSW_META_INSTRUMENT_TYPE, 1, e);
    case K_IONIZATION: return set_field(r, s, b, NPSW_META_IONIZATION, 2, e);
    case K_ION_SOURCE: return set_field(r, s, b, NPSW_META_IONIZATION, 1, e);
    case K_COLLISION_ENERGY: return set_field(r, s, b, NPSW_META_COLLISION_ENERGY, 1, e);
    case K_LICENSE: return set_field(r, s, b, NPSW_META_LICENSE, 1, e);
    case K_COMMENTS: return npsw_reader_append_text(r, s, NPSW_META_COMMENTS, e->v, e->vl, e->line);
    case K_EXACTMASS:
        if (number_value(r, e, &x) && x > 0) s->exact_mass = x;
        return 0;
    case K_MW:
        if (number_value(r, e, &x) && x > 0) s->mw = x;
        return 0;
    case K_UNKNOWN:
    default: return keep_in_comments(r, s, e);
    }
}

/* IONMODE wins over the sign of CHARGE; say so when they disagree. */
static int settle_ion_mode(npsw_reader *r, const mgf_block *b, const npsw_spectrum *s)
{
    char lb[160];
    if (b->ionmode_mode && b->charge_mode && b->ionmode_mode != b->charge_mode)
        npsw_reader_warn(r, b->ionmode_line, "%s: IONMODE is %s but the CHARGE sign is %s; using "
                                             "IONMODE",
                         label(s, lb, sizeof lb),
                         b->ionmode_mode > 0 ? "positive" : "negative",
                         b->charge_mode > 0 ? "positive" : "negative");
    return b->ionmode_mode ? b->ionmode_mode : b->charge_mode;
}

static void finish_block(npsw_reader *r, npsw_spectrum *s, const mgf_block *b)
{
    char lb[160];
    if (b->have_precursor_mz) {
        s->precursor_mz = b->precursor_mz;
        if (b->have_pepmass && fabs(b->pepmass - b->precursor_mz) > 0.01)
            npsw_reader_warn(r, b->first, "%s: PRECURSOR_MZ %.4f and PEPMASS %.4f disagree; using "
                                          "PRECURSOR_MZ",
                             label(s, lb, sizeof lb), b->precursor_mz, b->pepmass);
    } else if (b->have_pepmass) {
        s->precursor_mz = b->pepmass; /* PEPMASS=0: no precursor */
    }
    int mode = settle_ion_mode(r, b, s);
    if (mode) s->ion_mode = mode; /* else the global default stays */
}

/* Global parameters that describe the acquisition, and so may serve as defaults. */
static int is_acquisition_key(enum mgf_key k)
{
    return k == K_CHARGE || k == K_IONMODE || k == K_INSTRUMENT || k == K_SOURCE_INSTRUMENT ||
           k == K_INSTRUMENT_TYPE || k == K_IONIZATION || k == K_ION_SOURCE ||
           k == K_COLLISION_ENERGY || k == K_LICENSE;
}

static int global_key(npsw_reader *r, mgf_state *st, const kv *e)
{
    enum mgf_key key = lookup_key(e->k, e->kl);
    if (!is_acquisition_key(key)) {
        npsw_reader_warn(r, e->line, "global parameter '%.*s' before the first BEGIN IONS ignored "
                                     "(only CHARGE, IONMODE, instrument, ionisation, collision "
                                     "energy and licence apply to every block)",
                         (int)e->kl, e->k);
        return 0;
    }
    return handle_key(r, &st->defaults, &st->globals, key, e);
}

/* Move past the next BEGIN IONS and return it in `begin`; NPSW_EOF when there is none.
 * Global parameters before the first block are collected on the way. */
static int seek_block(npsw_reader *r, mgf_state *st, npsw_line *begin)
{
    npsw_line ln, stray = {NULL, 0, 0};
    uint64_t n_stray = 0;
    int rc = NPSW_EOF;
    while (npsw_lines_next(&r->lines, &ln) == 0) {
        if (is_marker(ln.p, ln.len, "BEGIN")) {
            *begin = ln;
            rc = 0;
            break;
        }
        if (npsw_is_blank(ln.p, ln.len) || is_comment(ln.p, ln.len)) continue;
        kv e;
        if (!st->seen_block && split_key(ln.p, ln.len, &e)) {
            e.line = ln.no;
            if (global_key(r, st, &e) < 0) return NPSW_ENOMEM;
            continue;
        }
        if (n_stray++ == 0) stray = ln;
    }
    if (n_stray)
        npsw_reader_warn(r, stray.no, "%llu line(s) outside BEGIN IONS ... END IONS skipped "
                                      "(the first: '%.*s')",
                         (unsigned long long)n_stray, (int)(stray.len > 40 ? 40 : stray.len),
                         stray.p);
    if (rc == 0 && !st->seen_block) {
        st->seen_block = 1;
        st->default_mode = settle_ion_mode(r, &st->globals, &st->defaults);
    }
    return rc;
}

/* After a bad line: move past the block's END IONS, or up to (not past) the next BEGIN IONS. */
static void resync(npsw_reader *r)
{
    npsw_line ln;
    while (npsw_lines_peek(&r->lines, &ln) == 0) {
        if (is_marker(ln.p, ln.len, "BEGIN")) return;
        (void)npsw_lines_next(&r->lines, &ln);
        if (is_marker(ln.p, ln.len, "END")) return;
    }
}

/* Peak lines are "m/z intensity", maybe followed by a charge ("1+") or an annotation, separated
 * by blanks. Only the first two fields go to npsw_parse_peak_line, which would otherwise take a
 * numeric-looking third field for the start of another pair. When there are two such fields, a
 * lone comma between digits in them can only be a decimal mark ("55,1 102,5"), unless the caller
 * said otherwise; a single field ("55,102", "55;102") is left to the generic rules. */
static int read_peak_line(npsw_reader *r, npsw_spectrum *s, const npsw_line *ln, char *why,
                          size_t whysize)
{
    const char *p = ln->p;
    size_t len = ln->len, i = 0, end = 0, nf = 0;
    int lone_commas = 1;
    npsw_trim(&p, &len);
    while (i < len && nf < 2) {
        while (i < len && (p[i] == ' ' || p[i] == '\t')) i++;
        if (i == len) break;
        size_t j = i, commas = 0;
        for (; j < len && p[j] != ' ' && p[j] != '\t'; j++) {
            if (p[j] != ',') continue;
            commas++;
            if (j == i || j + 1 == len || !isdigit((unsigned char)p[j - 1]) ||
                !isdigit((unsigned char)p[j + 1]))
                lone_commas = 0;
        }
        if (commas > 1) lone_commas = 0;
        nf++;
        end = i = j;
    }
    npsw_decimal_comma mode = r->opts.decimal_comma;
    if (mode == NPSW_DECIMAL_COMMA_AUTO && nf == 2 && lone_commas) mode = NPSW_DECIMAL_COMMA_YES;
    return npsw_parse_peak_line(p, end, mode, r->opts.max_peaks, s, why, whysize);
}

static int start_block(const mgf_state *st, npsw_spectrum *s, mgf_block *b, uint64_t first)
{
    memset(b, 0, sizeof *b);
    b->first = first;
    s->src_line = first;
    s->ion_mode = st->default_mode;
    for (int f = 0; f < NPSW_META_COUNT; f++)
        if (st->defaults.meta[f] &&
            npsw_spectrum_set_meta(s, f, st->defaults.meta[f], (size_t)-1) < 0)
            return NPSW_ENOMEM;
    return 0;
}

static int mgf_next(npsw_reader *r, npsw_spectrum *s, npsw_err *err)
{
    mgf_state *st = r->state;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st) return npsw_err_set(err, NPSW_ENOMEM, r->name, 0, "out of memory");
        r->state = st;
    }
    npsw_line ln = {NULL, 0, 0};
    mgf_block b;
    char why[200], lb[160];
    int rc = seek_block(r, st, &ln);
    if (rc == NPSW_EOF) return NPSW_EOF;
    if (rc < 0 || start_block(st, s, &b, ln.no) < 0) goto nomem;
    for (;;) {
        if (npsw_lines_peek(&r->lines, &ln) != 0)
            return npsw_reader_fail(r, err, b.first, "block %s has no END IONS before the end of "
                                                     "the file; block skipped",
                                    label(s, lb, sizeof lb));
        if (is_marker(ln.p, ln.len, "BEGIN")) /* not consumed: the next call reads that block */
            return npsw_reader_fail(r, err, b.first, "block %s has no END IONS before the next "
                                                     "BEGIN IONS at line %llu; block skipped",
                                    label(s, lb, sizeof lb), (unsigned long long)ln.no);
        (void)npsw_lines_next(&r->lines, &ln);
        if (is_marker(ln.p, ln.len, "END")) break;
        if (npsw_is_blank(ln.p, ln.len) || is_comment(ln.p, ln.len)) continue;
        kv e;
        if (split_key(ln.p, ln.len, &e)) {
            e.line = ln.no;
            if (handle_key(r, s, &b, lookup_key(e.k, e.kl), &e) < 0) goto nomem;
            continue;
        }
        rc = read_peak_line(r, s, &ln, why, sizeof why);
        if (rc == NPSW_ENOMEM) goto nomem;
        if (rc < 0) {
            resync(r);
            return npsw_err_set(err, rc == NPSW_ELIMIT ? NPSW_ELIMIT : NPSW_EPARSE, r->name, ln.no,
                                "block %s: neither 'KEY=value' nor a peak line: %s",
                                label(s, lb, sizeof lb), why);
        }
    }
    finish_block(r, s, &b);
    if (s->n == 0)
        return npsw_reader_fail(r, err, b.first, "block %s has no peaks (expected 'm/z intensity' "
                                                 "lines before END IONS)",
                                label(s, lb, sizeof lb));
    return 0;
nomem:
    return npsw_err_set(err, NPSW_ENOMEM, r->name, ln.no, "out of memory");
}

static int mgf_probe(const char *buf, size_t len)
{
    npsw_lines ls = {buf, len, 0, 0};
    npsw_line ln;
    while (npsw_lines_next(&ls, &ln) == 0)
        if (is_marker(ln.p, ln.len, "BEGIN")) return 90;
    return 0;
}

static void mgf_free_state(void *state)
{
    mgf_state *st = state;
    if (!st) return;
    npsw_spectrum_free(&st->defaults);
    free(st);
}

const npsw_format_ops npsw_mgf_ops = {NPSW_FMT_MGF, "mgf", mgf_probe, mgf_next, mgf_free_state};
