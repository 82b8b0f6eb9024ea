/* npsw_api.c - the stable C API for bindings (npsw/npsw_api.h): opaque handles over the library,
 * the importers, the search and the analogue analysis, with a per-thread error message. */
#include "npsw/npsw_api.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npsw/analyse.h"
#include "npsw/config.h"
#include "npsw/io.h"
#include "npsw/libfile.h"
#include "npsw/search.h"

#define API_MAX_PEAKS 1000000u

/* ---- errors ---------------------------------------------------------------------------- */

static _Thread_local int last_code;
static _Thread_local char last_msg[NPSW_ERR_MSG_MAX + NPSW_ERR_WHERE_MAX + 64];

static int fail_err(const npsw_err *e)
{
    last_code = e->code < 0 ? e->code : NPSW_EINVAL;
    npsw_err_format(e, last_msg, sizeof last_msg);
    return last_code;
}

static int fail(int code, const char *fmt, ...) NPSW_PRINTF(2, 3);
static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof last_msg, fmt, ap);
    va_end(ap);
    last_code = code;
    return code;
}

int npsw_api_version(void) { return NPSW_API_VERSION; }
const char *npsw_api_npswatch_version(void) { return NPSW_VERSION; }
const char *npsw_api_errmsg(void) { return last_msg; }
int npsw_api_errcode(void) { return last_code; }
void npsw_api_free(void *p) { free(p); }

/* ---- libraries ------------------------------------------------------------------------- */

/* npsw_api_lib_info's computed strings ("format", "cleaning"); the others come straight from
 * the library's info. */
static _Thread_local char info_buf[512];

npsw_lib *npsw_api_lib_open(const char *path)
{
    if (!path) {
        fail(NPSW_EINVAL, "no library path given");
        return NULL;
    }
    npsw_err e;
    npsw_err_clear(&e);
    npsw_lib *lib = npsw_lib_open(path, &e);
    if (!lib) fail_err(&e);
    return lib;
}

void npsw_api_lib_close(npsw_lib *lib) { npsw_lib_free(lib); }

const char *npsw_api_lib_info(const npsw_lib *lib, const char *key)
{
    if (!lib || !key) {
        fail(NPSW_EINVAL, "npsw_api_lib_info: no library or key");
        return NULL;
    }
    const npsw_lib_info *li = npsw_lib_get_info(lib);
    if (!strcmp(key, "name")) return li->name;
    if (!strcmp(key, "version")) return li->version;
    if (!strcmp(key, "sha256")) return li->content_sha256;
    if (!strcmp(key, "created_utc")) return li->created_utc;
    if (!strcmp(key, "npswatch_version")) return li->npsw_version;
    if (!strcmp(key, "mass_mode")) return li->clean.nominal ? "nominal" : "accurate";
    if (!strcmp(key, "format")) {
        snprintf(info_buf, sizeof info_buf, "%d.%d", li->format_major, li->format_minor);
        return info_buf;
    }
    if (!strcmp(key, "cleaning")) {
        npsw_clean_opts_describe(&li->clean, info_buf, sizeof info_buf);
        return info_buf;
    }
    fail(NPSW_EINVAL,
         "unknown library key '%s' (name, version, sha256, created_utc, npswatch_version, "
         "format, cleaning, mass_mode)",
         key);
    return NULL;
}

uint64_t npsw_api_lib_size(const npsw_lib *lib) { return lib ? npsw_lib_size(lib) : 0; }

static int meta_field(const char *name)
{
    for (int f = 0; f < NPSW_META_COUNT; f++)
        if (!strcmp(npsw_meta_column(f), name)) return f;
    return -1;
}

const char *npsw_api_lib_meta(const npsw_lib *lib, uint64_t index, const char *field)
{
    static _Thread_local char buf[4096];
    if (!lib || !field) {
        fail(NPSW_EINVAL, "npsw_api_lib_meta: no library or field");
        return NULL;
    }
    int f = meta_field(field);
    if (f < 0) {
        fail(NPSW_EINVAL, "unknown metadata field '%s' (name, inchikey, formula, cas, accession, "
                          "class, ...: docs/format.md)",
             field);
        return NULL;
    }
    if (index >= npsw_lib_size(lib)) {
        fail(NPSW_EINVAL, "library index %llu out of range (the library has %llu spectra)",
             (unsigned long long)index, (unsigned long long)npsw_lib_size(lib));
        return NULL;
    }
    snprintf(buf, sizeof buf, "%s", npsw_lib_meta(lib, index, f));
    return buf;
}

