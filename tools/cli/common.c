/* common.c - helpers shared by the subcommands. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

const char *cli_prog = "npswatch";

void cli_msg(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", cli_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_err(const npsw_err *e)
{
    char buf[NPSW_ERR_MSG_MAX + NPSW_ERR_WHERE_MAX + 64];
    cli_msg("%s", npsw_err_format(e, buf, sizeof buf));
}

int cli_exit_code(int rc)
{
    switch (rc) {
    case NPSW_EPARSE:
    case NPSW_EINVAL:
    case NPSW_EFORMAT:
    case NPSW_EVERSION:
    case NPSW_EEMPTY:
    case NPSW_ELIMIT:
    case NPSW_EIO:
    case NPSW_ECHECKSUM:
    case NPSW_EUNSUPPORTED: return EXIT_INPUT;
    default: return rc < 0 ? EXIT_INTERNAL : EXIT_OK;
    }
}

void cli_progress_init(cli_progress *p, const char *label, int force)
{
    p->on = force || isatty(STDERR_FILENO);
    p->label = label;
    p->last_shown = 0;
}

void cli_progress_cb(void *user, uint64_t done, uint64_t total)
{
    cli_progress *p = user;
    if (!p->on || !total) return;
    unsigned long long pct = (unsigned long long)(100.0 * (double)done / (double)total);
    if (done != total && pct == p->last_shown) return;
    p->last_shown = pct;
    int width = 40, fill = (int)(width * (double)done / (double)total);
    fprintf(stderr, "\r%s [", p->label);
    for (int i = 0; i < width; i++) fputc(i < fill ? '#' : '.', stderr);
    fprintf(stderr, "] %3llu%% %llu/%llu", pct, (unsigned long long)done, (unsigned long long)total);
    fflush(stderr);
}

void cli_progress_done(cli_progress *p)
{
    if (p->on) fputc('\n', stderr);
}

int cli_parse_uint(const char *opt, const char *s, unsigned long min, unsigned long max,
                   unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
        cli_msg("%s expects a whole number from %lu to %lu, got '%s'", opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_double(const char *opt, const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= min && v <= max)) {
        cli_msg("%s expects a number from %g to %g, got '%s'", opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_read_option(int opt, const char *arg, npsw_read_opts *ro, int *bad)
{
    switch (opt) {
    case OPT_INPUT_FORMAT: {
        int f = npsw_format_from_name(arg);
        if (f < 0) {
            cli_msg("--input-format: unknown format '%s' (msp, mgf, jcamp, csv, mzml, auto)", arg);
            *bad = 1;
        } else {
            ro->format = (npsw_format)f;
        }
        return 1;
    }
    case OPT_ENCODING:
        if (!strcmp(arg, "auto")) ro->encoding = NPSW_ENC_AUTO;
        else if (!strcmp(arg, "utf8") || !strcmp(arg, "utf-8")) ro->encoding = NPSW_ENC_UTF8;
        else if (!strcmp(arg, "latin1") || !strcmp(arg, "iso-8859-1")) ro->encoding = NPSW_ENC_LATIN1;
        else if (!strcmp(arg, "cp437")) ro->encoding = NPSW_ENC_CP437;
        else {
            cli_msg("--encoding: unknown encoding '%s' (auto, utf8, latin1, cp437)", arg);
            *bad = 1;
        }
        return 1;
    case OPT_DECIMAL_COMMA:
        if (!strcmp(arg, "auto")) ro->decimal_comma = NPSW_DECIMAL_COMMA_AUTO;
        else if (!strcmp(arg, "yes")) ro->decimal_comma = NPSW_DECIMAL_COMMA_YES;
        else if (!strcmp(arg, "no")) ro->decimal_comma = NPSW_DECIMAL_COMMA_NO;
        else {
            cli_msg("--decimal-comma: expected auto, yes or no, got '%s'", arg);
            *bad = 1;
        }
        return 1;
    default: return 0;
    }
}

/* Warnings: the first few per file are printed, the rest counted. */
typedef struct warn_state {
    unsigned long shown;
} warn_state;

