/* submit_core.c - one submitted file from bytes to a durable ledger submission (submit_core.h):
 * used by `npswatch submit` and `npswatch serve`. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "analysis_out.h"
#include "npsw/hash.h"
#include "npsw/libfile.h"
#include "submit_core.h"

#define ANALYSE_CHUNK 256

static void say(const sub_engine *en, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const sub_engine *en, const char *fmt, ...)
{
    if (!en->say) return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    en->say(en->say_user, buf);
}

static void say_err(const sub_engine *en, const npsw_err *e)
{
    char buf[NPSW_ERR_MSG_MAX + NPSW_ERR_WHERE_MAX + 64];
    say(en, "%s", npsw_err_format(e, buf, sizeof buf));
}

/* The reason a file was not stored, kept for the caller (and said). */
static void why(const sub_engine *en, sub_outcome *out, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void why(const sub_engine *en, sub_outcome *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->why, sizeof out->why, fmt, ap);
    va_end(ap);
    say(en, "%s", out->why);
}

/* Warnings while parsing a submitted file: the first few said, all counted. */
typedef struct warn_count {
    const sub_engine *en;
    unsigned long n;
} warn_count;

static void on_warning(void *user, const npsw_err *w)
{
    warn_count *wc = user;
    if (wc->n++ < 5 && wc->en->say) {
        char buf[NPSW_ERR_MSG_MAX + NPSW_ERR_WHERE_MAX + 64];
        say(wc->en, "warning: %s", npsw_err_format(w, buf, sizeof buf));
    }
}

/* What is kept of one spectrum's analysis until its file is stored. */
typedef struct kept_row {
    npsw_ledger_result r;
    char *analysis_json, *subst, *diag, *best_name, *best_inchikey, *analogue_name, *cls;
} kept_row;

static void kept_free(kept_row *k)
{
    free(k->analysis_json);
    free(k->subst);
    free(k->diag);
    free(k->best_name);
    free(k->best_inchikey);
    free(k->analogue_name);
    free(k->cls);
}

static char *dupstr(const char *s) { return strdup(s ? s : ""); }

/* Fill a result row (strings copied: npsw_lib_meta's buffers are reused). */
static int keep_row(kept_row *k, const run_record *rr_file, const npsw_spectrum *q,
                    const npsw_analysis *a)
{
    memset(k, 0, sizeof *k);
    const npsw_lib *lib = rr_file->lib;
    npsw_ledger_result *r = &k->r;
    r->verdict = npsw_verdict_name(a->verdict);
    r->confidence = a->confidence;
    r->p_in_library = a->p_in_library;
    r->p_analogue = a->p_analogue;
    if (a->n_hits) {
        const npsw_hit *h = &a->hits[0];
        r->best_index = (int64_t)h->index + 1;
        k->best_name = dupstr(npsw_lib_meta(lib, h->index, NPSW_META_NAME));
        k->best_inchikey = dupstr(npsw_lib_meta(lib, h->index, NPSW_META_INCHIKEY));
        r->best_score = h->score;
        r->best_mf = npsw_mf_display(h->all.mf);
        r->best_rmf = npsw_mf_display(h->all.rmf);
        if (!k->best_name || !k->best_inchikey) return -1;
    }
    char buf[512];
    if (a->has_analogue) {
        r->analogue_index = (int64_t)a->analogue.index + 1;
        k->analogue_name = dupstr(npsw_lib_meta(lib, a->analogue.index, NPSW_META_NAME));
        r->analogue_delta = a->analogue.delta;
        r->analogue_score = a->analogue.hybrid.score;
        analysis_subst_text(a, buf, sizeof buf);
        k->subst = dupstr(buf);
        if (!k->analogue_name || !k->subst) return -1;
    }
    analysis_diag_text(a, buf, sizeof buf);
    k->diag = dupstr(buf);
    k->cls = dupstr(a->predicted_class);
    r->class_confidence = a->class_confidence;
    cli_membuf m;
    if (!cli_mb_open(&m)) return -1;
    /* the stored JSON: query_index is the position in the submitted file */
    analysis_json_row(m.f, rr_file, (size_t)(q - rr_file->queries->spectra.v), q, a);
    k->analysis_json = cli_mb_take(&m, 1);
    if (!k->diag || !k->cls || !k->analysis_json) return -1;
    r->best_name = k->best_name;
    r->best_inchikey = k->best_inchikey;
    r->analogue_name = k->analogue_name;
    r->substituents = k->subst;
    r->diagnostic_ions = k->diag;
    r->predicted_class = k->cls;
    r->analysis_json = k->analysis_json;
    return 0;
}

