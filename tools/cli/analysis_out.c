/* analysis_out.c - one query's analogue analysis as a TSV row or a JSON object: shared by
 * `npswatch analogues` and `npswatch submit` (docs/cli.md). */
#include "analysis_out.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char analysis_tsv_header[] =
    "query_index\tquery_name\tquery_inchikey\tquery_file\tverdict\tconfidence\tp_in_library"
    "\tp_analogue\tbest_hit_index\tbest_hit_name\tbest_hit_inchikey\tbest_hit_class\tbest_score"
    "\tbest_mf\tbest_rmf\tanalogue_index\tanalogue_name\tanalogue_inchikey\tanalogue_class"
    "\tanalogue_score\tanalogue_cosine\tquery_mass\tdelta_mass\tshift_support\tsubstituents"
    "\tpredicted_class\tclass_confidence\tdiagnostic_ions";

/* Field of the library spectrum with (whole-library) index i. */
static void tsv_meta(FILE *f, const run_record *rr, uint64_t i, int field)
{
    fputc('\t', f);
    out_tsv_field(f, npsw_lib_meta(rr->lib, out_lib_row(rr, i), field));
}

/* "+CH2 (14.016);+beta-keto (13.979)" */
void analysis_subst_text(const npsw_analysis *a, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < a->n_subst && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s (%+.3f)", i ? ";" : "",
                              a->subst[i].h.label, a->subst[i].h.delta);
}

void analysis_diag_text(const npsw_analysis *a, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < a->n_diag && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%g:%s", i ? ";" : "", a->diag[i]->mz,
                              a->diag[i]->cls);
}

void analysis_tsv_row(FILE *f, const run_record *rr, size_t qi, const npsw_spectrum *q,
                    const npsw_analysis *a)
{
    const char *sha, *file = out_query_file(rr, qi, &sha);
    fprintf(f, "%zu\t", qi + 1);
    out_tsv_field(f, npsw_spectrum_meta(q, NPSW_META_NAME));
    fputc('\t', f);
    out_tsv_field(f, npsw_spectrum_meta(q, NPSW_META_INCHIKEY));
    fputc('\t', f);
    out_tsv_field(f, file);
    fprintf(f, "\t%s\t%.4f\t%.4f\t%.4f", npsw_verdict_name(a->verdict), a->confidence,
            a->p_in_library, a->p_analogue);
    if (a->n_hits) {
        const npsw_hit *h = &a->hits[0];
        fprintf(f, "\t%llu", (unsigned long long)h->index + 1);
        tsv_meta(f, rr, h->index, NPSW_META_NAME);
        tsv_meta(f, rr, h->index, NPSW_META_INCHIKEY);
        tsv_meta(f, rr, h->index, NPSW_META_CLASS);
        fprintf(f, "\t%.4f\t%d\t%d", h->score, npsw_mf_display(h->all.mf), npsw_mf_display(h->all.rmf));
    } else {
        fputs("\t\t\t\t\t\t\t", f);
    }
    char sub[512] = "", dia[512];
    if (a->has_analogue) {
        const npsw_analogue_hit *h = &a->analogue;
        fprintf(f, "\t%llu", (unsigned long long)h->index + 1);
        tsv_meta(f, rr, h->index, NPSW_META_NAME);
        tsv_meta(f, rr, h->index, NPSW_META_INCHIKEY);
        tsv_meta(f, rr, h->index, NPSW_META_CLASS);
        fprintf(f, "\t%.4f\t%.4f\t%.4f\t%+.4f\t%.4f", h->hybrid.score, a->analogue_cosine,
                h->query_mass, h->delta, a->shift_support);
        analysis_subst_text(a, sub, sizeof sub);
    } else {
        fputs("\t\t\t\t\t\t\t\t\t", f);
    }
    fputc('\t', f);
    out_tsv_raw(f, sub);
    analysis_diag_text(a, dia, sizeof dia);
    fputc('\t', f);
    out_tsv_field(f, a->predicted_class);
    fprintf(f, "\t%.4f\t", a->class_confidence);
    out_tsv_raw(f, dia);
    fputc('\n', f);
}

