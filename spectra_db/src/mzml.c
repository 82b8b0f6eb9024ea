/* mzml.c - mzML 1.1 (HUPO-PSI), the open format of LC-MS and GC-MS runs that msconvert
 * (ProteoWizard), OpenMS and instrument software write.
 *
 * Every <spectrum> - MS1 and MSn alike - becomes one npsw_spectrum (docs/formats.md, "mzML"):
 *   peaks           the m/z array (MS:1000514) and the intensity array (MS:1000515), each a
 *                   <binaryDataArray> of little-endian 32-bit (MS:1000521) or 64-bit (MS:1000523)
 *                   floats, base64-encoded, zlib-compressed (MS:1000574) or not (MS:1000576);
 *                   other arrays are ignored
 *   name            spectrum title (MS:1000796), else the spectrum's id attribute
 *   accession       the spectrum's id attribute (the native id, e.g. "scan=42")
 *   ion_mode        positive scan (MS:1000130) / negative scan (MS:1000129)
 *   precursor_mz    the first selected ion m/z (MS:1000744) of the first precursor
 *   collision_energy  MS:1000045 of the precursor's activation, with "eV" when so given
 *   comments        "MS level: N" (MS:1000511), "scan start time: T min|s" (MS:1000016, as
 *                   given: the spectrum model has no retention-time field), "charge state: Z"
 *                   (MS:1000041)
 * cvParams are also taken from a referenceableParamGroup wherever a referenceableParamGroupRef
 * stands (spectrum, scan, precursor or binaryDataArray level).
 *
 * Parsing uses libxml2's SAX2 push parser, fed CHUNK bytes of the reader's in-memory copy at a
 * time: no tree is ever built, and a `next` call parses only until at least one spectrum (or
 * error) is ready. Spectra completed within one chunk wait in a small queue. Compared with the
 * xmlTextReader API (also streaming) this gives exact line numbers: the SAX callbacks run with
 * the parser positioned at the element, whereas xmlTextReaderGetParserLineNumber() runs up to a
 * 512-byte chunk ahead of the node returned, and node line numbers stop at 65535. It also avoids
 * the 10 MB text-node limit of libxml2's tree builder, which refuses an uncompressed 64-bit array
 * of a million points (the default max_peaks). Lines are those of the end of a start tag (the
 * same line for the usual one-line tags).
 *
 * Safety: XML_PARSE_NONET; no XML_PARSE_NOENT, DTDLOAD or HUGE; and any document type
 * declaration stops the parse before the parser reads its entity declarations, so neither
 * entity expansion (billion laughs) nor external entities (XXE) can happen. The parser's own
 * limits stay in force. A <binary> text may hold at most what its declared array length needs
 * (compressBound of it when zlib), and array lengths above max_peaks are errors.
 *
 * Errors: a bad spectrum (bad base64, bad zlib data, lengths that disagree, an unsupported
 * compression such as MS-Numpress, a missing array, NaN or infinite values, values beyond
 * +-1e30) is reported at the line of the offending element and skipped: the next call returns the
 * next spectrum. An XML well-formedness error (including a truncated file) ends the file: the
 * spectra before it have been returned, the error names the line, and then NPSW_EOF follows.
 * Zero and negative values are kept, as the text importers keep them: cleaning drops them.
 */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <zlib.h>

#include "reader_internal.h"

#define CHUNK 4096              /* bytes handed to the parser per step */
#define MAX_GROUP_PARAMS 1000   /* cvParams kept from referenceableParamGroups, all groups */
#define MAX_XML_WARNINGS 10     /* libxml2 warnings reported per file */
#define MAX_ITEM_WARNINGS 20    /* warnings kept per queued spectrum; the rest are counted */
#define VALUE_LIMIT 1e30        /* as the text importers: beyond any m/z or intensity */

enum arr_kind { KIND_UNSET = 0, KIND_MZ = 1, KIND_INTENSITY = 2, KIND_OTHER = 3 };
enum arr_type { TYPE_UNSET = 0, TYPE_F32, TYPE_F64, TYPE_UNSUPPORTED };
enum arr_comp { COMP_UNSET = 0, COMP_NONE, COMP_ZLIB, COMP_UNSUPPORTED };

/* A byte string that is not NUL-terminated. */
typedef struct str {
    const char *p;
    size_t n;
} str;

/* One cvParam: attributes pointing into the parser's buffer (during a callback) or into `mem`
 * (kept in a referenceableParamGroup). */
typedef struct cvparam {
    str acc, name, value, unit_acc, unit_name;
    char *mem;
} cvparam;

typedef struct group {
    char *id;
    size_t id_n;
    cvparam *v;
    size_t n, cap;
} group;

/* The <binaryDataArray> being read. */
typedef struct array {
    uint64_t line;          /* of <binaryDataArray> */
    int kind, type, comp;
    /* the cvParams naming an unsupported compression / data type, and their lines:
     * "MS:1002312 (MS-Numpress linear prediction compression)" */
    char comp_term[160], type_term[160];
    uint64_t comp_line, type_line;
    long long length;       /* values in the array; -1 = unknown */
    int have_binary, accumulate, overflow;
    uint64_t binary_line;
    char *b64;              /* the <binary> text without white space */
    size_t b64_n, b64_cap, b64_max;
    /* the first problem seen, reported only if this is the m/z or the intensity array */
    int problem;
    uint64_t problem_line;
    char problem_msg[256];
} array;

/* The <spectrum> being read. */
typedef struct spec {
    int depth;              /* element depth of <spectrum>; 0 = not inside one */
    uint64_t line;
    char index[24];
    char *id, *title;
    long long default_len;  /* defaultArrayLength; -1 = absent */
    int bda_depth, binary_depth, precursor_depth, product_depth;
    array arr;
    double *vals[3];        /* decoded arrays, by kind */
    uint32_t nvals[3];
    int have[3];
    int ms_level, positive, negative, profile;
    char rt[96];            /* "5.89 min" */
    double precursor_mz;
    int n_selected;
    long charge;
    int have_charge;
    char *collision_energy;
    int err;                /* the first error: code, line, message */
    uint64_t err_line;
    char err_msg[NPSW_ERR_MSG_MAX];
} spec;

/* Warnings raised while parsing ahead, held back until what they concern is handed out, so
 * that they reach the caller in the same order as with the line-based importers. */
typedef struct warnings {
    npsw_err *v;
    size_t n;
    uint64_t dropped; /* beyond MAX_ITEM_WARNINGS */
} warnings;

/* A finished spectrum, or an error, waiting to be handed out with the warnings before it. */
typedef struct item {
    int rc;
    npsw_spectrum s;
    npsw_err err;
    warnings w;
} item;

