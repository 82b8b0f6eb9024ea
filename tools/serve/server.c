/* server.c - `npswatch serve`: the HTTP service on libmicrohttpd (docs/service.md): options,
 * the daemon (thread pool, connection limits, timeouts, TLS), the request lifecycle
 * (routing, bearer-token authentication, roles, per-token rate limit, body limit, content
 * types), the audit of every API request (group-committed before the response is sent), static
 * files, and graceful shutdown on SIGTERM. The endpoints themselves are in api.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "analysis_out.h"
#include "npsw/config.h"
#include "npsw/libfile.h"
#include "serve.h"

#include <sqlite3.h>

serve_state g_serve;

extern const unsigned char npsw_openapi_json[];
extern const size_t npsw_openapi_json_len;

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---- per-thread ledger handles ---------------------------------------------------------- */

static pthread_mutex_t handles_mu = PTHREAD_MUTEX_INITIALIZER;
static npsw_ledger **handles;
static size_t n_handles;
static __thread npsw_ledger *tl_ledger;

npsw_ledger *serve_ledger(char *why, size_t size)
{
    if (tl_ledger) return tl_ledger;
    npsw_err e;
    npsw_err_clear(&e);
    npsw_ledger *l = npsw_ledger_open(g_serve.cfg.ledger_path, 0, "npswatch-serve", NULL, &e);
    if (!l) {
        char buf[NPSW_ERR_MSG_MAX + NPSW_ERR_WHERE_MAX + 64];
        snprintf(why, size, "%s", npsw_err_format(&e, buf, sizeof buf));
        return NULL;
    }
    pthread_mutex_lock(&handles_mu);
    npsw_ledger **v = realloc(handles, (n_handles + 1) * sizeof *v);
    if (v) {
        handles = v;
        handles[n_handles++] = l;
    }
    pthread_mutex_unlock(&handles_mu);
    if (!v) {
        npsw_ledger_close(l);
        snprintf(why, size, "out of memory");
        return NULL;
    }
    tl_ledger = l;
    return l;
}

static void close_handles(void)
{
    pthread_mutex_lock(&handles_mu);
    for (size_t i = 0; i < n_handles; i++) npsw_ledger_close(handles[i]);
    free(handles);
    handles = NULL;
    n_handles = 0;
    pthread_mutex_unlock(&handles_mu);
}

/* ---- the writer: group commit ------------------------------------------------------------ */

/* Every ledger write of the service goes through one writer thread with its own handle:
 * submissions (each a savepoint, so one bad submission does not undo the others) and the audit
 * entries of requests wait in a queue; the writer stores everything queued in one transaction
 * (one fsync for many requests) and wakes the waiting requests, which only then answer. An
 * acknowledged submission is durable, and an answered API request is in the audit log. Writers
 * inside one process never wait on SQLite's busy handler. */
typedef struct write_item {
    /* a request's audit entry ... */
    char actor[48];
    char object[600];
    char *details;
    /* ... or a submission */
    const npsw_ledger_submission *sub;
    int64_t id;
    npsw_err err;
    int sqlite_code;
    int done, rc;
    struct write_item *next;
} write_item;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv_work, cv_done;
    write_item *head, **tail;
    int stop;
    pthread_t thread;
    npsw_ledger *l;
    uint64_t n_batches, n_entries, n_submissions;
} au = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL,
        NULL, 0, 0, NULL, 0, 0, 0};

static void *writer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&au.mu);
    for (;;) {
        while (!au.head && !au.stop) pthread_cond_wait(&au.cv_work, &au.mu);
        if (!au.head && au.stop) break;
        write_item *batch = au.head;
        au.head = NULL;
        au.tail = &au.head;
        pthread_mutex_unlock(&au.mu);
        npsw_err e;
        npsw_err_clear(&e);
        int rc = npsw_ledger_begin(au.l, &e);
        int sq = rc < 0 ? npsw_ledger_sqlite_error(au.l) : 0;
        for (write_item *it = batch; it; it = it->next) {
            if (rc < 0) { /* the transaction is gone: everything after fails with it */
                it->rc = rc;
                it->err = e;
                it->sqlite_code = sq;
                continue;
            }
            npsw_err_clear(&it->err);
            it->rc = it->sub ? npsw_ledger_submit(au.l, it->sub, &it->id, &it->err)
                             : npsw_ledger_audit_append(au.l, it->actor, "http.request",
                                                        it->object, it->details, NULL, &it->err);
            if (it->rc < 0) it->sqlite_code = npsw_ledger_sqlite_error(au.l);
            if (it->rc < 0 && sqlite3_get_autocommit(npsw_ledger_db(au.l))) {
                /* SQLite rolled the whole transaction back (disk full, I/O error) */
                rc = it->rc;
                e = it->err;
                sq = it->sqlite_code;
                for (write_item *x = batch; x != it; x = x->next)
                    if (x->rc == 0) x->rc = rc, x->err = e, x->sqlite_code = sq;
                npsw_ledger_rollback(au.l);
            }
        }
        if (rc == 0 && (rc = npsw_ledger_commit(au.l, &e)) < 0) {
            sq = npsw_ledger_sqlite_error(au.l);
            for (write_item *it = batch; it; it = it->next)
                if (it->rc == 0) it->rc = rc, it->err = e, it->sqlite_code = sq;
        }
        if (rc < 0) {
            char buf[NPSW_ERR_MSG_MAX + NPSW_ERR_WHERE_MAX + 64];
            fprintf(stderr, "npswatch: serve: a ledger write failed: %s\n",
                    npsw_err_format(&e, buf, sizeof buf));
        }
        pthread_mutex_lock(&au.mu);
        au.n_batches++;
        for (write_item *it = batch; it; it = it->next) {
            if (it->rc == 0) {
                if (it->sub) au.n_submissions++;
                else au.n_entries++;
            }
            it->done = 1;
        }
        pthread_cond_broadcast(&au.cv_done);
    }
    pthread_mutex_unlock(&au.mu);
    return NULL;
}

