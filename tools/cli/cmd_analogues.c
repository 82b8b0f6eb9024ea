/* cmd_analogues.c - npswatch analogues: is each query in the library, an analogue of a library
 * substance, or unknown; with the analogue, its mass difference, substituent hypotheses, the
 * predicted drug class and diagnostic ions (docs/cli.md, docs/analogues.md). */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npsw/analyse.h"
#include "npsw/libfile.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: npswatch analogues -l LIB.h5 [options] QUERY...\n\n"
            "For every spectrum of the QUERY files: an identity search, a hybrid (fragment +\n"
            "neutral-loss) search for relatives with a different mass, mass shifts by\n"
            "cross-correlation, substituent hypotheses for the mass difference, the likely drug\n"
            "class, and a verdict (in_library, analogue, unknown) with a calibrated confidence.\n"
            "These are library search results, not identifications.\n\n"
            "Options:\n"
            "  -l, --library FILE  library made by 'npswatch build' (required)\n"
            "  -k N                identity hits and analogue candidates (default 5, at most %d)\n"
            "  --threads N         worker threads (default: all cores)\n"
            "  --format F          tsv (default: one row per query) or json (JSON Lines, with\n"
            "                      the top-K hits and candidates and their evidence)\n"
            "  -o, --output FILE   write here (atomically) instead of standard output\n"
            "  --max-delta X       largest mass difference to a relative, Da (default 150)\n"
            "  --n-mion N          EI: molecular-ion candidates tried per query (default 2)\n"
            "  --tol-da X          accurate-mass libraries: m/z tolerance in Da (default 0.01)\n"
            "  --tol-ppm X         accurate-mass libraries: additional tolerance in ppm (default 0)\n"
            "  --strict            stop at the first bad query record instead of skipping it\n"
            "  --progress          show progress even when stderr is not a terminal\n" CLI_READ_HELP
            "  -h, --help          this help\n",
            NPSW_ANALYSE_MAX_K);
}

static const char tsv_header[] =
    "query_index\tquery_name\tquery_inchikey\tquery_file\tverdict\tconfidence\tp_in_library"
    "\tp_analogue\tbest_hit_index\tbest_hit_name\tbest_hit_inchikey\tbest_hit_class\tbest_score"
    "\tbest_mf\tbest_rmf\tanalogue_index\tanalogue_name\tanalogue_inchikey\tanalogue_class"
    "\tanalogue_score\tanalogue_cosine\tquery_mass\tdelta_mass\tshift_support\tsubstituents"
    "\tpredicted_class\tclass_confidence\tdiagnostic_ions";

static void tsv_meta(FILE *f, const npsw_lib *lib, uint64_t i, int field)
{
    fputc('\t', f);
    out_tsv_field(f, npsw_lib_meta(lib, i, field));
}

/* "+CH2 (14.016);+beta-keto (13.979)" */
static void subst_text(const npsw_analysis *a, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < a->n_subst && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%s (%+.3f)", i ? ";" : "",
                              a->subst[i].h.label, a->subst[i].h.delta);
}

static void diag_text(const npsw_analysis *a, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < a->n_diag && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%g:%s", i ? ";" : "", a->diag[i]->mz,
                              a->diag[i]->cls);
}

static void tsv_row(FILE *f, const run_record *rr, size_t qi, const npsw_spectrum *q,
                    const npsw_analysis *a)
{
    const npsw_lib *lib = rr->lib;
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
        tsv_meta(f, lib, h->index, NPSW_META_NAME);
        tsv_meta(f, lib, h->index, NPSW_META_INCHIKEY);
        tsv_meta(f, lib, h->index, NPSW_META_CLASS);
        fprintf(f, "\t%.4f\t%d\t%d", h->score, npsw_mf_display(h->all.mf), npsw_mf_display(h->all.rmf));
    } else {
        fputs("\t\t\t\t\t\t\t", f);
    }
    char sub[512] = "", dia[512];
    if (a->has_analogue) {
        const npsw_analogue_hit *h = &a->analogue;
        fprintf(f, "\t%llu", (unsigned long long)h->index + 1);
        tsv_meta(f, lib, h->index, NPSW_META_NAME);
        tsv_meta(f, lib, h->index, NPSW_META_INCHIKEY);
        tsv_meta(f, lib, h->index, NPSW_META_CLASS);
        fprintf(f, "\t%.4f\t%.4f\t%.4f\t%+.4f\t%.4f", h->hybrid.score, a->analogue_cosine,
                h->query_mass, h->delta, a->shift_support);
        subst_text(a, sub, sizeof sub);
    } else {
        fputs("\t\t\t\t\t\t\t\t\t", f);
    }
    fputc('\t', f);
    out_tsv_field(f, sub);
    diag_text(a, dia, sizeof dia);
    fputc('\t', f);
    out_tsv_field(f, a->predicted_class);
    fprintf(f, "\t%.4f\t", a->class_confidence);
    out_tsv_field(f, dia);
    fputc('\n', f);
}

