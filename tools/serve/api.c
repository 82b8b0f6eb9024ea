/* api.c - the endpoints of `npswatch serve` under /api/v1/ (docs/service.md, docs/openapi.json).
 * Each handler runs when the whole request is in, on a worker thread with its own ledger handle;
 * authentication, roles, rate and body limits were checked before (server.c). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "npsw/config.h"
#include "npsw/hash.h"
#include "npsw/ledger_curate.h"
#include "npsw/ledger_signals.h"
#include "npsw/ledger_view.h"
#include "npsw/libfile.h"
#include "serve.h"

/* The worker's ledger, or a 503 answer. */
#define LEDGER_OR_503(l)                                                                         \
    char why_[600];                                                                              \
    npsw_ledger *l = serve_ledger(why_, sizeof why_);                                            \
    if (!l) {                                                                                    \
        fprintf(stderr, "npswatch: serve: %s\n", why_);                                          \
        return serve_error(r, 503, "storage_unavailable", "the ledger cannot be opened now");    \
    }

/* A path parameter that must be a positive integer: the number, or 0. */
static int64_t pos_int(const char *s)
{
    if (!s || !*s || strlen(s) > 18) return 0;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return 0;
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* ---- public ---------------------------------------------------------------------------------- */

static enum MHD_Result h_health(req *r, char **p, int np)
{
    (void)p, (void)np;
    LEDGER_OR_503(l);
    sqlite3_stmt *st = NULL;
    int ok = sqlite3_prepare_v2(npsw_ledger_db(l), "SELECT count(*) FROM audit_log", -1, &st,
                                NULL) == SQLITE_OK &&
             sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (!ok) return serve_error(r, 503, "storage_unavailable", "the ledger cannot be read now");
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddStringToObject(o, "status", "ok");
        cJSON_AddStringToObject(o, "ledger", "ok");
        cJSON_AddStringToObject(o, "library_sha256",
                                npsw_lib_get_info(g_serve.lib)->content_sha256);
    }
    return serve_json(r, 200, o);
}

static enum MHD_Result h_version(req *r, char **p, int np)
{
    (void)p, (void)np;
    const npsw_lib_info *li = npsw_lib_get_info(g_serve.lib);
    char fmt[32];
    snprintf(fmt, sizeof fmt, "%d.%d", NPSW_FORMAT_MAJOR, NPSW_FORMAT_MINOR);
    cJSON *o = cJSON_CreateObject(), *lib = o ? cJSON_AddObjectToObject(o, "library") : NULL;
    if (lib) {
        cJSON_AddStringToObject(o, "npswatch", NPSW_VERSION);
        cJSON_AddStringToObject(o, "api", "v1");
        cJSON_AddStringToObject(o, "library_format", fmt);
        cJSON_AddNumberToObject(o, "ledger_schema", NPSW_LEDGER_SCHEMA_VERSION);
        cJSON_AddStringToObject(o, "sqlite", npsw_ledger_sqlite_version());
        cJSON_AddStringToObject(o, "libmicrohttpd", MHD_get_version());
        cJSON_AddStringToObject(lib, "name", li->name);
        cJSON_AddStringToObject(lib, "version", li->version);
        cJSON_AddStringToObject(lib, "content_sha256", li->content_sha256);
        cJSON_AddNumberToObject(lib, "spectra", (double)npsw_lib_size(g_serve.lib));
        cJSON_AddStringToObject(o, "note", "library search results, not identifications");
    }
    return serve_json(r, 200, o);
}

static enum MHD_Result h_openapi(req *r, char **p, int np)
{
    (void)p, (void)np;
    char *b = malloc(g_serve.openapi_len ? g_serve.openapi_len : 1);
    if (!b) return serve_error(r, 500, "out_of_memory", "out of memory");
    memcpy(b, g_serve.openapi, g_serve.openapi_len);
    return serve_bytes(r, 200, "application/json; charset=utf-8", b, g_serve.openapi_len, NULL,
                       NULL);
}

static enum MHD_Result h_me(req *r, char **p, int np)
{
    (void)p, (void)np;
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddNumberToObject(o, "id", (double)r->who.lab.id);
        cJSON_AddStringToObject(o, "name", r->who.lab.name);
        cJSON_AddStringToObject(o, "country", r->who.lab.country);
        cJSON_AddStringToObject(o, "role", npsw_ledger_role_name(r->who.lab.role));
    }
    return serve_json(r, 200, o);
}