/* Hand an item to the writer and wait until it is committed (or failed). */
static int write_wait(write_item *it)
{
    pthread_mutex_lock(&au.mu);
    *au.tail = it;
    au.tail = &it->next;
    pthread_cond_signal(&au.cv_work);
    while (!it->done) pthread_cond_wait(&au.cv_done, &au.mu);
    pthread_mutex_unlock(&au.mu);
    return it->rc;
}

/* sub_engine.store: the submission through the writer. */
static int store_submission(void *user, const npsw_ledger_submission *sub, int64_t *id,
                            npsw_err *err, int *sqlite_code)
{
    (void)user;
    write_item it;
    memset(&it, 0, sizeof it);
    it.sub = sub;
    int rc = write_wait(&it);
    *id = it.id;
    *sqlite_code = it.sqlite_code;
    if (rc < 0 && err) *err = it.err;
    return rc;
}

/* Queue the request's entry and wait until it is committed. Returns 0 or < 0. */
static int audit_request(req *r, size_t bytes_out)
{
    char remote[INET6_ADDRSTRLEN] = "";
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, remote, sizeof remote);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, remote,
                      sizeof remote);
    }
    write_item it;
    memset(&it, 0, sizeof it);
    snprintf(it.actor, sizeof it.actor, "%s", r->who.actor);
    /* the object: method and path, control characters replaced */
    snprintf(it.object, sizeof it.object, "%s %s", r->method, r->path);
    for (char *p = it.object; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    cJSON *d = cJSON_CreateObject();
    if (!d || !cJSON_AddNumberToObject(d, "status", r->status) ||
        !cJSON_AddStringToObject(d, "outcome", r->err_code[0] ? r->err_code : "ok") ||
        !cJSON_AddStringToObject(d, "remote", remote) ||
        !cJSON_AddNumberToObject(d, "bytes_in", (double)(r->len + r->discarded)) ||
        !cJSON_AddNumberToObject(d, "bytes_out", (double)bytes_out) ||
        !cJSON_AddNumberToObject(d, "ms", round((now_s() - r->t0) * 1e4) / 10) ||
        (r->submission_id && !cJSON_AddNumberToObject(d, "submission", (double)r->submission_id)) ||
        !(it.details = cJSON_PrintUnformatted(d))) {
        cJSON_Delete(d);
        fprintf(stderr, "npswatch: serve: out of memory auditing a request\n");
        return NPSW_ENOMEM;
    }
    cJSON_Delete(d);
    int rc = write_wait(&it);
    cJSON_free(it.details);
    return rc;
}

/* ---- per-token rate limit (token bucket) ------------------------------------------------- */

#define RL_SLOTS 4096
static struct {
    pthread_mutex_t mu;
    struct {
        int64_t id;
        double tokens, last;
    } slot[RL_SLOTS];
} rl = {PTHREAD_MUTEX_INITIALIZER, {{0, 0, 0}}};

/* 1 when principal `id` may make a request now; else 0 and *retry the seconds to wait. */
static int rate_ok(int64_t id, double *retry)
{
    const double rate = g_serve.cfg.rate, burst = g_serve.cfg.burst;
    if (rate <= 0) return 1;
    double t = now_s();
    int ok;
    pthread_mutex_lock(&rl.mu);
    size_t h = (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ull >> 52) % RL_SLOTS, i = h;
    /* open addressing; a full table shares the last probed slot (stricter, never looser) */
    for (size_t k = 0; k < RL_SLOTS; k++, i = (h + k) % RL_SLOTS)
        if (rl.slot[i].id == id || rl.slot[i].id == 0) break;
    if (rl.slot[i].id != id) {
        rl.slot[i].id = id;
        rl.slot[i].tokens = burst;
        rl.slot[i].last = t;
    }
    double tok = rl.slot[i].tokens + (t - rl.slot[i].last) * rate;
    if (tok > burst) tok = burst;
    rl.slot[i].last = t;
    ok = tok >= 1;
    if (ok) tok -= 1;
    rl.slot[i].tokens = tok;
    *retry = ok ? 0 : (1 - tok) / rate;
    pthread_mutex_unlock(&rl.mu);
    return ok;
}

/* ---- responses ------------------------------------------------------------------------------ */

static void common_headers(struct MHD_Response *resp, int api)
{
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Cache-Control", api ? "no-store" : "no-cache");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    if (!api)
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'self'; img-src 'self' data: blob:; "
                                "frame-ancestors 'none'");
}

static enum MHD_Result finish(req *r, unsigned status, struct MHD_Response *resp, size_t len)
{
    if (!resp) return MHD_NO;
    r->status = status;
    if (r->audit && audit_request(r, len) < 0) {
        /* the request could not be audited: its answer is not sent (a stored submission
         * stays stored and is audited by its own submit entry) */
        MHD_destroy_response(resp);
        const char *m = "{\"error\":{\"status\":503,\"code\":\"audit_failed\",\"message\":\"the "
                        "request could not be written to the audit log; try again\"}}\n";
        resp = MHD_create_response_from_buffer(strlen(m), (void *)m, MHD_RESPMEM_PERSISTENT);
        if (!resp) return MHD_NO;
        MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
        status = r->status = 503;
    }
    if (g_serve.cfg.access_log)
        fprintf(stderr, "npswatch: serve: %s %s %s -> %u (%.1f ms)\n", r->who.actor, r->method,
                r->path, status, (now_s() - r->t0) * 1e3);
    enum MHD_Result ok = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    r->queued = 1;
    return ok;
}

