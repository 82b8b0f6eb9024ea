/* cmd_plot.c - npswatch plot: a mirror plot (PNG) of one query spectrum against one of its
 * identity-search hits, with the scores and the provenance (docs/figures.md). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npsw/config.h"
#include "npsw/libfile.h"
#include "npsw/plot.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: npswatch plot -l LIB.h5 --query FILE -o OUT.png [options]\n\n"
            "Searches one spectrum of FILE against the library (as 'npswatch search' does) and\n"
            "draws a mirror plot: the query up, its N-th hit down (inverted), the top peaks\n"
            "labelled, MF/RMF and the mass difference in the subtitle, the library's name,\n"
            "version and SHA-256 in the footer. PNG at 300 dpi with the provenance in text\n"
            "chunks, written atomically. Peaks the search matched one-to-one are drawn in full\n"
            "colour, the others pale. A library search result, not an identification.\n\n"
            "Options:\n"
            "  -l, --library FILE  library made by 'npswatch build' (required)\n"
            "  --query FILE        file with the query spectrum (MSP, MGF, JCAMP-DX, CSV, mzML)\n"
            "  --query-index I     which spectrum of FILE, 1-based (default 1)\n"
            "  --hit N             which hit, 1-based rank (default 1, at most %d)\n"
            "  --score S           ranking score: wmf (default), mf, rmf, cosine, entropy\n"
            "  -o, --output FILE   PNG file to write (required)\n"
            "  --labels N          peaks labelled with their m/z per spectrum (default 8, 0-50)\n"
            "  --title T           title instead of 'QUERY vs HIT'\n"
            "  --tol-da X          accurate-mass libraries: m/z tolerance in Da (default 0.01)\n"
            "  --tol-ppm X         accurate-mass libraries: additional tolerance in ppm (default 0)\n"
            "  --peaks-tsv FILE    also write the peak table: every peak of both spectra, matched\n"
            "                      pairs side by side with their m/z difference (TSV, atomic)\n"
            "  --strict            stop at the first bad record of FILE instead of skipping it\n"
            CLI_READ_HELP
            "  -h, --help          this help\n\n"
            "Text is drawn with the font $NPSW_FONT, else DejaVu Sans (fonts-dejavu-core).\n",
            NPSW_MAX_K);
}

enum { OPT_QUERY = OPT_CLI_LAST, OPT_QINDEX, OPT_HIT, OPT_SCORE, OPT_LABELS, OPT_TITLE,
       OPT_TOLDA, OPT_TOLPPM, OPT_STRICT, OPT_PEAKS };

static int mf_like(npsw_score_kind k)
{
    return k == NPSW_SCORE_MF || k == NPSW_SCORE_RMF || k == NPSW_SCORE_WMF;
}

/* A copy of library metadata (npsw_lib_meta's buffers are reused after three calls). */
static char *lib_meta(const npsw_lib *lib, uint64_t i, int field)
{
    const char *v = npsw_lib_meta(lib, i, field);
    return strdup(v ? v : "");
}

/* One row of the peak table: a matched pair, or a peak of one spectrum alone. */
typedef struct peak_row {
    double mz;      /* sort key: the query's m/z, else the library's */
    int32_t qi, lj; /* peak indices, -1 = none */
    const char *status;
} peak_row;

static int peak_row_cmp(const void *a, const void *b)
{
    const peak_row *x = a, *y = b;
    if (x->mz != y->mz) return x->mz < y->mz ? -1 : 1;
    return x->qi != y->qi ? (x->qi < y->qi ? -1 : 1) : (x->lj < y->lj ? -1 : x->lj > y->lj);
}

/* The pairs the search's scores count (npsw_match_peaks): qm[i] / lm[j] = matched peak of the
 * other spectrum or -1, and qin[i] / lin[j] = 1 inside the compared m/z range
 * (npsw_score_range). Returns the number of pairs or NPSW_ENOMEM. */
