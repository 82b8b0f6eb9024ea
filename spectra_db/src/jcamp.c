/* jcamp.c - JCAMP-DX mass spectra (JCAMP-DX 4.24 / 5.01, MS flavour).
 *
 * A file is a run of labelled data records "##LABEL=value"; a value may go on over the following
 * lines up to the next "##". "##TITLE=" starts a block and "##END=" ends it. A compound file
 * holds an outer block (##DATA TYPE=LINK, ##BLOCKS=n) whose inner blocks are complete blocks of
 * their own: each inner block with peak data yields one spectrum, the outer block none. "$$"
 * starts a comment that runs to the end of the line.
 *
 * Labels compare after upper-casing and dropping ' ', '-', '/' and '_' (so "DATA TYPE" and
 * "DATATYPE" are the same label). Spectra come from one data table per block:
 *     ##PEAK TABLE=(XY..XY)  or  ##XYPOINTS=(XY..XY)   "x,y" pairs, several per line
 *     ##XYDATA=(X++(Y..Y))                             an X, then Y values at X + i*DELTAX
 * XYDATA lines may be AFFN (plain numbers) or ASDF-compressed (SQZ, DIF, DUP; see decode below).
 * ##XFACTOR / ##YFACTOR scale both kinds of table. NTUPLES (GC/MS runs) are refused.
 *
 * The only state kept between calls is how deep we are inside compound blocks.
 */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "reader_internal.h"

/* read_block() result for a block that yields no spectrum (a LINK block, or an inner block
 * without peak data such as a structure): the caller goes on with the next block. */
#define BLOCK_NONE 1

typedef struct jcamp_state {
    uint64_t depth;     /* open LINK blocks around the next block */
    uint64_t link_line; /* line of the outermost open LINK block's ##TITLE= */
} jcamp_state;

/* ---- labels ---------------------------------------------------------------------------- */

enum jkey {
    J_OTHER,  /* kept in the comments as "LABEL=value" */
    J_IGNORE, /* structural or derivable from the peaks: dropped */
    J_JCAMPDX,
    J_TITLE,
    J_END,
    J_DATATYPE,
    J_BLOCKS,
    J_BLOCKID,
    J_NAMES,
    J_MOLFORM,
    J_CAS,
    J_MW,
    J_EXACTMASS,
    J_ORIGIN,
    J_OWNER,
    J_INSTRUMENT,
    J_INSTRUMENT_TYPE,
    J_IONIZATION,
    J_INCHIKEY,
    J_SMILES,
    J_NISTNO,
    J_ID,
    J_RI,
    J_XFACTOR,
    J_YFACTOR,
    J_FIRSTX,
    J_LASTX,
    J_DELTAX,
    J_NPOINTS,
    J_PEAKTABLE, /* also XYPOINTS */
    J_XYDATA,
    J_NTUPLES
};

/* Normalised labels: upper case, without ' ', '-', '/', '_'. */
static const struct {
    const char *label;
    enum jkey k;
} label_table[] = {
    {"TITLE", J_TITLE},
    {"END", J_END},
    {"JCAMPDX", J_JCAMPDX},
    {"JCAMPCS", J_IGNORE},
    {"DATATYPE", J_DATATYPE},
    {"DATACLASS", J_IGNORE},
    {"BLOCKS", J_BLOCKS},
    {"BLOCKID", J_BLOCKID},
    {"NAMES", J_NAMES},
    {"MOLFORM", J_MOLFORM},
    {"CASREGISTRYNO", J_CAS},
    {"MW", J_MW},
    {".MONOISOTOPICMASS", J_EXACTMASS},
    {"ORIGIN", J_ORIGIN},
    {"OWNER", J_OWNER},
    {"SPECTROMETERDATASYSTEM", J_INSTRUMENT},
    {".SPECTROMETERTYPE", J_INSTRUMENT_TYPE},
    {".IONIZATIONMODE", J_IONIZATION},
    {"IONIZATION", J_IONIZATION},
    {"$INCHIKEY", J_INCHIKEY},
    {"INCHIKEY", J_INCHIKEY},
    {"$SMILES", J_SMILES},
    {"SMILES", J_SMILES},
    {"$NISTMASSSPECNO", J_NISTNO},
    {"$ID", J_ID},
    {"$RETENTIONINDEX", J_RI},
    {"RETENTIONINDEX", J_RI},
    {"XFACTOR", J_XFACTOR},
    {"YFACTOR", J_YFACTOR},
    {"FIRSTX", J_FIRSTX},
    {"LASTX", J_LASTX},
    {"DELTAX", J_DELTAX},
    {"NPOINTS", J_NPOINTS},
    {"XUNITS", J_IGNORE},
    {"YUNITS", J_IGNORE},
    {"FIRSTY", J_IGNORE},
    {"MAXX", J_IGNORE},
    {"MINX", J_IGNORE},
    {"MAXY", J_IGNORE},
    {"MINY", J_IGNORE},
    {"PEAKASSIGNMENTS", J_IGNORE},
    {"PEAKTABLE", J_PEAKTABLE},
    {"XYPOINTS", J_PEAKTABLE},
    {"XYDATA", J_XYDATA},
    {"NTUPLES", J_NTUPLES},
    {"DATATABLE", J_NTUPLES},
};

static enum jkey lookup_label(const char *p, size_t len)
{
    char norm[40];
    if (npsw_key_normalise(p, len, " -/_\t", norm, sizeof norm) < 0) return J_OTHER;
    for (size_t i = 0; i < sizeof label_table / sizeof label_table[0]; i++)
        if (strcasecmp(norm, label_table[i].label) == 0) return label_table[i].k;
    return J_OTHER;
}