enum MHD_Result serve_bytes(req *r, unsigned status, const char *type, void *data, size_t len,
                            const char *disposition_name, const char *const *extra)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer_with_free_callback(len, data, free);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", type);
    common_headers(resp, 1);
    if (disposition_name) {
        char cd[400];
        snprintf(cd, sizeof cd, "attachment; filename=\"%s\"", disposition_name);
        MHD_add_response_header(resp, "Content-Disposition", cd);
    }
    for (size_t i = 0; extra && extra[i]; i += 2) MHD_add_response_header(resp, extra[i], extra[i + 1]);
    return finish(r, status, resp, len);
}

enum MHD_Result serve_json(req *r, unsigned status, cJSON *body)
{
    char *s = body ? cJSON_PrintUnformatted(body) : NULL;
    cJSON_Delete(body);
    if (!s) return serve_error(r, 500, "out_of_memory", "out of memory writing the answer");
    size_t n = strlen(s);
    char *t = realloc(s, n + 2); /* a final newline */
    if (!t) {
        cJSON_free(s);
        return serve_error(r, 500, "out_of_memory", "out of memory writing the answer");
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    return serve_bytes(r, status, "application/json; charset=utf-8", t, n + 1, NULL, NULL);
}

/* Make s valid UTF-8 in place: bytes that are not part of a well-formed sequence (messages can
 * quote a file's bytes) and control characters become '?'. */
static void utf8_clean(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
        int ok = n > 0 && !(n == 2 && *p < 0xc2) && !(n == 4 && *p > 0xf4);
        for (int k = 1; ok && k < n; k++) ok = (p[k] & 0xc0) == 0x80;
        if (!ok || (n == 1 && (*p < 0x20 || *p == 0x7f))) {
            *p++ = '?';
            continue;
        }
        p += n;
    }
}

enum MHD_Result serve_error(req *r, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    utf8_clean(msg);
    snprintf(r->err_code, sizeof r->err_code, "%s", code);
    cJSON *o = cJSON_CreateObject(), *e = o ? cJSON_AddObjectToObject(o, "error") : NULL;
    char *s = NULL;
    if (e && cJSON_AddNumberToObject(e, "status", status) && cJSON_AddStringToObject(e, "code", code) &&
        cJSON_AddStringToObject(e, "message", msg))
        s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    struct MHD_Response *resp;
    size_t len;
    if (s) {
        len = strlen(s);
        resp = MHD_create_response_from_buffer_with_free_callback(len, s, free);
        if (!resp) free(s);
    } else {
        static const char m[] = "{\"error\":{\"status\":500,\"code\":\"out_of_memory\"}}";
        len = sizeof m - 1;
        resp = MHD_create_response_from_buffer(len, (void *)m, MHD_RESPMEM_PERSISTENT);
        status = 500;
    }
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    common_headers(resp, 1);
    if (status == 401) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"npswatch\"");
    if (status == 503 || status == 429) MHD_add_response_header(resp, "Retry-After", "1");
    if (status == 405 && r->route < -1) {
        /* r->route = -2 - index of a route with the path but another method */
        const route *x = &serve_routes[-2 - r->route];
        MHD_add_response_header(resp, "Allow", x->method);
        r->route = -1;
    }
    return finish(r, status, resp, len);
}

enum MHD_Result serve_npsw_error(req *r, npsw_ledger *l, int rc, const npsw_err *e)
{
    char buf[NPSW_ERR_MSG_MAX + NPSW_ERR_WHERE_MAX + 64];
    const char *m = npsw_err_format(e, buf, sizeof buf);
    switch (rc) {
    case NPSW_EINVAL: return serve_error(r, 404, "not_found", "%s", e->msg[0] ? e->msg : m);
    case NPSW_ENOMEM: return serve_error(r, 500, "out_of_memory", "out of memory");
    default:
        fprintf(stderr, "npswatch: serve: %s %s: %s (SQLite code %d)\n", r->method, r->path, m,
                npsw_ledger_sqlite_error(l));
        if (rc == NPSW_EIO && l && npsw_ledger_sqlite_error(l))
            return serve_error(r, 503, "storage_unavailable",
                               "the ledger could not be read or written now; try again");
        return serve_error(r, 500, "internal", "internal error");
    }
}

const char *serve_arg(req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- static files ------------------------------------------------------------------------- */

static const char *mime_of(const char *path)
{
    static const char *const types[][2] = {
        {".html", "text/html; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"}, {".json", "application/json; charset=utf-8"},
        {".png", "image/png"}, {".svg", "image/svg+xml"}, {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"}, {".md", "text/markdown; charset=utf-8"},
        {".woff2", "font/woff2"}};
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof *types; i++)
        if (!strcasecmp(dot, types[i][0])) return types[i][1];
    return "application/octet-stream";
}

/* A path below the www directory: segments of letters, digits, '.', '-', '_', none starting
 * with '.', so no "..", no hidden files, no encoded tricks (libmicrohttpd has decoded %XX). */
static int static_path_ok(const char *p)
{
    if (*p != '/') return 0;
    for (const char *s = p + 1; *s;) {
        if (*s == '.' || *s == '/') return 0;
        const char *e = s;
        while (*e && *e != '/') {
            unsigned char c = (unsigned char)*e;
            if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
                c != '.' && c != '-' && c != '_')
                return 0;
            e++;
        }
        if (e - s > 255) return 0;
        s = *e ? e + 1 : e;
        if (*e && !*s) return 1; /* trailing slash: index.html of the directory */
    }
    return 1;
}

