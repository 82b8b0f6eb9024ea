/* text.c - bounded line splitting, number and peak-list parsing, and text-encoding conversion
 * shared by all importers. Nothing here assumes NUL-terminated input: importers must survive any
 * byte sequence (they are fuzzed). */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader_internal.h"

/* ---- lines ----------------------------------------------------------------------------- */

static size_t line_end(const char *buf, size_t len, size_t pos, size_t *next)
{
    size_t i = pos;
    while (i < len && buf[i] != '\n' && buf[i] != '\r') i++;
    size_t end = i;
    if (i < len) {
        if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
            i += 2;
        else
            i += 1;
    }
    *next = i;
    return end;
}

int npsw_lines_peek(const npsw_lines *ls, npsw_line *out)
{
    size_t pos = ls->pos;
    if (pos == 0 && ls->len >= 3 && (unsigned char)ls->buf[0] == 0xEF &&
        (unsigned char)ls->buf[1] == 0xBB && (unsigned char)ls->buf[2] == 0xBF)
        pos = 3;
    if (pos >= ls->len) return NPSW_EOF;
    size_t next;
    size_t end = line_end(ls->buf, ls->len, pos, &next);
    out->p = ls->buf + pos;
    out->len = end - pos;
    out->no = ls->no + 1;
    return 0;
}

int npsw_lines_next(npsw_lines *ls, npsw_line *out)
{
    if (ls->pos == 0 && ls->len >= 3 && (unsigned char)ls->buf[0] == 0xEF &&
        (unsigned char)ls->buf[1] == 0xBB && (unsigned char)ls->buf[2] == 0xBF)
        ls->pos = 3;
    if (ls->pos >= ls->len) return NPSW_EOF;
    size_t next;
    size_t end = line_end(ls->buf, ls->len, ls->pos, &next);
    out->p = ls->buf + ls->pos;
    out->len = end - ls->pos;
    out->no = ++ls->no;
    ls->pos = next;
    return 0;
}

/* ---- small helpers --------------------------------------------------------------------- */

void npsw_trim(const char **p, size_t *len)
{
    const char *s = *p;
    size_t n = *len;
    while (n && (*s == ' ' || *s == '\t')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
    *p = s;
    *len = n;
}

int npsw_is_blank(const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != ' ' && p[i] != '\t') return 0;
    return 1;
}

int npsw_ieq(const char *p, size_t len, const char *key)
{
    size_t k = strlen(key);
    if (k != len) return 0;
    for (size_t i = 0; i < len; i++)
        if (tolower((unsigned char)p[i]) != tolower((unsigned char)key[i])) return 0;
    return 1;
}

int npsw_istarts(const char *p, size_t len, const char *prefix)
{
    size_t k = strlen(prefix);
    if (k > len) return 0;
    for (size_t i = 0; i < k; i++)
        if (tolower((unsigned char)p[i]) != tolower((unsigned char)prefix[i])) return 0;
    return 1;
}

int npsw_key_normalise(const char *p, size_t len, const char *skip, char *out, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c && strchr(skip, c)) continue;
        if (n + 1 >= size) return -1;
        out[n++] = (char)tolower(c);
    }
    out[n] = '\0';
    return 0;
}

/* ---- numbers --------------------------------------------------------------------------- */

