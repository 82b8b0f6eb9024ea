/* output.c - hit lists as TSV (default), JSON Lines and a NIST MS Search-like text report.
 * Every format starts with the run record: what was searched against what, how and when
 * (docs/cli.md, "Output"). */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npsw/config.h"

uint64_t out_lib_row(const run_record *rr, uint64_t index)
{
    uint64_t row = npsw_lib_local_index(rr->lib, index);
    if (row == UINT64_MAX) { /* a caller's bug: the part must hold every reported spectrum */
        cli_msg("internal error: library spectrum %llu is not loaded", (unsigned long long)index + 1);
        abort();
    }
    return row;
}

static int score_is_mf_like(npsw_score_kind k)
{
    return k == NPSW_SCORE_MF || k == NPSW_SCORE_RMF || k == NPSW_SCORE_WMF;
}

/* TSV fields never contain tabs or line breaks: they become spaces. */
static void tsv_field(FILE *f, const char *s)
{
    for (; *s; s++) fputc(*s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s, f);
}

static const char *query_file_of(const run_record *rr, size_t qindex, const char **sha)
{
    const cli_inputs *in = rr->queries;
    for (size_t i = 0; i < in->n_files; i++)
        if (qindex >= in->first[i] && qindex < in->first[i + 1]) {
            *sha = in->files[i].sha256;
            return in->files[i].path;
        }
    *sha = "";
    return "";
}

static void params_text(const run_record *rr, char *buf, size_t size)
{
    const npsw_search_opts *o = rr->opts;
    const npsw_score_params *p = &o->params;
    char tol[64] = "nominal";
    if (!npsw_lib_get_info(rr->lib)->clean.nominal)
        snprintf(tol, sizeof tol, "%gDa+%gppm", p->tol_da, p->tol_ppm);
    snprintf(buf, size,
             "score=%s k=%u weights=intensity^%g*mz^%g wmf_weights=intensity^%g*mz^%g "
             "wmf_range=common mf_ignore_intensity_le=%g matching=%s mz_min=%g mz_range=%s "
             "precursor_tol=%gDa min_matched=%u",
             npsw_score_name(o->score), o->k, p->int_power, p->mz_power, p->int_power,
             p->wmf_mz_power, p->ignore_at_or_below, tol, p->mz_min,
             p->common_range ? "common" : "all", o->precursor_tol_da, o->min_matched);
    if (rr->extra_params) {
        size_t n = strlen(buf);
        snprintf(buf + n, size - n, " %s", rr->extra_params);
    }
}

/* A value of the run record that comes from outside npswatch (file and library names): in a
 * TSV table the guarded field of out_tsv_field, in the NIST text as it is. */
static void rr_value(FILE *f, out_format fmt, const char *v)
{
    if (fmt == OUT_TSV) out_tsv_field(f, v);
    else fputs(v, f);
}

static void rr_text(FILE *f, out_format fmt, const char *c, const char *key, const char *v)
{
    fprintf(f, "%s%s\t", c, key);
    rr_value(f, fmt, v);
    fputc('\n', f);
}

void out_begin(FILE *f, out_format fmt, const run_record *rr)
{
    const npsw_lib_info *li = npsw_lib_get_info(rr->lib);
    char params[1024], clean[256];
    params_text(rr, params, sizeof params);
    npsw_clean_opts_describe(&li->clean, clean, sizeof clean);
    if (fmt == OUT_JSON) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "record", "run");
        cJSON_AddStringToObject(o, "npswatch_version", NPSW_VERSION);
        cJSON_AddStringToObject(o, "library_file", rr->lib_path);
        cJSON_AddStringToObject(o, "library_name", li->name);
        cJSON_AddStringToObject(o, "library_version", li->version);
        cJSON_AddStringToObject(o, "library_sha256", li->content_sha256);
        cJSON_AddNumberToObject(o, "library_spectra", (double)npsw_lib_whole_size(rr->lib));
        cJSON_AddStringToObject(o, "parameters", params);
        cJSON_AddStringToObject(o, "cleaning", clean);
        cJSON_AddStringToObject(o, "utc_time", rr->utc);
        cJSON *qf = cJSON_AddArrayToObject(o, "query_files");
        for (size_t i = 0; i < rr->queries->n_files; i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "path", rr->queries->files[i].path);
            cJSON_AddStringToObject(x, "sha256", rr->queries->files[i].sha256);
            cJSON_AddItemToArray(qf, x);
        }
        cJSON_AddStringToObject(o, "note", "library search results, not identifications");
        char *s = cJSON_PrintUnformatted(o);
        fprintf(f, "%s\n", s);
        cJSON_free(s);
        cJSON_Delete(o);
        return;
    }
    const char *c = fmt == OUT_NIST ? "" : "# ";
    fprintf(f, "%snpswatch_version\t%s\n", c, NPSW_VERSION);
    rr_text(f, fmt, c, "library_file", rr->lib_path);
    rr_text(f, fmt, c, "library_name", li->name);
    rr_text(f, fmt, c, "library_version", li->version);
    fprintf(f, "%slibrary_sha256\t%s\n", c, li->content_sha256);
    fprintf(f, "%slibrary_spectra\t%llu\n", c, (unsigned long long)npsw_lib_whole_size(rr->lib));
    fprintf(f, "%sparameters\t%s\n", c, params);
    fprintf(f, "%scleaning\t%s\n", c, clean);
    fprintf(f, "%sutc_time\t%s\n", c, rr->utc);
    for (size_t i = 0; i < rr->queries->n_files; i++) {
        fprintf(f, "%squery_file\t", c);
        rr_value(f, fmt, rr->queries->files[i].path);
        fprintf(f, "\tsha256=%s\n", rr->queries->files[i].sha256);
    }
    fprintf(f, "%snote\tlibrary search results, not identifications\n", c);
    if (fmt == OUT_TSV && rr->tsv_header)
        fprintf(f, "%s\n", rr->tsv_header);
    else if (fmt == OUT_TSV)
        fprintf(f, "query_index\tquery_name\tquery_inchikey\tquery_file\trank\thit_index\thit_name"
                   "\thit_inchikey\thit_formula\thit_accession\thit_class\tscore\tmf\trmf\twmf\tcosine"
                   "\tentropy"
                   "\tn_matched\tquery_peaks\thit_peaks\n");
}