static enum MHD_Result serve_static(req *r)
{
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        snprintf(r->err_code, sizeof r->err_code, "method_not_allowed");
        return serve_error(r, 405, "method_not_allowed", "static files: GET only");
    }
    if (!static_path_ok(r->path))
        return serve_error(r, 404, "not_found", "no such file");
    char p[PATH_MAX];
    size_t n = strlen(r->path);
    int dir = r->path[n - 1] == '/';
    if (snprintf(p, sizeof p, "%s%s%s", g_serve.cfg.www_dir, r->path, dir ? "index.html" : "") >=
        (int)sizeof p)
        return serve_error(r, 404, "not_found", "no such file");
    int fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        if (fd >= 0) close(fd);
        return serve_error(r, 404, "not_found", "no such file");
    }
    struct MHD_Response *resp = MHD_create_response_from_fd((size_t)sb.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", mime_of(dir ? "index.html" : p));
    common_headers(resp, 0);
    return finish(r, 200, resp, (size_t)sb.st_size);
}

/* ---- routing and authentication ---------------------------------------------------------- */

/* Match path against a pattern; params receive pointers into buf (a copy of the path). */
static int match(const char *pattern, const char *path, char *buf, size_t size, char **params,
                 int *np)
{
    snprintf(buf, size, "%s", path);
    *np = 0;
    const char *p = pattern;
    char *s = buf;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            char *se = strchr(s, '/');
            if (!pe || se == s) return 0;
            if (*np < 4) params[(*np)++] = s;
            if (se) {
                *se = '\0';
                s = se + 1;
            } else {
                s += strlen(s);
            }
            p = pe + 1;
            if (*p == '/') p++;
            else if (*p) return 0;
            if (!*p && *s) return 0;
            if (*p && !*s && !se) return 0;
            continue;
        }
        if (*p != *s) return 0;
        p++;
        s++;
    }
    return !*p && !*s;
}

/* Find the route of method+path: its index, or -1 (no such path), or -2 - i (the path exists
 * with another method: 405). */
static int find_route(const char *method, const char *path, char *buf, size_t size, char **params,
                      int *np)
{
    int other = -1;
    for (size_t i = 0; i < serve_n_routes; i++) {
        if (!match(serve_routes[i].pattern, path, buf, size, params, np)) continue;
        if (!strcmp(serve_routes[i].method, method) ||
            (!strcmp(method, "HEAD") && !strcmp(serve_routes[i].method, "GET")))
            return (int)i;
        if (other < 0) other = (int)i;
    }
    return other >= 0 ? -2 - other : -1;
}

static const char *role_names(int roles, char *buf, size_t size)
{
    buf[0] = '\0';
    const char *names[] = {"lab", "curator", "admin"};
    for (int i = 0; i < 3; i++)
        if (roles & (1 << i)) {
            size_t n = strlen(buf);
            snprintf(buf + n, size - n, "%s%s", n ? ", " : "", names[i]);
        }
    return buf;
}

/* Authenticate from "Authorization: Bearer TOKEN". Returns 0 (r->who filled), or sends the
 * 401/503 answer and returns 1. */
static int authenticate(req *r, enum MHD_Result *ret)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (!h) {
        *ret = serve_error(r, 401, "unauthenticated",
                           "this endpoint needs 'Authorization: Bearer <token>' (the token "
                           "'npswatch lab add' printed)");
        return 1;
    }
    if (strncasecmp(h, "Bearer ", 7) != 0) {
        *ret = serve_error(r, 401, "unauthenticated",
                           "the Authorization header must be 'Bearer <token>'");
        return 1;
    }
    const char *tok = h + 7;
    while (*tok == ' ') tok++;
    char why[600];
    npsw_ledger *l = serve_ledger(why, sizeof why);
    if (!l) {
        fprintf(stderr, "npswatch: serve: %s\n", why);
        *ret = serve_error(r, 503, "storage_unavailable", "the ledger cannot be opened now");
        return 1;
    }
    npsw_err e;
    npsw_err_clear(&e);
    int x = npsw_ledger_lab_by_token(l, tok, &r->who.lab, &e);
    if (x < 0) {
        *ret = serve_npsw_error(r, l, x == NPSW_EINVAL ? NPSW_EIO : x, &e);
        return 1;
    }
    if (x == 0) {
        *ret = serve_error(r, 401, "unauthenticated", "unknown or revoked token");
        return 1;
    }
    r->who.authed = 1;
    snprintf(r->who.actor, sizeof r->who.actor, "%s:%" PRId64,
             npsw_ledger_role_name(r->who.lab.role), r->who.lab.id);
    return 0;
}

/* Who sent a request that is refused before authentication (no such endpoint, wrong method):
 * r->who when a valid bearer token came with it; the answer does not change. */
static void identify(req *r)
{
    const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0) return;
    char why[600];
    npsw_ledger *l = serve_ledger(why, sizeof why);
    npsw_ledger_lab lab;
    if (l && npsw_ledger_lab_by_token(l, h + 7 + strspn(h + 7, " "), &lab, NULL) == 1) {
        r->who.lab = lab;
        r->who.authed = 1;
        snprintf(r->who.actor, sizeof r->who.actor, "%s:%" PRId64, npsw_ledger_role_name(lab.role),
                 lab.id);
    }
}

/* The media type of the request body, lower case, without parameters. */
static void content_type(req *r, char *buf, size_t size)
{
    const char *ct = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Type");
    size_t i = 0;
    for (; ct && ct[i] && ct[i] != ';' && ct[i] != ' ' && i + 1 < size; i++)
        buf[i] = (char)((ct[i] >= 'A' && ct[i] <= 'Z') ? ct[i] + 32 : ct[i]);
    buf[i] = '\0';
}