double npsw_api_lib_mass(const npsw_lib *lib, uint64_t index)
{
    if (!lib || index >= npsw_lib_size(lib)) return NAN;
    return npsw_lib_mw(lib, index);
}

int64_t npsw_api_lib_peaks(const npsw_lib *lib, uint64_t index, double *mz, double *intensity,
                           uint64_t cap)
{
    if (!lib || index >= npsw_lib_size(lib))
        return fail(NPSW_EINVAL, "library index %llu out of range", (unsigned long long)index);
    npsw_peaks p = npsw_lib_peaks(lib, index);
    for (uint64_t i = 0; i < p.n && i < cap; i++) {
        if (mz) mz[i] = p.mz[i];
        if (intensity) intensity[i] = p.in[i];
    }
    return p.n;
}

/* ---- query spectra --------------------------------------------------------------------- */

struct npsw_api_queries {
    npsw_spectra sp;
    int64_t *file;     /* per spectrum: index into files, -1 = arrays */
    size_t file_cap;
    char **files;
    size_t n_files;
    uint64_t skipped;
};

npsw_api_queries *npsw_api_queries_new(void)
{
    npsw_api_queries *q = calloc(1, sizeof *q);
    if (!q) fail(NPSW_ENOMEM, "out of memory");
    return q;
}

void npsw_api_queries_free(npsw_api_queries *q)
{
    if (!q) return;
    npsw_spectra_free(&q->sp);
    for (size_t i = 0; i < q->n_files; i++) free(q->files[i]);
    free(q->files);
    free(q->file);
    free(q);
}

/* Room for the per-spectrum file index of every spectrum in q->sp. */
static int grow_file_index(npsw_api_queries *q)
{
    if (q->sp.n <= q->file_cap) return 0;
    size_t cap = q->file_cap ? q->file_cap : 16;
    while (cap < q->sp.n) cap *= 2;
    int64_t *f = realloc(q->file, cap * sizeof *f);
    if (!f) return fail(NPSW_ENOMEM, "out of memory");
    q->file = f;
    q->file_cap = cap;
    return 0;
}

static int spectra_push(npsw_spectra *a, npsw_spectrum **out)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        npsw_spectrum *v = realloc(a->v, cap * sizeof *v);
        if (!v) return fail(NPSW_ENOMEM, "out of memory");
        a->v = v;
        a->cap = cap;
    }
    *out = &a->v[a->n];
    npsw_spectrum_init(*out);
    return 0;
}

int64_t npsw_api_queries_add(npsw_api_queries *q, const double *mz, const double *intensity,
                             uint64_t n, const char *name, double precursor_mz)
{
    if (!q) return fail(NPSW_EINVAL, "no query set");
    if (n && (!mz || !intensity)) return fail(NPSW_EINVAL, "peaks: no m/z or intensity array");
    if (n > API_MAX_PEAKS)
        return fail(NPSW_EINVAL, "a spectrum of %llu peaks: at most %u are accepted",
                    (unsigned long long)n, API_MAX_PEAKS);
    for (uint64_t i = 0; i < n; i++)
        if (!isfinite(mz[i]) || !isfinite(intensity[i]))
            return fail(NPSW_EINVAL, "peak %llu: m/z and intensity must be finite numbers",
                        (unsigned long long)i + 1);
    if (!isfinite(precursor_mz) || precursor_mz < 0)
        return fail(NPSW_EINVAL, "precursor m/z must be a finite number >= 0 (0 = none)");
    npsw_spectrum *s = NULL;
    int rc;
    if ((rc = spectra_push(&q->sp, &s)) < 0) return rc;
    if ((rc = npsw_spectrum_reserve(s, (uint32_t)n)) < 0) goto oom;
    for (uint64_t i = 0; i < n; i++)
        if ((rc = npsw_spectrum_push(s, mz[i], (float)intensity[i])) < 0) goto oom;
    if (name && (rc = npsw_spectrum_set_meta(s, NPSW_META_NAME, name, (size_t)-1)) < 0) goto oom;
    s->precursor_mz = precursor_mz;
    q->sp.n++;
    if ((rc = grow_file_index(q)) < 0) {
        q->sp.n--;
        npsw_spectrum_free(s);
        return rc;
    }
    q->file[q->sp.n - 1] = -1;
    return (int64_t)(q->sp.n - 1);
oom:
    npsw_spectrum_free(s);
    return fail(NPSW_ENOMEM, "out of memory");
}