static void json_lib_ref(cJSON *o, const npsw_lib *lib, uint64_t i)
{
    cJSON_AddNumberToObject(o, "index", (double)(i + 1));
    cJSON_AddStringToObject(o, "name", npsw_lib_meta(lib, i, NPSW_META_NAME));
    cJSON_AddStringToObject(o, "inchikey", npsw_lib_meta(lib, i, NPSW_META_INCHIKEY));
    cJSON_AddStringToObject(o, "formula", npsw_lib_meta(lib, i, NPSW_META_FORMULA));
    cJSON_AddStringToObject(o, "accession", npsw_lib_meta(lib, i, NPSW_META_ACCESSION));
    cJSON_AddStringToObject(o, "class", npsw_lib_meta(lib, i, NPSW_META_CLASS));
    cJSON_AddNumberToObject(o, "mass", npsw_lib_mw(lib, i));
}

static double r4(double x) { return round(x * 1e4) / 1e4; }

static void json_row(FILE *f, const run_record *rr, size_t qi, const npsw_spectrum *q,
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
        json_lib_ref(h, lib, a->hits[i].index);
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
        json_lib_ref(h, lib, c->index);
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
        json_lib_ref(an, lib, a->analogue.index);
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

enum { OPT_THREADS = OPT_CLI_LAST, OPT_FORMAT, OPT_MAXD, OPT_NMION, OPT_TOLDA, OPT_TOLPPM,
       OPT_STRICT, OPT_PROGRESS };

int cmd_analogues(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"library", required_argument, NULL, 'l'},
        {"output", required_argument, NULL, 'o'},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"max-delta", required_argument, NULL, OPT_MAXD},
        {"n-mion", required_argument, NULL, OPT_NMION},
        {"tol-da", required_argument, NULL, OPT_TOLDA},
        {"tol-ppm", required_argument, NULL, OPT_TOLPPM},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"help", no_argument, NULL, 'h'},
        CLI_READ_LONGOPTS,
        {NULL, 0, NULL, 0}};
    const char *libpath = NULL, *outpath = NULL;
    npsw_analyse_opts ao = npsw_analyse_opts_default();
    npsw_read_opts ro = npsw_read_opts_default();
    out_format fmt = OUT_TSV;
    int bad = 0, strict = 0, progress = 0;
    unsigned long u;
    double tol_da = ao.search.params.tol_da, tol_ppm = ao.search.params.tol_ppm;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:k:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': libpath = optarg; break;
        case 'o': outpath = optarg; break;
        case 'k':
            if (cli_parse_uint("-k", optarg, 1, NPSW_ANALYSE_MAX_K, &u) < 0) bad = 1;
            else ao.k = (uint32_t)u;
            break;
        case OPT_THREADS:
            if (cli_parse_uint("--threads", optarg, 1, 1024, &u) < 0) bad = 1;
            else ao.threads = (int)u;
            break;
        case OPT_FORMAT:
            if (!strcmp(optarg, "tsv")) fmt = OUT_TSV;
            else if (!strcmp(optarg, "json")) fmt = OUT_JSON;
            else {
                cli_msg("--format: expected tsv or json, got '%s'", optarg);
                bad = 1;
            }
            break;
        case OPT_MAXD:
            bad |= cli_parse_double("--max-delta", optarg, 1, 1000, &ao.analogue.max_delta) < 0;
            break;
        case OPT_NMION:
            if (cli_parse_uint("--n-mion", optarg, 1, 8, &u) < 0) bad = 1;
            else ao.analogue.n_mion = (int)u;
            break;
        case OPT_TOLDA: bad |= cli_parse_double("--tol-da", optarg, 0, 1, &tol_da) < 0; break;
        case OPT_TOLPPM: bad |= cli_parse_double("--tol-ppm", optarg, 0, 1000, &tol_ppm) < 0; break;
        case OPT_STRICT: strict = 1; break;
        case OPT_PROGRESS: progress = 1; break;
        case 'h': help(stdout); return EXIT_OK;
        default:
            if (!cli_read_option(c, optarg, &ro, &bad)) bad = 1;
        }
    }
    ao.search.params.tol_da = ao.analogue.params.tol_da = tol_da;
    ao.search.params.tol_ppm = ao.analogue.params.tol_ppm = tol_ppm;
    ao.search.k = ao.analogue.k = ao.k;
    if (!bad && !libpath) {
        cli_msg("analogues: -l LIB.h5 is required");
        bad = 1;
    }
    if (!bad && optind >= argc) {
        cli_msg("analogues: no query files");
        bad = 1;
    }
    if (bad) {
        help(stderr);
        return EXIT_INPUT;
    }
    npsw_err e;
    npsw_err_clear(&e);
    npsw_lib *lib = npsw_lib_open(libpath, &e);
    if (!lib) {
        cli_err(&e);
        return cli_exit_code(e.code);
    }
    cli_inputs in;
    int rc = cli_read_inputs(argv + optind, argc - optind, &ro, strict, 1, 0, &in);
    npsw_analysis *res = NULL;
    if (rc != EXIT_OK) goto done;
    if (in.spectra.n == 0) {
        cli_msg("analogues: no query spectra could be read");
        rc = EXIT_INPUT;
        goto done;
    }
    const npsw_clean_opts *co = &npsw_lib_get_info(lib)->clean;
    for (size_t i = 0; i < in.spectra.n; i++) {
        npsw_spectrum *q = &in.spectra.v[i];
        if (npsw_clean(q, co, NULL) < 0 || q->n == 0)
            cli_msg("warning: query %zu '%s' has no peaks after cleaning; it matches nothing", i + 1,
                    npsw_spectrum_meta(q, NPSW_META_NAME));
    }
    res = malloc(in.spectra.n * sizeof *res);
    if (!res) {
        cli_msg("out of memory for %zu queries", in.spectra.n);
        rc = EXIT_INTERNAL;
        goto done;
    }
    cli_progress pr;
    cli_progress_init(&pr, "analysing", progress);
    ao.search.progress = pr.on ? cli_progress_cb : NULL;
    ao.search.progress_user = &pr;
    int arc = npsw_analyse(lib, in.spectra.v, in.spectra.n, &ao, res, &e);
    if (pr.on) cli_progress_done(&pr);
    if (arc < 0) {
        cli_err(&e);
        rc = cli_exit_code(arc);
        goto done;
    }
    char extra[256];
    snprintf(extra, sizeof extra,
             "analogue_max_delta=%gDa analogue_n_mion=%d hybrid_weights=intensity^%g*mz^%g "
             "diag_min_rel=%g calibration=\"%s\"",
             ao.analogue.max_delta, ao.analogue.n_mion, ao.analogue.params.int_power,
             ao.analogue.params.mz_power, ao.diag_min_rel, npsw_calibration_source());
    run_record rr = {libpath, lib, &ao.search, "", argv + optind, &in, extra, tsv_header};
    npsw_utc_now(rr.utc);
    cli_out out;
    if ((rc = cli_out_open(&out, outpath)) != EXIT_OK) goto done;
    out_begin(out.f, fmt, &rr);
    for (size_t i = 0; i < in.spectra.n; i++) {
        if (fmt == OUT_JSON) json_row(out.f, &rr, i, &in.spectra.v[i], &res[i]);
        else tsv_row(out.f, &rr, i, &in.spectra.v[i], &res[i]);
    }
    rc = cli_out_commit(&out);
done:
    free(res);
    cli_inputs_free(&in);
    npsw_lib_free(lib);
    return rc;
}
