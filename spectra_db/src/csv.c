/* csv.c - m/z, intensity columns in CSV/TSV/plain text, as instrument software exports one
 * spectrum, and simple tables of several spectra.
 *
 * Single spectrum (the usual case): the whole file is one spectrum.
 *   - Blank lines are skipped. Lines starting with '#' are comments; "# name: X" (or "#Name=X")
 *     names the spectrum, otherwise the name is the file name without directory and extension.
 *   - Before the first data line, lines whose first field is not a number are headers
 *     ("m/z,intensity", "Mass;Abundance", a title). When the last of them names an m/z column
 *     (mz, m/z, mass, ...) and an intensity column (int, intensity, abundance, ...), those
 *     columns are read; otherwise the first two. Further columns are ignored.
 *   - Field separator, decided for each line: ';' when the line has one, else a tab; then a comma
 *     between digits is a decimal mark ("55,1;102,5", "55,1<TAB>102,5"). Otherwise ',' when
 *     splitting at commas gives numbers ("55.1,102.5"), else blanks, with comma decimals
 *     ("55,1 102,5"). opts.decimal_comma YES makes ',' always a decimal mark, NO always a
 *     separator. Fields may be in double quotes.
 *   - A data line that is not two numbers fails the spectrum (the error names the line and what
 *     was expected); the next call then returns NPSW_EOF.
 *
 * Multi-spectrum table: a header line, before any data line, with three or more named columns,
 * one named like an identifier (name, compound, compound name, compound id, id, spectrum,
 * spectrum id, spectrum name; case, spaces and punctuation ignored) and others named like m/z and
 * intensity as above. Each following row is one peak; consecutive rows with the same identifier
 * form one spectrum, named by it. The field separator is the header's (';', else tab, else ',',
 * else blanks) and a comma in numbers is a decimal mark unless the separator is ','. A bad row
 * fails its spectrum; the rest of that spectrum's rows are skipped and the next one is read.
 *
 * Either way, a file without a single peak is an error ("no peaks").
 */
#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader_internal.h"

#define MAX_FIELDS 64 /* columns looked at; later ones are ignored */

typedef struct field {
    const char *p;
    size_t len;
    int quoted; /* was in double quotes; "" inside stands for one quote */
} field;

typedef struct scheme {
    char sep; /* ' ' = runs of blanks */
    int dec;  /* a comma between digits is a decimal mark */
} scheme;

typedef struct csv_state {
    int started, done;
    int table;                     /* multi-spectrum table */
    size_t mz_col, int_col, id_col;
    scheme sc;                     /* table: the header's */
    uint64_t n_spectra;            /* table: spectra started */
} csv_state;

/* ---- fields ---------------------------------------------------------------------------- */

static int is_sep(char c, char sep)
{
    return sep == ' ' ? c == ' ' || c == '\t' : c == sep;
}

static int is_pad(char c, char sep)
{
    return (c == ' ' || c == '\t') && !is_sep(c, sep);
}

/* Split (p,len) at `sep`. Fields are trimmed; a field in double quotes loses them and may contain
 * the separator. Stores at most `max` fields and returns how many it stored. */
static size_t split_fields(const char *p, size_t len, char sep, field *f, size_t max)
{
    size_t n = 0, i = 0;
    /* trim the line of padding, but not of separators: with tabs separating fields, a leading
     * tab is an empty first field */
    while (len && is_pad(p[0], sep)) p++, len--;
    while (len && is_pad(p[len - 1], sep)) len--;
    if (!len) return 0;
    while (n < max) {
        while (i < len && is_pad(p[i], sep)) i++;
        field *fd = &f[n++];
        if (i < len && p[i] == '"') {
            size_t j = i + 1;
            while (j < len && !(p[j] == '"' && !(j + 1 < len && p[j + 1] == '"')))
                j += p[j] == '"' ? 2 : 1;
            fd->p = p + i + 1;
            fd->len = (j < len ? j : len) - i - 1;
            fd->quoted = 1;
            i = j < len ? j + 1 : len;
            while (i < len && !is_sep(p[i], sep)) i++; /* stray text after the quote */
        } else {
            size_t j = i;
            while (j < len && !is_sep(p[j], sep)) j++;
            fd->p = p + i;
            fd->len = j - i;
            fd->quoted = 0;
            npsw_trim(&fd->p, &fd->len);
            i = j;
        }
        if (i >= len) break;
        i++; /* the separator */
        if (sep == ' ')
            while (i < len && is_sep(p[i], sep)) i++;
    }
    return n;
}