typedef struct mzml_state {
    npsw_reader *r;
    xmlParserCtxtPtr ctxt;
    size_t pos;             /* bytes handed to the parser */
    int finished;           /* the parser is done (end of input or stopped) */
    int terminating;        /* the last chunk is being parsed */
    int stopped;            /* a file-level error was queued: nothing more is read */
    int lost_error;         /* ... or could not be queued for want of memory */
    int depth;              /* depth of the current element (the root is 1) */
    uint64_t n_lines;       /* lines of the input as npsw_lines counts them */
    group *groups;
    size_t n_groups, cap_groups, n_group_params;
    int group_depth;        /* depth of the open <referenceableParamGroup>, 0 = none */
    group *open_group;      /* where its cvParams go; NULL = dropped (duplicate id, full) */
    int groups_full_warned, profile_warned;
    unsigned xml_warnings;
    spec sp;
    long long n_spectra;    /* <spectrum> elements seen */
    item *q;
    size_t q_head, q_n, q_cap;
    warnings pending;       /* raised since the last queued item */
} mzml_state;

/* ---- small helpers --------------------------------------------------------------------- */

static int str_is(str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static str attr(const xmlChar **a, int na, const char *name)
{
    for (int i = 0; i < na; i++)
        if (strcmp((const char *)a[5 * i], name) == 0)
            return (str){(const char *)a[5 * i + 3], (size_t)(a[5 * i + 4] - a[5 * i + 3])};
    return (str){NULL, 0};
}

/* Attribute text as UTF-8 for metadata and messages: "&#38;" (how libxml2 hands over an '&'
 * when entities are not substituted) becomes '&', control characters become spaces, white
 * space is trimmed. malloc'd; NULL when out of memory. */
static char *attr_text(str s)
{
    if (!s.p) s.p = "", s.n = 0;
    char *t = malloc(s.n + 1);
    if (!t) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] == '&' && s.n - i >= 5 && memcmp(s.p + i, "&#38;", 5) == 0) {
            t[o++] = '&';
            i += 4;
        } else {
            t[o++] = s.p[i];
        }
    }
    const char *p = t;
    size_t n = o;
    npsw_trim(&p, &n);
    char *u = npsw_to_utf8(p, n, NPSW_ENC_UTF8, NULL);
    free(t);
    return u;
}

/* A non-negative decimal count ("1024"), or -1 when it is not one. Values beyond 10^12 stay
 * beyond 10^12 (no overflow): any limit rejects them. */
static long long parse_count(str s)
{
    if (!s.p) return -1;
    const char *p = s.p;
    size_t n = s.n;
    npsw_trim(&p, &n);
    if (!n) return -1;
    unsigned long long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)p[i])) return -1;
        if (v < 1000000000000ULL) v = v * 10 + (unsigned)(p[i] - '0');
    }
    return (long long)v;
}

/* Ascii-case-insensitive "contains". */
static int str_contains(str s, const char *lit)
{
    size_t n = strlen(lit);
    for (size_t i = 0; i + n <= s.n; i++)
        if (npsw_istarts(s.p + i, s.n - i, lit)) return 1;
    return 0;
}

static uint64_t clamp_line(const mzml_state *st, long line)
{
    if (line <= 0) return 0;
    return (uint64_t)line > st->n_lines ? st->n_lines : (uint64_t)line;
}

/* The parser's current line: in a start-element callback, the line of the tag's end. */
static uint64_t cur_line(const mzml_state *st)
{
    return clamp_line(st, xmlSAX2GetLineNumber(st->ctxt));
}

static const char *label(const spec *sp, char *buf, size_t size)
{
    if (sp->id && sp->id[0])
        snprintf(buf, size, "index %s (id '%.100s')", sp->index, sp->id);
    else
        snprintf(buf, size, "index %s", sp->index);
    return buf;
}

/* "MS:1002312 (MS-Numpress linear prediction compression)" */
static void term_text(const cvparam *p, char *buf, size_t size)
{
    int an = (int)(p->acc.n > 40 ? 40 : p->acc.n), nn = (int)(p->name.n > 100 ? 100 : p->name.n);
    if (nn)
        snprintf(buf, size, "%.*s (%.*s)", an, p->acc.p, nn, p->name.p);
    else
        snprintf(buf, size, "%.*s", an, p->acc.p);
    for (char *c = buf; *c; c++)
        if ((unsigned char)*c < 0x20) *c = ' ';
}

/* ---- the queue ------------------------------------------------------------------------- */