/* Length of the line before a "$$" comment. */
static size_t strip_comment(const char *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i++)
        if (p[i] == '$' && p[i + 1] == '$') return i;
    return len;
}

/* The line without its comment and surrounding blanks. */
static void clean_line(const char **p, size_t *len)
{
    *len = strip_comment(*p, *len);
    npsw_trim(p, len);
}

/* Does the line start a new labelled data record ("##" after blanks)? Everything up to the next
 * such line belongs to the current record. */
static int starts_ldr(const char *p, size_t len)
{
    size_t i = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t')) i++;
    return i + 1 < len && p[i] == '#' && p[i + 1] == '#';
}

typedef struct jldr {
    enum jkey key;
    const char *label; /* as written, without "##", trimmed */
    size_t label_len;
    const char *value; /* first line of the value, comment stripped, trimmed */
    size_t value_len;
} jldr;

/* Split "##LABEL=value". Returns 1, or 0 when the line is not a well-formed labelled record. */
static int parse_ldr(const char *p, size_t len, jldr *d)
{
    clean_line(&p, &len);
    if (len < 3 || p[0] != '#' || p[1] != '#') return 0;
    const char *eq = memchr(p + 2, '=', len - 2);
    if (!eq) return 0;
    d->label = p + 2;
    d->label_len = (size_t)(eq - d->label);
    npsw_trim(&d->label, &d->label_len);
    d->value = eq + 1;
    d->value_len = (size_t)(p + len - d->value);
    npsw_trim(&d->value, &d->value_len);
    d->key = lookup_label(d->label, d->label_len);
    return 1;
}

static int line_is(const npsw_line *ln, enum jkey key)
{
    jldr d;
    return parse_ldr(ln->p, ln->len, &d) && d.key == key;
}

/* Show at most 40 bytes of a value in a message. */
#define SHOW(p, len) (int)((len) > 40 ? 40 : (len)), (p)

/* ---- one block ------------------------------------------------------------------------- */

typedef struct jblock {
    uint64_t first; /* line of ##TITLE= */
    int is_link;    /* ##BLOCKS= or ##DATA TYPE=LINK: a ##TITLE= inside opens an inner block */
    int have_data;
    int have_source;
    int accession_rank; /* which label set the accession; a better one replaces it */
    int warned_text;
    double xfactor, yfactor, firstx, lastx, deltax;
    int have_firstx, have_lastx, have_deltax;
    long long npoints; /* -1 = not given */
    uint64_t data_line;
    char *val; /* the current value with its continuation lines, joined by '\n' */
    size_t vlen, vcap;
} jblock;

static void block_init(jblock *b)
{
    memset(b, 0, sizeof *b);
    b->xfactor = b->yfactor = 1.0;
    b->npoints = -1;
}

static int val_append(jblock *b, const char *p, size_t len, int newline)
{
    size_t need = b->vlen + len + 2;
    if (need > b->vcap) {
        size_t cap = b->vcap ? b->vcap : 128;
        while (cap < need) cap *= 2;
        char *v = realloc(b->val, cap);
        if (!v) return NPSW_ENOMEM;
        b->val = v;
        b->vcap = cap;
    }
    if (newline) b->val[b->vlen++] = '\n';
    memcpy(b->val + b->vlen, p, len);
    b->vlen += len;
    b->val[b->vlen] = '\0';
    return 0;
}

/* Gather the value of `d` and the continuation lines after it into b->val, one line per
 * '\n'-separated entry, blank lines dropped. */
static int collect_value(npsw_reader *r, jblock *b, const jldr *d)
{
    npsw_line ln;
    b->vlen = 0;
    if (val_append(b, d->value, d->value_len, 0) < 0) return NPSW_ENOMEM;
    while (npsw_lines_peek(&r->lines, &ln) == 0 && !starts_ldr(ln.p, ln.len)) {
        (void)npsw_lines_next(&r->lines, &ln);
        clean_line(&ln.p, &ln.len);
        if (!ln.len) continue;
        if (val_append(b, ln.p, ln.len, b->vlen > 0) < 0) return NPSW_ENOMEM;
    }
    return 0;
}

static void skip_continuation(npsw_reader *r)
{
    npsw_line ln;
    while (npsw_lines_peek(&r->lines, &ln) == 0 && !starts_ldr(ln.p, ln.len))
        (void)npsw_lines_next(&r->lines, &ln);
}

/* After a bad block: move past its ##END=, or up to the next ##TITLE= (which starts a block of
 * its own), so that the next call reads on from there. */
static void skip_block(npsw_reader *r)
{
    npsw_line ln;
    while (npsw_lines_peek(&r->lines, &ln) == 0) {
        if (line_is(&ln, J_TITLE)) return;
        (void)npsw_lines_next(&r->lines, &ln);
        if (line_is(&ln, J_END)) return;
    }
}

static const char *title(const npsw_spectrum *s)
{
    return npsw_spectrum_meta(s, NPSW_META_NAME);
}

/* Turn a table helper's code and `why` into the record error. */
static int table_fail(npsw_reader *r, npsw_err *err, int rc, uint64_t line,
                      const npsw_spectrum *s, const char *why)
{
    if (rc == NPSW_ENOMEM) return npsw_err_set(err, rc, r->name, line, "out of memory");
    if (rc == NPSW_ELIMIT)
        return npsw_err_set(err, rc, r->name, line, "block '%s': %s", title(s), why);
    return npsw_reader_fail(r, err, line, "block '%s': %s", title(s), why);
}