int npsw_parse_double(const char *p, size_t len, int decimal_comma, double *out, size_t *used)
{
    char tmp[80];
    size_t i = 0, t = 0;
    while (i < len && (p[i] == ' ' || p[i] == '\t')) i++;
    if (i < len && (p[i] == '+' || p[i] == '-')) tmp[t++] = p[i++];
    size_t digits = 0;
    while (i < len && isdigit((unsigned char)p[i]) && t < sizeof tmp - 8) tmp[t++] = p[i++], digits++;
    if (i < len && (p[i] == '.' || (decimal_comma && p[i] == ',')) && i + 1 < len &&
        isdigit((unsigned char)p[i + 1])) {
        tmp[t++] = '.';
        i++;
        while (i < len && isdigit((unsigned char)p[i]) && t < sizeof tmp - 8) tmp[t++] = p[i++], digits++;
    } else if (i < len && p[i] == '.' && digits) {
        i++; /* "55." */
    }
    if (!digits) return NPSW_EPARSE;
    if (i < len && (p[i] == 'e' || p[i] == 'E')) {
        size_t j = i + 1;
        char sign = 0;
        if (j < len && (p[j] == '+' || p[j] == '-')) sign = p[j++];
        if (j < len && isdigit((unsigned char)p[j])) {
            tmp[t++] = 'e';
            if (sign) tmp[t++] = sign;
            size_t ed = 0;
            while (j < len && isdigit((unsigned char)p[j])) {
                if (ed < 4 && t < sizeof tmp - 1) tmp[t++] = p[j];
                else if (ed >= 4) { /* absurd exponent */
                    return NPSW_EPARSE;
                }
                ed++, j++;
            }
            i = j;
        }
    }
    /* Too many digits for our buffer: refuse rather than silently truncate. */
    if (i < len && isdigit((unsigned char)p[i])) return NPSW_EPARSE;
    tmp[t] = '\0';
    double v = strtod(tmp, NULL);
    if (!isfinite(v)) return NPSW_EPARSE;
    *out = v;
    if (used) *used = i;
    return 0;
}

int npsw_parse_double_full(const char *p, size_t len, int decimal_comma, double *out)
{
    npsw_trim(&p, &len);
    size_t used;
    if (!len || npsw_parse_double(p, len, decimal_comma, out, &used) < 0) return NPSW_EPARSE;
    return used == len ? 0 : NPSW_EPARSE;
}

/* ---- peak lines ------------------------------------------------------------------------ */

#define MAX_TOKENS_PER_LINE 4096

typedef struct token {
    const char *p;
    size_t len;
    unsigned commas;      /* commas inside the token */
    int comma_between;    /* every comma in it sits between two digits */
    int word;             /* not a number: an annotation, allowed only after complete pairs */
} token;

static int is_strong_sep(unsigned char c)
{
    return c == ' ' || c == '\t' || c == ';' || c == ':' || c == '(' || c == ')' || c == '[' ||
           c == ']' || c == '{' || c == '}' || c == '|' || c == '\0' || c == '\v' || c == '\f';
}

static int looks_numeric(const char *p, size_t len)
{
    if (!len) return 0;
    size_t i = 0;
    if (p[i] == '+' || p[i] == '-') i++;
    if (i < len && p[i] == '.') i++;
    return i < len && isdigit((unsigned char)p[i]);
}

