/* analysis_out.c - one query's analogue analysis as a TSV row or a JSON object: shared by
 * `npswatch analogues` and `npswatch submit` (docs/cli.md). */
#include "analysis_out.h"

#include <cjson/cJSON.h>
#include <math.h>
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
    out_tsv_field(f, sub);
    analysis_diag_text(a, dia, sizeof dia);
    fputc('\t', f);
    out_tsv_field(f, a->predicted_class);
    fprintf(f, "\t%.4f\t", a->class_confidence);
    out_tsv_field(f, dia);
    fputc('\n', f);
}

static void json_lib_ref(cJSON *o, const run_record *rr, uint64_t index)
{
    const npsw_lib *lib = rr->lib;
    const uint64_t i = out_lib_row(rr, index);
    cJSON_AddNumberToObject(o, "index", (double)(index + 1));
    cJSON_AddStringToObject(o, "name", npsw_lib_meta(lib, i, NPSW_META_NAME));
    cJSON_AddStringToObject(o, "inchikey", npsw_lib_meta(lib, i, NPSW_META_INCHIKEY));
    cJSON_AddStringToObject(o, "formula", npsw_lib_meta(lib, i, NPSW_META_FORMULA));
    cJSON_AddStringToObject(o, "accession", npsw_lib_meta(lib, i, NPSW_META_ACCESSION));
    cJSON_AddStringToObject(o, "class", npsw_lib_meta(lib, i, NPSW_META_CLASS));
    cJSON_AddNumberToObject(o, "mass", npsw_lib_mw(lib, i));
}

static double r4(double x) { return round(x * 1e4) / 1e4; }