/* The next line of a data table (comment stripped, trimmed), or 0 at the next label / EOF. */
static int next_data_line(npsw_reader *r, npsw_line *ln)
{
    if (npsw_lines_peek(&r->lines, ln) != 0 || starts_ldr(ln->p, ln->len)) return 0;
    (void)npsw_lines_next(&r->lines, ln);
    clean_line(&ln->p, &ln->len);
    return 1;
}

/* ---- PEAK TABLE / XYPOINTS ------------------------------------------------------------- */

static int peak_line(npsw_reader *r, npsw_spectrum *s, const char *p, size_t len, uint64_t line,
                     npsw_err *err)
{
    /* JCAMP writes "x,y": a comma is a separator unless the user insists otherwise */
    npsw_decimal_comma mode = r->opts.decimal_comma == NPSW_DECIMAL_COMMA_YES
                                  ? NPSW_DECIMAL_COMMA_YES
                                  : NPSW_DECIMAL_COMMA_NO;
    char why[200];
    int rc = npsw_parse_peak_line(p, len, mode, r->opts.max_peaks, s, why, sizeof why);
    return rc < 0 ? table_fail(r, err, rc, line, s, why) : 0;
}

static int read_peak_table(npsw_reader *r, jblock *b, npsw_spectrum *s, const char *rest,
                           size_t rest_len, uint64_t line, npsw_err *err)
{
    uint32_t start = s->n;
    int rc;
    if (rest_len && (rc = peak_line(r, s, rest, rest_len, line, err)) < 0) return rc;
    npsw_line ln;
    while (next_data_line(r, &ln))
        if (ln.len && (rc = peak_line(r, s, ln.p, ln.len, ln.no, err)) < 0) return rc;
    for (uint32_t i = start; i < s->n; i++) {
        double x = s->mz[i] * b->xfactor, y = (double)s->intensity[i] * b->yfactor;
        if (!isfinite(x) || !(fabs(y) <= FLT_MAX))
            return npsw_reader_fail(r, err, line, "block '%s': peak %g,%g times ##XFACTOR= / "
                                                  "##YFACTOR= is out of range",
                                    title(s), s->mz[i], (double)s->intensity[i]);
        s->mz[i] = x;
        s->intensity[i] = (float)y;
    }
    return 0;
}

/* ---- XYDATA: AFFN and ASDF ------------------------------------------------------------- *
 *
 * Each line is an X value followed by Y values at X, X + DELTAX, X + 2*DELTAX, ... The X is in
 * the file's units (multiply by XFACTOR); DELTAX is in real units. Y values may be
 *   AFFN   plain numbers, separated by blanks or ',' or starting with '+'/'-' ("10 20-5+7");
 *          an exponent needs a sign ("1.5E+03"), because 'E' followed by a digit is SQZ;
 *   SQZ    the first digit and the sign in one letter: '@'=0, 'A'..'I' = 1..9, 'a'..'i' =
 *          -1..-9, further digits follow ("A23" = 123, "b5" = -25);
 *   DIF    the same with '%', 'J'..'R', 'j'..'r', giving the difference to the previous Y;
 *   DUP    'S'..'Z' = 1..8, 's' = 9 (+ digits): the previous token occurs this many times in
 *          all; after a DIF the difference is applied again each time.
 * Y-value check: when a line ends in DIF form, the next line starts with its last Y again (as an
 * absolute value, at that line's X). It is compared and dropped, not stored twice.
 */

typedef enum { TK_ABS, TK_DIF, TK_DUP } tk_kind;

typedef struct tok {
    tk_kind kind;
    double v;       /* TK_ABS, TK_DIF */
    uint32_t count; /* TK_DUP */
} tok;

static int sqz_digit(unsigned char c, int *d)
{
    if (c == '@') return *d = 0, 1;
    if (c >= 'A' && c <= 'I') return *d = c - 'A' + 1, 1;
    if (c >= 'a' && c <= 'i') return *d = -(c - 'a' + 1), 1;
    return 0;
}

static int dif_digit(unsigned char c, int *d)
{
    if (c == '%') return *d = 0, 1;
    if (c >= 'J' && c <= 'R') return *d = c - 'J' + 1, 1;
    if (c >= 'j' && c <= 'r') return *d = -(c - 'j' + 1), 1;
    return 0;
}

static int dup_digit(unsigned char c, int *d)
{
    if (c >= 'S' && c <= 'Z') return *d = c - 'S' + 1, 1;
    if (c == 's') return *d = 9, 1;
    return 0;
}

#define TOKEN_MAX 40 /* characters of one number; longer is junk, not precision */

/* Copy digits (and, once, a '.' with digits) from p[*i] into tmp. Returns the number of digits
 * copied, or -1 when the number is too long. */
static int copy_digits(const char *p, size_t len, size_t *i, char *tmp, size_t *n)
{
    int digits = 0, point = 0;
    while (*i < len) {
        unsigned char c = (unsigned char)p[*i];
        if (c == '.' && !point) {
            point = 1;
        } else if (!isdigit(c)) {
            break;
        } else {
            digits++;
        }
        if (*n >= TOKEN_MAX) return -1;
        tmp[(*n)++] = (char)c;
        (*i)++;
    }
    return digits;
}

static void describe_byte(unsigned char c, char *out, size_t size)
{
    if (c >= 0x21 && c < 0x7F)
        snprintf(out, size, "'%c'", c);
    else
        snprintf(out, size, "byte 0x%02X", c);
}

/* Scan the next token of an XYDATA line. Returns 1 with *t filled, 0 at the end of the line, or
 * NPSW_EPARSE with `why`. */