static void tsv_query(FILE *f, const run_record *rr, size_t qi, const npsw_spectrum *q,
                      const npsw_hit *h, uint32_t nh)
{
    const char *sha, *file = query_file_of(rr, qi, &sha);
    for (uint32_t r = 0; r < (nh ? nh : 1); r++) {
        fprintf(f, "%zu\t", qi + 1);
        out_tsv_field(f, npsw_spectrum_meta(q, NPSW_META_NAME));
        fputc('\t', f);
        out_tsv_field(f, npsw_spectrum_meta(q, NPSW_META_INCHIKEY));
        fputc('\t', f);
        out_tsv_field(f, file);
        if (!nh) { /* searched, nothing matched: one row with rank 0 and empty hit fields */
            fprintf(f, "\t0\t\t\t\t\t\t\t\t\t\t\t\t\t\t%u\t\n", q->n);
            return;
        }
        const npsw_hit *x = &h[r];
        const uint64_t row = out_lib_row(rr, x->index);
        npsw_peaks lp = npsw_lib_peaks(rr->lib, row);
        fprintf(f, "\t%u\t%llu\t", r + 1, (unsigned long long)x->index + 1);
        out_tsv_field(f, npsw_lib_meta(rr->lib, row, NPSW_META_NAME));
        fputc('\t', f);
        out_tsv_field(f, npsw_lib_meta(rr->lib, row, NPSW_META_INCHIKEY));
        fputc('\t', f);
        out_tsv_field(f, npsw_lib_meta(rr->lib, row, NPSW_META_FORMULA));
        fputc('\t', f);
        out_tsv_field(f, npsw_lib_meta(rr->lib, row, NPSW_META_ACCESSION));
        fputc('\t', f);
        out_tsv_field(f, npsw_lib_meta(rr->lib, row, NPSW_META_CLASS));
        if (score_is_mf_like(rr->opts->score))
            fprintf(f, "\t%d", npsw_mf_display(x->score));
        else
            fprintf(f, "\t%.4f", x->score);
        fprintf(f, "\t%d\t%d\t%d\t%.4f\t%.4f\t%u\t%u\t%u\n", npsw_mf_display(x->all.mf),
                npsw_mf_display(x->all.rmf), npsw_mf_display(x->all.wmf), x->all.cosine,
                x->all.entropy, x->all.n_matched, q->n, lp.n);
    }
}