/* ---- a laboratory's submissions -------------------------------------------------------------- */

/* The stored name of an uploaded file: its base name, printable, at most 200 bytes. */
static void clean_name(const char *in, char *out, size_t size)
{
    const char *b = in;
    for (const char *s = in; *s; s++)
        if (*s == '/' || *s == '\\') b = s + 1;
    size_t n = 0;
    for (; *b && n + 1 < size && n < 200; b++)
        out[n++] = ((unsigned char)*b < 0x20 || *b == 0x7f || *b == '"') ? '_' : *b;
    out[n] = '\0';
    if (!n || !strcmp(out, ".") || !strcmp(out, "..")) snprintf(out, size, "upload");
}

static enum MHD_Result h_submit(req *r, char **p, int np)
{
    (void)p, (void)np;
    if (!r->len)
        return serve_error(r, 400, "empty_body",
                           "no file: send the spectra file as the request body (with ?name=FILE) or "
                           "as the multipart/form-data field 'file'");
    const char *fmt = r->form_format[0] ? r->form_format : serve_arg(r, "format");
    sub_engine en = g_serve.engine;
    if (fmt && strcmp(fmt, "auto") != 0) {
        int f = npsw_format_from_name(fmt);
        if (f < 0)
            return serve_error(r, 400, "bad_format",
                               "format must be msp, mgf, jcamp, csv, mzml or auto, not '%.32s'", fmt);
        en.ro.format = (npsw_format)f;
    }
    char name[256];
    const char *given = r->multipart ? r->upload_name : serve_arg(r, "name");
    clean_name(given ? given : "upload", name, sizeof name);
    LEDGER_OR_503(l);
    sub_file f = {name, name, r->body, r->len, r->who.lab.id, 1};
    sub_outcome out;
    int rc = sub_run(&en, l, &f, NULL, NULL, &out);
    if (rc == EXIT_INPUT)
        return serve_error(r, 422, "unreadable_file", "%s", out.why);
    if (rc != EXIT_OK) {
        fprintf(stderr, "npswatch: serve: %s: %s\n", r->who.actor, out.why);
        if (out.sqlite_code)
            return serve_error(r, 503, "storage_unavailable",
                               "the submission could not be stored now (nothing was stored); try "
                               "again");
        return serve_error(r, 500, "internal", "the submission could not be processed (nothing was stored)");
    }
    /* COMMIT has returned: durable. Answer with what was stored, read back. */
    r->submission_id = out.id;
    npsw_err e;
    npsw_err_clear(&e);
    int64_t number = npsw_view_submission_number(l, r->who.lab.id, out.id, &e);
    cJSON *o = NULL;
    int x = number > 0 ? npsw_view_submission(l, r->who.lab.id, number, 1, &o, NULL, &e)
                       : (number < 0 ? (int)number : NPSW_EIO);
    if (x < 0) {
        /* stored, but not read back: still acknowledge (a retry would store it twice) */
        cJSON *m = cJSON_CreateObject();
        if (m) {
            cJSON_AddNumberToObject(m, "number", (double)(number > 0 ? number : 0));
            cJSON_AddStringToObject(m, "sha256", out.sha256);
            cJSON_AddNumberToObject(m, "n_spectra", (double)out.n_spectra);
            cJSON_AddStringToObject(m, "note", "stored; read the results later");
        }
        return serve_json(r, 201, m);
    }
    cJSON_AddStringToObject(o, "note", "library search results, not identifications");
    return serve_json(r, 201, o);
}

static enum MHD_Result h_subs(req *r, char **p, int np)
{
    (void)p, (void)np;
    const char *so = serve_arg(r, "offset"), *sl = serve_arg(r, "limit");
    int64_t off = so ? (strcmp(so, "0") ? pos_int(so) : 0) : 0, lim = sl ? pos_int(sl) : 100;
    if ((so && strcmp(so, "0") && !off) || lim < 1 || lim > 1000)
        return serve_error(r, 400, "bad_parameter", "offset must be >= 0 and limit 1..1000");
    LEDGER_OR_503(l);
    cJSON *o;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = npsw_view_submissions(l, r->who.lab.id, off, lim, &o, &e);
    if (rc < 0) return serve_npsw_error(r, l, rc, &e);
    return serve_json(r, 200, o);
}