int npsw_parse_peak_line(const char *p, size_t len, npsw_decimal_comma mode, uint32_t max_peaks,
                         npsw_spectrum *s, char *why, size_t whysize)
{
    token tok[MAX_TOKENS_PER_LINE];
    size_t nt = 0;
    size_t i = 0;
    /* 1. split on strong separators; quoted strings are annotations and skipped */
    while (i < len) {
        unsigned char c = (unsigned char)p[i];
        if (is_strong_sep(c)) {
            i++;
            continue;
        }
        if (c == '"' || c == '\'') {
            size_t j = i + 1;
            while (j < len && (unsigned char)p[j] != c) j++;
            i = j < len ? j + 1 : len;
            continue;
        }
        size_t j = i;
        while (j < len && !is_strong_sep((unsigned char)p[j]) && p[j] != '"') j++;
        if (nt == MAX_TOKENS_PER_LINE) {
            snprintf(why, whysize, "more than %d values on one line", MAX_TOKENS_PER_LINE);
            return NPSW_ELIMIT;
        }
        token *t = &tok[nt];
        t->p = p + i;
        t->len = j - i;
        t->commas = 0;
        t->comma_between = 1;
        for (size_t k = i; k < j; k++) {
            if (p[k] == ',') {
                t->commas++;
                if (!(k > i && k + 1 < j && isdigit((unsigned char)p[k - 1]) &&
                      isdigit((unsigned char)p[k + 1])))
                    t->comma_between = 0;
            }
        }
        t->word = !looks_numeric(t->p, t->len) && !(t->len && t->p[0] == ',');
        nt++;
        i = j;
    }
    size_t nnum = 0;
    for (size_t k = 0; k < nt; k++) nnum += !tok[k].word;
    if (nnum == 0) {
        snprintf(why, whysize, "expected 'm/z intensity' pairs");
        return NPSW_EPARSE;
    }
    /* 2. decide what a comma means */
    int decimal = 0;
    if (mode == NPSW_DECIMAL_COMMA_YES) {
        decimal = 1;
    } else if (mode == NPSW_DECIMAL_COMMA_AUTO) {
        size_t with_comma = 0, ok = 1;
        for (size_t k = 0; k < nt; k++) {
            if (tok[k].word) continue;
            if (tok[k].commas) {
                with_comma++;
                if (tok[k].commas != 1 || !tok[k].comma_between) ok = 0;
            }
        }
        decimal = with_comma && ok && with_comma < nnum && nnum % 2 == 0;
    }
    /* 3. read values */
    double vals[2];
    int nv = 0;
    int appended = 0;
    for (size_t k = 0; k < nt; k++) {
        const char *q = tok[k].p;
        size_t ql = tok[k].len;
        if (tok[k].word) {
            if (nv) {
                snprintf(why, whysize, "expected an intensity after m/z %g, found '%.*s'", vals[0],
                         (int)(ql > 40 ? 40 : ql), q);
                return NPSW_EPARSE;
            }
            continue; /* annotation after a complete pair */
        }
        while (ql) {
            if (*q == ',') { /* a comma that separates values */
                q++, ql--;
                continue;
            }
            double v;
            size_t used;
            if (npsw_parse_double(q, ql, decimal, &v, &used) < 0) {
                snprintf(why, whysize, "expected a number in 'm/z intensity' pairs, found '%.*s'",
                         (int)(ql > 40 ? 40 : ql), q);
                return NPSW_EPARSE;
            }
            q += used, ql -= used;
            if (ql && *q != ',') {
                snprintf(why, whysize, "expected a number in 'm/z intensity' pairs, found '%.*s'",
                         (int)(tok[k].len > 40 ? 40 : tok[k].len), tok[k].p);
                return NPSW_EPARSE;
            }
            if (fabs(v) > 1e30) { /* beyond any m/z or intensity, and beyond float range */
                snprintf(why, whysize, "value %g out of range", v);
                return NPSW_EPARSE;
            }
            vals[nv++] = v;
            if (nv == 2) {
                if (s->n >= max_peaks) {
                    snprintf(why, whysize, "more than %u peaks in one spectrum", max_peaks);
                    return NPSW_ELIMIT;
                }
                int r = npsw_spectrum_push(s, vals[0], (float)vals[1]);
                if (r < 0) {
                    snprintf(why, whysize, "out of memory");
                    return r;
                }
                appended++;
                nv = 0;
            }
        }
    }
    if (nv != 0) {
        snprintf(why, whysize,
                 "expected 'm/z intensity' pairs, found an odd number of values (m/z %g has no "
                 "intensity)",
                 vals[0]);
        return NPSW_EPARSE;
    }
    return appended;
}

/* ---- text encodings -------------------------------------------------------------------- */

int npsw_utf8_valid(const char *p, size_t len)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        unsigned cp;
        if (c >= 0xC2 && c <= 0xDF) n = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF) n = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4) n = 3, cp = c & 0x07;
        else return 0;
        if (i + n >= len) return 0; /* needs bytes i+1 .. i+n */
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

/* CP437 0x80-0xFF. 0xE1 is mapped to GREEK SMALL LETTER BETA (U+03B2), not to sharp s: in
 * chemical names written on DOS-era systems it always means beta (see docs/formats.md). */
static const unsigned short cp437_high[128] = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, 0x00EA, 0x00EB, 0x00E8,
    0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5, 0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2,
    0x00FB, 0x00F9, 0x00FF, 0x00D6, 0x00DC, 0x00A2, 0x00A3, 0x00A5, 0x20A7, 0x0192, 0x00E1,
    0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA, 0x00BF, 0x2310, 0x00AC, 0x00BD,
    0x00BC, 0x00A1, 0x00AB, 0x00BB, 0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562,
    0x2556, 0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510, 0x2514, 0x2534,
    0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F, 0x255A, 0x2554, 0x2569, 0x2566, 0x2560,
    0x2550, 0x256C, 0x2567, 0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
    0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580, 0x03B1, 0x03B2, 0x0393,
    0x03C0, 0x03A3, 0x03C3, 0x00B5, 0x03C4, 0x03A6, 0x0398, 0x03A9, 0x03B4, 0x221E, 0x03C6,
    0x03B5, 0x2229, 0x2261, 0x00B1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00F7, 0x2248, 0x00B0,
    0x2219, 0x00B7, 0x221A, 0x207F, 0x00B2, 0x25A0, 0x00A0};