int64_t npsw_api_queries_read(npsw_api_queries *q, const char *path, const char *format,
                              int strict)
{
    if (!q || !path) return fail(NPSW_EINVAL, "no query set or no path");
    npsw_read_opts ro = npsw_read_opts_default();
    if (format && strcmp(format, "auto")) {
        int f = npsw_format_from_name(format);
        if (f < 0)
            return fail(NPSW_EINVAL, "unknown format '%s' (msp, mgf, jcamp, csv, mzml, auto)",
                        format);
        ro.format = (npsw_format)f;
    }
    char **files = realloc(q->files, (q->n_files + 1) * sizeof *files);
    if (!files) return fail(NPSW_ENOMEM, "out of memory");
    q->files = files;
    char *copy = strdup(path);
    if (!copy) return fail(NPSW_ENOMEM, "out of memory");
    size_t before = q->sp.n;
    npsw_read_report rep;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = npsw_read_file(path, &ro, strict, &q->sp, &rep, &e);
    /* the spectra appended (also those before a strict failure) keep their file */
    int grc = grow_file_index(q);
    if (grc < 0) {
        while (q->sp.n > before) npsw_spectrum_free(&q->sp.v[--q->sp.n]);
        free(copy);
        return grc;
    }
    q->files[q->n_files] = copy;
    for (size_t i = before; i < q->sp.n; i++) q->file[i] = (int64_t)q->n_files;
    q->n_files++;
    q->skipped += rep.n_skipped;
    if (rc < 0) return fail_err(&e);
    return (int64_t)(q->sp.n - before);
}

uint64_t npsw_api_queries_count(const npsw_api_queries *q) { return q ? q->sp.n : 0; }
uint64_t npsw_api_queries_skipped(const npsw_api_queries *q) { return q ? q->skipped : 0; }

const char *npsw_api_queries_meta(const npsw_api_queries *q, uint64_t i, const char *field)
{
    int f = field ? meta_field(field) : -1;
    if (!q || i >= q->sp.n || f < 0) {
        fail(NPSW_EINVAL, "query %llu or field '%s' out of range", (unsigned long long)i,
             field ? field : "");
        return NULL;
    }
    return npsw_spectrum_meta(&q->sp.v[i], f);
}

const char *npsw_api_queries_file(const npsw_api_queries *q, uint64_t i)
{
    if (!q || i >= q->sp.n) return NULL;
    return q->file[i] < 0 ? "" : q->files[q->file[i]];
}

/* Copies of the queries, cleaned as the library was (the CLI's cli_read_queries). */
static npsw_spectrum *cleaned_copy(const npsw_lib *lib, const npsw_api_queries *q)
{
    size_t n = q->sp.n;
    npsw_spectrum *v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        fail(NPSW_ENOMEM, "out of memory for %zu queries", n);
        return NULL;
    }
    const npsw_clean_opts *co = &npsw_lib_get_info(lib)->clean;
    for (size_t i = 0; i < n; i++) {
        npsw_spectrum_init(&v[i]);
        int rc = npsw_spectrum_copy(&v[i], &q->sp.v[i]);
        if (rc < 0) {
            for (size_t j = 0; j <= i; j++) npsw_spectrum_free(&v[j]);
            free(v);
            fail(NPSW_ENOMEM, "out of memory copying the queries");
            return NULL;
        }
        /* a query that cleans to nothing matches nothing, as in the CLI */
        if (npsw_clean(&v[i], co, NULL) < 0) v[i].n = 0;
    }
    return v;
}

static void free_copy(npsw_spectrum *v, size_t n)
{
    if (!v) return;
    for (size_t i = 0; i < n; i++) npsw_spectrum_free(&v[i]);
    free(v);
}

/* ---- options --------------------------------------------------------------------------- */

struct npsw_api_opts {
    npsw_search_opts so;
    double max_delta;
    int n_mion;
};

npsw_api_opts *npsw_api_opts_new(void)
{
    npsw_api_opts *o = calloc(1, sizeof *o);
    if (!o) {
        fail(NPSW_ENOMEM, "out of memory");
        return NULL;
    }
    o->so = npsw_search_opts_default();
    npsw_analogue_opts ao = npsw_analogue_opts_default();
    o->max_delta = ao.max_delta;
    o->n_mion = ao.n_mion;
    return o;
}