static void mz_warn(mzml_state *st, uint64_t line, const char *fmt, ...) NPSW_PRINTF(3, 4);
static void mz_warn(mzml_state *st, uint64_t line, const char *fmt, ...)
{
    warnings *w = &st->pending;
    if (w->n == MAX_ITEM_WARNINGS || (w->n == 0 && !w->v && !(w->v = malloc(MAX_ITEM_WARNINGS *
                                                                           sizeof *w->v)))) {
        w->dropped++; /* (or no memory for it: counted all the same) */
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    npsw_err_vset(&w->v[w->n++], NPSW_OK, st->r->name, line, fmt, ap);
    va_end(ap);
}

/* Hand held-back warnings to the caller's callback, then forget them. */
static void flush_warnings(npsw_reader *r, warnings *w)
{
    for (size_t i = 0; i < w->n; i++) npsw_reader_warn(r, w->v[i].line, "%s", w->v[i].msg);
    if (w->dropped)
        npsw_reader_warn(r, w->n ? w->v[w->n - 1].line : 0, "%llu more warnings not shown",
                         (unsigned long long)w->dropped);
    free(w->v);
    memset(w, 0, sizeof *w);
}

static item *q_push(mzml_state *st)
{
    if (st->q_head == st->q_n) st->q_head = st->q_n = 0;
    if (st->q_n == st->q_cap) {
        size_t cap = st->q_cap ? st->q_cap * 2 : 8;
        item *q = realloc(st->q, cap * sizeof *q);
        if (!q) return NULL;
        st->q = q;
        st->q_cap = cap;
    }
    item *it = &st->q[st->q_n++];
    it->rc = 0;
    npsw_spectrum_init(&it->s);
    npsw_err_clear(&it->err);
    memset(&it->w, 0, sizeof it->w);
    return it;
}

/* The warnings raised so far go out with `it`. */
static void attach_warnings(mzml_state *st, item *it)
{
    it->w = st->pending;
    memset(&st->pending, 0, sizeof st->pending);
}

/* A file-level error: queued, and nothing more of the file is read (every callback returns at
 * once, and feed() hands the parser no more input). The parser itself is halted with
 * xmlStopParser() only from SAX callbacks (stop_parser): from the error handler it is not safe,
 * as libxml2 may still be using its input buffers there (an encoding error inside
 * xmlParseChunk then crashed libxml2 2.9.14 - found by fuzz_mzml). */
static void file_fail(mzml_state *st, int code, uint64_t line, const char *fmt, ...)
    NPSW_PRINTF(4, 5);
static void file_fail(mzml_state *st, int code, uint64_t line, const char *fmt, ...)
{
    if (st->stopped) return;
    st->stopped = 1;
    item *it = q_push(st);
    if (!it) {
        st->lost_error = 1; /* mzml_next reports it as out of memory */
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    npsw_err_vset(&it->err, code, st->r->name, line, fmt, ap);
    va_end(ap);
    it->rc = code;
    attach_warnings(st, it);
}

/* From a SAX callback: parse nothing more, not even the rest of the current chunk. */
static void stop_parser(mzml_state *st) { xmlStopParser(st->ctxt); }

static int nomem(mzml_state *st)
{
    file_fail(st, NPSW_ENOMEM, cur_line(st), "out of memory");
    return NPSW_ENOMEM;
}

/* The first problem of the current spectrum; reported when the spectrum ends. */
static int sp_fail(mzml_state *st, int code, uint64_t line, const char *fmt, ...)
    NPSW_PRINTF(4, 5);
static int sp_fail(mzml_state *st, int code, uint64_t line, const char *fmt, ...)
{
    spec *sp = &st->sp;
    if (sp->err) return code;
    sp->err = code;
    sp->err_line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sp->err_msg, sizeof sp->err_msg, fmt, ap);
    va_end(ap);
    return code;
}

/* The first problem of the current binaryDataArray. */
static void arr_problem(array *a, int code, uint64_t line, const char *fmt, ...) NPSW_PRINTF(4, 5);
static void arr_problem(array *a, int code, uint64_t line, const char *fmt, ...)
{
    if (a->problem) return;
    a->problem = code;
    a->problem_line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(a->problem_msg, sizeof a->problem_msg, fmt, ap);
    va_end(ap);
}

static void spec_reset(spec *sp)
{
    free(sp->id);
    free(sp->title);
    free(sp->collision_energy);
    free(sp->arr.b64);
    for (int k = 0; k < 3; k++) free(sp->vals[k]);
    memset(sp, 0, sizeof *sp);
}

/* ---- referenceableParamGroups ---------------------------------------------------------- */

static const group *find_group(const mzml_state *st, str id)
{
    for (size_t i = 0; i < st->n_groups; i++)
        if (st->groups[i].id_n == id.n && memcmp(st->groups[i].id, id.p, id.n) == 0)
            return &st->groups[i];
    return NULL;
}

static int group_start(mzml_state *st, const xmlChar **a, int na)
{
    str id = attr(a, na, "id");
    st->group_depth = st->depth;
    st->open_group = NULL;
    if (!id.p) {
        mz_warn(st, cur_line(st), "referenceableParamGroup without an id; ignored");
        return 0;
    }
    if (find_group(st, id)) {
        mz_warn(st, cur_line(st), "a second referenceableParamGroup '%.*s'; the "
                                  "first one is used",
                (int)(id.n > 80 ? 80 : id.n), id.p);
        return 0;
    }
    if (st->n_groups >= MAX_GROUP_PARAMS) {
        if (!st->groups_full_warned++)
            mz_warn(st, cur_line(st), "more than %d referenceableParamGroups; the "
                                      "others are ignored",
                    MAX_GROUP_PARAMS);
        return 0;
    }
    if (st->n_groups == st->cap_groups) {
        size_t cap = st->cap_groups ? st->cap_groups * 2 : 8;
        group *g = realloc(st->groups, cap * sizeof *g);
        if (!g) return nomem(st);
        st->groups = g;
        st->cap_groups = cap;
    }
    group *g = &st->groups[st->n_groups];
    memset(g, 0, sizeof *g);
    g->id = malloc(id.n ? id.n : 1);
    if (!g->id) return nomem(st);
    memcpy(g->id, id.p, id.n);
    g->id_n = id.n;
    st->n_groups++;
    st->open_group = g;
    return 0;
}

static int group_add(mzml_state *st, const cvparam *p)
{
    group *g = st->open_group;
    if (st->n_group_params >= MAX_GROUP_PARAMS) {
        if (!st->groups_full_warned++)
            mz_warn(st, cur_line(st), "more than %d cvParams in "
                                      "referenceableParamGroups; the others are "
                                      "ignored",
                    MAX_GROUP_PARAMS);
        return 0;
    }
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 8;
        cvparam *v = realloc(g->v, cap * sizeof *v);
        if (!v) return nomem(st);
        g->v = v;
        g->cap = cap;
    }
    const str *src[5] = {&p->acc, &p->name, &p->value, &p->unit_acc, &p->unit_name};
    size_t total = 1;
    for (int i = 0; i < 5; i++) total += src[i]->n;
    char *mem = malloc(total);
    if (!mem) return nomem(st);
    cvparam *d = &g->v[g->n];
    str *dst[5] = {&d->acc, &d->name, &d->value, &d->unit_acc, &d->unit_name};
    size_t o = 0;
    for (int i = 0; i < 5; i++) {
        if (src[i]->n) memcpy(mem + o, src[i]->p, src[i]->n);
        *dst[i] = (str){mem + o, src[i]->n};
        o += src[i]->n;
    }
    d->mem = mem;
    g->n++;
    st->n_group_params++;
    return 0;
}

/* ---- cvParams -------------------------------------------------------------------------- */

static cvparam read_cvparam(const xmlChar **a, int na)
{
    cvparam p;
    p.acc = attr(a, na, "accession");
    p.name = attr(a, na, "name");
    p.value = attr(a, na, "value");
    p.unit_acc = attr(a, na, "unitAccession");
    p.unit_name = attr(a, na, "unitName");
    p.mem = NULL;
    return p;
}

static const char *const unsupported_types[] = {
    "MS:1000519", /* 32-bit integer */
    "MS:1000522", /* 64-bit integer */
    "MS:1000520", /* 16-bit float */
    "MS:1001479", /* null-terminated ASCII string */
};

static const char *const unsupported_compressions[] = {
    "MS:1002312", "MS:1002313", "MS:1002314", /* MS-Numpress linear, pic, slof */
    "MS:1002746", "MS:1002747", "MS:1002748", /* the same followed by zlib */
    "MS:1003089", "MS:1003090", "MS:1003091", /* truncation (+ prediction) and zlib */
};

static int in_list(str acc, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (str_is(acc, list[i])) return 1;
    return 0;
}

static void array_param(mzml_state *st, const cvparam *p, uint64_t line)
{
    array *a = &st->sp.arr;
    int kind = 0, type = 0, comp = 0;
    if (str_is(p->acc, "MS:1000514")) kind = KIND_MZ;
    else if (str_is(p->acc, "MS:1000515")) kind = KIND_INTENSITY;
    else if (str_is(p->acc, "MS:1000521")) type = TYPE_F32;
    else if (str_is(p->acc, "MS:1000523")) type = TYPE_F64;
    else if (in_list(p->acc, unsupported_types,
                     sizeof unsupported_types / sizeof *unsupported_types))
        type = TYPE_UNSUPPORTED;
    else if (str_is(p->acc, "MS:1000576")) comp = COMP_NONE;
    else if (str_is(p->acc, "MS:1000574")) comp = COMP_ZLIB;
    else if (in_list(p->acc, unsupported_compressions,
                     sizeof unsupported_compressions / sizeof *unsupported_compressions) ||
             str_contains(p->name, "compression") || str_contains(p->name, "numpress"))
        comp = COMP_UNSUPPORTED;
    else if (str_contains(p->name, " array")) /* charge array, signal to noise array, ... */
        kind = KIND_OTHER;
    char t[160];
    if (kind) {
        if (a->kind == KIND_UNSET || a->kind == KIND_OTHER) a->kind = kind;
        else if (kind != KIND_OTHER && kind != a->kind)
            arr_problem(a, NPSW_EPARSE, line, "the binaryDataArray is said to be both an m/z "
                                              "and an intensity array");
    }
    if (type) {
        if (type == TYPE_UNSUPPORTED) {
            if (a->type != TYPE_UNSUPPORTED) {
                term_text(p, a->type_term, sizeof a->type_term);
                a->type_line = line;
            }
            a->type = TYPE_UNSUPPORTED;
        } else if (a->type == TYPE_UNSET) {
            a->type = type;
        } else if (a->type != type && a->type != TYPE_UNSUPPORTED) {
            term_text(p, t, sizeof t);
            arr_problem(a, NPSW_EPARSE, line, "a second binary data type %s contradicts the "
                                              "first",
                        t);
        }
    }
    if (comp) {
        if (comp == COMP_UNSUPPORTED) {
            if (a->comp != COMP_UNSUPPORTED) {
                term_text(p, a->comp_term, sizeof a->comp_term);
                a->comp_line = line;
            }
            a->comp = COMP_UNSUPPORTED;
        } else if (a->comp == COMP_UNSET) {
            a->comp = comp;
        } else if (a->comp != comp && a->comp != COMP_UNSUPPORTED) {
            term_text(p, t, sizeof t);
            arr_problem(a, NPSW_EPARSE, line, "a second compression term %s contradicts the "
                                              "first",
                        t);
        }
    }
}