static int match_whole(const npsw_peaks *q, const npsw_peaks *l, const npsw_score_params *p,
                       int32_t *qm, int32_t *lm, uint8_t *qin, uint8_t *lin)
{
    npsw_peaks qr, lr;
    npsw_score_range(q, l, p, &qr, &lr);
    const uint32_t q0 = (uint32_t)(qr.mz - q->mz), l0 = (uint32_t)(lr.mz - l->mz);
    for (uint32_t i = 0; i < q->n; i++) qin[i] = i >= q0;
    for (uint32_t j = 0; j < l->n; j++) lin[j] = j >= l0;
    return npsw_match_peaks(q, l, p, qm, lm);
}

/* The peak table of --peaks-tsv: `#` lines naming what was compared, a header, then every peak
 * of both spectra in m/z order, matched pairs on one row. */
static int write_peak_table(const char *path, const char *const head[][2], size_t nhead,
                            const npsw_peaks *q, const npsw_peaks *l, const int32_t *qm,
                            const int32_t *lm, const uint8_t *qin, const uint8_t *lin)
{
    peak_row *rows = malloc(((size_t)q->n + l->n + 1) * sizeof *rows);
    if (!rows) {
        cli_msg("out of memory");
        return EXIT_INTERNAL;
    }
    size_t n = 0;
    for (uint32_t i = 0; i < q->n; i++)
        rows[n++] = (peak_row){q->mz[i], (int32_t)i, qm[i],
                               qm[i] >= 0 ? "matched" : qin[i] ? "query_only" : "outside_range"};
    for (uint32_t j = 0; j < l->n; j++)
        if (lm[j] < 0)
            rows[n++] = (peak_row){l->mz[j], -1, (int32_t)j,
                                   lin[j] ? "library_only" : "outside_range"};
    qsort(rows, n, sizeof *rows, peak_row_cmp);
    cli_out out;
    int rc = cli_out_open(&out, path);
    if (rc != EXIT_OK) {
        free(rows);
        return rc;
    }
    for (size_t k = 0; k < nhead; k++) {
        fprintf(out.f, "# %s\t", head[k][0]);
        out_tsv_field(out.f, head[k][1]);
        fputc('\n', out.f);
    }
    fprintf(out.f, "status\tquery_mz\tquery_intensity\tlibrary_mz\tlibrary_intensity\t"
                   "delta_mz\n");
    for (size_t k = 0; k < n; k++) {
        const peak_row *r = &rows[k];
        fprintf(out.f, "%s\t", r->status);
        if (r->qi >= 0) fprintf(out.f, "%.6g\t%.6g\t", q->mz[r->qi], (double)q->in[r->qi]);
        else fputs("\t\t", out.f);
        if (r->lj >= 0) fprintf(out.f, "%.6g\t%.6g\t", l->mz[r->lj], (double)l->in[r->lj]);
        else fputs("\t\t", out.f);
        if (r->qi >= 0 && r->lj >= 0) fprintf(out.f, "%+.4f", l->mz[r->lj] - q->mz[r->qi]);
        fputc('\n', out.f);
    }
    free(rows);
    return cli_out_commit(&out);
}