int sub_run(const sub_engine *en, npsw_ledger *l, const sub_file *f, sub_row_fn row,
            void *row_user, sub_outcome *out)
{
    memset(out, 0, sizeof *out);
    const char *path = f->path;
    int rc = EXIT_OK;
    char *sha = out->sha256;
    npsw_sha256_hex(f->bytes, f->len, sha);
    npsw_read_opts ro = en->ro;
    warn_count wc = {en, 0};
    ro.warn = on_warning;
    ro.warn_user = &wc;
    npsw_err e;
    npsw_err_clear(&e);
    npsw_spectra sp = {0};
    kept_row *rows = NULL;
    npsw_ledger_spectrum *lsp = NULL;
    npsw_analysis *res = NULL;
    char *report = NULL, *run_json = NULL;
    if (f->len > NPSW_LEDGER_MAX_FILE) {
        why(en, out, "%s: rejected: %zu bytes, more than the ledger's limit of %u bytes per file; "
                     "nothing stored",
            path, f->len, NPSW_LEDGER_MAX_FILE);
        return EXIT_INPUT;
    }
    npsw_reader *r = npsw_reader_open_mem(f->bytes, f->len, path, &ro, &e);
    if (!r) {
        char buf[NPSW_ERR_MSG_MAX + NPSW_ERR_WHERE_MAX + 64];
        say(en, "%s", npsw_err_format(&e, buf, sizeof buf));
        say(en, "%s: rejected: the file cannot be read as spectra; nothing stored", path);
        snprintf(out->why, sizeof out->why,
                 "%s; rejected: the file cannot be read as spectra; nothing stored", buf);
        rc = e.code == NPSW_ENOMEM ? EXIT_INTERNAL : EXIT_INPUT;
        goto done;
    }
    /* lenient read; the first errors go into the report */
    uint64_t n_skipped = 0;
    npsw_err first[NPSW_REPORT_KEEP];
    for (;;) {
        if (sp.n == sp.cap) {
            size_t cap = sp.cap ? 2 * sp.cap : 64;
            npsw_spectrum *v = realloc(sp.v, cap * sizeof *v);
            if (!v) {
                why(en, out, "%s: out of memory", path);
                rc = EXIT_INTERNAL;
                goto done;
            }
            sp.v = v;
            sp.cap = cap;
        }
        npsw_spectrum *s = &sp.v[sp.n];
        npsw_spectrum_init(s);
        npsw_err_clear(&e);
        int x = npsw_reader_next(r, s, &e);
        if (x == NPSW_EOF) {
            npsw_spectrum_free(s);
            break;
        }
        if (x < 0) {
            npsw_spectrum_free(s);
            if (x == NPSW_ENOMEM) {
                say_err(en, &e);
                snprintf(out->why, sizeof out->why, "%s: out of memory", path);
                rc = EXIT_INTERNAL;
                goto done;
            }
            if (n_skipped < NPSW_REPORT_KEEP) {
                first[n_skipped] = e;
                say_err(en, &e);
            }
            n_skipped++;
            continue;
        }
        sp.n++;
    }
    const char *fmt_name = npsw_format_name(npsw_reader_format(r));
    snprintf(out->format, sizeof out->format, "%s", fmt_name);
    out->n_skipped = n_skipped;
    out->n_warnings = wc.n;
    if (wc.n > 5) say(en, "%s: %lu more warnings not shown", path, wc.n - 5);
    if (n_skipped > NPSW_REPORT_KEEP)
        say(en, "%s: %llu more bad records not shown", path,
            (unsigned long long)(n_skipped - NPSW_REPORT_KEEP));
    if (sp.n == 0) {
        char buf[NPSW_ERR_MSG_MAX + NPSW_ERR_WHERE_MAX + 64] = "";
        if (n_skipped) npsw_err_format(&first[0], buf, sizeof buf);
        snprintf(out->why, sizeof out->why,
                 "%s: rejected: no spectrum could be read (%s, %llu bad records%s%s); nothing "
                 "stored",
                 path, fmt_name, (unsigned long long)n_skipped, n_skipped ? "; first: " : "", buf);
        say(en, "%s: rejected: no spectrum could be read (%s, %llu bad records); nothing stored",
            path, fmt_name, (unsigned long long)n_skipped);
        rc = EXIT_INPUT;
        goto done;
    }
    out->n_spectra = sp.n;
    say(en, "%s: %s, read %zu spectra, skipped %llu bad records, %lu warnings", path, fmt_name,
        sp.n, (unsigned long long)n_skipped, wc.n);
    /* the parser report, kept with the submission */
    cJSON *rep = cJSON_CreateObject();
    if (!rep) goto nomem;
    int ok = cJSON_AddStringToObject(rep, "file", f->name) &&
             cJSON_AddStringToObject(rep, "sha256", sha) &&
             cJSON_AddNumberToObject(rep, "size", (double)f->len) &&
             cJSON_AddStringToObject(rep, "format", fmt_name) &&
             cJSON_AddNumberToObject(rep, "spectra_read", (double)sp.n) &&
             cJSON_AddNumberToObject(rep, "records_skipped", (double)n_skipped) &&
             cJSON_AddNumberToObject(rep, "warnings", (double)wc.n);
    cJSON *errs = ok ? cJSON_AddArrayToObject(rep, "first_errors") : NULL;
    ok = errs != NULL;
    for (uint64_t i = 0; ok && i < n_skipped && i < NPSW_REPORT_KEEP; i++) {
        cJSON *x = cJSON_CreateObject();
        if (!x || !cJSON_AddItemToArray(errs, x)) {
            cJSON_Delete(x);
            ok = 0;
            break;
        }
        ok = cJSON_AddNumberToObject(x, "line", (double)first[i].line) &&
             cJSON_AddStringToObject(x, "message", first[i].msg);
    }
    report = ok ? cJSON_PrintUnformatted(rep) : NULL;
    cJSON_Delete(rep);
    npsw_reader_close(r);
    r = NULL;
    /* clean as the library was */
    const npsw_clean_opts *co = &npsw_lib_get_info(en->lib)->clean;
    lsp = calloc(sp.n, sizeof *lsp);
    rows = calloc(sp.n, sizeof *rows);
    res = malloc((sp.n < ANALYSE_CHUNK ? sp.n : ANALYSE_CHUNK) * sizeof *res);
    if (!report || !lsp || !rows || !res) goto nomem;
    for (size_t i = 0; i < sp.n; i++) {
        npsw_spectrum *q = &sp.v[i];
        int empty = npsw_clean(q, co, NULL) < 0 || q->n == 0;
        if (empty) {
            say(en, "warning: %s: spectrum %zu '%s' has no peaks after cleaning; it matches nothing",
                path, i + 1, npsw_spectrum_meta(q, NPSW_META_NAME));
            npsw_spectrum_reset(q);
        }
        lsp[i].s = q;
        lsp[i].position = (uint32_t)(i + 1);
        lsp[i].status = empty ? NPSW_SPECTRUM_NO_PEAKS : NPSW_SPECTRUM_ANALYSED;
        lsp[i].result = &rows[i].r;
    }
    /* the stored run record names this file only (by its base name) */
    npsw_lib_input stored_file = {(char *)f->name, "", sp.n, n_skipped};
    memcpy(stored_file.sha256, sha, 65);
    size_t file_first[2] = {0, sp.n};
    cli_inputs file_in = {sp, &stored_file, 1, file_first};
    char *qp[1] = {(char *)f->name};
    run_record rr_file = {en->lib_path, en->lib,  &en->ao.search, "",
                          qp,           &file_in, en->extra,      analysis_tsv_header};
    npsw_utc_now(rr_file.utc);
    cli_membuf m;
    if (!cli_mb_open(&m)) goto nomem;
    out_begin(m.f, OUT_JSON, &rr_file);
    if (!(run_json = cli_mb_take(&m, 1))) goto nomem;
    /* analyse in chunks */
    cli_progress pr;
    char label[300];
    snprintf(label, sizeof label, "analysing %s", path);
    cli_progress_init(&pr, label, en->progress);
    for (size_t c0 = 0; c0 < sp.n; c0 += ANALYSE_CHUNK) {
        size_t nc = sp.n - c0 < ANALYSE_CHUNK ? sp.n - c0 : ANALYSE_CHUNK;
        int arc = en->actx ? npsw_analyse_with(en->actx, sp.v + c0, nc, en->ao.threads, res, &e)
                           : npsw_analyse(en->lib, sp.v + c0, nc, &en->ao, res, &e);
        if (arc < 0) {
            say_err(en, &e);
            why(en, out, "%s: analysis failed; nothing stored", path);
            rc = cli_exit_code(arc) == EXIT_INPUT ? EXIT_INPUT : EXIT_INTERNAL;
            goto done;
        }
        for (size_t j = 0; j < nc; j++) {
            size_t i = c0 + j;
            if (keep_row(&rows[i], &rr_file, &sp.v[i], &res[j]) < 0) goto nomem;
            rows[i].r.run_json = run_json;
            if (row) row(row_user, f, sha, sp.n, n_skipped, i, &sp.v[i], &res[j]);
        }
        if (pr.on) cli_progress_cb(&pr, c0 + nc, sp.n);
    }
    if (pr.on) cli_progress_done(&pr);
    /* store: one transaction */
    const npsw_lib_info *li = npsw_lib_get_info(en->lib);
    char actor[48];
    snprintf(actor, sizeof actor, "lab:%" PRId64, f->lab_id);
    npsw_ledger_submission sub = {
        .lab_id = f->lab_id,
        .actor = actor,
        .token_verified = f->token_verified,
        .file_name = f->name,
        .bytes = f->bytes,
        .len = f->len,
        .format = fmt_name,
        .n_skipped = n_skipped,
        .report_json = report,
        .library_name = li->name,
        .library_version = li->version,
        .library_sha256 = li->content_sha256,
        .library_path = en->lib_path,
        .spectra = lsp,
        .n_spectra = sp.n,
    };
    int64_t sid = 0;
    npsw_err_clear(&e);
    int sqlite_code = 0;
    int src = en->store ? en->store(en->store_user, &sub, &sid, &e, &sqlite_code)
                        : npsw_ledger_submit(l, &sub, &sid, &e);
    if (src < 0) {
        char buf[NPSW_ERR_MSG_MAX + NPSW_ERR_WHERE_MAX + 64];
        say(en, "%s", npsw_err_format(&e, buf, sizeof buf));
        snprintf(out->why, sizeof out->why, "%s: not stored: %s", path, buf);
        say(en, "%s: not stored", path);
        out->sqlite_code = en->store ? sqlite_code : npsw_ledger_sqlite_error(l);
        rc = src == NPSW_EIO && out->sqlite_code ? EXIT_INTERNAL : cli_exit_code(src);
        goto done;
    }
    /* COMMIT has returned: the submission is durable */
    out->id = sid;
    goto done;
nomem:
    why(en, out, "%s: out of memory; nothing stored", path);
    rc = EXIT_INTERNAL;
done:
    if (rows)
        for (size_t i = 0; i < sp.n; i++) kept_free(&rows[i]);
    free(rows);
    free(lsp);
    free(res);
    free(run_json);
    cJSON_free(report);
    npsw_reader_close(r);
    npsw_spectra_free(&sp);
    return rc;
}
