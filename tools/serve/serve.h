/* serve.h - `npswatch serve`, the HTTP service (docs/service.md): what the request lifecycle
 * (server.c) and the API endpoints (api.c) share. */
#ifndef NPSW_SERVE_H
#define NPSW_SERVE_H

#include <microhttpd.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "npsw/ledger.h"
#include "submit_core.h"

/* Service settings (docs/cli.md, "npswatch serve"). */
typedef struct serve_cfg {
    const char *ledger_path, *lib_path, *www_dir, *library_dir;
    char listen_host[64];
    unsigned port;
    unsigned threads;          /* worker threads (libmicrohttpd thread pool) */
    unsigned max_connections;  /* in total */
    unsigned max_per_ip;       /* connections per client address */
    unsigned timeout_s;        /* idle connection timeout */
    size_t max_body;           /* request body limit, bytes */
    size_t max_header;         /* per-connection memory for the request line and headers */
    double rate;               /* requests per second per token */
    double burst;              /* token-bucket size */
    unsigned min_labs;         /* privacy threshold of signals */
    unsigned drain_s;          /* SIGTERM: how long in-flight requests may take */
    const char *tls_cert, *tls_key, *port_file;
    int access_log;
} serve_cfg;

/* The principal a bearer token names (a row of the labs table). */
typedef struct principal {
    int authed;
    npsw_ledger_lab lab;
    char actor[48]; /* "lab:3", "curator:5", "admin:1"; "anonymous" */
} principal;

/* One request, from its headers to its completion. */
typedef struct req {
    struct MHD_Connection *conn;
    const char *method;      /* as MHD gave it (lives as long as the connection's request) */
    char path[512];          /* the URL path (decoded by libmicrohttpd), cut at 511 bytes */
    int route;               /* index into the route table, -1 = none */
    int audit;               /* the request goes into the audit log */
    double t0;
    principal who;
    /* body */
    unsigned char *body;
    size_t len, cap;
    size_t discarded;        /* bytes dropped after the body outgrew the limit */
    int too_big;
    int multipart;
    struct MHD_PostProcessor *pp;
    char upload_name[256];   /* multipart: the file field's file name */
    int file_fields;         /* multipart: how many "file" fields */
    char form_format[16];
    /* outcome */
    unsigned status;
    char err_code[32];
    int64_t submission_id;   /* a stored submission (for the request's audit entry) */
    int queued;
} req;

typedef struct serve_state {
    serve_cfg cfg;
    npsw_lib *lib;
    npsw_analyse_ctx *actx;
    sub_engine engine;
    char analysis_extra[256];
    struct MHD_Daemon *daemon;
    const char *openapi;     /* docs/openapi.json, compiled in */
    size_t openapi_len;
} serve_state;

extern serve_state g_serve;

/* The calling worker thread's ledger handle (opened on first use; closed at shutdown). NULL when
 * it cannot be opened (then *why says why). */
npsw_ledger *serve_ledger(char *why, size_t size);

/* Responses: every API answer is JSON; errors are {"error": {"status", "code", "message"}}. */
enum MHD_Result serve_json(req *r, unsigned status, cJSON *body); /* takes body */
enum MHD_Result serve_error(req *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
enum MHD_Result serve_bytes(req *r, unsigned status, const char *type, void *data, size_t len,
                            const char *disposition_name, const char *const *extra_headers);
/* Query parameter of the request (NULL when absent). */
const char *serve_arg(req *r, const char *name);
/* An npsw error as the right HTTP status: EINVAL (no such object) 404 unless told otherwise, EIO
 * storage 503, ENOMEM 500... */
enum MHD_Result serve_npsw_error(req *r, npsw_ledger *l, int rc, const npsw_err *e);

/* ---- routes (api.c) ----------------------------------------------------------------------- */

enum role_mask { R_NONE = 0, R_LAB = 1, R_CURATOR = 2, R_ADMIN = 4, R_ANY = 7 };
enum body_kind { B_NONE = 0, B_FILE, B_JSON };

typedef struct route {
    const char *method;
    const char *pattern;     /* "/api/v1/submissions/{n}/results": {x} matches one segment */
    int roles;               /* R_NONE: public */
    int body;                /* what a body may be */
    enum MHD_Result (*fn)(req *r, char **params, int nparams);
    int audited;             /* written into the audit log */
} route;

extern const route serve_routes[];
extern const size_t serve_n_routes;

#endif