static int scan_token(const char *p, size_t len, size_t *pos, tok *t, char *why, size_t whysize)
{
    size_t i = *pos;
    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == ',' || p[i] == ';')) i++;
    *pos = i;
    if (i == len) return 0;
    unsigned char c = (unsigned char)p[i];
    char tmp[TOKEN_MAX + 16];
    size_t n = 0;
    int d, affn = 0;
    if (dup_digit(c, &d)) {
        uint64_t count = (uint64_t)d;
        for (i++; i < len && isdigit((unsigned char)p[i]); i++) {
            count = count * 10 + (uint64_t)(p[i] - '0');
            if (count > UINT32_MAX) {
                snprintf(why, whysize, "DUP repeat count too large");
                return NPSW_EPARSE;
            }
        }
        t->kind = TK_DUP;
        t->count = (uint32_t)count;
        *pos = i;
        return 1;
    }
    if (sqz_digit(c, &d) || dif_digit(c, &d)) {
        t->kind = sqz_digit(c, &d) ? TK_ABS : TK_DIF;
        if (d < 0) tmp[n++] = '-';
        tmp[n++] = (char)('0' + abs(d));
        i++;
    } else if (isdigit(c) || c == '.' || c == '+' || c == '-') {
        t->kind = TK_ABS;
        affn = 1;
        if (c == '+' || c == '-') tmp[n++] = (char)c, i++;
    } else {
        char b[16];
        describe_byte(c, b, sizeof b);
        snprintf(why, whysize,
                 "expected a number or an ASDF character (SQZ @A-Ia-i, DIF %%J-Rj-r, DUP S-Zs), "
                 "found %s",
                 b);
        return NPSW_EPARSE;
    }
    int digits = copy_digits(p, len, &i, tmp, &n);
    if (digits < 0) {
        snprintf(why, whysize, "number longer than %d characters", TOKEN_MAX);
        return NPSW_EPARSE;
    }
    if (affn && !digits) {
        snprintf(why, whysize, "expected digits after '%c'", c);
        return NPSW_EPARSE;
    }
    if (affn && i + 2 < len && (p[i] == 'E' || p[i] == 'e') && (p[i + 1] == '+' || p[i + 1] == '-') &&
        isdigit((unsigned char)p[i + 2])) {
        tmp[n++] = 'e';
        tmp[n++] = p[i + 1];
        size_t ed = 0;
        for (i += 2; i < len && isdigit((unsigned char)p[i]); i++, ed++) {
            if (ed == 3) {
                snprintf(why, whysize, "exponent out of range");
                return NPSW_EPARSE;
            }
            tmp[n++] = p[i];
        }
    }
    tmp[n] = '\0';
    t->v = strtod(tmp, NULL);
    if (!isfinite(t->v)) {
        snprintf(why, whysize, "number out of range");
        return NPSW_EPARSE;
    }
    *pos = i;
    return 1;
}

typedef struct xyctx {
    double xf, yf;
    double dx;          /* real units */
    int have_dx;
    double y;           /* last Y before YFACTOR: DIF values add to it */
    int have_y;
    int check_next;     /* the previous line ended in DIF form: a Y-value check follows */
    uint32_t max_peaks;
} xyctx;

static int xy_push(xyctx *c, npsw_spectrum *s, double x_line, uint64_t idx, char *why,
                   size_t whysize)
{
    if (idx > 0 && !c->have_dx) {
        snprintf(why, whysize, "a line holds several Y values but the X spacing is unknown "
                               "(expected ##FIRSTX=, ##LASTX= and ##NPOINTS=, or ##DELTAX=, "
                               "before ##XYDATA=)");
        return NPSW_EPARSE;
    }
    double x = x_line + (double)idx * c->dx;
    double y = c->y * c->yf;
    if (!isfinite(x) || !(fabs(y) <= FLT_MAX)) {
        snprintf(why, whysize, "value out of range after ##XFACTOR= / ##YFACTOR=");
        return NPSW_EPARSE;
    }
    if (s->n >= c->max_peaks) {
        snprintf(why, whysize, "more than %u peaks in one spectrum", c->max_peaks);
        return NPSW_ELIMIT;
    }
    if (npsw_spectrum_push(s, x, (float)y) < 0) {
        snprintf(why, whysize, "out of memory");
        return NPSW_ENOMEM;
    }
    return 0;
}