static int parse_number(const cvparam *p, double *x)
{
    return npsw_parse_double_full(p->value.p ? p->value.p : "", p->value.n, 0, x) == 0;
}

static int bad_value(mzml_state *st, const cvparam *p, uint64_t line, const char *expected)
{
    char t[160], lb[160];
    term_text(p, t, sizeof t);
    mz_warn(st, line, "spectrum %s: %s has the value '%.*s' (expected %s); ignored",
            label(&st->sp, lb, sizeof lb), t, (int)(p->value.n > 40 ? 40 : p->value.n),
            p->value.p ? p->value.p : "", expected);
    return 0;
}

static const char *unit_text(const cvparam *p, char *buf, size_t size)
{
    if (str_is(p->unit_acc, "UO:0000010")) return "s";
    if (str_is(p->unit_acc, "UO:0000031")) return "min";
    if (str_is(p->unit_acc, "UO:0000028")) return "ms";
    if (str_is(p->unit_acc, "UO:0000266")) return "eV";
    size_t n = p->unit_name.n > size - 1 ? size - 1 : p->unit_name.n;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p->unit_name.p[i];
        buf[i] = c < 0x20 || c >= 0x7f ? ' ' : (char)c; /* ASCII only: never cut a character */
    }
    buf[n] = '\0';
    return buf;
}

/* "35 eV", "5.89 min": the number as written, then the unit. */
static void value_with_unit(const cvparam *p, char *buf, size_t size)
{
    char ub[40];
    const char *v = p->value.p;
    size_t vn = p->value.n;
    npsw_trim(&v, &vn);
    const char *u = unit_text(p, ub, sizeof ub);
    snprintf(buf, size, "%.*s%s%s", (int)(vn > 40 ? 40 : vn), v, u[0] ? " " : "", u);
}

static int precursor_param(mzml_state *st, const cvparam *p, uint64_t line)
{
    spec *sp = &st->sp;
    double x;
    if (str_is(p->acc, "MS:1000744")) { /* selected ion m/z */
        if (!parse_number(p, &x) || !(x > 0) || x > VALUE_LIMIT)
            return bad_value(st, p, line, "a positive m/z");
        if (!sp->n_selected++) sp->precursor_mz = x;
    } else if (str_is(p->acc, "MS:1000041")) { /* charge state */
        if (!parse_number(p, &x) || x != floor(x) || fabs(x) > 1000)
            return bad_value(st, p, line, "a whole number");
        if (!sp->have_charge) sp->charge = (long)x, sp->have_charge = 1;
    } else if (str_is(p->acc, "MS:1000045")) { /* collision energy */
        if (!parse_number(p, &x)) return bad_value(st, p, line, "a number");
        if (sp->collision_energy) return 0;
        char buf[96];
        value_with_unit(p, buf, sizeof buf);
        sp->collision_energy = strdup(buf);
        if (!sp->collision_energy) nomem(st);
    }
    return 0;
}

static int spectrum_param(mzml_state *st, const cvparam *p, uint64_t line)
{
    spec *sp = &st->sp;
    double x;
    if (str_is(p->acc, "MS:1000511")) { /* ms level */
        if (!parse_number(p, &x) || x != floor(x) || x < 1 || x > 100)
            return bad_value(st, p, line, "a whole number from 1");
        sp->ms_level = (int)x;
    } else if (str_is(p->acc, "MS:1000130")) {
        sp->positive = 1;
    } else if (str_is(p->acc, "MS:1000129")) {
        sp->negative = 1;
    } else if (str_is(p->acc, "MS:1000128")) {
        sp->profile = 1;
    } else if (str_is(p->acc, "MS:1000796")) { /* spectrum title */
        if (sp->title || !p->value.n) return 0;
        sp->title = attr_text(p->value);
        if (!sp->title) nomem(st);
    } else if (str_is(p->acc, "MS:1000016")) { /* scan start time */
        if (!parse_number(p, &x)) return bad_value(st, p, line, "a number");
        if (!sp->rt[0]) value_with_unit(p, sp->rt, sizeof sp->rt);
    }
    return 0;
}

/* A cvParam inside the current spectrum, by where it stands. */
static void apply_param(mzml_state *st, const cvparam *p, uint64_t line)
{
    spec *sp = &st->sp;
    if (sp->bda_depth)
        array_param(st, p, line);
    else if (sp->product_depth)
        return;
    else if (sp->precursor_depth)
        (void)precursor_param(st, p, line);
    else
        (void)spectrum_param(st, p, line);
}

/* ---- binary arrays --------------------------------------------------------------------- */

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Strict base64 (RFC 4648, with padding; white space was dropped while reading). `out` has room
 * for n / 4 * 3 bytes. Returns the number of bytes, or -1 with a reason in `why`. */
static long long b64_decode(const char *in, size_t n, unsigned char *out, char *why, size_t whysize)
{
    if (n % 4) {
        snprintf(why, whysize, "%zu base64 characters, not a multiple of 4 (cut short, or "
                               "padding '=' missing)",
                 n);
        return -1;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + k];
            if (c == '=' && i + 4 == n && k >= 2) {
                pad++;
                v[k] = 0;
                continue;
            }
            v[k] = b64_value(c);
            if (v[k] < 0 || pad) {
                if (pad)
                    snprintf(why, whysize, "base64 data after the padding '=' at character %zu",
                             i + (size_t)k + 1);
                else if (c == '=')
                    snprintf(why, whysize, "padding '=' at base64 character %zu, before the end",
                             i + (size_t)k + 1);
                else if (c >= 0x21 && c < 0x7f)
                    snprintf(why, whysize, "'%c' at base64 character %zu is not base64", c,
                             i + (size_t)k + 1);
                else
                    snprintf(why, whysize, "byte 0x%02X at base64 character %zu is not base64",
                             c, i + (size_t)k + 1);
                return -1;
            }
        }
        unsigned long w = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
                          (unsigned long)v[2] << 6 | (unsigned long)v[3];
        out[o++] = (unsigned char)(w >> 16);
        if (pad < 2) out[o++] = (unsigned char)(w >> 8);
        if (pad < 1) out[o++] = (unsigned char)w;
    }
    return (long long)o;
}