int cmd_plot(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"library", required_argument, NULL, 'l'},
        {"output", required_argument, NULL, 'o'},
        {"query", required_argument, NULL, OPT_QUERY},
        {"query-index", required_argument, NULL, OPT_QINDEX},
        {"hit", required_argument, NULL, OPT_HIT},
        {"score", required_argument, NULL, OPT_SCORE},
        {"labels", required_argument, NULL, OPT_LABELS},
        {"title", required_argument, NULL, OPT_TITLE},
        {"tol-da", required_argument, NULL, OPT_TOLDA},
        {"tol-ppm", required_argument, NULL, OPT_TOLPPM},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"peaks-tsv", required_argument, NULL, OPT_PEAKS},
        {"help", no_argument, NULL, 'h'},
        CLI_READ_LONGOPTS,
        {NULL, 0, NULL, 0}};
    const char *libpath = NULL, *outpath = NULL, *qpath = NULL, *title = NULL;
    const char *peaks_path = NULL;
    npsw_search_opts so = npsw_search_opts_default();
    npsw_read_opts ro = npsw_read_opts_default();
    npsw_mirror_opts mo = npsw_mirror_opts_default();
    unsigned long qindex = 1, hit = 1, u;
    int bad = 0, strict = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': libpath = optarg; break;
        case 'o': outpath = optarg; break;
        case OPT_QUERY: qpath = optarg; break;
        case OPT_QINDEX: bad |= cli_parse_uint("--query-index", optarg, 1, 100000000, &qindex) < 0; break;
        case OPT_HIT: bad |= cli_parse_uint("--hit", optarg, 1, NPSW_MAX_K, &hit) < 0; break;
        case OPT_SCORE: {
            int k = npsw_score_from_name(optarg);
            if (k < 0) {
                cli_msg("--score: unknown score '%s' (wmf, mf, rmf, cosine, entropy)", optarg);
                bad = 1;
            } else {
                so.score = (npsw_score_kind)k;
            }
            break;
        }
        case OPT_LABELS:
            if (cli_parse_uint("--labels", optarg, 0, 50, &u) < 0) bad = 1;
            else mo.n_labels = (uint32_t)u;
            break;
        case OPT_TITLE: title = optarg; break;
        case OPT_TOLDA: bad |= cli_parse_double("--tol-da", optarg, 0, 1, &so.params.tol_da) < 0; break;
        case OPT_TOLPPM:
            bad |= cli_parse_double("--tol-ppm", optarg, 0, 1000, &so.params.tol_ppm) < 0;
            break;
        case OPT_STRICT: strict = 1; break;
        case OPT_PEAKS: peaks_path = optarg; break;
        case 'h': help(stdout); return EXIT_OK;
        default:
            if (!cli_read_option(c, optarg, &ro, &bad)) bad = 1;
        }
    }
    if (!bad && !libpath) cli_msg("plot: -l LIB.h5 is required"), bad = 1;
    if (!bad && !qpath) cli_msg("plot: --query FILE is required"), bad = 1;
    if (!bad && !outpath) cli_msg("plot: -o OUT.png is required"), bad = 1;
    if (!bad && !strcmp(outpath, "-"))
        cli_msg("plot: -o -: a PNG goes to a file (-o /dev/stdout writes it to a pipe)"), bad = 1;
    if (!bad && optind < argc)
        cli_msg("plot: unexpected argument '%s' (the query file goes after --query)", argv[optind]),
            bad = 1;
    if (bad) {
        help(stderr);
        return EXIT_INPUT;
    }
    so.k = (uint32_t)hit;
    npsw_err e;
    npsw_err_clear(&e);
    if (npsw_search_opts_check(&so, &e) < 0) {
        cli_err(&e);
        return EXIT_INPUT;
    }
    npsw_lib *lib = npsw_lib_open(libpath, &e);
    if (!lib) {
        cli_err(&e);
        return cli_exit_code(e.code);
    }
    const npsw_lib_info *li = npsw_lib_get_info(lib);
    char *qpaths[1] = {(char *)qpath};
    cli_inputs in;
    npsw_hit *hits = NULL;
    char *hit_name = NULL, *hit_acc = NULL, *hit_key = NULL;
    int32_t *qpair = NULL, *lpair = NULL; /* matched peak of the other spectrum, or -1 */
    uint8_t *qin = NULL, *lin = NULL;     /* 1: inside the compared m/z range */
    int rc = cli_read_inputs(qpaths, 1, &ro, strict, 1, 0, &in);
    if (rc != EXIT_OK) goto done;
    if (qindex > in.spectra.n) {
        cli_msg("%s: --query-index %lu, but the file has %zu spectra that could be read", qpath,
                qindex, in.spectra.n);
        rc = EXIT_INPUT;
        goto done;
    }
    npsw_spectrum *q = &in.spectra.v[qindex - 1];
    char qname[300];
    snprintf(qname, sizeof qname, "%s", npsw_spectrum_meta(q, NPSW_META_NAME));
    if (!qname[0]) snprintf(qname, sizeof qname, "query %lu", qindex);
    /* cleaned exactly as the library was, as 'npswatch search' does */
    if (npsw_clean(q, &li->clean, NULL) < 0 || q->n == 0) {
        cli_msg("%s: query %lu '%s' has no peaks after cleaning: nothing to plot", qpath, qindex,
                qname);
        rc = EXIT_INPUT;
        goto done;
    }
    uint32_t nhits = 0;
    if (!(hits = malloc(so.k * sizeof *hits))) {
        cli_msg("out of memory");
        rc = EXIT_INTERNAL;
        goto done;
    }
    int src = npsw_search(lib, q, 1, &so, hits, &nhits, NULL, &e);
    if (src < 0) {
        cli_err(&e);
        rc = cli_exit_code(src);
        goto done;
    }
    if (nhits < hit) {
        if (nhits == 0)
            cli_msg("query %lu '%s' matches no library spectrum: nothing to plot", qindex, qname);
        else
            cli_msg("query %lu '%s' has %u hit%s; --hit %lu is beyond them", qindex, qname, nhits,
                    nhits == 1 ? "" : "s", hit);
        rc = EXIT_INPUT;
        goto done;
    }
    const npsw_hit *h = &hits[hit - 1];
    hit_name = lib_meta(lib, h->index, NPSW_META_NAME);
    hit_acc = lib_meta(lib, h->index, NPSW_META_ACCESSION);
    hit_key = lib_meta(lib, h->index, NPSW_META_INCHIKEY);
    if (!hit_name || !hit_acc || !hit_key) {
        cli_msg("out of memory");
        rc = EXIT_INTERNAL;
        goto done;
    }
    char hname[300];
    snprintf(hname, sizeof hname, "%s", hit_name[0] ? hit_name : "");
    if (!hname[0]) snprintf(hname, sizeof hname, "library spectrum %llu",
                            (unsigned long long)h->index + 1);

    /* the subtitle: MF, RMF, the mass difference, the ranking */
    char score_txt[32], extra[200], utc[32], footer[96];
    mo.mf = npsw_mf_display(h->all.mf);
    mo.rmf = npsw_mf_display(h->all.rmf);
    double qp = q->precursor_mz, lp = npsw_lib_precursor_mz(lib, h->index);
    double qm = q->mw, lm = npsw_lib_mw(lib, h->index);
    if (qp > 0 && lp > 0) {
        mo.delta_label = "\xce\x94m/z (precursor)";
        mo.delta = qp - lp;
    } else if (qm > 0 && lm > 0) {
        mo.delta_label = "\xce\x94MW";
        mo.delta = qm - lm;
    }
    if (mf_like(so.score)) snprintf(score_txt, sizeof score_txt, "%d", npsw_mf_display(h->score));
    else snprintf(score_txt, sizeof score_txt, "%.4f", h->score);
    snprintf(extra, sizeof extra, "hit %lu by %s %s, cosine %.3f, %u peaks matched", hit,
             npsw_score_name(so.score), score_txt, h->all.cosine, h->all.n_matched);
    mo.subtitle_extra = extra;
    mo.query_name = qname;
    mo.hit_name = hname;
    mo.title = title;
    mo.lib_name = li->name;
    mo.lib_version = li->version;
    mo.lib_sha256 = li->content_sha256;
    npsw_utc_now(utc);
    snprintf(footer, sizeof footer, "npswatch %s, %s", NPSW_VERSION, utc);
    mo.footer_extra = footer;

    /* provenance chunks (docs/figures.md) */
    char title_txt[620], software[64], qidx[32], hrank[32], hidx[32], scores[256], params[256];
    char clean[256];
    snprintf(title_txt, sizeof title_txt, "%s vs %s", qname, hname);
    snprintf(software, sizeof software, "npswatch %s", NPSW_VERSION);
    snprintf(qidx, sizeof qidx, "%lu", qindex);
    snprintf(hrank, sizeof hrank, "%lu", hit);
    snprintf(hidx, sizeof hidx, "%llu", (unsigned long long)h->index + 1);
    snprintf(scores, sizeof scores, "score=%s mf=%d rmf=%d wmf=%d cosine=%.4f entropy=%.4f "
             "n_matched=%u", score_txt, npsw_mf_display(h->all.mf), npsw_mf_display(h->all.rmf),
             npsw_mf_display(h->all.wmf), h->all.cosine, h->all.entropy, h->all.n_matched);
    snprintf(params, sizeof params, "score=%s k=%u weights=intensity^%g*mz^%g%s", 
             npsw_score_name(so.score), so.k, so.params.int_power, so.params.mz_power,
             li->clean.nominal ? " matching=nominal" : "");
    npsw_clean_opts_describe(&li->clean, clean, sizeof clean);
    npsw_png_text text[] = {
        {"Title", title ? title : title_txt},
        {"Description", "Mirror plot: query spectrum (up) against a library spectrum (down, "
                        "inverted), intensities relative to each base peak"},
        {"Software", software},
        {"Disclaimer", "library search result, not an identification"},
        {"Creation Time", utc},
        {"Library", li->name},
        {"Library version", li->version},
        {"Library SHA-256", li->content_sha256},
        {"Library file", libpath},
        {"Query file", qpath},
        {"Query file SHA-256", in.files[0].sha256},
        {"Query index", qidx},
        {"Query name", qname},
        {"Hit rank", hrank},
        {"Hit library index", hidx},
        {"Hit name", hname},
        {"Hit accession", hit_acc},
        {"Hit InChIKey", hit_key},
        {"Scores", scores},
        {"Search parameters", params},
        {"Cleaning", clean},
    };
    npsw_peaks qpk = {q->mz, q->intensity, q->n};
    npsw_peaks lpk = npsw_lib_peaks(lib, h->index);
    /* the pairs the scores counted, with the search's matching (nominal, or the tolerances) */
    npsw_score_params mp = so.params;
    mp.nominal = li->clean.nominal;
    qpair = malloc((qpk.n + 1) * sizeof *qpair);
    lpair = malloc((lpk.n + 1) * sizeof *lpair);
    qin = malloc(qpk.n + 1);
    lin = malloc(lpk.n + 1);
    if (!qpair || !lpair || !qin || !lin ||
        match_whole(&qpk, &lpk, &mp, qpair, lpair, qin, lin) < 0) {
        cli_msg("out of memory");
        rc = EXIT_INTERNAL;
        goto done;
    }
    mo.query_match = qpair;
    mo.lib_match = lpair;
    int prc = npsw_plot_mirror(&qpk, &lpk, &mo, text, sizeof text / sizeof *text, outpath, NULL, &e);
    if (prc < 0) {
        cli_err(&e);
        rc = cli_exit_code(prc);
        goto done;
    }
    if (peaks_path) {
        char matching[96];
        if (mp.nominal) snprintf(matching, sizeof matching, "nominal m/z, one-to-one");
        else snprintf(matching, sizeof matching, "within %g Da + %g ppm, one-to-one", mp.tol_da,
                      mp.tol_ppm);
        const char *const head[][2] = {
            {"npswatch_version", NPSW_VERSION},   {"utc_time", utc},
            {"library_file", libpath},            {"library_name", li->name},
            {"library_version", li->version},     {"library_sha256", li->content_sha256},
            {"query_file", qpath},                {"query_file_sha256", in.files[0].sha256},
            {"query_index", qidx},                {"query_name", qname},
            {"hit_rank", hrank},                  {"hit_library_index", hidx},
            {"hit_name", hname},                  {"hit_accession", hit_acc},
            {"scores", scores},                   {"matching", matching},
            {"cleaning", clean},
            {"note", "library search result, not an identification"},
        };
        rc = write_peak_table(peaks_path, head, sizeof head / sizeof head[0], &qpk, &lpk, qpair,
                              lpair, qin, lin);
    }
done:
    free(qpair);
    free(lpair);
    free(qin);
    free(lin);
    free(hit_name);
    free(hit_acc);
    free(hit_key);
    free(hits);
    cli_inputs_free(&in);
    npsw_lib_free(lib);
    return rc;
}