static void json_query(FILE *f, const run_record *rr, size_t qi, const npsw_spectrum *q,
                       const npsw_hit *h, uint32_t nh)
{
    const char *sha, *file = query_file_of(rr, qi, &sha);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "record", "query");
    cJSON_AddNumberToObject(o, "query_index", (double)(qi + 1));
    cJSON_AddStringToObject(o, "query_name", npsw_spectrum_meta(q, NPSW_META_NAME));
    cJSON_AddStringToObject(o, "query_inchikey", npsw_spectrum_meta(q, NPSW_META_INCHIKEY));
    cJSON_AddStringToObject(o, "query_file", file);
    cJSON_AddNumberToObject(o, "query_peaks", q->n);
    cJSON *hits = cJSON_AddArrayToObject(o, "hits");
    for (uint32_t r = 0; r < nh; r++) {
        const npsw_hit *x = &h[r];
        const uint64_t row = out_lib_row(rr, x->index);
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "rank", r + 1);
        cJSON_AddNumberToObject(j, "hit_index", (double)(x->index + 1));
        cJSON_AddStringToObject(j, "hit_name", npsw_lib_meta(rr->lib, row, NPSW_META_NAME));
        cJSON_AddStringToObject(j, "hit_inchikey", npsw_lib_meta(rr->lib, row, NPSW_META_INCHIKEY));
        cJSON_AddStringToObject(j, "hit_formula", npsw_lib_meta(rr->lib, row, NPSW_META_FORMULA));
        cJSON_AddStringToObject(j, "hit_accession", npsw_lib_meta(rr->lib, row, NPSW_META_ACCESSION));
        cJSON_AddStringToObject(j, "hit_class", npsw_lib_meta(rr->lib, row, NPSW_META_CLASS));
        cJSON_AddNumberToObject(j, "score", x->score);
        cJSON_AddNumberToObject(j, "mf", npsw_mf_display(x->all.mf));
        cJSON_AddNumberToObject(j, "rmf", npsw_mf_display(x->all.rmf));
        cJSON_AddNumberToObject(j, "wmf", npsw_mf_display(x->all.wmf));
        cJSON_AddNumberToObject(j, "cosine", x->all.cosine);
        cJSON_AddNumberToObject(j, "entropy", x->all.entropy);
        cJSON_AddNumberToObject(j, "n_matched", x->all.n_matched);
        cJSON_AddNumberToObject(j, "hit_peaks", npsw_lib_peaks(rr->lib, row).n);
        cJSON_AddItemToArray(hits, j);
    }
    char *s = cJSON_PrintUnformatted(o);
    fprintf(f, "%s\n", s);
    cJSON_free(s);
    cJSON_Delete(o);
}

static void nist_query(FILE *f, const run_record *rr, size_t qi, const npsw_spectrum *q,
                       const npsw_hit *h, uint32_t nh)
{
    const npsw_lib_info *li = npsw_lib_get_info(rr->lib);
    fprintf(f, "\nUnknown: %s (query %zu, %u peaks)\n", npsw_spectrum_meta(q, NPSW_META_NAME), qi + 1, q->n);
    if (!nh) fprintf(f, "  no library spectrum shares a peak with this query\n");
    for (uint32_t r = 0; r < nh; r++) {
        const npsw_hit *x = &h[r];
        const uint64_t row = out_lib_row(rr, x->index);
        char cas[32]; /* copied: npsw_lib_meta's buffers are reused after a few calls */
        snprintf(cas, sizeof cas, "%s", npsw_lib_meta(rr->lib, row, NPSW_META_CAS));
        fprintf(f, "Hit %-3u: <<%s>>;<<%s>>; MF: %d; RMF: %d; WMF: %d; Cos: %.4f; Ent: %.4f; Matched: %u; "
                   "CAS:%s; Mw: %.0f; Class: %s; Lib: <<%s %s>>; Id: %llu.\n",
                r + 1, npsw_lib_meta(rr->lib, row, NPSW_META_NAME),
                npsw_lib_meta(rr->lib, row, NPSW_META_FORMULA), npsw_mf_display(x->all.mf),
                npsw_mf_display(x->all.rmf), npsw_mf_display(x->all.wmf), x->all.cosine, x->all.entropy, x->all.n_matched,
                cas[0] ? cas : "0", npsw_lib_mw(rr->lib, row),
                npsw_lib_meta(rr->lib, row, NPSW_META_CLASS), li->name, li->version,
                (unsigned long long)x->index + 1);
    }
}

void out_query(FILE *f, out_format fmt, const run_record *rr, size_t qindex,
               const npsw_spectrum *q, const npsw_hit *hits, uint32_t nhits)
{
    switch (fmt) {
    case OUT_JSON: json_query(f, rr, qindex, q, hits, nhits); break;
    case OUT_NIST: nist_query(f, rr, qindex, q, hits, nhits); break;
    default: tsv_query(f, rr, qindex, q, hits, nhits); break;
    }
}

void out_tsv_field(FILE *f, const char *s)
{
    if (*s == '=' || *s == '+' || *s == '-' || *s == '@') fputc('\'', f);
    tsv_field(f, s);
}

void out_tsv_raw(FILE *f, const char *s) { tsv_field(f, s); }

const char *out_query_file(const run_record *rr, size_t qindex, const char **sha)
{
    return query_file_of(rr, qindex, sha);
}

int out_hit_lists(const char *path, out_format fmt, const run_record *rr, const npsw_hit *hits,
                  const uint32_t *nhits)
{
    cli_out out;
    int rc = cli_out_open(&out, path);
    if (rc != EXIT_OK) return rc;
    const cli_inputs *in = rr->queries;
    out_begin(out.f, fmt, rr);
    for (size_t i = 0; i < in->spectra.n; i++)
        out_query(out.f, fmt, rr, i, &in->spectra.v[i], hits + i * rr->opts->k, nhits[i]);
    return cli_out_commit(&out);
}