/* Decode one XYDATA line into `s`. Returns 0 or an error code with `why`. */
static int xy_line(npsw_reader *r, xyctx *c, npsw_spectrum *s, const char *p, size_t len,
                   uint64_t line, char *why, size_t whysize)
{
    size_t pos = 0;
    tok t;
    int rc = scan_token(p, len, &pos, &t, why, whysize);
    if (rc <= 0) return rc; /* blank, or junk */
    if (t.kind != TK_ABS) {
        snprintf(why, whysize, "expected the X value (a number) at the start of the line, found "
                               "a DIF or DUP character");
        return NPSW_EPARSE;
    }
    double x_line = t.v * c->xf;
    uint64_t idx = 0;      /* position of the next Y on this line */
    int ny = 0;            /* Y tokens seen on this line */
    int can_dup = 0;       /* a Y token precedes: a DUP may repeat it */
    tk_kind rep = TK_ABS;  /* kind of that token */
    double diff = 0;       /* the last DIF value, applied again by DUP */
    while ((rc = scan_token(p, len, &pos, &t, why, whysize)) > 0) {
        if (t.kind == TK_DUP) {
            if (!can_dup) {
                snprintf(why, whysize, "a DUP count must follow a Y value");
                return NPSW_EPARSE;
            }
            if (t.count == 0) {
                snprintf(why, whysize, "DUP count 0");
                return NPSW_EPARSE;
            }
            if (t.count - 1 > c->max_peaks - s->n) {
                snprintf(why, whysize, "more than %u peaks in one spectrum", c->max_peaks);
                return NPSW_ELIMIT;
            }
            for (uint32_t k = 1; k < t.count; k++) {
                if (rep == TK_DIF) c->y += diff;
                if ((rc = xy_push(c, s, x_line, idx++, why, whysize)) < 0) return rc;
            }
            can_dup = 0; /* "A1S2S3" has no meaning */
            continue;
        }
        if (t.kind == TK_DIF) {
            if (!c->have_y) {
                snprintf(why, whysize, "a DIF value needs a preceding Y value");
                return NPSW_EPARSE;
            }
            c->y += t.v;
            diff = t.v;
            if ((rc = xy_push(c, s, x_line, idx++, why, whysize)) < 0) return rc;
        } else if (ny == 0 && c->check_next) {
            /* the Y-value check: the previous line's last point again, not a new one */
            if (fabs(t.v - c->y) > 1e-6 * fmax(1.0, fabs(c->y)))
                npsw_reader_warn(r, line, "block '%s': XYDATA Y-value check failed: the line "
                                          "starts with %g but the previous line ended with %g; "
                                          "continuing from %g",
                                 title(s), t.v, c->y, t.v);
            c->y = t.v;
            idx++;
        } else {
            c->y = t.v;
            c->have_y = 1;
            if ((rc = xy_push(c, s, x_line, idx++, why, whysize)) < 0) return rc;
        }
        rep = t.kind;
        can_dup = 1;
        ny++;
    }
    /* a line ending in DIF form (also via DUP) is followed by a Y-value check */
    if (ny) c->check_next = rep == TK_DIF;
    if (rc < 0) return rc;
    if (ny == 0) {
        snprintf(why, whysize, "expected Y values after the X value");
        return NPSW_EPARSE;
    }
    return 0;
}

static int read_xydata(npsw_reader *r, jblock *b, npsw_spectrum *s, const char *rest,
                       size_t rest_len, uint64_t line, npsw_err *err)
{
    xyctx c;
    memset(&c, 0, sizeof c);
    c.xf = b->xfactor;
    c.yf = b->yfactor;
    c.max_peaks = r->opts.max_peaks;
    /* the standard computes X from FIRSTX, LASTX and NPOINTS; DELTAX is for information */
    if (b->have_firstx && b->have_lastx && b->npoints > 1) {
        c.dx = (b->lastx - b->firstx) / (double)(b->npoints - 1);
        c.have_dx = 1;
    } else if (b->have_deltax) {
        c.dx = b->deltax;
        c.have_dx = 1;
    }
    char why[240];
    int rc;
    if (rest_len && (rc = xy_line(r, &c, s, rest, rest_len, line, why, sizeof why)) < 0)
        return table_fail(r, err, rc, line, s, why);
    npsw_line ln;
    while (next_data_line(r, &ln))
        if ((rc = xy_line(r, &c, s, ln.p, ln.len, ln.no, why, sizeof why)) < 0)
            return table_fail(r, err, rc, ln.no, s, why);
    return 0;
}

/* Compare a variable list such as "(X++(Y..Y))" ignoring blanks and case. On a match, *rest is
 * what follows it on the line. */
static int match_varlist(const char *v, size_t vl, const char *want, const char **rest,
                         size_t *rest_len)
{
    size_t i = 0;
    for (const char *w = want; *w; w++) {
        while (i < vl && (v[i] == ' ' || v[i] == '\t')) i++;
        if (i == vl || toupper((unsigned char)v[i]) != *w) return 0;
        i++;
    }
    *rest = v + i;
    *rest_len = vl - i;
    npsw_trim(rest, rest_len);
    return 1;
}

static int read_table(npsw_reader *r, jblock *b, npsw_spectrum *s, const jldr *d, uint64_t line,
                      npsw_err *err)
{
    if (b->have_data) {
        npsw_reader_warn(r, line, "block '%s': second data table ##%.*s= ignored (the one at "
                                  "line %llu is used)",
                         title(s), SHOW(d->label, d->label_len),
                         (unsigned long long)b->data_line);
        skip_continuation(r);
        return 0;
    }
    b->have_data = 1;
    b->data_line = line;
    const char *rest;
    size_t rl;
    if (d->key == J_XYDATA) {
        if (!match_varlist(d->value, d->value_len, "(X++(Y..Y))", &rest, &rl))
            return npsw_reader_fail(r, err, line, "block '%s': ##XYDATA=%.*s is not supported "
                                                  "(expected ##XYDATA=(X++(Y..Y)))",
                                    title(s), SHOW(d->value, d->value_len));
        return read_xydata(r, b, s, rest, rl, line, err);
    }
    if (!match_varlist(d->value, d->value_len, "(XY..XY)", &rest, &rl))
        return npsw_reader_fail(r, err, line, "block '%s': ##%.*s=%.*s is not supported "
                                              "(expected (XY..XY): pairs of m/z,intensity)",
                                title(s), SHOW(d->label, d->label_len),
                                SHOW(d->value, d->value_len));
    return read_peak_table(r, b, s, rest, rl, line, err);
}

/* ---- metadata -------------------------------------------------------------------------- */

