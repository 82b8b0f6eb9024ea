/* err.c - error records and descriptions. */
#include "npsw/err.h"

#include <stdio.h>
#include <string.h>

const char *npsw_strerror(int code)
{
    switch (code) {
#define NPSW_X_CASE(name, value, desc) \
    case value:                        \
        return desc;
        NPSW_ERRORS(NPSW_X_CASE)
#undef NPSW_X_CASE
    default:
        return "unknown error";
    }
}

void npsw_err_clear(npsw_err *e)
{
    if (!e) return;
    e->code = NPSW_OK;
    e->where[0] = '\0';
    e->line = 0;
    e->msg[0] = '\0';
}

int npsw_err_vset(npsw_err *e, int code, const char *where, uint64_t line, const char *fmt,
                  va_list ap)
{
    if (!e) return code;
    e->code = code;
    snprintf(e->where, sizeof e->where, "%s", where ? where : "");
    e->line = line;
    if (fmt)
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    else
        snprintf(e->msg, sizeof e->msg, "%s", npsw_strerror(code));
    return code;
}

int npsw_err_set(npsw_err *e, int code, const char *where, uint64_t line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = npsw_err_vset(e, code, where, line, fmt, ap);
    va_end(ap);
    return r;
}

const char *npsw_err_format(const npsw_err *e, char *buf, size_t bufsize)
{
    if (!buf || bufsize == 0) return buf;
    if (!e) {
        snprintf(buf, bufsize, "no error information");
        return buf;
    }
    const char *msg = e->msg[0] ? e->msg : npsw_strerror(e->code);
    if (e->where[0] && e->line)
        snprintf(buf, bufsize, "%s:%llu: %s", e->where, (unsigned long long)e->line, msg);
    else if (e->where[0])
        snprintf(buf, bufsize, "%s: %s", e->where, msg);
    else
        snprintf(buf, bufsize, "%s", msg);
    return buf;
}