static double le_f32(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static double le_f64(const unsigned char *p)
{
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--) u = u << 8 | p[i];
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

static const char *kind_name(int kind) { return kind == KIND_MZ ? "m/z" : "intensity"; }

/* Decode the finished m/z or intensity array into sp->vals[kind]. */
static void decode_array(mzml_state *st)
{
    spec *sp = &st->sp;
    array *a = &sp->arr;
    const char *what = kind_name(a->kind);
    char why[200];
    unsigned char *raw = NULL, *bytes = NULL;
    size_t width = a->type == TYPE_F32 ? 4 : 8;
    size_t expect = (size_t)a->length * width;
    raw = malloc(a->b64_n / 4 * 3 + 1);
    if (!raw) goto nomem;
    long long got = b64_decode(a->b64 ? a->b64 : "", a->b64_n, raw, why, sizeof why);
    if (got < 0) {
        sp_fail(st, NPSW_EPARSE, a->binary_line, "the %s array is not valid base64: %s", what,
                why);
        goto done;
    }
    if (a->comp == COMP_ZLIB) {
        bytes = malloc(expect ? expect : 1);
        if (!bytes) goto nomem;
        uLongf dl = (uLongf)expect;
        uLong sl = (uLong)got;
        int zr = uncompress2(bytes, &dl, raw, &sl);
        if (zr == Z_MEM_ERROR) goto nomem;
        /* Z_BUF_ERROR: the output is full, or the input ended; with input left, the data go
         * on beyond the declared length */
        if (zr == Z_BUF_ERROR && sl < (uLong)got) {
            sp_fail(st, NPSW_EPARSE, a->binary_line, "the zlib data of the %s array inflate to "
                                                     "more than the %zu bytes that %lld values of "
                                                     "%zu-bit floats take",
                    what, expect, a->length, width * 8);
            goto done;
        }
        if (zr != Z_OK) {
            sp_fail(st, NPSW_EPARSE, a->binary_line, "the %s array is not valid zlib data (%s)",
                    what, zr == Z_BUF_ERROR ? "the stream is cut short" : "corrupt or cut short");
            goto done;
        }
        if (dl != expect) {
            sp_fail(st, NPSW_EPARSE, a->binary_line, "the zlib data of the %s array inflate to "
                                                     "%lu bytes; %lld values of %zu-bit floats "
                                                     "take %zu",
                    what, (unsigned long)dl, a->length, width * 8, expect);
            goto done;
        }
        if (sl != (uLong)got) {
            sp_fail(st, NPSW_EPARSE, a->binary_line, "%llu bytes follow the zlib stream of the "
                                                     "%s array",
                    (unsigned long long)((uLong)got - sl), what);
            goto done;
        }
    } else {
        if ((size_t)got != expect) {
            sp_fail(st, NPSW_EPARSE, a->binary_line, "the %s array holds %lld bytes; %lld "
                                                     "values of %zu-bit floats take %zu",
                    what, got, a->length, width * 8, expect);
            goto done;
        }
        bytes = raw;
        raw = NULL;
    }
    size_t n = (size_t)a->length;
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) goto nomem;
    for (size_t i = 0; i < n; i++) {
        v[i] = width == 4 ? le_f32(bytes + 4 * i) : le_f64(bytes + 8 * i);
        if (!isfinite(v[i]) || fabs(v[i]) > VALUE_LIMIT) {
            if (isfinite(v[i]))
                sp_fail(st, NPSW_EPARSE, a->binary_line, "value %zu of the %s array, %g, is out "
                                                         "of range (beyond +-1e30)",
                        i + 1, what, v[i]);
            else
                sp_fail(st, NPSW_EPARSE, a->binary_line, "value %zu of the %s array is %s", i + 1,
                        what, isnan(v[i]) ? "NaN" : "infinite");
            free(v);
            goto done;
        }
    }
    sp->vals[a->kind] = v;
    sp->nvals[a->kind] = (uint32_t)n;
    sp->have[a->kind] = 1;
done:
    free(raw);
    free(bytes);
    return;
nomem:
    free(raw);
    free(bytes);
    nomem(st);
}

static void bda_start(mzml_state *st, const xmlChar **a, int na)
{
    spec *sp = &st->sp;
    array *ar = &sp->arr;
    free(ar->b64);
    memset(ar, 0, sizeof *ar);
    sp->bda_depth = st->depth;
    ar->line = cur_line(st);
    ar->length = sp->default_len;
    str al = attr(a, na, "arrayLength");
    if (al.p) {
        long long n = parse_count(al);
        if (n < 0)
            arr_problem(ar, NPSW_EPARSE, ar->line, "arrayLength '%.*s' is not a count",
                        (int)(al.n > 20 ? 20 : al.n), al.p);
        else
            ar->length = n;
    }
}

static void binary_start(mzml_state *st)
{
    spec *sp = &st->sp;
    array *a = &sp->arr;
    if (a->have_binary) {
        arr_problem(a, NPSW_EPARSE, cur_line(st), "a second <binary> element in one "
                                                  "binaryDataArray");
        return;
    }
    sp->binary_depth = st->depth;
    a->have_binary = 1;
    a->binary_line = cur_line(st);
    a->accumulate = 0;
    if (a->length < 0 || a->length > (long long)st->r->opts.max_peaks ||
        a->type == TYPE_UNSUPPORTED || a->comp == COMP_UNSUPPORTED || a->kind == KIND_OTHER)
        return; /* reported (or ignored) when the array ends */
    size_t raw = (size_t)a->length * (a->type == TYPE_F32 ? 4 : 8);
    size_t dec = a->comp == COMP_NONE ? raw : (size_t)compressBound((uLong)raw);
    a->b64_max = (dec + 2) / 3 * 4;
    a->accumulate = 1;
}