static uint64_t rr_row(uint64_t index, void *rr) { return out_lib_row(rr, index); }

void analysis_json_row(FILE *f, const run_record *rr, size_t qi, const npsw_spectrum *q,
                       const npsw_analysis *a)
{
    const char *sha, *file = out_query_file(rr, qi, &sha);
    char *s = npsw_analysis_json(rr->lib, rr_row, (void *)rr, qi, q, file, a);
    if (s) fprintf(f, "%s\n", s);
    free(s);
}

int analysis_write(const char *path, out_format fmt, const run_record *rr,
                   const npsw_analysis *res)
{
    cli_out out;
    int rc = cli_out_open(&out, path);
    if (rc != EXIT_OK) return rc;
    const cli_inputs *in = rr->queries;
    out_begin(out.f, fmt, rr);
    for (size_t i = 0; i < in->spectra.n; i++) {
        if (fmt == OUT_JSON) analysis_json_row(out.f, rr, i, &in->spectra.v[i], &res[i]);
        else analysis_tsv_row(out.f, rr, i, &in->spectra.v[i], &res[i]);
    }
    return cli_out_commit(&out);
}

/* ---- options ---------------------------------------------------------------------------- */

void analysis_cli_init(analysis_cli *x)
{
    x->ao = npsw_analyse_opts_default();
    x->fmt = OUT_TSV;
    x->tol_da = x->ao.search.params.tol_da;
    x->tol_ppm = x->ao.search.params.tol_ppm;
}

int analysis_cli_option(int opt, const char *arg, analysis_cli *x, int *bad)
{
    unsigned long u;
    switch (opt) {
    case 'k':
        if (cli_parse_uint("-k", arg, 1, NPSW_ANALYSE_MAX_K, &u) < 0) *bad = 1;
        else x->ao.k = (uint32_t)u;
        return 1;
    case OPT_AN_THREADS:
        if (cli_parse_uint("--threads", arg, 1, 1024, &u) < 0) *bad = 1;
        else x->ao.threads = (int)u;
        return 1;
    case OPT_AN_FORMAT:
        if (!strcmp(arg, "tsv")) x->fmt = OUT_TSV;
        else if (!strcmp(arg, "json")) x->fmt = OUT_JSON;
        else {
            cli_msg("--format: expected tsv or json, got '%s'", arg);
            *bad = 1;
        }
        return 1;
    case OPT_AN_MAXD:
        *bad |= cli_parse_double("--max-delta", arg, 1, 1000, &x->ao.analogue.max_delta) < 0;
        return 1;
    case OPT_AN_NMION:
        if (cli_parse_uint("--n-mion", arg, 1, 8, &u) < 0) *bad = 1;
        else x->ao.analogue.n_mion = (int)u;
        return 1;
    case OPT_AN_TOLDA: *bad |= cli_parse_double("--tol-da", arg, 0, 1, &x->tol_da) < 0; return 1;
    case OPT_AN_TOLPPM:
        *bad |= cli_parse_double("--tol-ppm", arg, 0, 1000, &x->tol_ppm) < 0;
        return 1;
    default: return 0;
    }
}

void analysis_cli_finish(analysis_cli *x)
{
    npsw_analyse_opts *ao = &x->ao;
    ao->search.params.tol_da = ao->analogue.params.tol_da = x->tol_da;
    ao->search.params.tol_ppm = ao->analogue.params.tol_ppm = x->tol_ppm;
    ao->search.k = ao->analogue.k = ao->k;
}

void analysis_params_text(const npsw_analyse_opts *ao, char *buf, size_t size)
{
    snprintf(buf, size,
             "analogue_max_delta=%gDa analogue_n_mion=%d hybrid_weights=intensity^%g*mz^%g "
             "diag_min_rel=%g calibration=\"%s\"",
             ao->analogue.max_delta, ao->analogue.n_mion, ao->analogue.params.int_power,
             ao->analogue.params.mz_power, ao->diag_min_rel, npsw_calibration_source());
}