/* AUTO heuristic: CP437 when a byte that is a Greek letter in CP437 (alpha E0, beta E1, Gamma
 * E2, pi E3, delta EB, mu E6) stands next to a non-letter (digit, '-', '.', ',', '(', space,
 * start or end), as in "<E1>-hydroxy" or "<EB>9-THC"; Latin-1 otherwise. Latin-1 accented
 * letters in names sit between letters. */
static int looks_cp437(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned c = s[i];
        if (c >= 0x80 && c <= 0x9F) return 1; /* C1 controls in Latin-1: not Latin-1 text */
        if (c == 0xE0 || c == 0xE1 || c == 0xE2 || c == 0xE3 || c == 0xEB || c == 0xE6) {
            int before = i == 0 || !isalpha(s[i - 1]);
            int after = i + 1 == len || !isalpha(s[i + 1]);
            if (before || after) return 1;
        }
    }
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    o[0] = (char)(0xE0 | (cp >> 12));
    o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

char *npsw_to_utf8(const char *p, size_t len, npsw_encoding enc, npsw_encoding *converted)
{
    const unsigned char *s = (const unsigned char *)p;
    if (enc == NPSW_ENC_AUTO || enc == NPSW_ENC_UTF8) {
        if (npsw_utf8_valid(p, len))
            enc = NPSW_ENC_UTF8;
        else if (enc == NPSW_ENC_UTF8)
            enc = NPSW_ENC_LATIN1; /* invalid bytes in declared UTF-8: keep them readable */
        else
            enc = looks_cp437(s, len) ? NPSW_ENC_CP437 : NPSW_ENC_LATIN1;
    }
    if (converted) *converted = enc;
    if (len > ((size_t)-1) / 3 - 1) return NULL;
    char *out = malloc(len * 3 + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned c = s[i];
        if (c == 0) continue;
        if (c < 0x20 && c != '\t') {
            out[o++] = ' ';
            continue;
        }
        if (c == 0x7F) {
            out[o++] = ' ';
            continue;
        }
        if (c < 0x80 || enc == NPSW_ENC_UTF8) {
            out[o++] = (char)c;
            continue;
        }
        unsigned cp = enc == NPSW_ENC_CP437 ? cp437_high[c - 0x80] : c;
        if (enc == NPSW_ENC_LATIN1 && c < 0xA0) cp = ' '; /* C1 controls */
        o += put_utf8(out + o, cp);
    }
    out[o] = '\0';
    return out;
}

/* ---- CAS numbers ----------------------------------------------------------------------- */

int npsw_normalise_cas(const char *p, size_t len, char *out, size_t outsize)
{
    char d[16];
    size_t nd = 0;
    npsw_trim(&p, &len);
    for (size_t i = 0; i < len; i++) {
        if (isdigit((unsigned char)p[i])) {
            if (nd == sizeof d - 1) return -1;
            d[nd++] = p[i];
        } else if (p[i] != '-') {
            return -1;
        }
    }
    /* strip leading zeros */
    size_t z = 0;
    while (z < nd && d[z] == '0') z++;
    memmove(d, d + z, nd - z);
    nd -= z;
    d[nd] = '\0';
    if (nd == 0 || strcmp(d, "2147483647") == 0) return 0;
    if (nd < 5 || nd > 10) return -1;
    unsigned sum = 0;
    for (size_t i = 0; i + 1 < nd; i++) sum += (unsigned)(d[nd - 2 - i] - '0') * (unsigned)(i + 1);
    if ((int)(sum % 10) != d[nd - 1] - '0') return -1;
    if (outsize < nd + 3) return -1;
    snprintf(out, outsize, "%.*s-%.*s-%c", (int)(nd - 3), d, 2, d + nd - 3, d[nd - 1]);
    return 1;
}