static int bda_end(mzml_state *st)
{
    spec *sp = &st->sp;
    array *a = &sp->arr;
    char lb[160];
    if (a->kind != KIND_MZ && a->kind != KIND_INTENSITY) return 0; /* an array npswatch ignores */
    const char *what = kind_name(a->kind);
    if (sp->have[a->kind])
        return sp_fail(st, NPSW_EPARSE, a->line, "a second %s array", what);
    if (a->comp == COMP_UNSUPPORTED)
        return sp_fail(st, NPSW_EUNSUPPORTED, a->comp_line,
                       "the %s array is compressed with %s, which npswatch cannot read (it reads "
                       "zlib MS:1000574 and no compression MS:1000576: convert the file again "
                       "without MS-Numpress, e.g. msconvert --zlib)",
                       what, a->comp_term);
    if (a->type == TYPE_UNSUPPORTED)
        return sp_fail(st, NPSW_EUNSUPPORTED, a->type_line,
                       "the %s array holds %s, which npswatch cannot read (it reads 32-bit float "
                       "MS:1000521 and 64-bit float MS:1000523)",
                       what, a->type_term);
    if (a->problem) return sp_fail(st, a->problem, a->problem_line, "%s", a->problem_msg);
    if (a->type == TYPE_UNSET)
        return sp_fail(st, NPSW_EPARSE, a->line, "the %s array has no binary data type (expected "
                                                 "MS:1000521 32-bit float or MS:1000523 64-bit "
                                                 "float)",
                       what);
    if (a->length < 0)
        return sp_fail(st, NPSW_EPARSE, a->line, "the %s array has no length: neither "
                                                 "defaultArrayLength on <spectrum> nor arrayLength "
                                                 "on <binaryDataArray>",
                       what);
    if (a->length > (long long)st->r->opts.max_peaks)
        return sp_fail(st, NPSW_ELIMIT, a->line, "the %s array has %lld values, more than the "
                                                 "limit of %u peaks per spectrum",
                       what, a->length, st->r->opts.max_peaks);
    if (!a->have_binary)
        return sp_fail(st, NPSW_EPARSE, a->line, "the %s array has no <binary> element", what);
    if (a->overflow)
        return sp_fail(st, NPSW_EPARSE, a->binary_line, "the <binary> text of the %s array is "
                                                        "longer than %lld values of %d-bit floats "
                                                        "can take (%zu base64 characters)",
                       what, a->length, a->type == TYPE_F32 ? 32 : 64, a->b64_max);
    if (a->comp == COMP_UNSET) {
        mz_warn(st, a->line, "spectrum %s: the %s array names no compression "
                             "(MS:1000574 zlib or MS:1000576 none); read as "
                             "uncompressed",
                label(sp, lb, sizeof lb), what);
        a->comp = COMP_NONE;
    }
    decode_array(st);
    return 0;
}

/* ---- spectra --------------------------------------------------------------------------- */

static int spectrum_start(mzml_state *st, const xmlChar **a, int na)
{
    spec *sp = &st->sp;
    spec_reset(sp);
    sp->depth = st->depth;
    sp->line = cur_line(st);
    if (sp->line == 0) sp->line = 1;
    str id = attr(a, na, "id"), index = attr(a, na, "index");
    long long ix = parse_count(index);
    snprintf(sp->index, sizeof sp->index, "%lld", ix >= 0 ? ix : st->n_spectra);
    st->n_spectra++;
    if (id.p) {
        sp->id = attr_text(id);
        if (!sp->id) return nomem(st);
    }
    str dal = attr(a, na, "defaultArrayLength");
    sp->default_len = -1;
    if (dal.p) {
        sp->default_len = parse_count(dal);
        if (sp->default_len < 0)
            sp_fail(st, NPSW_EPARSE, sp->line, "defaultArrayLength '%.*s' is not a count",
                    (int)(dal.n > 20 ? 20 : dal.n), dal.p);
        else if (sp->default_len > (long long)st->r->opts.max_peaks)
            sp_fail(st, NPSW_ELIMIT, sp->line, "defaultArrayLength %lld is more than the limit "
                                               "of %u peaks per spectrum",
                    sp->default_len, st->r->opts.max_peaks);
    }
    return 0;
}

static int add_comment(npsw_spectrum *s, const char *fmt, ...) NPSW_PRINTF(2, 3);
static int add_comment(npsw_spectrum *s, const char *fmt, ...)
{
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return npsw_spectrum_append_meta(s, NPSW_META_COMMENTS, buf, (size_t)-1);
}

/* Fill the queued spectrum from the finished <spectrum>. Returns 0, or NPSW_ENOMEM. */
static int build(mzml_state *st, npsw_spectrum *s, uint32_t n)
{
    spec *sp = &st->sp;
    char lb[160];
    if (npsw_spectrum_reserve(s, n) < 0) return NPSW_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        s->mz[i] = sp->vals[KIND_MZ][i];
        s->intensity[i] = (float)sp->vals[KIND_INTENSITY][i];
    }
    s->n = n;
    s->src_line = sp->line;
    const char *name = sp->title ? sp->title : sp->id;
    if (name && name[0] && npsw_spectrum_set_meta(s, NPSW_META_NAME, name, (size_t)-1) < 0)
        return NPSW_ENOMEM;
    if (sp->id && sp->id[0] &&
        npsw_spectrum_set_meta(s, NPSW_META_ACCESSION, sp->id, (size_t)-1) < 0)
        return NPSW_ENOMEM;
    if (sp->positive && sp->negative)
        mz_warn(st, sp->line, "spectrum %s: both positive scan (MS:1000130) and "
                              "negative scan (MS:1000129); ion mode left unknown",
                label(sp, lb, sizeof lb));
    else if (sp->positive)
        s->ion_mode = NPSW_ION_POSITIVE;
    else if (sp->negative)
        s->ion_mode = NPSW_ION_NEGATIVE;
    if (sp->n_selected) {
        s->precursor_mz = sp->precursor_mz;
        if (sp->n_selected > 1)
            mz_warn(st, sp->line, "spectrum %s: %d selected ion m/z values; the "
                                  "first, %.4f, is used",
                    label(sp, lb, sizeof lb), sp->n_selected, sp->precursor_mz);
    }
    if (sp->collision_energy &&
        npsw_spectrum_set_meta(s, NPSW_META_COLLISION_ENERGY, sp->collision_energy, (size_t)-1) <
            0)
        return NPSW_ENOMEM;
    if (sp->ms_level && add_comment(s, "MS level: %d", sp->ms_level) < 0) return NPSW_ENOMEM;
    if (sp->rt[0] && add_comment(s, "scan start time: %s", sp->rt) < 0) return NPSW_ENOMEM;
    if (sp->have_charge && add_comment(s, "charge state: %ld", sp->charge) < 0)
        return NPSW_ENOMEM;
    if (sp->profile && !st->profile_warned++)
        mz_warn(st, sp->line, "spectrum %s is profile data (MS:1000128): every "
                              "data point is read as a peak; centroid the file "
                              "first (e.g. msconvert --filter \"peakPicking true "
                              "1-\"). Not repeated for later spectra",
                label(sp, lb, sizeof lb));
    return 0;
}

static int spectrum_end(mzml_state *st)
{
    spec *sp = &st->sp;
    char lb[160];
    label(sp, lb, sizeof lb);
    if (!sp->err) {
        if (!sp->have[KIND_MZ] && !sp->have[KIND_INTENSITY] && sp->default_len == 0)
            sp_fail(st, NPSW_EPARSE, sp->line, "no peaks (defaultArrayLength=\"0\")");
        else if (!sp->have[KIND_MZ])
            sp_fail(st, NPSW_EPARSE, sp->line, "no m/z array (a binaryDataArray with "
                                               "MS:1000514)");
        else if (!sp->have[KIND_INTENSITY])
            sp_fail(st, NPSW_EPARSE, sp->line, "no intensity array (a binaryDataArray with "
                                               "MS:1000515)");
        else if (sp->nvals[KIND_MZ] != sp->nvals[KIND_INTENSITY])
            sp_fail(st, NPSW_EPARSE, sp->line, "the m/z array has %u values but the intensity "
                                               "array %u",
                    sp->nvals[KIND_MZ], sp->nvals[KIND_INTENSITY]);
        else if (sp->nvals[KIND_MZ] == 0)
            sp_fail(st, NPSW_EPARSE, sp->line, "no peaks (empty arrays)");
    }
    item *it = q_push(st);
    if (!it) {
        spec_reset(sp);
        return nomem(st);
    }
    if (sp->err) {
        it->rc = sp->err;
        npsw_err_set(&it->err, sp->err, st->r->name, sp->err_line, "spectrum %s: %s; spectrum "
                                                                   "skipped",
                     lb, sp->err_msg);
    } else if (build(st, &it->s, sp->nvals[KIND_MZ]) < 0) {
        npsw_spectrum_free(&it->s);
        st->q_n--;
        spec_reset(sp);
        return nomem(st);
    }
    attach_warnings(st, it);
    spec_reset(sp);
    return 0;
}

