/* npsw_api.c - the stable C API for bindings (npsw/npsw_api.h): opaque handles over the library,
 * the importers, the search and the analogue analysis, with a per-thread error message. */
#include "npsw/npsw_api.h"

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
    /* a JSON array of the records npswatch analogues writes (npsw_analysis_json), built as
     * text; open_memstream's buffer is malloc'd, so the caller frees it with npsw_api_free() */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    int ok = f && fputc('[', f) != EOF;
    if (ok && nq) {
        if (!(res = malloc(nq * sizeof *res))) {
            ok = 0;
        } else if (!(v = cleaned_copy(lib, q))) {
            goto fail; /* cleaned_copy said why */
        } else {
            npsw_err e;
            npsw_err_clear(&e);
            if (npsw_analyse(lib, v, nq, &ao, res, &e) < 0) {
                fail_err(&e);
                goto fail;
            }
        }
        for (size_t i = 0; ok && i < nq; i++) {
            char *x = npsw_analysis_json(lib, NULL, NULL, i, &v[i], npsw_api_queries_file(q, i),
                                         &res[i]);
            ok = x && (i == 0 || fputc(',', f) != EOF) && fputs(x, f) != EOF;
            free(x);
        }
    }
    ok = ok && fputc(']', f) != EOF;
    if (f && fclose(f) != 0) ok = 0;
    f = NULL;
    if (!ok) {
        fail(NPSW_ENOMEM, "out of memory for %zu queries", nq);
        goto fail;
    }
    free(res);
    free_copy(v, nq);
    return text;
fail:
    if (f) fclose(f);
    free(text);
    free(res);
    free_copy(v, nq);
    return NULL;
}