static void print_warning(void *user, const npsw_err *w)
{
    warn_state *st = user;
    if (st->shown++ < 5) {
        char buf[NPSW_ERR_MSG_MAX + NPSW_ERR_WHERE_MAX + 64];
        fprintf(stderr, "%s: warning: %s\n", cli_prog, npsw_err_format(w, buf, sizeof buf));
    }
}

int cli_read_inputs(char **paths, int n, const npsw_read_opts *ro_in, int strict, int quiet,
                    int progress, cli_inputs *out)
{
    memset(out, 0, sizeof *out);
    out->files = calloc(n ? (size_t)n : 1, sizeof *out->files);
    out->first = calloc((size_t)n + 1, sizeof *out->first);
    if (!out->files || !out->first) {
        cli_msg("out of memory");
        return EXIT_INTERNAL;
    }
    for (int i = 0; i < n; i++) {
        npsw_read_opts ro = *ro_in;
        warn_state ws = {0};
        ro.warn = print_warning;
        ro.warn_user = &ws;
        char label[300];
        snprintf(label, sizeof label, "reading %s", paths[i]);
        cli_progress pr;
        cli_progress_init(&pr, label, progress > 1);
        if (progress && pr.on) {
            ro.progress = cli_progress_cb;
            ro.progress_user = &pr;
        }
        npsw_read_report rep;
        npsw_err e;
        npsw_err_clear(&e);
        out->first[i] = out->spectra.n;
        int rc = npsw_read_file(paths[i], &ro, strict, &out->spectra, &rep, &e);
        if (ro.progress) cli_progress_done(&pr);
        out->n_files = (size_t)i + 1;
        out->files[i].path = paths[i];
        memcpy(out->files[i].sha256, rep.sha256, sizeof rep.sha256);
        out->files[i].n_records = rep.n_read;
        out->files[i].n_skipped = rep.n_skipped;
        if (ws.shown > 5) cli_msg("%s: %lu more warnings not shown", paths[i], ws.shown - 5);
        if (rc < 0) {
            cli_err(&e);
            if (strict && rep.n_skipped)
                cli_msg("%s: stopped at the first bad record (--strict); nothing was written",
                        paths[i]);
            out->first[i + 1] = out->spectra.n;
            return cli_exit_code(rc);
        }
        for (uint64_t k = 0; k < rep.n_skipped && k < NPSW_REPORT_KEEP; k++) cli_err(&rep.first[k]);
        if (rep.n_skipped > NPSW_REPORT_KEEP)
            cli_msg("%s: %llu more bad records not shown", paths[i],
                    (unsigned long long)(rep.n_skipped - NPSW_REPORT_KEEP));
        if (!quiet || rep.n_skipped)
            cli_msg("%s: %s, read %llu spectra, skipped %llu bad records, %llu warnings", paths[i],
                    npsw_format_name(rep.format), (unsigned long long)rep.n_read,
                    (unsigned long long)rep.n_skipped, (unsigned long long)rep.n_warnings);
    }
    out->first[n] = out->spectra.n;
    return EXIT_OK;
}

void cli_inputs_free(cli_inputs *in)
{
    npsw_spectra_free(&in->spectra);
    free(in->files);
    free(in->first);
    memset(in, 0, sizeof *in);
}

int cli_out_open(cli_out *o, const char *path)
{
    memset(o, 0, sizeof *o);
    if (!path || !strcmp(path, "-")) {
        o->f = stdout;
        return 0;
    }
    /* Only a regular file (or a new one) is replaced atomically; a device, FIFO or socket such
     * as /dev/null or a pipe is written directly: renaming over it would replace it. */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        if (S_ISDIR(st.st_mode)) {
            cli_msg("%s: is a directory", path);
            return EXIT_INPUT;
        }
        o->f = fopen(path, "w");
        if (!o->f) {
            cli_msg("%s: cannot open for writing: %s", path, strerror(errno));
            return EXIT_INPUT;
        }
        o->direct = 1;
        return 0;
    }
    size_t len = strlen(path) + 32;
    o->path = strdup(path);
    o->tmp = malloc(len);
    if (!o->path || !o->tmp) {
        cli_msg("out of memory");
        return EXIT_INTERNAL;
    }
    snprintf(o->tmp, len, "%s.tmp.%ld", path, (long)getpid());
    o->f = fopen(o->tmp, "w");
    if (!o->f) {
        cli_msg("%s: cannot create: %s", o->tmp, strerror(errno));
        free(o->path);
        free(o->tmp);
        o->path = o->tmp = NULL;
        return EXIT_INPUT;
    }
    return 0;
}