static enum MHD_Result post_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *filename, const char *ctype, const char *enc,
                                 const char *data, uint64_t off, size_t size)
{
    (void)kind, (void)ctype, (void)enc;
    req *r = cls;
    if (!strcmp(key, "file")) {
        if (off == 0) {
            r->file_fields++;
            snprintf(r->upload_name, sizeof r->upload_name, "%s", filename ? filename : "upload");
        }
        if (r->file_fields > 1) return MHD_YES; /* reported after the body */
        if (r->too_big || r->len + size > g_serve.cfg.max_body) {
            r->too_big = 1;
            r->discarded += size;
            return MHD_YES;
        }
        if (r->len + size > r->cap) {
            size_t cap = r->cap ? r->cap : 65536;
            while (cap < r->len + size) cap *= 2;
            unsigned char *b = realloc(r->body, cap);
            if (!b) return MHD_NO;
            r->body = b;
            r->cap = cap;
        }
        memcpy(r->body + r->len, data, size);
        r->len += size;
    } else if (!strcmp(key, "format") && off == 0) {
        snprintf(r->form_format, sizeof r->form_format, "%.*s", (int)(size < 15 ? size : 15), data);
    }
    return MHD_YES;
}

static void append_body(req *r, const char *data, size_t size)
{
    if (r->too_big || r->len + size > g_serve.cfg.max_body) {
        r->too_big = 1;
        r->discarded += size;
        return;
    }
    if (r->len + size > r->cap) {
        size_t cap = r->cap ? r->cap : 65536;
        while (cap < r->len + size) cap *= 2;
        unsigned char *b = realloc(r->body, cap);
        if (!b) {
            r->too_big = 2; /* out of memory */
            r->discarded += size;
            return;
        }
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, size);
    r->len += size;
}

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    long active;
} inflight = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};

/* First call of a request: route, authenticate, check role, rate, size and type. Returns 1 when
 * an answer was queued (*ret set), 0 to go on (receive the body / run the endpoint). */
static int admit(req *r, const char *url, enum MHD_Result *ret)
{
    snprintf(r->path, sizeof r->path, "%s", url);
    strcpy(r->who.actor, "anonymous");
    char buf[512], *params[4];
    int np;
    if (strncmp(url, "/api/", 5) != 0) {
        r->route = -1;
        *ret = serve_static(r);
        return 1;
    }
    r->route = find_route(r->method, url, buf, sizeof buf, params, &np);
    /* every API request is audited but those of the public endpoints (health, version, API
     * description) */
    r->audit = r->route < 0 || serve_routes[r->route].audited;
    if (r->route < 0) identify(r); /* the audit entry says who asked, when a valid token did */
    if (r->route == -1) {
        *ret = serve_error(r, 404, "not_found", "no such endpoint: %s %s (see /api/v1/openapi.json)",
                           r->method, r->path);
        return 1;
    }
    if (r->route < -1) {
        *ret = serve_error(r, 405, "method_not_allowed", "%s is not allowed on %s", r->method,
                           r->path);
        return 1;
    }
    const route *rt = &serve_routes[r->route];
    if (rt->roles != R_NONE) {
        if (authenticate(r, ret)) return 1;
        int mine = 1 << (int)r->who.lab.role;
        if (!(rt->roles & mine)) {
            char rn[64];
            *ret = serve_error(r, 403, "forbidden", "%s %s is for the role(s) %s; this token's role is %s",
                               r->method, rt->pattern, role_names(rt->roles, rn, sizeof rn),
                               npsw_ledger_role_name(r->who.lab.role));
            return 1;
        }
        double retry;
        if (!rate_ok(r->who.lab.id, &retry)) {
            *ret = serve_error(r, 429, "rate_limited",
                               "more than %g requests per second with this token; retry in %.2f s",
                               g_serve.cfg.rate, retry);
            return 1;
        }
    }
    /* the body */
    const char *cl = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Content-Length");
    const char *te = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Transfer-Encoding");
    int has_body = (cl && strcmp(cl, "0") != 0) || te;
    if (rt->body == B_NONE) {
        if (has_body) {
            *ret = serve_error(r, 400, "unexpected_body", "%s %s takes no request body",
                               r->method, rt->pattern);
            return 1;
        }
        return 0;
    }
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (*end || errno || (unsigned long long)g_serve.cfg.max_body < n) {
            *ret = serve_error(r, 413, "body_too_large",
                               "the request body may have at most %zu bytes (Content-Length: %s)",
                               g_serve.cfg.max_body, cl);
            return 1;
        }
    }
    char ct[128];
    content_type(r, ct, sizeof ct);
    if (rt->body == B_JSON) {
        if (strcmp(ct, "application/json") != 0) {
            *ret = serve_error(r, 415, "unsupported_media_type",
                               "%s %s takes a JSON body (Content-Type: application/json), not '%s'",
                               r->method, rt->pattern, ct[0] ? ct : "none");
            return 1;
        }
        return 0;
    }
    /* a spectra file: raw, or multipart/form-data with a "file" field */
    if (!strcmp(ct, "multipart/form-data")) {
        r->multipart = 1;
        r->pp = MHD_create_post_processor(r->conn, 64 * 1024, post_iter, r);
        if (!r->pp) {
            *ret = serve_error(r, 400, "bad_multipart",
                               "multipart/form-data without a usable boundary");
            return 1;
        }
        return 0;
    }
    static const char *const ok_types[] = {"application/octet-stream", "text/plain",
                                           "application/xml", "text/xml", "text/csv",
                                           "text/tab-separated-values"};
    int ok = !strncmp(ct, "chemical/", 9);
    for (size_t i = 0; !ok && i < sizeof ok_types / sizeof *ok_types; i++) ok = !strcmp(ct, ok_types[i]);
    if (!ok) {
        *ret = serve_error(r, 415, "unsupported_media_type",
                           "a spectra file is sent as application/octet-stream, text/plain, "
                           "text/csv, application/xml, chemical/* or multipart/form-data (field "
                           "'file'), not '%s'",
                           ct[0] ? ct : "none");
        return 1;
    }
    return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)cls, (void)version;
    req *r = *con_cls;
    enum MHD_Result ret = MHD_YES;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        *con_cls = r;
        r->conn = conn;
        r->method = method;
        r->t0 = now_s();
        r->route = -1;
        pthread_mutex_lock(&inflight.mu);
        inflight.active++;
        pthread_mutex_unlock(&inflight.mu);
        if (admit(r, url, &ret)) return ret;
        return MHD_YES;
    }
    if (r->queued) { /* answered early: the rest of the body is dropped */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->pp) {
            if (MHD_post_process(r->pp, upload_data, n) != MHD_YES) {
                r->too_big = r->too_big ? r->too_big : 3; /* malformed or out of memory */
            }
        } else {
            append_body(r, upload_data, n);
        }
        /* a chunked body far beyond the limit: stop reading it (the connection is closed) */
        if (r->discarded > 16 * g_serve.cfg.max_body + (1u << 20)) return MHD_NO;
        return MHD_YES;
    }
    /* the whole request is here */
    if (r->pp) { /* a multipart body must end with its final boundary */
        if (MHD_destroy_post_processor(r->pp) != MHD_YES && !r->too_big) r->too_big = 3;
        r->pp = NULL;
    }
    if (r->too_big == 1)
        return serve_error(r, 413, "body_too_large", "the request body may have at most %zu bytes",
                           g_serve.cfg.max_body);
    if (r->too_big == 2) return serve_error(r, 503, "out_of_memory", "out of memory for the body");
    if (r->too_big == 3 || (r->multipart && r->file_fields != 1))
        return serve_error(r, 400, "bad_multipart",
                           "multipart/form-data must be complete (final boundary) and carry "
                           "exactly one field named 'file' (found %d)",
                           r->file_fields);
    char buf[512], *params[4];
    int np;
    find_route(r->method, r->path, buf, sizeof buf, params, &np);
    return serve_routes[r->route].fn(r, params, np);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)conn, (void)toe;
    req *r = *con_cls;
    if (!r) return;
    if (r->pp) MHD_destroy_post_processor(r->pp);
    free(r->body);
    free(r);
    *con_cls = NULL;
    pthread_mutex_lock(&inflight.mu);
    inflight.active--;
    pthread_cond_broadcast(&inflight.cv);
    pthread_mutex_unlock(&inflight.mu);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    fputs("npswatch: serve: libmicrohttpd: ", stderr);
    vfprintf(stderr, fmt, ap);
}

