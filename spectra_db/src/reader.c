/* reader.c - opening inputs, format detection, and the record loop shared by all formats. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npsw/hash.h"
#include "reader_internal.h"

static const npsw_format_ops *const all_formats[] = {&npsw_msp_ops, &npsw_mgf_ops, &npsw_jcamp_ops,
                                                     &npsw_csv_ops, &npsw_mzml_ops};
#define N_FORMATS (sizeof all_formats / sizeof all_formats[0])

const char *npsw_format_name(npsw_format f)
{
    switch (f) {
    case NPSW_FMT_AUTO: return "auto";
    case NPSW_FMT_MSP: return "msp";
    case NPSW_FMT_MGF: return "mgf";
    case NPSW_FMT_JCAMP: return "jcamp";
    case NPSW_FMT_CSV: return "csv";
    case NPSW_FMT_MZML: return "mzml";
    default: return "unknown";
    }
}

int npsw_format_from_name(const char *name)
{
    if (!name) return NPSW_EINVAL;
    size_t n = strlen(name);
    if (npsw_ieq(name, n, "auto")) return NPSW_FMT_AUTO;
    if (npsw_ieq(name, n, "msp")) return NPSW_FMT_MSP;
    if (npsw_ieq(name, n, "mgf")) return NPSW_FMT_MGF;
    if (npsw_ieq(name, n, "jcamp") || npsw_ieq(name, n, "jdx") || npsw_ieq(name, n, "dx") ||
        npsw_ieq(name, n, "jcamp-dx"))
        return NPSW_FMT_JCAMP;
    if (npsw_ieq(name, n, "csv") || npsw_ieq(name, n, "tsv") || npsw_ieq(name, n, "txt"))
        return NPSW_FMT_CSV;
    if (npsw_ieq(name, n, "mzml")) return NPSW_FMT_MZML;
    return NPSW_EINVAL;
}

npsw_read_opts npsw_read_opts_default(void)
{
    npsw_read_opts o;
    memset(&o, 0, sizeof o);
    o.format = NPSW_FMT_AUTO;
    o.encoding = NPSW_ENC_AUTO;
    o.decimal_comma = NPSW_DECIMAL_COMMA_AUTO;
    o.max_peaks = 1000000;
    o.max_file_size = (size_t)16 << 30;
    return o;
}

static const npsw_format_ops *ops_for(npsw_format f)
{
    for (size_t i = 0; i < N_FORMATS; i++)
        if (all_formats[i]->format == f) return all_formats[i];
    return NULL;
}

/* Extension hint: a matching extension adds to the content score. */
static npsw_format format_from_extension(const char *name)
{
    const char *dot = name ? strrchr(name, '.') : NULL;
    if (!dot) return NPSW_FMT_AUTO;
    int f = npsw_format_from_name(dot + 1);
    return f > 0 ? (npsw_format)f : NPSW_FMT_AUTO;
}

static const npsw_format_ops *detect(const char *buf, size_t len, const char *name)
{
    npsw_format hint = format_from_extension(name);
    const npsw_format_ops *best = NULL;
    int best_score = 0;
    size_t probe_len = len < 65536 ? len : 65536;
    for (size_t i = 0; i < N_FORMATS; i++) {
        int sc = all_formats[i]->probe(buf, probe_len);
        if (sc > 0 && all_formats[i]->format == hint) sc += 20;
        if (sc > best_score) best_score = sc, best = all_formats[i];
    }
    return best;
}