static enum MHD_Result sub_view(req *r, const char *num, int results)
{
    int64_t n = pos_int(num);
    if (!n) return serve_error(r, 404, "not_found", "no such submission");
    LEDGER_OR_503(l);
    cJSON *o;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = npsw_view_submission(l, r->who.lab.id, n, results, &o, NULL, &e);
    if (rc == NPSW_EINVAL) return serve_error(r, 404, "not_found", "no such submission");
    if (rc < 0) return serve_npsw_error(r, l, rc, &e);
    if (results) cJSON_AddStringToObject(o, "note", "library search results, not identifications");
    return serve_json(r, 200, o);
}

static enum MHD_Result h_sub(req *r, char **p, int np) { return np ? sub_view(r, p[0], 0) : MHD_NO; }
static enum MHD_Result h_sub_results(req *r, char **p, int np)
{
    return np ? sub_view(r, p[0], 1) : MHD_NO;
}

static enum MHD_Result h_sub_file(req *r, char **p, int np)
{
    int64_t n = np ? pos_int(p[0]) : 0;
    if (!n) return serve_error(r, 404, "not_found", "no such submission");
    LEDGER_OR_503(l);
    cJSON *o;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = npsw_view_submission(l, r->who.lab.id, n, 0, &o, NULL, &e);
    if (rc == NPSW_EINVAL) return serve_error(r, 404, "not_found", "no such submission");
    if (rc < 0) return serve_npsw_error(r, l, rc, &e);
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(o, "sha256");
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(o, "file_name");
    char name[256], hex[65];
    clean_name(cJSON_IsString(fn) ? fn->valuestring : "upload", name, sizeof name);
    snprintf(hex, sizeof hex, "%s", cJSON_IsString(sha) ? sha->valuestring : "");
    cJSON_Delete(o);
    void *data = NULL;
    size_t len = 0;
    rc = npsw_ledger_blob_get(l, hex, &data, &len, &e);
    if (rc < 0) return serve_npsw_error(r, l, rc == NPSW_EINVAL ? NPSW_EIO : rc, &e);
    const char *hdr[] = {"X-Content-SHA256", hex, NULL};
    return serve_bytes(r, 200, "application/octet-stream", data, len, name, hdr);
}

/* ---- signals and advisories (curators) ------------------------------------------------------ */

static int min_labs_arg(req *r, uint32_t *out)
{
    const char *s = serve_arg(r, "min_labs");
    *out = g_serve.cfg.min_labs;
    if (!s) return 0;
    int64_t v = pos_int(s);
    if (v < g_serve.cfg.min_labs || v > 1000000) return -1;
    *out = (uint32_t)v;
    return 0;
}

/* The library spectrum a signal's mirror plot compares its consensus with (the dashboard draws
 * it), chosen as `npswatch advise` chooses its reference: the signal's most frequent analogue
 * (details.nearest_analogues[0]) at the library index its members' results gave, when they were
 * analysed with the service's library; else the first spectrum of that name. Adds "reference":
 * {library_index (1-based, as in advisory.json), name, accession, class, peaks: [[m/z,
 * intensity], ...]}, or null when the signal has
 * no analogue or the library lacks it. 0, or -1 when out of memory. */