/* ---- options -------------------------------------------------------------------------------- */

static void help(FILE *f)
{
    fprintf(f,
            "Usage: npswatch serve --ledger DB -l LIB.h5 [options]\n\n"
            "The HTTP service of the early-warning hub (docs/service.md; API: docs/openapi.json,\n"
            "also served at /api/v1/openapi.json): laboratories submit spectra files and read\n"
            "their own submissions and results; curators see signals and advisories, accept or\n"
            "reject them and download library versions. Bearer tokens from 'npswatch lab add';\n"
            "every API request is audited in the ledger. Static files (the dashboard) are\n"
            "served from --www at /. SIGTERM or SIGINT: stop accepting, finish the requests in\n"
            "flight, exit 0.\n\n"
            "Options:\n"
            "  --ledger DB           the ledger (required)\n"
            "  -l, --library FILE    the library submissions are analysed with (required)\n"
            "  --listen HOST:PORT    address to listen on (default 127.0.0.1:8080; port 0 =\n"
            "                        any free port, see --port-file)\n"
            "  --threads N           worker threads (default 4, at most 256)\n"
            "  --tls-cert FILE       PEM certificate: serve HTTPS (with --tls-key)\n"
            "  --tls-key FILE        PEM private key\n"
            "  --max-body BYTES      largest request body (default 16777216; at most %u)\n"
            "  --max-header BYTES    memory for a request's line and headers (default 32768)\n"
            "  --max-connections N   connections at once (default 256)\n"
            "  --max-per-ip N        connections at once from one address (default 64)\n"
            "  --timeout S           close a connection idle for S seconds (default 30)\n"
            "  --rate R              requests per second per token (default 50; 0 = no limit)\n"
            "  --burst B             requests a token may make at once (default 4 x rate)\n"
            "  --min-labs N          signals are shown once N laboratories saw them (default 2)\n"
            "  --www DIR             static files served at / (default %s)\n"
            "  --library-dir DIR     where accepting an advisory writes the new library version\n"
            "                        (default: the directory of -l)\n"
            "  --drain S             on SIGTERM, wait at most S seconds for requests in flight\n"
            "                        (default 30)\n"
            "  --port-file FILE      write the port listened on into FILE (atomically)\n"
            "  --access-log          one line per request on standard error\n"
            "  -h, --help            this help\n",
            NPSW_LEDGER_MAX_FILE, NPSW_WWW_SRC " when it exists, else " NPSW_WWW_DIR);
}

static int parse_listen(const char *s, serve_cfg *c)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || (size_t)(colon - s) >= sizeof c->listen_host) {
        cli_msg("--listen: expected HOST:PORT (e.g. 127.0.0.1:8080), got '%s'", s);
        return -1;
    }
    snprintf(c->listen_host, sizeof c->listen_host, "%.*s", (int)(colon - s), s);
    unsigned long p;
    if (cli_parse_uint("--listen port", colon + 1, 0, 65535, &p) < 0) return -1;
    c->port = (unsigned)p;
    struct in_addr a;
    if (inet_pton(AF_INET, c->listen_host, &a) != 1) {
        cli_msg("--listen: '%s' is not an IPv4 address (e.g. 127.0.0.1 or 0.0.0.0)",
                c->listen_host);
        return -1;
    }
    return 0;
}

