/* cmd_search.c - npswatch search: identity search, hit lists with a run record. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npsw/libfile.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: npswatch search -l LIB.h5 [options] QUERY...\n\n"
            "Searches every spectrum of the QUERY files (MSP, MGF, JCAMP-DX, CSV) against the\n"
            "library and prints the top K hits of each: exact ranking by the chosen score, ties\n"
            "broken by library order, identical for any number of threads.\n\n"
            "Options:\n"
            "  -l, --library FILE  library made by 'npswatch build' (required)\n"
            "  -k N                hits per query (default 5, at most %d)\n"
            "  --score S           ranking score: wmf (default), mf, rmf, cosine, entropy\n"
            "  --threads N         worker threads (default: all cores)\n"
            "  --format F          tsv (default), json (JSON Lines) or nist (text report)\n"
            "  -o, --output FILE   write here (atomically) instead of standard output\n"
            "  --weights W         nist (sqrt(intensity x mz), default) or 1994 (intensity^0.6 x mz^3)\n"
            "  --int-power A       intensity power of the weights (overrides --weights)\n"
            "  --mz-power B        m/z power of the weights (overrides --weights)\n"
            "  --tol-da X          accurate-mass libraries: m/z tolerance in Da (default 0.01)\n"
            "  --tol-ppm X         accurate-mass libraries: additional tolerance in ppm (default 0)\n"
            "  --precursor-tol X   only library spectra with precursor m/z within X Da (default off)\n"
            "  --min-matched N     hits need at least N matched peaks (inclusive; default 1)\n"
            "  --strict            stop at the first bad query record instead of skipping it\n"
            "  --progress          show progress even when stderr is not a terminal\n" CLI_READ_HELP
            "  -h, --help          this help\n",
            NPSW_MAX_K);
}

enum { OPT_SCORE = OPT_CLI_LAST, OPT_THREADS, OPT_FORMAT, OPT_WEIGHTS, OPT_IPOW, OPT_MPOW,
       OPT_TOLDA, OPT_TOLPPM, OPT_PTOL, OPT_MINM, OPT_STRICT, OPT_PROGRESS, OPT_RANGE, OPT_MINMZ,
       OPT_BRUTE };

int cmd_search(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"library", required_argument, NULL, 'l'},
        {"output", required_argument, NULL, 'o'},
        {"score", required_argument, NULL, OPT_SCORE},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"weights", required_argument, NULL, OPT_WEIGHTS},
        {"int-power", required_argument, NULL, OPT_IPOW},
        {"mz-power", required_argument, NULL, OPT_MPOW},
        {"tol-da", required_argument, NULL, OPT_TOLDA},
        {"tol-ppm", required_argument, NULL, OPT_TOLPPM},
        {"precursor-tol", required_argument, NULL, OPT_PTOL},
        {"min-matched", required_argument, NULL, OPT_MINM},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"mz-range", required_argument, NULL, OPT_RANGE},
        {"min-mz", required_argument, NULL, OPT_MINMZ},
        {"brute-force", no_argument, NULL, OPT_BRUTE},
        {"help", no_argument, NULL, 'h'},
        CLI_READ_LONGOPTS,
        {NULL, 0, NULL, 0}};
    const char *libpath = NULL, *outpath = NULL;
    npsw_search_opts so = npsw_search_opts_default();
    npsw_read_opts ro = npsw_read_opts_default();
    out_format fmt = OUT_TSV;
    int bad = 0, strict = 0, progress = 0, brute = 0;
    double ipow = -1, mpow = -1;
    unsigned long u;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:k:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': libpath = optarg; break;
        case 'o': outpath = optarg; break;
        case 'k':
            if (cli_parse_uint("-k", optarg, 1, NPSW_MAX_K, &u) < 0) bad = 1;
            else so.k = (uint32_t)u;
            break;
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
        case OPT_THREADS:
            if (cli_parse_uint("--threads", optarg, 1, 1024, &u) < 0) bad = 1;
            else so.threads = (int)u;
            break;
        case OPT_FORMAT:
            if (!strcmp(optarg, "tsv")) fmt = OUT_TSV;
            else if (!strcmp(optarg, "json")) fmt = OUT_JSON;
            else if (!strcmp(optarg, "nist")) fmt = OUT_NIST;
            else {
                cli_msg("--format: expected tsv, json or nist, got '%s'", optarg);
                bad = 1;
            }
            break;
        case OPT_WEIGHTS:
            if (!strcmp(optarg, "nist")) so.params.int_power = 0.5, so.params.mz_power = 0.5;
            else if (!strcmp(optarg, "1994")) so.params.int_power = 0.6, so.params.mz_power = 3.0;
            else {
                cli_msg("--weights: expected nist or 1994, got '%s'", optarg);
                bad = 1;
            }
            break;
        case OPT_IPOW: bad |= cli_parse_double("--int-power", optarg, 0.01, 4, &ipow) < 0; break;
        case OPT_MPOW: bad |= cli_parse_double("--mz-power", optarg, 0, 6, &mpow) < 0; break;
        case OPT_TOLDA: bad |= cli_parse_double("--tol-da", optarg, 0, 1, &so.params.tol_da) < 0; break;
        case OPT_TOLPPM:
            bad |= cli_parse_double("--tol-ppm", optarg, 0, 1000, &so.params.tol_ppm) < 0;
            break;
        case OPT_PTOL:
            bad |= cli_parse_double("--precursor-tol", optarg, 0, 1000, &so.precursor_tol_da) < 0;
            break;
        case OPT_MINM:
            if (cli_parse_uint("--min-matched", optarg, 1, 100000, &u) < 0) bad = 1;
            else so.min_matched = (uint32_t)u;
            break;
        case OPT_STRICT: strict = 1; break;
        case OPT_RANGE:
            if (!strcmp(optarg, "common")) so.params.common_range = 1;
            else if (!strcmp(optarg, "all")) so.params.common_range = 0;
            else {
                cli_msg("--mz-range: expected common or all, got '%s'", optarg);
                bad = 1;
            }
            break;
        case OPT_MINMZ: bad |= cli_parse_double("--min-mz", optarg, 0, 100000, &so.params.mz_min) < 0; break;
        case OPT_BRUTE: brute = 1; break;
        case OPT_PROGRESS: progress = 1; break;
        case 'h': help(stdout); return EXIT_OK;
        default:
            if (!cli_read_option(c, optarg, &ro, &bad)) bad = 1;
        }
    }
    if (ipow > 0) so.params.int_power = ipow;
    if (mpow >= 0) so.params.mz_power = mpow;
    if (!bad && !libpath) {
        cli_msg("search: -l LIB.h5 is required");
        bad = 1;
    }
    if (!bad && optind >= argc) {
        cli_msg("search: no query files");
        bad = 1;
    }
    if (bad) {
        help(stderr);
        return EXIT_INPUT;
    }
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
    cli_inputs in;
    int rc = cli_read_queries("search", lib, argv + optind, argc - optind, &ro, strict, &in);
    npsw_hit *hits = NULL;
    uint32_t *nhits = NULL;
    if (rc != EXIT_OK) goto done;
    for (size_t i = 0; i < in.spectra.n; i++) {
        const npsw_spectrum *q = &in.spectra.v[i];
        if (so.precursor_tol_da > 0 && !(q->precursor_mz > 0))
            cli_msg("warning: query %zu '%s' has no precursor m/z: searched without the precursor "
                    "window",
                    i + 1, npsw_spectrum_meta(q, NPSW_META_NAME));
    }
    hits = malloc(in.spectra.n * so.k * sizeof *hits);
    nhits = calloc(in.spectra.n, sizeof *nhits);
    if (!hits || !nhits) {
        cli_msg("out of memory for %zu queries", in.spectra.n);
        rc = EXIT_INTERNAL;
        goto done;
    }
    cli_progress pr;
    cli_progress_init(&pr, "searching", progress);
    so.progress = pr.on ? cli_progress_cb : NULL;
    so.progress_user = &pr;
    npsw_search_stats st;
    int src = brute ? npsw_search_brute(lib, in.spectra.v, in.spectra.n, &so, 0, hits, nhits, &e)
                    : npsw_search(lib, in.spectra.v, in.spectra.n, &so, hits, nhits, &st, &e);
    if (pr.on) cli_progress_done(&pr);
    if (src < 0) {
        cli_err(&e);
        rc = cli_exit_code(src);
        goto done;
    }
    run_record rr = {libpath, lib, &so, "", argv + optind, &in, NULL, NULL};
    npsw_utc_now(rr.utc);
    cli_out out;
    if ((rc = cli_out_open(&out, outpath)) != EXIT_OK) goto done;
    out_begin(out.f, fmt, &rr);
    for (size_t i = 0; i < in.spectra.n; i++)
        out_query(out.f, fmt, &rr, i, &in.spectra.v[i], hits + i * so.k, nhits[i]);
    rc = cli_out_commit(&out);
done:
    free(hits);
    free(nhits);
    cli_inputs_free(&in);
    npsw_lib_free(lib);
    return rc;
}