static int add_reference(npsw_ledger *l, int64_t id, cJSON *sig)
{
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(sig, "details");
    const cJSON *na = d ? cJSON_GetObjectItemCaseSensitive(d, "nearest_analogues") : NULL;
    const cJSON *first = cJSON_IsArray(na) ? cJSON_GetArrayItem(na, 0) : NULL;
    const cJSON *nm = first ? cJSON_GetObjectItemCaseSensitive(first, "name") : NULL;
    uint64_t n = npsw_lib_size(g_serve.lib), i = n;
    if (cJSON_IsString(nm) && nm->valuestring[0]) {
        npsw_ledger_signal ls;
        npsw_ledger_signal_library li;
        npsw_signal_opts so = npsw_signal_opts_default();
        npsw_err e;
        memset(&ls, 0, sizeof ls);
        memset(&li, 0, sizeof li);
        npsw_err_clear(&e);
        if (npsw_ledger_signal_get(l, id, &so, &ls, &li, &e) == 0) {
            if (li.sha256[0] && !strcmp(li.sha256, npsw_lib_get_info(g_serve.lib)->content_sha256) &&
                li.analogue_index > 0 && (uint64_t)li.analogue_index <= n &&
                !strcmp(npsw_lib_meta(g_serve.lib, (uint64_t)li.analogue_index - 1, NPSW_META_NAME),
                        nm->valuestring))
                i = (uint64_t)li.analogue_index - 1;
            npsw_signal_free(&ls.sig);
        }
        free(li.file_path);
        for (uint64_t k = 0; i == n && k < n; k++)
            if (!strcasecmp(npsw_lib_meta(g_serve.lib, k, NPSW_META_NAME), nm->valuestring)) i = k;
    }
    if (i == n) return cJSON_AddNullToObject(sig, "reference") ? 0 : -1;
    cJSON *ref = cJSON_AddObjectToObject(sig, "reference"), *pk;
    if (!ref || !cJSON_AddNumberToObject(ref, "library_index", (double)i + 1) ||
        !cJSON_AddStringToObject(ref, "name", npsw_lib_meta(g_serve.lib, i, NPSW_META_NAME)) ||
        !cJSON_AddStringToObject(ref, "accession", npsw_lib_meta(g_serve.lib, i, NPSW_META_ACCESSION)) ||
        !cJSON_AddStringToObject(ref, "class", npsw_lib_meta(g_serve.lib, i, NPSW_META_CLASS)) ||
        !(pk = cJSON_AddArrayToObject(ref, "peaks")))
        return -1;
    npsw_peaks v = npsw_lib_peaks(g_serve.lib, i);
    for (uint32_t k = 0; k < v.n; k++) {
        cJSON *pair = cJSON_CreateArray();
        if (!pair) return -1;
        cJSON_AddItemToArray(pk, pair);
        cJSON *a = cJSON_CreateNumber(v.mz[k]), *b = a ? cJSON_CreateNumber(v.in[k]) : NULL;
        if (!a || !b) {
            cJSON_Delete(a);
            return -1;
        }
        cJSON_AddItemToArray(pair, a);
        cJSON_AddItemToArray(pair, b);
    }
    return 0;
}

static enum MHD_Result h_signals(req *r, char **p, int np)
{
    int64_t id = 0;
    if (np) {
        id = pos_int(p[0]);
        if (!id) return serve_error(r, 404, "not_found", "no such signal");
    }
    uint32_t ml;
    if (min_labs_arg(r, &ml) < 0)
        return serve_error(r, 400, "bad_parameter", "min_labs must be an integer >= %u (the "
                                                    "service's privacy threshold)",
                           g_serve.cfg.min_labs);
    LEDGER_OR_503(l);
    cJSON *o;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = npsw_view_signals(l, ml, id, &o, &e);
    if (rc == NPSW_EINVAL) return serve_error(r, 404, "not_found", "%s", e.msg);
    if (rc < 0) return serve_npsw_error(r, l, rc, &e);
    if (id) {
        cJSON *a = cJSON_DetachItemFromObject(o, "signals");
        cJSON *one = a ? cJSON_DetachItemFromArray(a, 0) : NULL;
        cJSON_Delete(a);
        cJSON_Delete(o);
        if (one && add_reference(l, id, one) < 0) {
            cJSON_Delete(one);
            return serve_error(r, 500, "out_of_memory", "out of memory");
        }
        return serve_json(r, 200, one);
    }
    return serve_json(r, 200, o);
}

static enum MHD_Result h_signals_refresh(req *r, char **p, int np)
{
    (void)p, (void)np;
    LEDGER_OR_503(l);
    npsw_signal_opts so = npsw_signal_opts_default();
    char utc[32];
    int64_t now = 0;
    npsw_utc_now(utc);
    if (npsw_ledger_parse_utc(utc, &now) < 0) now = (int64_t)time(NULL);
    so.now = now;
    npsw_ledger_signals_report rep;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = npsw_ledger_signals_update(l, &so, r->who.actor, NULL, NULL, &rep, &e);
    if (rc < 0) return serve_npsw_error(r, l, rc == NPSW_EINVAL ? NPSW_EIO : rc, &e);
    cJSON *o;
    rc = npsw_view_signals(l, g_serve.cfg.min_labs, 0, &o, &e);
    if (rc < 0) return serve_npsw_error(r, l, rc, &e);
    cJSON *u = cJSON_AddObjectToObject(o, "update");
    if (u) {
        cJSON_AddNumberToObject(u, "candidates", (double)rep.n_candidates);
        cJSON_AddNumberToObject(u, "signals", (double)rep.n_signals);
        cJSON_AddNumberToObject(u, "new", (double)rep.n_new);
        cJSON_AddNumberToObject(u, "changed", (double)rep.n_changed);
        cJSON_AddNumberToObject(u, "unchanged", (double)rep.n_unchanged);
        cJSON_AddNumberToObject(u, "closed", (double)rep.n_closed);
    }
    return serve_json(r, 200, o);
}