/* Numeric parameters of the data table: junk here would silently give wrong spectra. */
static int number_ldr(npsw_reader *r, jblock *b, npsw_spectrum *s, const jldr *d, uint64_t line,
                      npsw_err *err)
{
    double x;
    skip_continuation(r);
    if (npsw_parse_double_full(d->value, d->value_len, 0, &x) < 0)
        return npsw_reader_fail(r, err, line, "block '%s': ##%.*s= expects a number, found '%.*s'",
                                title(s), SHOW(d->label, d->label_len),
                                SHOW(d->value, d->value_len));
    switch (d->key) {
    case J_XFACTOR:
    case J_YFACTOR:
        if (x == 0)
            return npsw_reader_fail(r, err, line, "block '%s': ##%.*s=0 (expected a non-zero "
                                                  "scaling factor)",
                                    title(s), SHOW(d->label, d->label_len));
        if (d->key == J_XFACTOR) b->xfactor = x;
        else b->yfactor = x;
        return 0;
    case J_FIRSTX: b->firstx = x, b->have_firstx = 1; return 0;
    case J_LASTX: b->lastx = x, b->have_lastx = 1; return 0;
    case J_DELTAX: b->deltax = x, b->have_deltax = 1; return 0;
    case J_NPOINTS:
        if (x < 0 || x != floor(x))
            return npsw_reader_fail(r, err, line, "block '%s': ##NPOINTS=%.*s (expected a whole "
                                                  "number of points)",
                                    title(s), SHOW(d->value, d->value_len));
        if (x > (double)r->opts.max_peaks)
            return npsw_reader_fail(r, err, line, "block '%s': ##NPOINTS=%.*s is more than the "
                                                  "limit of %u peaks per spectrum",
                                    title(s), SHOW(d->value, d->value_len), r->opts.max_peaks);
        b->npoints = (long long)x;
        return 0;
    default: return 0;
    }
}

/* "MASS SPECTRUM" in any spelling = 0, "LINK" = 1, anything else = -1. */
static int data_type_kind(const char *v, size_t vl)
{
    char norm[16];
    size_t n = 0;
    for (size_t i = 0; i < vl && n < sizeof norm - 1; i++)
        if (isalpha((unsigned char)v[i])) norm[n++] = (char)toupper((unsigned char)v[i]);
    norm[n] = '\0';
    if (strncmp(norm, "MASSSPECTRUM", 12) == 0) return 0;
    if (strcmp(norm, "LINK") == 0) return 1;
    return -1;
}

/* "LABEL=value" into the comments, with the label as written. */
static int keep_as_comment(npsw_reader *r, npsw_spectrum *s, const jldr *d, const char *v,
                           size_t vl, uint64_t line)
{
    size_t tl = d->label_len + 1 + vl;
    char *t = malloc(tl + 1);
    if (!t) return NPSW_ENOMEM;
    memcpy(t, d->label, d->label_len);
    t[d->label_len] = '=';
    memcpy(t + d->label_len + 1, v, vl);
    t[tl] = '\0';
    int rc = npsw_reader_append_text(r, s, NPSW_META_COMMENTS, t, tl, line);
    free(t);
    return rc;
}

static int set_accession(npsw_reader *r, jblock *b, npsw_spectrum *s, int rank, const char *v,
                         size_t vl, uint64_t line)
{
    if (rank <= b->accession_rank) return 0;
    b->accession_rank = rank;
    return npsw_reader_set_text(r, s, NPSW_META_ACCESSION, v, vl, line);
}

static int leading_number(npsw_reader *r, const jldr *d, const char *v, size_t vl, uint64_t line,
                          double *out)
{
    size_t used;
    if (npsw_parse_double(v, vl, 0, out, &used) == 0) return 1;
    npsw_reader_warn(r, line, "##%.*s=: expected a number, found '%.*s'; ignored",
                     SHOW(d->label, d->label_len), SHOW(v, vl));
    return 0;
}

/* A value continued over several lines is one text: join the lines with a space. */
static void flatten(jblock *b)
{
    for (size_t i = 0; i < b->vlen; i++)
        if (b->val[i] == '\n') b->val[i] = ' ';
}