static npsw_reader *reader_new(char *buf, size_t len, const char *name, const npsw_read_opts *opts,
                               npsw_err *err)
{
    npsw_reader *r = calloc(1, sizeof *r);
    if (!r) {
        free(buf);
        npsw_err_set(err, NPSW_ENOMEM, name, 0, "out of memory");
        return NULL;
    }
    r->buf = buf;
    r->len = len;
    r->name = strdup(name ? name : "(memory)");
    r->opts = opts ? *opts : npsw_read_opts_default();
    if (r->opts.max_peaks == 0) r->opts.max_peaks = npsw_read_opts_default().max_peaks;
    r->lines.buf = buf;
    r->lines.len = len;
    if (!r->name) goto nomem;
    npsw_sha256_hex(buf, len, r->sha256);
    if (r->opts.format == NPSW_FMT_AUTO) {
        r->ops = detect(buf, len, name);
        if (!r->ops) {
            npsw_err_set(err, NPSW_EFORMAT, name, 0,
                         len ? "cannot tell the format of this file: expected MSP (Name: ...), MGF "
                               "(BEGIN IONS), JCAMP-DX (##TITLE=), mzML (<mzML>) or two-column "
                               "m/z, intensity text; give the format with --input-format"
                             : "the file is empty");
            npsw_reader_close(r);
            return NULL;
        }
    } else {
        r->ops = ops_for(r->opts.format);
        if (!r->ops) {
            npsw_err_set(err, NPSW_EINVAL, name, 0, "unknown input format %d", (int)r->opts.format);
            npsw_reader_close(r);
            return NULL;
        }
    }
    return r;
nomem:
    npsw_reader_close(r);
    npsw_err_set(err, NPSW_ENOMEM, name, 0, "out of memory");
    return NULL;
}

npsw_reader *npsw_reader_open_mem(const void *buf, size_t len, const char *name,
                                  const npsw_read_opts *opts, npsw_err *err)
{
    char *copy = malloc(len ? len : 1);
    if (!copy) {
        npsw_err_set(err, NPSW_ENOMEM, name, 0, "out of memory");
        return NULL;
    }
    if (len) memcpy(copy, buf, len);
    return reader_new(copy, len, name, opts, err);
}