static enum MHD_Result h_advisories(req *r, char **p, int np)
{
    (void)p, (void)np;
    LEDGER_OR_503(l);
    cJSON *o;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = npsw_view_advisories(l, &o, &e);
    if (rc < 0) return serve_npsw_error(r, l, rc, &e);
    return serve_json(r, 200, o);
}

static int key_ok(const char *k)
{
    size_t n = strlen(k);
    if (!n || n > 63) return 0;
    for (; *k; k++)
        if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
              *k == '-' || *k == '_'))
            return 0;
    return 1;
}

static enum MHD_Result h_advisory(req *r, char **p, int np)
{
    if (!np || !key_ok(p[0])) return serve_error(r, 404, "not_found", "no such advisory");
    LEDGER_OR_503(l);
    cJSON *o;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = npsw_view_advisory(l, p[0], &o, NULL, &e);
    if (rc == NPSW_EINVAL) return serve_error(r, 404, "not_found", "no advisory '%s'", p[0]);
    if (rc < 0) return serve_npsw_error(r, l, rc, &e);
    return serve_json(r, 200, o);
}

/* Read a whole regular file (at most max bytes). 0, or -1 (errno set; EFBIG when larger). */
static int slurp_file(const char *path, size_t max, unsigned char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        errno = ENOENT;
        return -1;
    }
    if ((uint64_t)sb.st_size > max) {
        close(fd);
        errno = EFBIG;
        return -1;
    }
    size_t n = (size_t)sb.st_size, got = 0;
    unsigned char *b = malloc(n ? n : 1);
    if (!b) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    while (got < n) {
        ssize_t k = read(fd, b + got, n - got);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            free(b);
            close(fd);
            errno = k < 0 ? errno : EIO;
            return -1;
        }
        got += (size_t)k;
    }
    close(fd);
    *data = b;
    *len = n;
    return 0;
}

static enum MHD_Result h_advisory_file(req *r, char **p, int np)
{
    static const char *const files[][2] = {{"advisory.md", "text/markdown; charset=utf-8"},
                                           {"advisory.json", "application/json; charset=utf-8"},
                                           {"mirror.png", "image/png"},
                                           {"timeline.png", "image/png"}};
    if (np < 2 || !key_ok(p[0])) return serve_error(r, 404, "not_found", "no such advisory");
    const char *type = NULL;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++)
        if (!strcmp(p[1], files[i][0])) type = files[i][1];
    if (!type)
        return serve_error(r, 404, "not_found",
                           "an advisory has advisory.json, advisory.md, mirror.png and timeline.png");
    LEDGER_OR_503(l);
    cJSON *o;
    char *dir = NULL;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = npsw_view_advisory(l, p[0], &o, &dir, &e);
    if (rc == NPSW_EINVAL) return serve_error(r, 404, "not_found", "no advisory '%s'", p[0]);
    if (rc < 0) return serve_npsw_error(r, l, rc, &e);
    cJSON_Delete(o);
    char path[PATH_MAX];
    int bad = !dir || snprintf(path, sizeof path, "%s/%s", dir, p[1]) >= (int)sizeof path;
    free(dir);
    unsigned char *data;
    size_t len;
    if (bad || slurp_file(path, 64u << 20, &data, &len) < 0)
        return serve_error(r, 404, "not_found",
                           "advisory '%s' has no %s (its directory was moved or the figure was "
                           "not drawn)",
                           p[0], p[1]);
    return serve_bytes(r, 200, type, data, len, NULL, NULL);
}