/* Descriptive labels. b->val holds the value, continuation lines joined by '\n'. */
static int text_ldr(npsw_reader *r, jblock *b, npsw_spectrum *s, const jldr *d, uint64_t line)
{
    char *v = b->val;
    size_t vl = b->vlen;
    char buf[96];
    double x;
    if (!vl) return 0;
    if (d->key == J_NAMES) { /* one name per line */
        for (size_t i = 0; i < vl;) {
            const char *nl = memchr(v + i, '\n', vl - i);
            size_t n = nl ? (size_t)(nl - (v + i)) : vl - i;
            int rc = npsw_reader_append_text(r, s, NPSW_META_SYNONYMS, v + i, n, line);
            if (rc < 0) return rc;
            i += n + 1;
        }
        return 0;
    }
    flatten(b);
    switch (d->key) {
    case J_MOLFORM: { /* "C 10 H 15 N" -> "C10H15N" */
        size_t n = 0;
        for (size_t i = 0; i < vl; i++)
            if (v[i] != ' ' && v[i] != '\t') v[n++] = v[i];
        return npsw_reader_set_text(r, s, NPSW_META_FORMULA, v, n, line);
    }
    case J_CAS: {
        int c = npsw_normalise_cas(v, vl, buf, sizeof buf);
        if (c > 0) return npsw_spectrum_set_meta(s, NPSW_META_CAS, buf, (size_t)-1);
        if (c < 0)
            npsw_reader_warn(r, line, "CAS number '%.*s' is not valid (check digit); ignored",
                             SHOW(v, vl));
        return 0;
    }
    case J_MW:
        if (leading_number(r, d, v, vl, line, &x) && x > 0) s->mw = x;
        return 0;
    case J_EXACTMASS:
        if (leading_number(r, d, v, vl, line, &x) && x > 0) s->exact_mass = x;
        return 0;
    case J_RI:
        if (leading_number(r, d, v, vl, line, &x) && x > 0) s->retention_index = x;
        return 0;
    case J_ORIGIN:
    case J_OWNER:
        if (b->have_source) return keep_as_comment(r, s, d, v, vl, line);
        b->have_source = 1;
        return npsw_reader_set_text(r, s, NPSW_META_SOURCE, v, vl, line);
    case J_INSTRUMENT: return npsw_reader_set_text(r, s, NPSW_META_INSTRUMENT, v, vl, line);
    case J_INSTRUMENT_TYPE:
        return npsw_reader_set_text(r, s, NPSW_META_INSTRUMENT_TYPE, v, vl, line);
    case J_IONIZATION: /* "EI+", "CI-" */
        if (v[vl - 1] == '+') s->ion_mode = NPSW_ION_POSITIVE;
        else if (v[vl - 1] == '-') s->ion_mode = NPSW_ION_NEGATIVE;
        return npsw_reader_set_text(r, s, NPSW_META_IONIZATION, v, vl, line);
    case J_INCHIKEY:
        if (npsw_istarts(v, vl, "InChIKey=")) v += 9, vl -= 9;
        return npsw_reader_set_text(r, s, NPSW_META_INCHIKEY, v, vl, line);
    case J_SMILES: return npsw_reader_set_text(r, s, NPSW_META_SMILES, v, vl, line);
    case J_NISTNO:
        snprintf(buf, sizeof buf, "NIST#%.*s", SHOW(v, vl));
        return set_accession(r, b, s, 3, buf, strlen(buf), line);
    case J_ID: return set_accession(r, b, s, 2, v, vl, line);
    case J_BLOCKID: return set_accession(r, b, s, 1, v, vl, line);
    default: return keep_as_comment(r, s, d, v, vl, line);
    }
}

static int handle_ldr(npsw_reader *r, jblock *b, npsw_spectrum *s, const jldr *d, uint64_t line,
                      npsw_err *err)
{
    int rc;
    switch (d->key) {
    case J_PEAKTABLE:
    case J_XYDATA: return read_table(r, b, s, d, line, err);
    case J_NTUPLES:
        return npsw_reader_fail(r, err, line, "block '%s': ##%.*s= (several spectra in one block, "
                                              "as in GC/MS runs) is not supported; expected one "
                                              "spectrum per block with ##PEAK TABLE= or ##XYDATA=",
                                title(s), SHOW(d->label, d->label_len));
    case J_XFACTOR:
    case J_YFACTOR:
    case J_FIRSTX:
    case J_LASTX:
    case J_DELTAX:
    case J_NPOINTS: return number_ldr(r, b, s, d, line, err);
    case J_DATATYPE:
        skip_continuation(r);
        switch (data_type_kind(d->value, d->value_len)) {
        case 0: return 0;
        case 1: b->is_link = 1; return 0;
        default:
            return npsw_reader_fail(r, err, line, "block '%s': ##DATA TYPE=%.*s is not a mass "
                                                  "spectrum (expected ##DATA TYPE=MASS SPECTRUM)",
                                    title(s), SHOW(d->value, d->value_len));
        }
    case J_BLOCKS:
        b->is_link = 1;
        skip_continuation(r);
        return 0;
    case J_IGNORE:
    case J_JCAMPDX:
    case J_END:
        skip_continuation(r);
        return 0;
    default:
        if ((rc = collect_value(r, b, d)) < 0 || (rc = text_ldr(r, b, s, d, line)) < 0)
            return npsw_err_set(err, rc, r->name, line, "out of memory");
        return 0;
    }
}

/* ---- blocks ---------------------------------------------------------------------------- */

/* Without a title, the first of ##NAMES= names the compound; the others stay synonyms. */
static int name_from_names(npsw_spectrum *s)
{
    const char *syn = s->meta[NPSW_META_SYNONYMS];
    if ((s->meta[NPSW_META_NAME] && s->meta[NPSW_META_NAME][0]) || !syn) return 0;
    const char *nl = strchr(syn, '\n');
    if (npsw_spectrum_set_meta(s, NPSW_META_NAME, syn, nl ? (size_t)(nl - syn) : (size_t)-1) < 0)
        return NPSW_ENOMEM;
    if (!nl) return npsw_spectrum_set_meta(s, NPSW_META_SYNONYMS, NULL, 0);
    char *rest = strdup(nl + 1);
    if (!rest) return NPSW_ENOMEM;
    int rc = npsw_spectrum_set_meta(s, NPSW_META_SYNONYMS, rest, (size_t)-1);
    free(rest);
    return rc;
}

static int finish_block(npsw_reader *r, jcamp_state *st, jblock *b, npsw_spectrum *s,
                        npsw_err *err)
{
    if (b->is_link) return BLOCK_NONE; /* a LINK block without inner blocks */
    if (!b->have_data) {
        if (st->depth > 0) return BLOCK_NONE; /* e.g. a structure inside a compound file */
        return npsw_reader_fail(r, err, b->first, "block '%s' has no peak data (expected "
                                                  "##PEAK TABLE=(XY..XY), ##XYPOINTS=(XY..XY) or "
                                                  "##XYDATA=(X++(Y..Y)) before ##END=)",
                                title(s));
    }
    if (s->n == 0)
        return npsw_reader_fail(r, err, b->data_line, "block '%s': the data table holds no "
                                                      "values (expected m/z,intensity data after "
                                                      "the label)",
                                title(s));
    if (b->npoints >= 0 && (unsigned long long)b->npoints != s->n)
        npsw_reader_warn(r, b->data_line, "block '%s': ##NPOINTS=%lld but %u points present; "
                                          "using the points present",
                         title(s), b->npoints, s->n);
    if (name_from_names(s) < 0) return npsw_err_set(err, NPSW_ENOMEM, r->name, b->first,
                                                    "out of memory");
    return 0;
}