npsw_reader *npsw_reader_open(const char *path, const npsw_read_opts *opts, npsw_err *err)
{
    size_t limit = opts && opts->max_file_size ? opts->max_file_size
                                               : npsw_read_opts_default().max_file_size;
    int is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f) {
        npsw_err_set(err, NPSW_EIO, path, 0, "cannot open: %s", strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    if (!buf) goto nomem;
    for (;;) {
        if (len == cap) {
            if (cap > limit) break;
            char *nb = realloc(buf, cap * 2);
            if (!nb) goto nomem;
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        npsw_err_set(err, NPSW_EIO, path, 0, "read error: %s", strerror(errno));
        goto fail;
    }
    if (len > limit) {
        npsw_err_set(err, NPSW_ELIMIT, path, 0, "file larger than the limit of %zu bytes", limit);
        goto fail;
    }
    if (!is_stdin) fclose(f);
    return reader_new(buf, len, is_stdin ? "(stdin)" : path, opts, err);
nomem:
    npsw_err_set(err, NPSW_ENOMEM, path, 0, "out of memory reading the file");
fail:
    free(buf);
    if (!is_stdin) fclose(f);
    return NULL;
}

int npsw_reader_next(npsw_reader *r, npsw_spectrum *s, npsw_err *err)
{
    npsw_spectrum_reset(s);
    int rc = r->ops->next(r, s, err);
    if (rc == 0) r->n_records++;
    if (r->opts.progress && (r->lines.pos - r->progress_at >= (1u << 20) || rc == NPSW_EOF)) {
        r->progress_at = r->lines.pos;
        r->opts.progress(r->opts.progress_user, rc == NPSW_EOF ? r->len : r->lines.pos, r->len);
    }
    return rc;
}

npsw_format npsw_reader_format(const npsw_reader *r) { return r->ops->format; }
const char *npsw_reader_name(const npsw_reader *r) { return r->name; }
const char *npsw_reader_sha256(const npsw_reader *r) { return r->sha256; }
uint64_t npsw_reader_warnings(const npsw_reader *r) { return r->n_warnings; }

void npsw_reader_close(npsw_reader *r)
{
    if (!r) return;
    if (r->state && r->ops && r->ops->free_state) r->ops->free_state(r->state);
    free(r->buf);
    free(r->name);
    free(r);
}

void npsw_reader_warn(npsw_reader *r, uint64_t line, const char *fmt, ...)
{
    r->n_warnings++;
    if (!r->opts.warn) return;
    npsw_err w;
    va_list ap;
    va_start(ap, fmt);
    npsw_err_vset(&w, NPSW_OK, r->name, line, fmt, ap);
    va_end(ap);
    r->opts.warn(r->opts.warn_user, &w);
}

int npsw_reader_fail(npsw_reader *r, npsw_err *err, uint64_t line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    npsw_err_vset(err, NPSW_EPARSE, r->name, line, fmt, ap);
    va_end(ap);
    return NPSW_EPARSE;
}

static int store_text(npsw_reader *r, npsw_spectrum *s, int field, const char *p, size_t len,
                      uint64_t line, int append)
{
    npsw_trim(&p, &len);
    npsw_encoding used;
    char *u = npsw_to_utf8(p, len, r->opts.encoding, &used);
    if (!u) return NPSW_ENOMEM;
    if (used != NPSW_ENC_UTF8)
        npsw_reader_warn(r, line, "%s: converted from %s to UTF-8", npsw_meta_column(field),
                         used == NPSW_ENC_CP437 ? "CP437" : "Latin-1");
    int rc = append ? npsw_spectrum_append_meta(s, field, u, (size_t)-1)
                    : npsw_spectrum_set_meta(s, field, u, (size_t)-1);
    free(u);
    return rc;
}

int npsw_reader_set_text(npsw_reader *r, npsw_spectrum *s, int field, const char *p, size_t len,
                         uint64_t line)
{
    return store_text(r, s, field, p, len, line, 0);
}

int npsw_reader_append_text(npsw_reader *r, npsw_spectrum *s, int field, const char *p,
                            size_t len, uint64_t line)
{
    return store_text(r, s, field, p, len, line, 1);
}

/* ---- whole files ----------------------------------------------------------------------- */

void npsw_spectra_free(npsw_spectra *a)
{
    if (!a) return;
    for (size_t i = 0; i < a->n; i++) npsw_spectrum_free(&a->v[i]);
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

static npsw_spectrum *spectra_push(npsw_spectra *a)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        npsw_spectrum *v = realloc(a->v, cap * sizeof *v);
        if (!v) return NULL;
        a->v = v;
        a->cap = cap;
    }
    npsw_spectrum *s = &a->v[a->n];
    npsw_spectrum_init(s);
    return s;
}

int npsw_read_file(const char *path, const npsw_read_opts *opts, int strict, npsw_spectra *out,
                   npsw_read_report *rep, npsw_err *err)
{
    npsw_read_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    npsw_reader *r = npsw_reader_open(path, opts, err);
    if (!r) return err ? err->code : NPSW_EIO;
    rep->format = npsw_reader_format(r);
    memcpy(rep->sha256, r->sha256, sizeof rep->sha256);
    size_t start = out->n;
    int rc;
    for (;;) {
        npsw_spectrum *s = spectra_push(out);
        if (!s) {
            rc = npsw_err_set(err, NPSW_ENOMEM, path, 0, "out of memory");
            goto done;
        }
        npsw_err e;
        npsw_err_clear(&e);
        rc = npsw_reader_next(r, s, &e);
        if (rc == NPSW_EOF) {
            npsw_spectrum_free(s);
            rc = 0;
            break;
        }
        if (rc < 0) {
            npsw_spectrum_free(s);
            if (rep->n_skipped < NPSW_REPORT_KEEP) rep->first[rep->n_skipped] = e;
            rep->n_skipped++;
            if (strict || rc == NPSW_ENOMEM) {
                if (err) *err = e;
                goto done;
            }
            continue;
        }
        out->n++;
        rep->n_read++;
    }
done:
    rep->n_warnings = npsw_reader_warnings(r);
    npsw_reader_close(r);
    return rc < 0 ? rc : (int)(out->n - start > (size_t)0x7fffffff ? 0x7fffffff : out->n - start);
}