/* ---- SAX callbacks --------------------------------------------------------------------- */

static void on_start(void *user, const xmlChar *localname, const xmlChar *prefix,
                     const xmlChar *uri, int n_ns, const xmlChar **ns, int na, int n_defaulted,
                     const xmlChar **a)
{
    (void)prefix, (void)uri, (void)n_ns, (void)ns, (void)n_defaulted;
    mzml_state *st = user;
    st->depth++;
    if (st->stopped) return;
    const char *name = (const char *)localname;
    spec *sp = &st->sp;
    if (st->depth == 1) {
        if (strcmp(name, "mzML") != 0 && strcmp(name, "indexedmzML") != 0) {
            file_fail(st, NPSW_EFORMAT, cur_line(st), "not an mzML file: the root element is "
                                                      "<%.60s>, expected <mzML> or <indexedmzML>",
                      name);
            stop_parser(st);
        }
        return;
    }
    if (!sp->depth) {
        if (st->group_depth) {
            if (st->open_group && strcmp(name, "cvParam") == 0) {
                cvparam p = read_cvparam(a, na);
                (void)group_add(st, &p);
            }
        } else if (strcmp(name, "spectrum") == 0) {
            (void)spectrum_start(st, a, na);
        } else if (strcmp(name, "referenceableParamGroup") == 0) {
            (void)group_start(st, a, na);
        }
        return;
    }
    if (sp->err || sp->binary_depth) return; /* a bad spectrum, or elements inside <binary> */
    if (strcmp(name, "cvParam") == 0) {
        cvparam p = read_cvparam(a, na);
        apply_param(st, &p, cur_line(st));
    } else if (strcmp(name, "referenceableParamGroupRef") == 0) {
        str ref = attr(a, na, "ref");
        const group *g = find_group(st, ref);
        uint64_t line = cur_line(st);
        if (!g) {
            sp_fail(st, NPSW_EPARSE, line, "referenceableParamGroupRef to '%.*s', which no "
                                           "referenceableParamGroup before it defines",
                    (int)(ref.n > 80 ? 80 : ref.n), ref.p ? ref.p : "");
            return;
        }
        for (size_t i = 0; i < g->n; i++) apply_param(st, &g->v[i], line);
    } else if (strcmp(name, "binaryDataArray") == 0) {
        if (!sp->bda_depth) bda_start(st, a, na);
    } else if (strcmp(name, "binary") == 0) {
        if (sp->bda_depth) binary_start(st);
    } else if (strcmp(name, "precursor") == 0) {
        if (!sp->precursor_depth) sp->precursor_depth = st->depth;
    } else if (strcmp(name, "product") == 0) {
        if (!sp->product_depth) sp->product_depth = st->depth;
    }
}

static void on_end(void *user, const xmlChar *localname, const xmlChar *prefix, const xmlChar *uri)
{
    (void)localname, (void)prefix, (void)uri;
    mzml_state *st = user;
    spec *sp = &st->sp;
    if (!st->stopped) {
        if (sp->depth && st->depth == sp->depth) {
            (void)spectrum_end(st);
        } else if (sp->depth && !sp->err) {
            if (st->depth == sp->binary_depth) {
                sp->binary_depth = 0;
            } else if (st->depth == sp->bda_depth) {
                (void)bda_end(st);
                sp->bda_depth = 0;
                free(sp->arr.b64);
                sp->arr.b64 = NULL;
            } else if (st->depth == sp->precursor_depth) {
                sp->precursor_depth = 0;
            } else if (st->depth == sp->product_depth) {
                sp->product_depth = 0;
            }
        } else if (!sp->depth && st->group_depth == st->depth) {
            st->group_depth = 0;
            st->open_group = NULL;
        }
    }
    st->depth--;
}