/* Read the block whose ##TITLE= is the next line. Returns 0 with a spectrum, BLOCK_NONE, or an
 * error (the reader then stands where the next block can be read). */
static int read_block(npsw_reader *r, jcamp_state *st, npsw_spectrum *s, npsw_err *err)
{
    jblock b;
    block_init(&b);
    npsw_line ln;
    jldr d;
    int rc;
    (void)npsw_lines_next(&r->lines, &ln);
    (void)parse_ldr(ln.p, ln.len, &d);
    b.first = s->src_line = ln.no;
    if ((rc = collect_value(r, &b, &d)) == 0) flatten(&b);
    if (rc < 0 ||
        (rc = npsw_reader_set_text(r, s, NPSW_META_NAME, b.val, b.vlen, ln.no)) < 0) {
        rc = npsw_err_set(err, rc, r->name, ln.no, "out of memory");
        goto fail;
    }
    for (;;) {
        if (npsw_lines_peek(&r->lines, &ln) != 0) {
            rc = npsw_reader_fail(r, err, b.first, "block '%s' has no ##END= (expected ##END= "
                                                   "before the end of the file)",
                                  title(s));
            goto done;
        }
        if (!parse_ldr(ln.p, ln.len, &d)) {
            /* only after a malformed label: everything else belongs to some record */
            (void)npsw_lines_next(&r->lines, &ln);
            clean_line(&ln.p, &ln.len);
            if (ln.len && !b.warned_text) {
                npsw_reader_warn(r, ln.no, "block '%s': '%.*s' is not a labelled data record "
                                           "(expected ##LABEL=value); ignored",
                                 title(s), SHOW(ln.p, ln.len));
                b.warned_text = 1;
            }
            continue;
        }
        if (d.key == J_TITLE) {
            if (b.is_link) { /* an inner block: the caller reads it next */
                if (st->depth++ == 0) st->link_line = b.first;
                rc = BLOCK_NONE;
                goto done;
            }
            /* leave the ##TITLE= line for the next call */
            rc = npsw_reader_fail(r, err, ln.no, "block '%s' (line %llu) has no ##END= (expected "
                                                 "##END= before the next ##TITLE=)",
                                  title(s), (unsigned long long)b.first);
            goto done;
        }
        (void)npsw_lines_next(&r->lines, &ln);
        if (d.key == J_END) break;
        if ((rc = handle_ldr(r, &b, s, &d, ln.no, err)) < 0) goto fail;
    }
    rc = finish_block(r, st, &b, s, err);
    goto done;
fail:
    skip_block(r);
done:
    free(b.val);
    return rc;
}

/* Move up to the next ##TITLE=, closing LINK blocks on the way. Returns 0, NPSW_EOF or an
 * error for a LINK block left open at the end of the file. */
static int find_block(npsw_reader *r, jcamp_state *st, npsw_err *err)
{
    npsw_line ln;
    jldr d;
    int warned = 0;
    for (;;) {
        if (npsw_lines_peek(&r->lines, &ln) != 0) {
            if (st->depth == 0) return NPSW_EOF;
            st->depth = 0;
            return npsw_reader_fail(r, err, st->link_line, "compound (LINK) block has no ##END= "
                                                           "(expected ##END= after its last "
                                                           "inner block)");
        }
        int is_ldr = parse_ldr(ln.p, ln.len, &d);
        if (is_ldr && d.key == J_TITLE) return 0;
        (void)npsw_lines_next(&r->lines, &ln);
        if (is_ldr && d.key == J_END && st->depth > 0) {
            st->depth--;
            continue;
        }
        /* lines of an outer LINK block between its inner blocks are of no use to us */
        clean_line(&ln.p, &ln.len);
        if (st->depth == 0 && ln.len && !warned && !(is_ldr && d.key == J_JCAMPDX)) {
            npsw_reader_warn(r, ln.no, "'%.*s' outside a block ignored (expected ##TITLE= to "
                                       "start a block)",
                             SHOW(ln.p, ln.len));
            warned = 1;
        }
    }
}

static int jcamp_next(npsw_reader *r, npsw_spectrum *s, npsw_err *err)
{
    jcamp_state *st = r->state;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st) return npsw_err_set(err, NPSW_ENOMEM, r->name, 0, "out of memory");
        r->state = st;
    }
    for (;;) {
        int rc = find_block(r, st, err);
        if (rc != 0) return rc;
        npsw_spectrum_reset(s);
        rc = read_block(r, st, s, err);
        if (rc != BLOCK_NONE) return rc;
    }
}

static int jcamp_probe(const char *buf, size_t len)
{
    npsw_lines ls = {buf, len, 0, 0};
    npsw_line ln;
    for (int i = 0; i < 50 && npsw_lines_next(&ls, &ln) == 0; i++) {
        jldr d;
        const char *p = ln.p;
        size_t n = ln.len;
        clean_line(&p, &n);
        if (!n) continue; /* blank or a "$$" comment line */
        return parse_ldr(ln.p, ln.len, &d) && (d.key == J_TITLE || d.key == J_JCAMPDX) ? 90 : 0;
    }
    return 0;
}

const npsw_format_ops npsw_jcamp_ops = {NPSW_FMT_JCAMP, "jcamp", jcamp_probe, jcamp_next, free};