void npsw_api_opts_free(npsw_api_opts *o) { free(o); }

static int parse_double(const char *key, const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= min && v <= max))
        return fail(NPSW_EINVAL, "%s expects a number from %g to %g, got '%s'", key, min, max, s);
    *out = v;
    return 0;
}

static int parse_uint(const char *key, const char *s, unsigned long min, unsigned long max,
                      unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
        return fail(NPSW_EINVAL, "%s expects a whole number from %lu to %lu, got '%s'", key, min,
                    max, s);
    *out = v;
    return 0;
}

int npsw_api_opts_set(npsw_api_opts *o, const char *key, const char *v)
{
    if (!o || !key || !v) return fail(NPSW_EINVAL, "npsw_api_opts_set: no options, key or value");
    npsw_search_opts *so = &o->so;
    npsw_score_params *p = &so->params;
    unsigned long u = 0;
    double d = 0;
    int rc = 0;
    if (!strcmp(key, "k")) {
        if (!(rc = parse_uint(key, v, 1, NPSW_MAX_K, &u))) so->k = (uint32_t)u;
    } else if (!strcmp(key, "score")) {
        int k = npsw_score_from_name(v);
        if (k < 0) return fail(NPSW_EINVAL, "score: unknown score '%s' (wmf, mf, rmf, cosine, entropy)", v);
        so->score = (npsw_score_kind)k;
    } else if (!strcmp(key, "threads")) {
        if (!(rc = parse_uint(key, v, 0, 1024, &u))) so->threads = (int)u;
    } else if (!strcmp(key, "weights")) {
        if (!strcmp(v, "nist")) p->int_power = 0.5, p->mz_power = 0.5;
        else if (!strcmp(v, "1994")) p->int_power = 0.6, p->mz_power = 3.0;
        else return fail(NPSW_EINVAL, "weights: expected nist or 1994, got '%s'", v);
    } else if (!strcmp(key, "int_power")) {
        if (!(rc = parse_double(key, v, 0.01, 4, &d))) p->int_power = d;
    } else if (!strcmp(key, "mz_power")) {
        if (!(rc = parse_double(key, v, 0, 6, &d))) p->mz_power = d;
    } else if (!strcmp(key, "tol_da")) {
        if (!(rc = parse_double(key, v, 0, 1, &d))) p->tol_da = d;
    } else if (!strcmp(key, "tol_ppm")) {
        if (!(rc = parse_double(key, v, 0, 1000, &d))) p->tol_ppm = d;
    } else if (!strcmp(key, "precursor_tol")) {
        if (!(rc = parse_double(key, v, 0, 1000, &d))) so->precursor_tol_da = d;
    } else if (!strcmp(key, "min_matched")) {
        if (!(rc = parse_uint(key, v, 1, 100000, &u))) so->min_matched = (uint32_t)u;
    } else if (!strcmp(key, "mz_range")) {
        if (!strcmp(v, "common")) p->common_range = 1;
        else if (!strcmp(v, "all")) p->common_range = 0;
        else return fail(NPSW_EINVAL, "mz_range: expected common or all, got '%s'", v);
    } else if (!strcmp(key, "min_mz")) {
        if (!(rc = parse_double(key, v, 0, 100000, &d))) p->mz_min = d;
    } else if (!strcmp(key, "max_delta")) {
        if (!(rc = parse_double(key, v, 1, 1000, &d))) o->max_delta = d;
    } else if (!strcmp(key, "n_mion")) {
        if (!(rc = parse_uint(key, v, 1, 8, &u))) o->n_mion = (int)u;
    } else {
        return fail(NPSW_EINVAL,
                    "unknown option '%s' (k, score, threads, weights, int_power, mz_power, "
                    "tol_da, tol_ppm, precursor_tol, min_matched, mz_range, min_mz, max_delta, "
                    "n_mion)",
                    key);
    }
    return rc;
}

/* ---- identity search ------------------------------------------------------------------- */

struct npsw_api_hits {
    uint64_t nq, k, total;
    npsw_hit *hits;      /* nq * k */
    uint32_t *nhits;     /* nq */
    uint32_t *qpeaks;    /* nq: peaks after cleaning */
};

void npsw_api_hits_free(npsw_api_hits *h)
{
    if (!h) return;
    free(h->hits);
    free(h->nhits);
    free(h->qpeaks);
    free(h);
}