void analysis_json_row(FILE *f, const run_record *rr, size_t qi, const npsw_spectrum *q,
                     const npsw_analysis *a)
{
    const npsw_lib *lib = rr->lib;
    const char *sha, *file = out_query_file(rr, qi, &sha);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "record", "analysis");
    cJSON_AddNumberToObject(o, "query_index", (double)(qi + 1));
    cJSON_AddStringToObject(o, "query_name", npsw_spectrum_meta(q, NPSW_META_NAME));
    cJSON_AddStringToObject(o, "query_inchikey", npsw_spectrum_meta(q, NPSW_META_INCHIKEY));
    cJSON_AddStringToObject(o, "query_file", file);
    cJSON_AddNumberToObject(o, "query_peaks", q->n);
    cJSON_AddStringToObject(o, "verdict", npsw_verdict_name(a->verdict));
    cJSON_AddNumberToObject(o, "confidence", r4(a->confidence));
    cJSON_AddNumberToObject(o, "p_in_library", r4(a->p_in_library));
    cJSON_AddNumberToObject(o, "p_analogue", r4(a->p_analogue));
    cJSON_AddNumberToObject(o, "p_unknown", r4(1 - a->p_in_library - a->p_analogue));
    cJSON *hits = cJSON_AddArrayToObject(o, "identity_hits");
    for (uint32_t i = 0; i < a->n_hits; i++) {
        cJSON *h = cJSON_CreateObject();
        cJSON_AddNumberToObject(h, "rank", i + 1);
        json_lib_ref(h, rr, a->hits[i].index);
        cJSON_AddNumberToObject(h, "score", r4(a->hits[i].score));
        cJSON_AddNumberToObject(h, "mf", npsw_mf_display(a->hits[i].all.mf));
        cJSON_AddNumberToObject(h, "rmf", npsw_mf_display(a->hits[i].all.rmf));
        cJSON_AddNumberToObject(h, "cosine", r4(a->hits[i].all.cosine));
        cJSON_AddNumberToObject(h, "entropy", r4(a->hits[i].all.entropy));
        cJSON_AddNumberToObject(h, "n_matched", a->hits[i].all.n_matched);
        cJSON_AddItemToArray(hits, h);
    }
    cJSON *cands = cJSON_AddArrayToObject(o, "analogue_candidates");
    int nominal = npsw_lib_get_info(lib)->clean.nominal;
    for (uint32_t i = 0; i < a->n_cands; i++) {
        const npsw_analogue_hit *c = &a->cands[i];
        cJSON *h = cJSON_CreateObject();
        cJSON_AddNumberToObject(h, "rank", i + 1);
        json_lib_ref(h, rr, c->index);
        cJSON_AddNumberToObject(h, "hybrid_score", r4(c->hybrid.score));
        cJSON_AddNumberToObject(h, "query_mass", r4(c->query_mass));
        cJSON_AddNumberToObject(h, "delta_mass", r4(c->delta));
        cJSON_AddNumberToObject(h, "n_direct", c->hybrid.n_direct);
        cJSON_AddNumberToObject(h, "n_shifted", c->hybrid.n_shifted);
        npsw_delta_hypothesis hy[3];
        int nh = npsw_explain_delta(c->delta, 0.01, nominal, hy, 3);
        cJSON *ex = cJSON_AddArrayToObject(h, "explanations");
        for (int j = 0; j < nh; j++) cJSON_AddItemToArray(ex, cJSON_CreateString(hy[j].label));
        cJSON_AddItemToArray(cands, h);
    }
    if (a->has_analogue) {
        cJSON *an = cJSON_AddObjectToObject(o, "analogue");
        json_lib_ref(an, rr, a->analogue.index);
        cJSON_AddNumberToObject(an, "hybrid_score", r4(a->analogue.hybrid.score));
        cJSON_AddNumberToObject(an, "cosine", r4(a->analogue_cosine));
        cJSON_AddNumberToObject(an, "query_mass", r4(a->analogue.query_mass));
        cJSON_AddNumberToObject(an, "delta_mass", r4(a->analogue.delta));
        cJSON_AddNumberToObject(an, "n_direct", a->analogue.hybrid.n_direct);
        cJSON_AddNumberToObject(an, "n_shifted", a->analogue.hybrid.n_shifted);
        cJSON_AddNumberToObject(an, "shift_support", r4(a->shift_support));
        cJSON_AddStringToObject(an, "query_mass_from",
                                q->precursor_mz > 0        ? "precursor"
                                : a->analogue_from_shift ? "cross-correlation shift"
                                                         : "molecular-ion candidate");
        cJSON *su = cJSON_AddArrayToObject(an, "substituents");
        for (int i = 0; i < a->n_subst; i++) {
            cJSON *s = cJSON_CreateObject();
            cJSON_AddStringToObject(s, "label", a->subst[i].h.label);
            cJSON_AddNumberToObject(s, "delta", r4(a->subst[i].h.delta));
            cJSON_AddNumberToObject(s, "error", r4(a->subst[i].h.error));
            cJSON_AddNumberToObject(s, "evidence", r4(a->subst[i].evidence));
            cJSON_AddStringToObject(s, "evidence_note", a->subst[i].why);
            cJSON_AddItemToArray(su, s);
        }
    }
    cJSON *sh = cJSON_AddArrayToObject(o, "shifts_vs_best_hit");
    for (int i = 0; i < a->n_shifts; i++) {
        cJSON *s = cJSON_CreateObject();
        cJSON_AddNumberToObject(s, "shift", a->shifts[i].shift);
        cJSON_AddNumberToObject(s, "correlation", r4(a->shifts[i].score));
        cJSON_AddItemToArray(sh, s);
    }
    cJSON_AddStringToObject(o, "predicted_class", a->predicted_class);
    cJSON_AddNumberToObject(o, "class_confidence", r4(a->class_confidence));
    cJSON_AddNumberToObject(o, "class_vote_share", r4(a->class_share));
    cJSON *di = cJSON_AddArrayToObject(o, "diagnostic_ions");
    for (int i = 0; i < a->n_diag; i++) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddNumberToObject(d, "mz", a->diag[i]->mz);
        cJSON_AddStringToObject(d, "class", a->diag[i]->cls);
        cJSON_AddStringToObject(d, "ion", a->diag[i]->ion);
        cJSON_AddItemToArray(di, d);
    }
    char *s = cJSON_PrintUnformatted(o);
    if (s) fprintf(f, "%s\n", s);
    cJSON_free(s);
    cJSON_Delete(o);
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