static void on_chars(void *user, const xmlChar *ch, int len)
{
    mzml_state *st = user;
    spec *sp = &st->sp;
    array *a = &sp->arr;
    if (st->stopped || !sp->depth || sp->err || !sp->binary_depth ||
        st->depth != sp->binary_depth || !a->accumulate || a->overflow)
        return;
    for (int i = 0; i < len; i++) {
        unsigned char c = ch[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
        if (a->b64_n == a->b64_max) {
            a->overflow = 1;
            return;
        }
        if (a->b64_n == a->b64_cap) {
            size_t cap = a->b64_cap ? a->b64_cap * 2 : 4096;
            if (cap > a->b64_max) cap = a->b64_max;
            char *b = realloc(a->b64, cap);
            if (!b) {
                nomem(st);
                return;
            }
            a->b64 = b;
            a->b64_cap = cap;
        }
        a->b64[a->b64_n++] = (char)c;
    }
}

/* A document type declaration: stop before its entity declarations are read. */
static void on_doctype(void *user, const xmlChar *name, const xmlChar *external_id,
                       const xmlChar *system_id)
{
    (void)external_id, (void)system_id;
    mzml_state *st = user;
    file_fail(st, NPSW_EUNSUPPORTED, cur_line(st),
              "a document type declaration (<!DOCTYPE %.40s ...>) is refused: mzML does not use "
              "one, and its entities could expand without bound or read other files",
              name ? (const char *)name : "");
    stop_parser(st); /* before the internal subset (the entity declarations) is parsed */
}

static void on_xml_error(void *user, xmlErrorPtr e)
{
    mzml_state *st = user;
    if (!e || st->stopped || e->code == XML_ERR_USER_STOP) return;
    char msg[240], lb[160];
    snprintf(msg, sizeof msg, "%s", e->message ? e->message : "unknown error");
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = '\0';
    for (char *c = msg; *c; c++)
        if ((unsigned char)*c < 0x20) *c = ' ';
    uint64_t line = e->line > 0 ? clamp_line(st, e->line) : cur_line(st);
    spec *sp = &st->sp;
    if (e->level != XML_ERR_FATAL) {
        if (st->xml_warnings++ < MAX_XML_WARNINGS)
            mz_warn(st, line, "XML %s: %s%s",
                    e->level == XML_ERR_WARNING ? "warning" : "error", msg,
                    st->xml_warnings == MAX_XML_WARNINGS ? " (further XML warnings are "
                                                           "not shown)"
                                                         : "");
        return;
    }
    if (st->terminating && st->depth > 0) {
        /* libxml2 words the end of input inside an element as "Extra content at the end of
         * the document": say what happened instead */
        if (e->code == XML_ERR_DOCUMENT_END) msg[0] = '\0';
        const char *pre = msg[0] ? " (XML: " : "", *post = msg[0] ? ")" : "";
        if (sp->depth)
            file_fail(st, NPSW_EPARSE, line, "the file ends inside spectrum %s, which starts at "
                                             "line %llu: truncated file?%s%s%s",
                      label(sp, lb, sizeof lb), (unsigned long long)sp->line, pre, msg, post);
        else
            file_fail(st, NPSW_EPARSE, line, "the file ends before the mzML document is "
                                             "complete: truncated file?%s%s%s",
                      pre, msg, post);
    } else if (sp->depth) {
        file_fail(st, NPSW_EPARSE, line, "XML error in spectrum %s, which starts at line %llu: "
                                         "%s; the rest of the file cannot be read",
                  label(sp, lb, sizeof lb), (unsigned long long)sp->line, msg);
    } else {
        file_fail(st, NPSW_EPARSE, line, "XML error: %s; the rest of the file cannot be read",
                  msg);
    }
}

/* ---- the reader's interface ------------------------------------------------------------ */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;
static void xml_init(void) { xmlInitParser(); }

static void mzml_free_state(void *state)
{
    mzml_state *st = state;
    if (!st) return;
    if (st->ctxt) {
        if (st->ctxt->myDoc) xmlFreeDoc(st->ctxt->myDoc);
        xmlFreeParserCtxt(st->ctxt);
    }
    spec_reset(&st->sp);
    for (size_t i = 0; i < st->n_groups; i++) {
        for (size_t k = 0; k < st->groups[i].n; k++) free(st->groups[i].v[k].mem);
        free(st->groups[i].v);
        free(st->groups[i].id);
    }
    free(st->groups);
    for (size_t i = st->q_head; i < st->q_n; i++) {
        npsw_spectrum_free(&st->q[i].s);
        free(st->q[i].w.v);
    }
    free(st->q);
    free(st->pending.v);
    free(st);
}

static mzml_state *start(npsw_reader *r)
{
    pthread_once(&xml_once, xml_init);
    mzml_state *st = calloc(1, sizeof *st);
    if (!st) return NULL;
    st->r = r;
    npsw_lines ls = {r->buf, r->len, 0, 0};
    npsw_line ln;
    while (npsw_lines_next(&ls, &ln) == 0) {
    }
    st->n_lines = ls.no;
    xmlSAXHandler sax;
    memset(&sax, 0, sizeof sax);
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = on_start;
    sax.endElementNs = on_end;
    sax.characters = on_chars;
    sax.cdataBlock = on_chars;
    sax.internalSubset = on_doctype;
    sax.serror = on_xml_error;
    st->pos = r->len < 4 ? r->len : 4;
    st->ctxt = xmlCreatePushParserCtxt(&sax, st, r->buf, (int)st->pos, r->name);
    if (!st->ctxt) {
        free(st);
        return NULL;
    }
    (void)xmlCtxtUseOptions(st->ctxt, XML_PARSE_NONET);
    return st;
}

/* Parse the next chunk; after the last one, tell the parser that the input ends (a separate
 * call, so that errors raised then are about the end of the file). */
static void feed(mzml_state *st)
{
    npsw_reader *r = st->r;
    size_t n = r->len - st->pos < CHUNK ? r->len - st->pos : CHUNK;
    st->terminating = n == 0;
    /* Errors raised outside the parser context (encoding conversion, I/O) go through the
     * thread's global handler: point it at this file for the call, then restore it. */
    xmlStructuredErrorFunc old = xmlStructuredError;
    void *old_ctx = xmlStructuredErrorContext;
    xmlSetStructuredErrorFunc(st, on_xml_error);
    int rc = xmlParseChunk(st->ctxt, n ? r->buf + st->pos : NULL, (int)n, st->terminating);
    xmlSetStructuredErrorFunc(old_ctx, old);
    st->pos += n;
    r->lines.pos = st->pos; /* progress reports */
    /* rc also reports recoverable errors (namespaces), already warned about; a fatal one has
     * normally stopped the parse through on_xml_error */
    if (rc != 0 && !st->stopped && !st->ctxt->wellFormed)
        file_fail(st, NPSW_EPARSE, clamp_line(st, xmlSAX2GetLineNumber(st->ctxt)),
                  "XML error %d; the rest of the file cannot be read", rc);
    if (st->terminating || st->stopped) st->finished = 1;
}

static int mzml_next(npsw_reader *r, npsw_spectrum *s, npsw_err *err)
{
    mzml_state *st = r->state;
    if (!st) {
        st = start(r);
        if (!st) return npsw_err_set(err, NPSW_ENOMEM, r->name, 0, "out of memory");
        r->state = st;
    }
    while (st->q_head == st->q_n && !st->finished) feed(st);
    if (st->q_head == st->q_n) {
        flush_warnings(r, &st->pending);
        if (st->lost_error) {
            st->lost_error = 0;
            return npsw_err_set(err, NPSW_ENOMEM, r->name, 0, "out of memory");
        }
        return NPSW_EOF;
    }
    item *it = &st->q[st->q_head++];
    flush_warnings(r, &it->w);
    int rc = it->rc;
    if (rc < 0) {
        if (err) *err = it->err;
        return rc;
    }
    npsw_spectrum_free(s);
    *s = it->s;
    npsw_spectrum_init(&it->s);
    return 0;
}

/* 95 for XML that names <mzML> or <indexedmzML> (with any namespace prefix), 40 for other XML,
 * 0 for anything that does not start with '<'. */
static int mzml_probe(const char *buf, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) i = 3;
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')) i++;
    if (i == len || buf[i] != '<') return 0;
    for (size_t k = i; k + 5 <= len; k++) {
        if (buf[k] != 'm' || memcmp(buf + k, "mzML", 4) != 0 || k == 0) continue;
        char before = buf[k - 1], after = k + 4 < len ? buf[k + 4] : '\0';
        int open = before == '<' || before == ':' ||
                   (k >= 8 && memcmp(buf + k - 8, "<indexed", 8) == 0) ||
                   (k >= 7 && memcmp(buf + k - 7, ":indexed", 7) == 0);
        if (open && (after == ' ' || after == '>' || after == '\t' || after == '\r' ||
                     after == '\n'))
            return 95;
    }
    return len - i >= 5 && memcmp(buf + i, "<?xml", 5) == 0 ? 40 : 0;
}

const npsw_format_ops npsw_mzml_ops = {NPSW_FMT_MZML, "mzml", mzml_probe, mzml_next,
                                       mzml_free_state};

const char *npsw_libxml2_version(void)
{
    /* xmlParserVersion is the running library's version as digits, e.g. "20914" = 2.9.14 */
    static char buf[48];
    long v = strtol(xmlParserVersion, NULL, 10);
    snprintf(buf, sizeof buf, "libxml2 %ld.%ld.%ld", v / 10000, v / 100 % 100, v % 100);
    return buf;
}