/* The JSON object of the request body, or NULL with a 400 answer queued in *ret. */
static cJSON *json_body(req *r, enum MHD_Result *ret)
{
    const char *end = NULL;
    cJSON *o = r->len ? cJSON_ParseWithLengthOpts((const char *)r->body, r->len, &end, 0) : NULL;
    if (!cJSON_IsObject(o)) {
        size_t at = end ? (size_t)(end - (const char *)r->body) : 0;
        cJSON_Delete(o);
        *ret = r->len ? serve_error(r, 400, "bad_json",
                                    "the body is not a JSON object (problem near byte %zu)", at)
                      : serve_error(r, 400, "bad_json", "the body must be a JSON object");
        return NULL;
    }
    return o;
}

/* A string member (NULL when absent); *bad set when present but not a string or too long. */
static const char *str_member(const cJSON *o, const char *k, size_t max, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v || cJSON_IsNull(v)) return NULL;
    if (!cJSON_IsString(v) || strlen(v->valuestring) > max) {
        *bad = 1;
        return NULL;
    }
    return v->valuestring;
}

static enum MHD_Result review(req *r, char **p, int np, int accept)
{
    if (!np || !key_ok(p[0])) return serve_error(r, 404, "not_found", "no such advisory");
    enum MHD_Result ret = MHD_NO;
    cJSON *body = json_body(r, &ret);
    if (!body) return ret;
    int bad = 0;
    const char *name = str_member(body, "name", 200, &bad);
    const char *cls = str_member(body, "class", 60, &bad);
    const char *note = str_member(body, "note", 2000, &bad);
    const char *ver = str_member(body, "version", 60, &bad);
    if (bad || (accept && (!name || !*name))) {
        cJSON_Delete(body);
        return serve_error(r, 400, "bad_parameter",
                           accept ? "accept takes {\"name\": \"entry name\" (required, at most 200 "
                                    "bytes), \"class\", \"note\", \"version\" (strings)}"
                                  : "reject takes {\"note\": \"...\"} (a string)");
    }
    LEDGER_OR_503(l);
    npsw_err e;
    npsw_err_clear(&e);
    /* the advisory (its version names the new library file) */
    cJSON *adv;
    int rc = npsw_view_advisory(l, p[0], &adv, NULL, &e);
    if (rc < 0) {
        cJSON_Delete(body);
        if (rc == NPSW_EINVAL) return serve_error(r, 404, "not_found", "no advisory '%s'", p[0]);
        return serve_npsw_error(r, l, rc, &e);
    }
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(adv, "key");
    const cJSON *version = cJSON_GetObjectItemCaseSensitive(adv, "version");
    char out_path[PATH_MAX];
    snprintf(out_path, sizeof out_path, "%s/%s-v%d.h5", g_serve.cfg.library_dir,
             cJSON_IsString(key) ? key->valuestring : "advisory",
             cJSON_IsNumber(version) ? version->valueint : 0);
    cJSON_Delete(adv);
    npsw_curate_opts o = {.advisory = p[0],
                          .actor = r->who.actor,
                          .note = note,
                          .name = name,
                          .class_name = cls,
                          .out_path = out_path,
                          .lib_version = ver};
    npsw_curate_result res;
    memset(&res, 0, sizeof res);
    rc = accept ? npsw_curate_accept(l, &o, &res, &e) : npsw_curate_reject(l, &o, &res, &e);
    cJSON_Delete(body);
    if (rc == NPSW_EINVAL) {
        if (res.state[0] && strcmp(res.state, "draft") != 0)
            return serve_error(r, 409, "conflict", "advisory %s is %s, not a draft: %s", p[0],
                               res.state, e.msg);
        return serve_error(r, 409, "conflict", "%s", e.msg);
    }
    if (rc < 0) {
        if (rc == NPSW_EEMPTY) return serve_error(r, 409, "conflict", "%s", e.msg);
        return serve_npsw_error(r, l, rc, &e);
    }
    cJSON *out = cJSON_CreateObject();
    if (out) {
        cJSON_AddStringToObject(out, "key", res.advisory_key);
        cJSON_AddNumberToObject(out, "version", (double)res.advisory_version);
        cJSON_AddStringToObject(out, "state", res.state);
        if (accept) {
            cJSON *lib = cJSON_AddObjectToObject(out, "library");
            if (lib) {
                cJSON_AddNumberToObject(lib, "id", (double)res.library_version_id);
                cJSON_AddStringToObject(lib, "name", res.library_name);
                cJSON_AddStringToObject(lib, "version", res.library_version);
                cJSON_AddStringToObject(lib, "content_sha256", res.library_sha256);
                cJSON_AddStringToObject(lib, "parent_sha256", res.parent_sha256);
                cJSON_AddStringToObject(lib, "accession", res.accession);
                cJSON_AddNumberToObject(lib, "spectra", (double)res.n_spectra);
            }
        }
    }
    return serve_json(r, 200, out);
}