npsw_api_hits *npsw_api_search(const npsw_lib *lib, const npsw_api_queries *q,
                               const npsw_api_opts *o)
{
    if (!lib || !q || !o) {
        fail(NPSW_EINVAL, "npsw_api_search: no library, queries or options");
        return NULL;
    }
    npsw_err e;
    npsw_err_clear(&e);
    if (npsw_search_opts_check(&o->so, &e) < 0) {
        fail_err(&e);
        return NULL;
    }
    size_t nq = q->sp.n;
    npsw_api_hits *h = calloc(1, sizeof *h);
    npsw_spectrum *v = NULL;
    if (!h) goto oom;
    h->nq = nq;
    h->k = o->so.k;
    h->hits = malloc((nq ? nq : 1) * o->so.k * sizeof *h->hits);
    h->nhits = calloc(nq ? nq : 1, sizeof *h->nhits);
    h->qpeaks = calloc(nq ? nq : 1, sizeof *h->qpeaks);
    if (!h->hits || !h->nhits || !h->qpeaks) goto oom;
    if (!nq) return h;
    if (!(v = cleaned_copy(lib, q))) goto fail;
    if (npsw_search(lib, v, nq, &o->so, h->hits, h->nhits, NULL, &e) < 0) {
        fail_err(&e);
        goto fail;
    }
    for (size_t i = 0; i < nq; i++) {
        h->qpeaks[i] = v[i].n;
        h->total += h->nhits[i];
    }
    free_copy(v, nq);
    return h;
oom:
    fail(NPSW_ENOMEM, "out of memory for %zu queries", nq);
fail:
    free_copy(v, nq);
    npsw_api_hits_free(h);
    return NULL;
}

uint64_t npsw_api_hits_nqueries(const npsw_api_hits *h) { return h ? h->nq : 0; }
uint64_t npsw_api_hits_total(const npsw_api_hits *h) { return h ? h->total : 0; }
uint32_t npsw_api_hits_count(const npsw_api_hits *h, uint64_t i)
{
    return h && i < h->nq ? h->nhits[i] : 0;
}
uint32_t npsw_api_hits_query_peaks(const npsw_api_hits *h, uint64_t i)
{
    return h && i < h->nq ? h->qpeaks[i] : 0;
}

uint64_t npsw_api_hits_columns(const npsw_api_hits *h, uint64_t *query, uint32_t *rank,
                               uint64_t *index, double *score, double *mf, double *rmf,
                               double *wmf, double *cosine, double *entropy, uint32_t *n_matched)
{
    if (!h) return 0;
    uint64_t j = 0;
    for (uint64_t i = 0; i < h->nq; i++)
        for (uint32_t r = 0; r < h->nhits[i]; r++, j++) {
            const npsw_hit *x = &h->hits[i * h->k + r];
            if (query) query[j] = i;
            if (rank) rank[j] = r + 1;
            if (index) index[j] = x->index;
            if (score) score[j] = x->score;
            if (mf) mf[j] = x->all.mf;
            if (rmf) rmf[j] = x->all.rmf;
            if (wmf) wmf[j] = x->all.wmf;
            if (cosine) cosine[j] = x->all.cosine;
            if (entropy) entropy[j] = x->all.entropy;
            if (n_matched) n_matched[j] = x->all.n_matched;
        }
    return j;
}

/* ---- analogue analysis ----------------------------------------------------------------- */

/* The JSON below has the keys of the CLI's analysis lines (tools/cli/analysis_out.c); the
 * Python tests compare the two on the same inputs, so they cannot drift apart unnoticed. */

static double r4(double x) { return round(x * 1e4) / 1e4; }

static int json_lib_ref(cJSON *o, const npsw_lib *lib, uint64_t i)
{
    static const int fields[] = {NPSW_META_NAME, NPSW_META_INCHIKEY, NPSW_META_FORMULA,
                                 NPSW_META_ACCESSION, NPSW_META_CLASS};
    int ok = cJSON_AddNumberToObject(o, "index", (double)(i + 1)) != NULL;
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
        ok &= cJSON_AddStringToObject(o, npsw_meta_column(fields[f]),
                                      npsw_lib_meta(lib, i, fields[f])) != NULL;
    ok &= cJSON_AddNumberToObject(o, "mass", npsw_lib_mw(lib, i)) != NULL;
    return ok;
}