/* How to split one line; a second guess is tried when the first does not give numbers
 * ("55,1 102,5" is not comma-separated but blank-separated with comma decimals). */
static int line_schemes(npsw_decimal_comma mode, const char *p, size_t len, scheme out[2])
{
    int no = mode == NPSW_DECIMAL_COMMA_NO, yes = mode == NPSW_DECIMAL_COMMA_YES;
    if (memchr(p, ';', len) || memchr(p, '\t', len)) {
        out[0].sep = memchr(p, ';', len) ? ';' : '\t';
        out[0].dec = !no;
        return 1;
    }
    if (memchr(p, ',', len) && !yes) {
        out[0].sep = ',';
        out[0].dec = 0;
        if (no) return 1;
        out[1].sep = ' ';
        out[1].dec = 1;
        return 2;
    }
    out[0].sep = ' ';
    out[0].dec = !no;
    return 1;
}

/* The separator of a table, from its header line. */
static scheme header_scheme(npsw_decimal_comma mode, const char *p, size_t len)
{
    scheme sc;
    sc.sep = memchr(p, ';', len)    ? ';'
             : memchr(p, '\t', len) ? '\t'
             : memchr(p, ',', len)  ? ','
                                    : ' ';
    sc.dec = mode == NPSW_DECIMAL_COMMA_YES || (mode == NPSW_DECIMAL_COMMA_AUTO && sc.sep != ',');
    return sc;
}

static int field_number(const field *f, int dec, double *out)
{
    return npsw_parse_double_full(f->p, f->len, dec, out);
}

/* Is the first field of the line a number (so the line is data, not a header)? */
static int first_field_numeric(npsw_decimal_comma mode, const char *p, size_t len)
{
    scheme sc[2];
    int n = line_schemes(mode, p, len, sc);
    for (int k = 0; k < n; k++) {
        field f[1];
        double x;
        if (split_fields(p, len, sc[k].sep, f, 1) == 1 && field_number(&f[0], sc[k].dec, &x) == 0)
            return 1;
    }
    return 0;
}

/* The m/z and intensity columns of split fields. Returns 0 or NPSW_EPARSE. */
static int pair_from_fields(const csv_state *st, const field *f, size_t nf, int dec, double *mz,
                            double *in)
{
    if (st->mz_col >= nf || st->int_col >= nf || field_number(&f[st->mz_col], dec, mz) < 0 ||
        field_number(&f[st->int_col], dec, in) < 0)
        return NPSW_EPARSE;
    return 0;
}

/* The m/z and intensity of a single-spectrum data line. Returns 0 or NPSW_EPARSE. */
static int read_pair(npsw_decimal_comma mode, const csv_state *st, const char *p, size_t len,
                     double *mz, double *in)
{
    scheme sc[2];
    int n = line_schemes(mode, p, len, sc);
    for (int k = 0; k < n; k++) {
        field f[MAX_FIELDS];
        size_t nf = split_fields(p, len, sc[k].sep, f, MAX_FIELDS);
        if (pair_from_fields(st, f, nf, sc[k].dec, mz, in) == 0) return 0;
    }
    return NPSW_EPARSE;
}

/* ---- headers --------------------------------------------------------------------------- */

enum col_kind { COL_OTHER, COL_ID, COL_MZ, COL_INT };

static int starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Column names compare lower-cased with only letters and digits kept ("m/z" is "mz"). */
static enum col_kind column_kind(const field *f)
{
    static const char *const ids[] = {"name",      "compound",   "compoundname", "compoundid",
                                      "id",        "spectrum",   "spectrumid",   "spectrumname"};
    char norm[32];
    size_t n = 0;
    for (size_t i = 0; i < f->len && n < sizeof norm - 1; i++)
        if (isalnum((unsigned char)f->p[i])) norm[n++] = (char)tolower((unsigned char)f->p[i]);
    norm[n] = '\0';
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (strcmp(norm, ids[i]) == 0) return COL_ID;
    if (starts(norm, "mz") || strcmp(norm, "mass") == 0 || starts(norm, "masstocharge"))
        return COL_MZ;
    if (strcmp(norm, "int") == 0 || starts(norm, "intens") || starts(norm, "abund") ||
        starts(norm, "relint") || starts(norm, "relab") || starts(norm, "relativeint") ||
        starts(norm, "relativeab"))
        return COL_INT;
    return COL_OTHER;
}