static char *read_text_file(const char *path, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cli_msg("%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    char *b = malloc(max + 1);
    size_t n = b ? fread(b, 1, max + 1, f) : 0;
    int bad = !b || ferror(f) || n > max;
    fclose(f);
    if (bad) {
        cli_msg("%s: cannot read it (or it is larger than %zu bytes)", path, max);
        free(b);
        return NULL;
    }
    b[n] = '\0';
    return b;
}

static int write_port_file(const char *path, unsigned port)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    fprintf(f, "%u\n", port);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0) {
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int cmd_serve(int argc, char **argv)
{
    enum { O_LEDGER = 2000, O_LISTEN, O_THREADS, O_CERT, O_KEY, O_MAXBODY, O_MAXHDR, O_MAXCONN,
           O_PERIP, O_TIMEOUT, O_RATE, O_BURST, O_MINLABS, O_WWW, O_LIBDIR, O_DRAIN, O_PORTFILE,
           O_ACCESS };
    static const struct option longopts[] = {
        {"ledger", required_argument, NULL, O_LEDGER},
        {"library", required_argument, NULL, 'l'},
        {"listen", required_argument, NULL, O_LISTEN},
        {"threads", required_argument, NULL, O_THREADS},
        {"tls-cert", required_argument, NULL, O_CERT},
        {"tls-key", required_argument, NULL, O_KEY},
        {"max-body", required_argument, NULL, O_MAXBODY},
        {"max-header", required_argument, NULL, O_MAXHDR},
        {"max-connections", required_argument, NULL, O_MAXCONN},
        {"max-per-ip", required_argument, NULL, O_PERIP},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"rate", required_argument, NULL, O_RATE},
        {"burst", required_argument, NULL, O_BURST},
        {"min-labs", required_argument, NULL, O_MINLABS},
        {"www", required_argument, NULL, O_WWW},
        {"library-dir", required_argument, NULL, O_LIBDIR},
        {"drain", required_argument, NULL, O_DRAIN},
        {"port-file", required_argument, NULL, O_PORTFILE},
        {"access-log", no_argument, NULL, O_ACCESS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    serve_cfg *c = &g_serve.cfg;
    memset(&g_serve, 0, sizeof g_serve);
    strcpy(c->listen_host, "127.0.0.1");
    c->port = 8080;
    c->threads = 4;
    c->max_connections = 256;
    c->max_per_ip = 64;
    c->timeout_s = 30;
    c->max_body = 16u << 20;
    c->max_header = 32768;
    c->rate = 50;
    c->burst = -1;
    c->min_labs = 2;
    c->drain_s = 30;
    struct stat wsb;
    c->www_dir = stat(NPSW_WWW_SRC, &wsb) == 0 && S_ISDIR(wsb.st_mode) ? NPSW_WWW_SRC : NPSW_WWW_DIR;
    int bad = 0, ch;
    unsigned long u;
    double d;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "l:h", longopts, NULL)) != -1) {
        switch (ch) {
        case O_LEDGER: c->ledger_path = optarg; break;
        case 'l': c->lib_path = optarg; break;
        case O_LISTEN: bad |= parse_listen(optarg, c) < 0; break;
        case O_THREADS:
            bad |= cli_parse_uint("--threads", optarg, 1, 256, &u) < 0;
            c->threads = (unsigned)u;
            break;
        case O_CERT: c->tls_cert = optarg; break;
        case O_KEY: c->tls_key = optarg; break;
        case O_MAXBODY:
            bad |= cli_parse_uint("--max-body", optarg, 1, NPSW_LEDGER_MAX_FILE, &u) < 0;
            c->max_body = u;
            break;
        case O_MAXHDR:
            bad |= cli_parse_uint("--max-header", optarg, 4096, 1u << 20, &u) < 0;
            c->max_header = u;
            break;
        case O_MAXCONN:
            bad |= cli_parse_uint("--max-connections", optarg, 1, 100000, &u) < 0;
            c->max_connections = (unsigned)u;
            break;
        case O_PERIP:
            bad |= cli_parse_uint("--max-per-ip", optarg, 1, 100000, &u) < 0;
            c->max_per_ip = (unsigned)u;
            break;
        case O_TIMEOUT:
            bad |= cli_parse_uint("--timeout", optarg, 1, 86400, &u) < 0;
            c->timeout_s = (unsigned)u;
            break;
        case O_RATE:
            bad |= cli_parse_double("--rate", optarg, 0, 1e6, &d) < 0;
            c->rate = d;
            break;
        case O_BURST:
            bad |= cli_parse_double("--burst", optarg, 1, 1e7, &d) < 0;
            c->burst = d;
            break;
        case O_MINLABS:
            bad |= cli_parse_uint("--min-labs", optarg, 2, 1000000, &u) < 0;
            c->min_labs = (unsigned)u;
            break;
        case O_WWW: c->www_dir = optarg; break;
        case O_LIBDIR: c->library_dir = optarg; break;
        case O_DRAIN:
            bad |= cli_parse_uint("--drain", optarg, 0, 86400, &u) < 0;
            c->drain_s = (unsigned)u;
            break;
        case O_PORTFILE: c->port_file = optarg; break;
        case O_ACCESS: c->access_log = 1; break;
        case 'h': help(stdout); return EXIT_OK;
        default: bad = 1;
        }
    }
    if (!bad && (!c->ledger_path || !c->lib_path))
        cli_msg("serve: --ledger DB and -l LIB.h5 are required"), bad = 1;
    if (!bad && (!c->tls_cert) != (!c->tls_key))
        cli_msg("serve: --tls-cert and --tls-key go together"), bad = 1;
    if (!bad && optind < argc) cli_msg("serve: unexpected argument '%s'", argv[optind]), bad = 1;
    if (bad) {
        help(stderr);
        return EXIT_INPUT;
    }
    /* signals: handled by this thread only (sigwait); blocked before any thread starts (the
     * OpenMP threads of the preparation below, libmicrohttpd's, the writer) so that none of
     * them takes SIGTERM's default action */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (c->burst < 0) c->burst = c->rate > 0 ? 4 * c->rate : 1;
    if (c->burst < 1) c->burst = 1;
    int rc = EXIT_OK;
    char *cert = NULL, *key = NULL, *libdir_buf = NULL;
    npsw_err e;
    npsw_err_clear(&e);
    /* the ledger must open now (not only in the first request) */
    au.tail = &au.head;
    au.l = npsw_ledger_open(c->ledger_path, 0, "npswatch-serve", NULL, &e);
    if (!au.l) {
        cli_err(&e);
        return e.code == NPSW_ENOMEM ? EXIT_INTERNAL : EXIT_INPUT;
    }
    struct stat sb;
    if (stat(c->www_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        cli_msg("serve: warning: --www %s is not a directory; static files will be 404", c->www_dir);
    if (!c->library_dir) {
        libdir_buf = strdup(c->lib_path);
        char *s = libdir_buf ? strrchr(libdir_buf, '/') : NULL;
        if (s) *s = '\0';
        c->library_dir = libdir_buf && s ? (s == libdir_buf ? "/" : libdir_buf) : ".";
    }
    g_serve.lib = npsw_lib_open(c->lib_path, &e);
    if (!g_serve.lib) {
        cli_err(&e);
        rc = cli_exit_code(e.code);
        goto done;
    }
    /* the analysis, prepared once: indices and FFTW plans (before any thread starts) */
    analysis_cli x;
    analysis_cli_init(&x);
    analysis_cli_finish(&x);
    x.ao.threads = 1; /* one request, one thread: the pool gives the parallelism */
    g_serve.actx = npsw_analyse_ctx_new(g_serve.lib, &x.ao, &e);
    if (!g_serve.actx) {
        cli_err(&e);
        rc = EXIT_INTERNAL;
        goto done;
    }
    analysis_params_text(&x.ao, g_serve.analysis_extra, sizeof g_serve.analysis_extra);
    g_serve.engine = (sub_engine){.lib_path = c->lib_path,
                                  .lib = g_serve.lib,
                                  .ao = x.ao,
                                  .actx = g_serve.actx,
                                  .ro = npsw_read_opts_default(),
                                  .extra = g_serve.analysis_extra,
                                  .store = store_submission};
    g_serve.engine.ro.max_file_size = c->max_body;
    g_serve.openapi = (const char *)npsw_openapi_json;
    g_serve.openapi_len = npsw_openapi_json_len;
    if (c->tls_cert) {
        if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
            cli_msg("serve: this libmicrohttpd was built without TLS support");
            rc = EXIT_INPUT;
            goto done;
        }
        if (!(cert = read_text_file(c->tls_cert, 1 << 20)) ||
            !(key = read_text_file(c->tls_key, 1 << 20))) {
            rc = EXIT_INPUT;
            goto done;
        }
    }
    if (pthread_create(&au.thread, NULL, writer_main, NULL) != 0) {
        cli_msg("serve: cannot start the writer thread");
        rc = EXIT_INTERNAL;
        goto done;
    }
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)c->port);
    inet_pton(AF_INET, c->listen_host, &sa.sin_addr);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC |
                     MHD_USE_ERROR_LOG | (cert ? MHD_USE_TLS : 0);
    g_serve.daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)c->threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)c->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)c->max_per_ip,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)c->max_header, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 256u,
        cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
        MHD_OPTION_END);
    if (!g_serve.daemon) {
        cli_msg("serve: cannot listen on %s:%u (%s)", c->listen_host, c->port,
                errno ? strerror(errno) : "libmicrohttpd refused the settings");
        rc = EXIT_INPUT;
        goto stop_audit;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(g_serve.daemon, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di ? di->port : c->port;
    const npsw_lib_info *li = npsw_lib_get_info(g_serve.lib);
    cli_msg("serve: listening on %s://%s:%u (ledger %s, library %s %s sha256 %s, %u threads)",
            cert ? "https" : "http", c->listen_host, port, c->ledger_path, li->name, li->version,
            li->content_sha256, c->threads);
    if (c->port_file && write_port_file(c->port_file, port) < 0)
        cli_msg("serve: warning: could not write the port file %s: %s", c->port_file, strerror(errno));
    int sig = 0;
    while (sigwait(&sigs, &sig) == 0 && sig == SIGHUP)
        cli_msg("serve: SIGHUP ignored (restart to change settings)");
    /* graceful shutdown: stop accepting, let requests in flight finish, then stop */
    MHD_socket lfd = MHD_quiesce_daemon(g_serve.daemon);
    if (lfd != MHD_INVALID_SOCKET) close(lfd);
    pthread_mutex_lock(&inflight.mu);
    long n0 = inflight.active;
    cli_msg("serve: %s: no longer accepting connections; %ld request(s) in flight", strsignal(sig), n0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += c->drain_s;
    while (inflight.active > 0)
        if (pthread_cond_timedwait(&inflight.cv, &inflight.mu, &until) == ETIMEDOUT) break;
    long left = inflight.active;
    pthread_mutex_unlock(&inflight.mu);
    if (left) cli_msg("serve: %ld request(s) still in flight after %u s; closing them", left, c->drain_s);
    MHD_stop_daemon(g_serve.daemon);
    cli_msg("serve: stopped (%" PRIu64 " submissions and %" PRIu64 " request audit entries "
            "stored in %" PRIu64 " transactions)",
            au.n_submissions, au.n_entries, au.n_batches);
stop_audit:
    pthread_mutex_lock(&au.mu);
    au.stop = 1;
    pthread_cond_signal(&au.cv_work);
    pthread_mutex_unlock(&au.mu);
    pthread_join(au.thread, NULL);
done:
    close_handles();
    npsw_ledger_close(au.l);
    npsw_analyse_ctx_free(g_serve.actx);
    npsw_lib_free(g_serve.lib);
    if (key) memset(key, 0, strlen(key));
    free(cert);
    free(key);
    free(libdir_buf);
    return rc;
}