/* One query's analysis as a JSON object; NULL when out of memory. */
static cJSON *analysis_json(const npsw_lib *lib, size_t qi, const npsw_spectrum *q,
                            const char *file, const npsw_analysis *a)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    int ok = 1;
#define NUM(obj, k, v) ok &= cJSON_AddNumberToObject(obj, k, v) != NULL
#define STR(obj, k, v) ok &= cJSON_AddStringToObject(obj, k, v) != NULL
    STR(o, "record", "analysis");
    NUM(o, "query_index", (double)(qi + 1));
    STR(o, "query_name", npsw_spectrum_meta(q, NPSW_META_NAME));
    STR(o, "query_inchikey", npsw_spectrum_meta(q, NPSW_META_INCHIKEY));
    STR(o, "query_file", file);
    NUM(o, "query_peaks", q->n);
    STR(o, "verdict", npsw_verdict_name(a->verdict));
    NUM(o, "confidence", r4(a->confidence));
    NUM(o, "p_in_library", r4(a->p_in_library));
    NUM(o, "p_analogue", r4(a->p_analogue));
    NUM(o, "p_unknown", r4(1 - a->p_in_library - a->p_analogue));
    cJSON *hits = cJSON_AddArrayToObject(o, "identity_hits");
    ok &= hits != NULL;
    for (uint32_t i = 0; ok && i < a->n_hits; i++) {
        cJSON *h = cJSON_CreateObject();
        if (!h || !cJSON_AddItemToArray(hits, h)) {
            cJSON_Delete(h);
            ok = 0;
            break;
        }
        NUM(h, "rank", i + 1);
        ok &= json_lib_ref(h, lib, a->hits[i].index);
        NUM(h, "score", r4(a->hits[i].score));
        NUM(h, "mf", npsw_mf_display(a->hits[i].all.mf));
        NUM(h, "rmf", npsw_mf_display(a->hits[i].all.rmf));
        NUM(h, "cosine", r4(a->hits[i].all.cosine));
        NUM(h, "entropy", r4(a->hits[i].all.entropy));
        NUM(h, "n_matched", a->hits[i].all.n_matched);
    }
    cJSON *cands = cJSON_AddArrayToObject(o, "analogue_candidates");
    ok &= cands != NULL;
    int nominal = npsw_lib_get_info(lib)->clean.nominal;
    for (uint32_t i = 0; ok && i < a->n_cands; i++) {
        const npsw_analogue_hit *c = &a->cands[i];
        cJSON *h = cJSON_CreateObject();
        if (!h || !cJSON_AddItemToArray(cands, h)) {
            cJSON_Delete(h);
            ok = 0;
            break;
        }
        NUM(h, "rank", i + 1);
        ok &= json_lib_ref(h, lib, c->index);
        NUM(h, "hybrid_score", r4(c->hybrid.score));
        NUM(h, "query_mass", r4(c->query_mass));
        NUM(h, "delta_mass", r4(c->delta));
        NUM(h, "n_direct", c->hybrid.n_direct);
        NUM(h, "n_shifted", c->hybrid.n_shifted);
        npsw_delta_hypothesis hy[3];
        int nh = npsw_explain_delta(c->delta, 0.01, nominal, hy, 3);
        cJSON *ex = cJSON_AddArrayToObject(h, "explanations");
        ok &= ex != NULL;
        for (int j = 0; ok && j < nh; j++) ok &= cJSON_AddItemToArray(ex, cJSON_CreateString(hy[j].label));
    }
    if (ok && a->has_analogue) {
        cJSON *an = cJSON_AddObjectToObject(o, "analogue");
        ok &= an != NULL && json_lib_ref(an, lib, a->analogue.index);
        if (ok) {
            NUM(an, "hybrid_score", r4(a->analogue.hybrid.score));
            NUM(an, "cosine", r4(a->analogue_cosine));
            NUM(an, "query_mass", r4(a->analogue.query_mass));
            NUM(an, "delta_mass", r4(a->analogue.delta));
            NUM(an, "n_direct", a->analogue.hybrid.n_direct);
            NUM(an, "n_shifted", a->analogue.hybrid.n_shifted);
            NUM(an, "shift_support", r4(a->shift_support));
            STR(an, "query_mass_from",
                q->precursor_mz > 0        ? "precursor"
                : a->analogue_from_shift ? "cross-correlation shift"
                                         : "molecular-ion candidate");
            cJSON *su = cJSON_AddArrayToObject(an, "substituents");
            ok &= su != NULL;
            for (int i = 0; ok && i < a->n_subst; i++) {
                cJSON *s = cJSON_CreateObject();
                if (!s || !cJSON_AddItemToArray(su, s)) {
                    cJSON_Delete(s);
                    ok = 0;
                    break;
                }
                STR(s, "label", a->subst[i].h.label);
                NUM(s, "delta", r4(a->subst[i].h.delta));
                NUM(s, "error", r4(a->subst[i].h.error));
                NUM(s, "evidence", r4(a->subst[i].evidence));
                STR(s, "evidence_note", a->subst[i].why);
            }
        }
    }
    cJSON *sh = ok ? cJSON_AddArrayToObject(o, "shifts_vs_best_hit") : NULL;
    ok &= sh != NULL;
    for (int i = 0; ok && i < a->n_shifts; i++) {
        cJSON *s = cJSON_CreateObject();
        if (!s || !cJSON_AddItemToArray(sh, s)) {
            cJSON_Delete(s);
            ok = 0;
            break;
        }
        NUM(s, "shift", a->shifts[i].shift);
        NUM(s, "correlation", r4(a->shifts[i].score));
    }
    if (ok) {
        STR(o, "predicted_class", a->predicted_class);
        NUM(o, "class_confidence", r4(a->class_confidence));
        NUM(o, "class_vote_share", r4(a->class_share));
    }
    cJSON *di = ok ? cJSON_AddArrayToObject(o, "diagnostic_ions") : NULL;
    ok &= di != NULL;
    for (int i = 0; ok && i < a->n_diag; i++) {
        cJSON *d = cJSON_CreateObject();
        if (!d || !cJSON_AddItemToArray(di, d)) {
            cJSON_Delete(d);
            ok = 0;
            break;
        }
        NUM(d, "mz", a->diag[i]->mz);
        STR(d, "class", a->diag[i]->cls);
        STR(d, "ion", a->diag[i]->ion);
    }