/* Look at a header line: find the m/z, intensity and identifier columns. Returns 1 when the line
 * makes the file a multi-spectrum table (then st->table, the columns and the scheme are set),
 * else 0 (then st->mz_col/int_col are set when both were found). */
static int read_header(csv_state *st, npsw_decimal_comma mode, const char *p, size_t len)
{
    scheme sc = header_scheme(mode, p, len);
    field f[MAX_FIELDS];
    size_t nf = split_fields(p, len, sc.sep, f, MAX_FIELDS), named = 0;
    size_t col[4] = {0, 0, 0, 0};
    int found[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < nf; i++) {
        if (f[i].len) named++;
        enum col_kind k = column_kind(&f[i]);
        if (k != COL_OTHER && !found[k]) found[k] = 1, col[k] = i;
    }
    if (!found[COL_MZ] || !found[COL_INT]) return 0;
    st->mz_col = col[COL_MZ];
    st->int_col = col[COL_INT];
    if (named < 3 || !found[COL_ID]) return 0;
    st->table = 1;
    st->id_col = col[COL_ID];
    st->sc = sc;
    return 1;
}

/* Before the first data line: find the column header (and whether this is a table). A table's
 * header is consumed; a single spectrum is read from the start, headers included. */
static void start(npsw_reader *r, csv_state *st)
{
    npsw_lines ls = r->lines;
    npsw_line ln, last = {NULL, 0, 0};
    st->started = 1;
    st->mz_col = 0;
    st->int_col = 1;
    while (npsw_lines_next(&ls, &ln) == 0) {
        const char *p = ln.p;
        size_t len = ln.len;
        npsw_trim(&p, &len);
        if (!len || p[0] == '#') continue;
        if (first_field_numeric(r->opts.decimal_comma, p, len)) break;
        csv_state t = *st;
        if (read_header(&t, r->opts.decimal_comma, p, len)) {
            *st = t;
            r->lines = ls;
            return;
        }
        last = ln;
    }
    if (last.p) (void)read_header(st, r->opts.decimal_comma, last.p, last.len);
}

/* ---- names ----------------------------------------------------------------------------- */

/* "# name: X", "#Name=X". Returns 1 when the comment named the spectrum. */
static int name_comment(npsw_reader *r, npsw_spectrum *s, const char *p, size_t len,
                        uint64_t line)
{
    while (len && (*p == '#' || *p == ' ' || *p == '\t')) p++, len--;
    if (!npsw_istarts(p, len, "name")) return 0;
    p += 4, len -= 4;
    npsw_trim(&p, &len);
    if (!len || (*p != ':' && *p != '=')) return 0;
    p++, len--;
    npsw_trim(&p, &len);
    if (!len) return 0; /* "# name:" with nothing after it: keep the file name */
    int rc = npsw_reader_set_text(r, s, NPSW_META_NAME, p, len, line);
    return rc < 0 ? rc : 1;
}

/* The file name without directory and extension; nothing for "(stdin)" and "(memory)". */
static int name_from_file(npsw_reader *r, npsw_spectrum *s)
{
    const char *n = r->name, *base = n;
    size_t len = strlen(n);
    if (len >= 2 && n[0] == '(' && n[len - 1] == ')') return 0;
    for (size_t i = 0; i < len; i++)
        if (n[i] == '/' || n[i] == '\\') base = n + i + 1;
    size_t bl = len - (size_t)(base - n);
    for (size_t i = bl; i > 1; i--)
        if (base[i - 1] == '.') {
            bl = i - 1;
            break;
        }
    return bl ? npsw_reader_set_text(r, s, NPSW_META_NAME, base, bl, 0) : 0;
}