static enum MHD_Result h_accept(req *r, char **p, int np) { return review(r, p, np, 1); }
static enum MHD_Result h_reject(req *r, char **p, int np) { return review(r, p, np, 0); }

/* ---- library versions ---------------------------------------------------------------------- */

static enum MHD_Result h_libraries(req *r, char **p, int np)
{
    int64_t id = 0;
    if (np && !(id = pos_int(p[0]))) return serve_error(r, 404, "not_found", "no such library version");
    LEDGER_OR_503(l);
    cJSON *o;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = npsw_view_libraries(l, id, &o, NULL, &e);
    if (rc == NPSW_EINVAL) return serve_error(r, 404, "not_found", "no library version %" PRId64, id);
    if (rc < 0) return serve_npsw_error(r, l, rc, &e);
    if (id) {
        cJSON *a = cJSON_DetachItemFromObject(o, "libraries");
        cJSON *one = a ? cJSON_DetachItemFromArray(a, 0) : NULL;
        cJSON_Delete(a);
        cJSON_Delete(o);
        return serve_json(r, 200, one);
    }
    return serve_json(r, 200, o);
}

static enum MHD_Result h_library_file(req *r, char **p, int np)
{
    int64_t id = np ? pos_int(p[0]) : 0;
    if (!id) return serve_error(r, 404, "not_found", "no such library version");
    LEDGER_OR_503(l);
    cJSON *o;
    char *file = NULL;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = npsw_view_libraries(l, id, &o, &file, &e);
    if (rc == NPSW_EINVAL) return serve_error(r, 404, "not_found", "no library version %" PRId64, id);
    if (rc < 0) return serve_npsw_error(r, l, rc, &e);
    const cJSON *v = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(o, "libraries"), 0);
    const cJSON *cs = cJSON_GetObjectItemCaseSensitive(v, "content_sha256");
    char content[65];
    snprintf(content, sizeof content, "%s", cJSON_IsString(cs) ? cs->valuestring : "");
    cJSON_Delete(o);
    unsigned char *data = NULL;
    size_t len = 0;
    int fail = !file || slurp_file(file, (size_t)4 << 30, &data, &len) < 0;
    const char *base = file ? strrchr(file, '/') : NULL;
    char name[256];
    snprintf(name, sizeof name, "%s", base ? base + 1 : (file ? file : "library.h5"));
    free(file);
    if (fail)
        return serve_error(r, 404, "not_found",
                           "library version %" PRId64 " has no file the service can read", id);
    char sha[65];
    npsw_sha256_hex(data, len, sha);
    const char *hdr[] = {"X-File-SHA256", sha, "X-Content-SHA256", content, NULL};
    return serve_bytes(r, 200, "application/x-hdf5", data, len, name, hdr);
}

/* ---- administration ------------------------------------------------------------------------- */

static enum MHD_Result h_labs(req *r, char **p, int np)
{
    (void)p, (void)np;
    LEDGER_OR_503(l);
    npsw_ledger_lab *labs = NULL;
    npsw_err e;
    npsw_err_clear(&e);
    int n = npsw_ledger_lab_list(l, &labs, &e);
    if (n < 0) return serve_npsw_error(r, l, n, &e);
    cJSON *o = cJSON_CreateObject(), *a = o ? cJSON_AddArrayToObject(o, "labs") : NULL;
    for (int i = 0; a && i < n; i++) {
        cJSON *x = cJSON_CreateObject();
        if (!x || !cJSON_AddItemToArray(a, x)) {
            cJSON_Delete(x);
            break;
        }
        cJSON_AddNumberToObject(x, "id", (double)labs[i].id);
        cJSON_AddStringToObject(x, "name", labs[i].name);
        cJSON_AddStringToObject(x, "country", labs[i].country);
        cJSON_AddStringToObject(x, "role", npsw_ledger_role_name(labs[i].role));
        cJSON_AddBoolToObject(x, "has_token", labs[i].has_token);
        cJSON_AddStringToObject(x, "created_utc", labs[i].created_utc);
    }
    free(labs);
    return serve_json(r, 200, o);
}