int cli_out_commit(cli_out *o)
{
    int rc = EXIT_OK;
    if (o->direct) {
        if (fclose(o->f) != 0) {
            cli_msg("write failed: %s", strerror(errno));
            rc = EXIT_INTERNAL;
        }
        memset(o, 0, sizeof *o);
        return rc;
    }
    if (!o->path) {
        if (fflush(stdout) != 0 || ferror(stdout)) {
            cli_msg("error writing standard output: %s", strerror(errno));
            rc = EXIT_INTERNAL;
        }
        return rc;
    }
    int bad = fflush(o->f) != 0 || ferror(o->f) || fsync(fileno(o->f)) != 0;
    bad |= fclose(o->f) != 0;
    if (bad) {
        cli_msg("%s: write failed: %s", o->tmp, strerror(errno));
        unlink(o->tmp);
        rc = EXIT_INTERNAL;
    } else if (rename(o->tmp, o->path) != 0) {
        cli_msg("%s: cannot rename into place: %s", o->path, strerror(errno));
        unlink(o->tmp);
        rc = EXIT_INTERNAL;
    }
    free(o->path);
    free(o->tmp);
    memset(o, 0, sizeof *o);
    return rc;
}

void cli_out_abort(cli_out *o)
{
    if (o->direct) fclose(o->f);
    if (o->path) {
        fclose(o->f);
        unlink(o->tmp);
    }
    free(o->path);
    free(o->tmp);
    memset(o, 0, sizeof *o);
}

int cli_read_queries(const char *cmd, const npsw_lib *lib, char **paths, int n,
                     const npsw_read_opts *ro, int strict, cli_inputs *in)
{
    int rc = cli_read_inputs(paths, n, ro, strict, 1, 0, in);
    if (rc != EXIT_OK) return rc;
    if (in->spectra.n == 0) {
        cli_msg("%s: no query spectra could be read", cmd);
        return EXIT_INPUT;
    }
    /* queries are cleaned exactly as the library was */
    const npsw_clean_opts *co = &npsw_lib_get_info(lib)->clean;
    for (size_t i = 0; i < in->spectra.n; i++) {
        npsw_spectrum *q = &in->spectra.v[i];
        if (npsw_clean(q, co, NULL) < 0 || q->n == 0)
            cli_msg("warning: query %zu '%s' has no peaks after cleaning; it matches nothing", i + 1,
                    npsw_spectrum_meta(q, NPSW_META_NAME));
    }
    return EXIT_OK;
}

FILE *cli_mb_open(cli_membuf *m)
{
    m->p = NULL;
    m->n = 0;
    m->f = open_memstream(&m->p, &m->n);
    return m->f;
}

char *cli_mb_take(cli_membuf *m, int chomp)
{
    if (!m->f) return NULL;
    int bad = fclose(m->f) != 0;
    m->f = NULL;
    if (bad) {
        free(m->p);
        m->p = NULL;
        return NULL;
    }
    if (chomp && m->n && m->p[m->n - 1] == '\n') m->p[--m->n] = '\0';
    char *p = m->p;
    m->p = NULL;
    return p;
}

void cli_warn_no_precursor(const npsw_search_opts *so, const cli_inputs *in)
{
    for (size_t i = 0; i < in->spectra.n; i++) {
        const npsw_spectrum *q = &in->spectra.v[i];
        if (so->precursor_tol_da > 0 && !(q->precursor_mz > 0))
            cli_msg("warning: query %zu '%s' has no precursor m/z: searched without the precursor "
                    "window",
                    i + 1, npsw_spectrum_meta(q, NPSW_META_NAME));
    }
}

int cli_parse_report_format(const char *arg, cli_report_format *out)
{
    if (!strcmp(arg, "text")) *out = FMT_TEXT;
    else if (!strcmp(arg, "tsv")) *out = FMT_TSV;
    else if (!strcmp(arg, "json")) *out = FMT_JSON;
    else {
        cli_msg("--format: expected text, tsv or json, got '%s'", arg);
        return -1;
    }
    return 0;
}