/* A table's identifier as the spectrum name, with "" in quoted fields read as one quote. */
static int name_from_field(npsw_reader *r, npsw_spectrum *s, const field *f, uint64_t line)
{
    if (!f->quoted) return npsw_reader_set_text(r, s, NPSW_META_NAME, f->p, f->len, line);
    char *t = malloc(f->len + 1);
    if (!t) return NPSW_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < f->len; i++) {
        t[n++] = f->p[i];
        if (f->p[i] == '"' && i + 1 < f->len && f->p[i + 1] == '"') i++;
    }
    int rc = npsw_reader_set_text(r, s, NPSW_META_NAME, t, n, line);
    free(t);
    return rc;
}

/* ---- reading --------------------------------------------------------------------------- */

static int is_skipped(const char *p, size_t len)
{
    npsw_trim(&p, &len);
    return !len || p[0] == '#';
}

/* Append one peak, checking the limits. Returns 0 or an error code with `err` set. */
static int add_peak(npsw_reader *r, npsw_spectrum *s, double mz, double in, uint64_t line,
                    npsw_err *err)
{
    if (fabs(in) > FLT_MAX) /* intensities are stored as float */
        return npsw_reader_fail(r, err, line, "intensity %g is too large", in);
    if (s->n >= r->opts.max_peaks)
        return npsw_err_set(err, NPSW_ELIMIT, r->name, line, "more than %u peaks in one spectrum",
                            r->opts.max_peaks);
    if (npsw_spectrum_push(s, mz, (float)in) < 0)
        return npsw_err_set(err, NPSW_ENOMEM, r->name, line, "out of memory");
    return 0;
}

static int no_peaks(npsw_reader *r, npsw_err *err)
{
    return npsw_reader_fail(r, err, 0, "no peaks: expected lines of two numbers, m/z and "
                                       "intensity, separated by ',', ';', a tab or blanks");
}

static int single_next(npsw_reader *r, csv_state *st, npsw_spectrum *s, npsw_err *err)
{
    npsw_line ln;
    int in_data = 0, rc;
    st->done = 1; /* one spectrum per file, good or bad */
    s->src_line = 1;
    while (npsw_lines_next(&r->lines, &ln) == 0) {
        const char *p = ln.p;
        size_t len = ln.len;
        npsw_trim(&p, &len);
        if (!len) continue;
        if (p[0] == '#') {
            if ((rc = name_comment(r, s, p, len, ln.no)) < 0)
                return npsw_err_set(err, rc, r->name, ln.no, "out of memory");
            continue;
        }
        if (!in_data && !first_field_numeric(r->opts.decimal_comma, p, len)) continue; /* header */
        in_data = 1;
        double mz, in;
        if (read_pair(r->opts.decimal_comma, st, p, len, &mz, &in) < 0)
            return npsw_reader_fail(r, err, ln.no, "expected two numbers, m/z and intensity "
                                                   "(columns %zu and %zu), separated by ',', ';', "
                                                   "a tab or blanks; found '%.*s'",
                                    st->mz_col + 1, st->int_col + 1, (int)(len > 40 ? 40 : len), p);
        if ((rc = add_peak(r, s, mz, in, ln.no, err)) < 0) return rc;
    }
    if (s->n == 0) return no_peaks(r, err);
    if (!s->meta[NPSW_META_NAME] && (rc = name_from_file(r, s)) < 0)
        return npsw_err_set(err, rc, r->name, 0, "out of memory");
    return 0;
}

static int same_field(const field *a, const field *b)
{
    return a->len == b->len && memcmp(a->p, b->p, a->len) == 0;
}

/* The identifier column of a table row ("" when the row is too short). */
static field row_id(const csv_state *st, const field *f, size_t nf)
{
    field none = {"", 0, 0};
    return st->id_col < nf ? f[st->id_col] : none;
}

/* After a bad row: skip the rest of its spectrum's rows. */
static void skip_spectrum(npsw_reader *r, const csv_state *st, const field *id)
{
    npsw_line ln;
    field f[MAX_FIELDS];
    while (npsw_lines_peek(&r->lines, &ln) == 0) {
        if (!is_skipped(ln.p, ln.len)) {
            size_t nf = split_fields(ln.p, ln.len, st->sc.sep, f, MAX_FIELDS);
            field rid = row_id(st, f, nf);
            if (!same_field(&rid, id)) return;
        }
        (void)npsw_lines_next(&r->lines, &ln);
    }
}