static enum MHD_Result h_audit_verify(req *r, char **p, int np)
{
    (void)p, (void)np;
    const char *head = serve_arg(r, "head");
    if (head && (strlen(head) != 64 || strspn(head, "0123456789abcdef") != 64))
        return serve_error(r, 400, "bad_parameter", "head must be 64 lower-case hex digits");
    LEDGER_OR_503(l);
    npsw_audit_report rep;
    npsw_err e;
    npsw_err_clear(&e);
    int rc = npsw_ledger_audit_verify(l, head, &rep, &e);
    if (rc < 0 && rc != NPSW_ECHECKSUM) return serve_npsw_error(r, l, rc, &e);
    cJSON *o = cJSON_CreateObject();
    if (o) {
        cJSON_AddBoolToObject(o, "ok", rc == 0);
        cJSON_AddNumberToObject(o, "entries", (double)rep.n_entries);
        cJSON_AddNumberToObject(o, "head_seq", (double)rep.head_seq);
        cJSON_AddStringToObject(o, "head_sha256", rep.head_hash);
        cJSON_AddNumberToObject(o, "submissions", (double)rep.n_submissions);
        cJSON_AddNumberToObject(o, "blobs", (double)rep.n_blobs);
        if (rc) {
            cJSON_AddNumberToObject(o, "bad_seq", (double)rep.bad_seq);
            cJSON_AddStringToObject(o, "problem", rep.problem);
        }
    }
    return serve_json(r, 200, o);
}

/* ---- the route table ------------------------------------------------------------------------- */

#define CUR (R_CURATOR | R_ADMIN)
const route serve_routes[] = {
    {"GET", "/api/v1/health", R_NONE, B_NONE, h_health, 0},
    {"GET", "/api/v1/version", R_NONE, B_NONE, h_version, 0},
    {"GET", "/api/v1/openapi.json", R_NONE, B_NONE, h_openapi, 0},
    {"GET", "/api/v1/me", R_ANY, B_NONE, h_me, 1},
    {"POST", "/api/v1/submissions", R_LAB, B_FILE, h_submit, 1},
    {"GET", "/api/v1/submissions", R_LAB, B_NONE, h_subs, 1},
    {"GET", "/api/v1/submissions/{n}", R_LAB, B_NONE, h_sub, 1},
    {"GET", "/api/v1/submissions/{n}/results", R_LAB, B_NONE, h_sub_results, 1},
    {"GET", "/api/v1/submissions/{n}/file", R_LAB, B_NONE, h_sub_file, 1},
    {"GET", "/api/v1/signals", CUR, B_NONE, h_signals, 1},
    {"POST", "/api/v1/signals/refresh", CUR, B_NONE, h_signals_refresh, 1},
    {"GET", "/api/v1/signals/{id}", CUR, B_NONE, h_signals, 1},
    {"GET", "/api/v1/advisories", CUR, B_NONE, h_advisories, 1},
    {"GET", "/api/v1/advisories/{key}", CUR, B_NONE, h_advisory, 1},
    {"POST", "/api/v1/advisories/{key}/accept", CUR, B_JSON, h_accept, 1},
    {"POST", "/api/v1/advisories/{key}/reject", CUR, B_JSON, h_reject, 1},
    {"GET", "/api/v1/advisories/{key}/{file}", CUR, B_NONE, h_advisory_file, 1},
    {"GET", "/api/v1/libraries", CUR, B_NONE, h_libraries, 1},
    {"GET", "/api/v1/libraries/{id}", CUR, B_NONE, h_libraries, 1},
    {"GET", "/api/v1/libraries/{id}/file", CUR, B_NONE, h_library_file, 1},
    {"GET", "/api/v1/labs", R_ADMIN, B_NONE, h_labs, 1},
    {"GET", "/api/v1/audit/verify", R_ADMIN, B_NONE, h_audit_verify, 1},
};
const size_t serve_n_routes = sizeof serve_routes / sizeof *serve_routes;
