/* cmd_analogues.c - npswatch analogues: is each query in the library, an analogue of a library
 * substance, or unknown; with the analogue, its mass difference, substituent hypotheses, the
 * predicted drug class and diagnostic ions (docs/cli.md, docs/analogues.md). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_out.h"
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

enum { OPT_STRICT = OPT_ANALYSIS_LAST, OPT_PROGRESS };

int cmd_analogues(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"library", required_argument, NULL, 'l'},
        {"output", required_argument, NULL, 'o'},
        ANALYSIS_LONGOPTS,
        {"strict", no_argument, NULL, OPT_STRICT},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"help", no_argument, NULL, 'h'},
        CLI_READ_LONGOPTS,
        {NULL, 0, NULL, 0}};
    const char *libpath = NULL, *outpath = NULL;
    analysis_cli x;
    analysis_cli_init(&x);
    npsw_analyse_opts ao;
    npsw_read_opts ro = npsw_read_opts_default();
    int bad = 0, strict = 0, progress = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:k:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': libpath = optarg; break;
        case 'o': outpath = optarg; break;
        case OPT_STRICT: strict = 1; break;
        case OPT_PROGRESS: progress = 1; break;
        case 'h': help(stdout); return EXIT_OK;
        default:
            if (!analysis_cli_option(c, optarg, &x, &bad) && !cli_read_option(c, optarg, &ro, &bad))
                bad = 1;
        }
    }
    analysis_cli_finish(&x);
    ao = x.ao;
    const out_format fmt = x.fmt;
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
    int rc = cli_read_queries("analogues", lib, argv + optind, argc - optind, &ro, strict, &in);
    npsw_analysis *res = NULL;
    if (rc != EXIT_OK) goto done;
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
    analysis_params_text(&ao, extra, sizeof extra);
    run_record rr = {libpath, lib, &ao.search, "", argv + optind, &in, extra, analysis_tsv_header};
    npsw_utc_now(rr.utc);
    cli_out out;
    if ((rc = cli_out_open(&out, outpath)) != EXIT_OK) goto done;
    out_begin(out.f, fmt, &rr);
    for (size_t i = 0; i < in.spectra.n; i++) {
        if (fmt == OUT_JSON) analysis_json_row(out.f, &rr, i, &in.spectra.v[i], &res[i]);
        else analysis_tsv_row(out.f, &rr, i, &in.spectra.v[i], &res[i]);
    }
    rc = cli_out_commit(&out);
done:
    free(res);
    cli_inputs_free(&in);
    npsw_lib_free(lib);
    return rc;
}