static int table_next(npsw_reader *r, csv_state *st, npsw_spectrum *s, npsw_err *err)
{
    npsw_line ln;
    field f[MAX_FIELDS], id = {"", 0, 0};
    int begun = 0, rc;
    while (npsw_lines_peek(&r->lines, &ln) == 0) {
        if (is_skipped(ln.p, ln.len)) {
            (void)npsw_lines_next(&r->lines, &ln);
            continue;
        }
        size_t nf = split_fields(ln.p, ln.len, st->sc.sep, f, MAX_FIELDS);
        field rid = row_id(st, f, nf);
        if (begun && !same_field(&rid, &id)) break; /* the next spectrum starts here */
        (void)npsw_lines_next(&r->lines, &ln);
        if (!begun) {
            begun = 1;
            id = rid;
            s->src_line = ln.no;
            st->n_spectra++;
            if (id.len && (rc = name_from_field(r, s, &id, ln.no)) < 0)
                return npsw_err_set(err, rc, r->name, ln.no, "out of memory");
        }
        double mz, in;
        if (pair_from_fields(st, f, nf, st->sc.dec, &mz, &in) < 0) {
            skip_spectrum(r, st, &id);
            return npsw_reader_fail(r, err, ln.no, "spectrum '%s': expected numbers in columns %zu "
                                                   "(m/z) and %zu (intensity); found '%.*s'",
                                    npsw_spectrum_meta(s, NPSW_META_NAME), st->mz_col + 1,
                                    st->int_col + 1, (int)(ln.len > 40 ? 40 : ln.len), ln.p);
        }
        if ((rc = add_peak(r, s, mz, in, ln.no, err)) < 0) {
            skip_spectrum(r, st, &id);
            return rc;
        }
    }
    if (begun) return 0;
    st->done = 1;
    return st->n_spectra ? NPSW_EOF : no_peaks(r, err);
}

static int csv_next(npsw_reader *r, npsw_spectrum *s, npsw_err *err)
{
    csv_state *st = r->state;
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st) return npsw_err_set(err, NPSW_ENOMEM, r->name, 0, "out of memory");
        r->state = st;
    }
    if (st->done) return NPSW_EOF;
    if (!st->started) start(r, st);
    return st->table ? table_next(r, st, s, err) : single_next(r, st, s, err);
}

/* ~30 when the first lines after at most three headers are mostly m/z, intensity pairs: lower
 * than MSP, MGF and JCAMP, whose peak lists also look like this. */
static int csv_probe(const char *buf, size_t len)
{
    npsw_lines ls = {buf, len, 0, 0};
    npsw_line ln;
    csv_state st;
    memset(&st, 0, sizeof st);
    st.int_col = 1;
    int headers = 0, data = 0, bad = 0, seen = 0;
    while (seen < 40 && npsw_lines_next(&ls, &ln) == 0) {
        const char *p = ln.p;
        size_t n = ln.len;
        npsw_trim(&p, &n);
        if (!n) continue;
        if (p[0] == '#') {
            /* "##TITLE=" opens a JCAMP-DX file, whose "##" lines would look like comments */
            if (!seen && n > 2 && p[1] == '#' && memchr(p, '=', n)) return 0;
            continue;
        }
        seen++;
        if (!data && !st.table && !first_field_numeric(NPSW_DECIMAL_COMMA_AUTO, p, n)) {
            if (++headers > 3) return 0;
            (void)read_header(&st, NPSW_DECIMAL_COMMA_AUTO, p, n);
            continue;
        }
        double mz, in;
        int ok;
        if (st.table) {
            field f[MAX_FIELDS];
            size_t nf = split_fields(p, n, st.sc.sep, f, MAX_FIELDS);
            ok = pair_from_fields(&st, f, nf, st.sc.dec, &mz, &in) == 0;
        } else {
            ok = read_pair(NPSW_DECIMAL_COMMA_AUTO, &st, p, n, &mz, &in) == 0;
        }
        if (ok)
            data++;
        else
            bad++;
    }
    return data && bad * 4 <= data ? 30 : 0;
}

const npsw_format_ops npsw_csv_ops = {NPSW_FMT_CSV, "csv", csv_probe, csv_next, free};