#undef NUM
#undef STR
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

char *npsw_api_analyse_json(const npsw_lib *lib, const npsw_api_queries *q,
                            const npsw_api_opts *o)
{
    if (!lib || !q || !o) {
        fail(NPSW_EINVAL, "npsw_api_analyse_json: no library, queries or options");
        return NULL;
    }
    if (o->so.k > NPSW_ANALYSE_MAX_K) {
        fail(NPSW_EINVAL, "k must be between 1 and %d for the analogue analysis (got %u)",
             NPSW_ANALYSE_MAX_K, o->so.k);
        return NULL;
    }
    /* exactly the options `npswatch analogues` has (analysis_cli_finish) */
    npsw_analyse_opts ao = npsw_analyse_opts_default();
    ao.k = ao.search.k = ao.analogue.k = o->so.k;
    ao.threads = o->so.threads;
    ao.search.params.tol_da = ao.analogue.params.tol_da = o->so.params.tol_da;
    ao.search.params.tol_ppm = ao.analogue.params.tol_ppm = o->so.params.tol_ppm;
    ao.analogue.max_delta = o->max_delta;
    ao.analogue.n_mion = o->n_mion;
    size_t nq = q->sp.n;
    npsw_spectrum *v = NULL;
    npsw_analysis *res = NULL;
    cJSON *arr = cJSON_CreateArray();
    char *text = NULL;
    if (!arr) goto oom;
    if (nq) {
        res = malloc(nq * sizeof *res);
        if (!res) goto oom;
        if (!(v = cleaned_copy(lib, q))) goto done;
        npsw_err e;
        npsw_err_clear(&e);
        if (npsw_analyse(lib, v, nq, &ao, res, &e) < 0) {
            fail_err(&e);
            goto done;
        }
        for (size_t i = 0; i < nq; i++) {
            cJSON *x = analysis_json(lib, i, &v[i], npsw_api_queries_file(q, i), &res[i]);
            if (!x || !cJSON_AddItemToArray(arr, x)) {
                cJSON_Delete(x);
                goto oom;
            }
        }
    }
    text = cJSON_PrintUnformatted(arr);
    if (!text) goto oom;
    /* cJSON allocates with malloc unless hooks are installed (npswatch installs none), so the
     * caller frees with npsw_api_free() */
    goto done;
oom:
    fail(NPSW_ENOMEM, "out of memory for %zu queries", nq);
done:
    cJSON_Delete(arr);
    free(res);
    free_copy(v, nq);
    return text;
}
