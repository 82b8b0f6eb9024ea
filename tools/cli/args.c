/* args.c - the arguments of `search` and `analogues` (docs/cli.md), shared by npswatch and
 * npswatch-mpi. */
#include "args.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "npsw/analyse.h"

/* After the options of search or analogues: a library and at least one query file are needed.
 * 1 when the command line is good (bad: an option was already refused). */
static int positional_ok(const char *cmd, int bad, const char *libpath, int argc)
{
    if (bad) return 0;
    if (!libpath) {
        cli_msg("%s: -l LIB.h5 is required", cmd);
        return 0;
    }
    if (optind >= argc) {
        cli_msg("%s: no query files", cmd);
        return 0;
    }
    return 1;
}

/* ---- search ------------------------------------------------------------------------------ */

static void search_help(FILE *f, const char *prog, const char *note)
{
    fprintf(f,
            "Usage: %s search -l LIB.h5 [options] QUERY...\n\n"
            "Searches every spectrum of the QUERY files (MSP, MGF, JCAMP-DX, CSV) against the\n"
            "library and prints the top K hits of each: exact ranking by the chosen score, ties\n"
            "broken by library order, identical for any number of threads.\n\n"
            "%s%s"
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
            prog, note ? note : "", note ? "\n" : "", NPSW_MAX_K);
}

enum { OPT_SCORE = OPT_CLI_LAST, OPT_THREADS, OPT_FORMAT, OPT_WEIGHTS, OPT_IPOW, OPT_MPOW,
       OPT_TOLDA, OPT_TOLPPM, OPT_PTOL, OPT_MINM, OPT_STRICT, OPT_PROGRESS, OPT_RANGE, OPT_MINMZ,
       OPT_BRUTE };

int search_cli_parse(int argc, char **argv, const char *prog, const char *note, search_cli *x)
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
    memset(x, 0, sizeof *x);
    x->so = npsw_search_opts_default();
    x->ro = npsw_read_opts_default();
    x->fmt = OUT_TSV;
    npsw_search_opts *so = &x->so;
    int bad = 0;
    double ipow = -1, mpow = -1;
    unsigned long u;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:k:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': x->libpath = optarg; break;
        case 'o': x->outpath = optarg; break;
        case 'k':
            if (cli_parse_uint("-k", optarg, 1, NPSW_MAX_K, &u) < 0) bad = 1;
            else so->k = (uint32_t)u;
            break;
        case OPT_SCORE: {
            int k = npsw_score_from_name(optarg);
            if (k < 0) {
                cli_msg("--score: unknown score '%s' (wmf, mf, rmf, cosine, entropy)", optarg);
                bad = 1;
            } else {
                so->score = (npsw_score_kind)k;
            }
            break;
        }
        case OPT_THREADS:
            if (cli_parse_uint("--threads", optarg, 1, 1024, &u) < 0) bad = 1;
            else so->threads = (int)u;
            break;
        case OPT_FORMAT:
            if (!strcmp(optarg, "tsv")) x->fmt = OUT_TSV;
            else if (!strcmp(optarg, "json")) x->fmt = OUT_JSON;
            else if (!strcmp(optarg, "nist")) x->fmt = OUT_NIST;
            else {
                cli_msg("--format: expected tsv, json or nist, got '%s'", optarg);
                bad = 1;
            }
            break;
        case OPT_WEIGHTS:
            if (!strcmp(optarg, "nist")) so->params.int_power = 0.5, so->params.mz_power = 0.5;
            else if (!strcmp(optarg, "1994")) so->params.int_power = 0.6, so->params.mz_power = 3.0;
            else {
                cli_msg("--weights: expected nist or 1994, got '%s'", optarg);
                bad = 1;
            }
            break;
        case OPT_IPOW: bad |= cli_parse_double("--int-power", optarg, 0.01, 4, &ipow) < 0; break;
        case OPT_MPOW: bad |= cli_parse_double("--mz-power", optarg, 0, 6, &mpow) < 0; break;
        case OPT_TOLDA: bad |= cli_parse_double("--tol-da", optarg, 0, 1, &so->params.tol_da) < 0; break;
        case OPT_TOLPPM:
            bad |= cli_parse_double("--tol-ppm", optarg, 0, 1000, &so->params.tol_ppm) < 0;
            break;
        case OPT_PTOL:
            bad |= cli_parse_double("--precursor-tol", optarg, 0, 1000, &so->precursor_tol_da) < 0;
            break;
        case OPT_MINM:
            if (cli_parse_uint("--min-matched", optarg, 1, 100000, &u) < 0) bad = 1;
            else so->min_matched = (uint32_t)u;
            break;
        case OPT_STRICT: x->strict = 1; break;
        case OPT_RANGE:
            if (!strcmp(optarg, "common")) so->params.common_range = 1;
            else if (!strcmp(optarg, "all")) so->params.common_range = 0;
            else {
                cli_msg("--mz-range: expected common or all, got '%s'", optarg);
                bad = 1;
            }
            break;
        case OPT_MINMZ: bad |= cli_parse_double("--min-mz", optarg, 0, 100000, &so->params.mz_min) < 0; break;
        case OPT_BRUTE: x->brute = 1; break;
        case OPT_PROGRESS: x->progress = 1; break;
        case 'h': search_help(stdout, prog, note); return EXIT_OK;
        default:
            if (!cli_read_option(c, optarg, &x->ro, &bad)) bad = 1;
        }
    }
    if (ipow > 0) so->params.int_power = ipow;
    if (mpow >= 0) so->params.mz_power = mpow;
    if (!positional_ok("search", bad, x->libpath, argc)) {
        search_help(stderr, prog, note);
        return EXIT_INPUT;
    }
    x->first_query = optind;
    npsw_err e;
    npsw_err_clear(&e);
    if (npsw_search_opts_check(so, &e) < 0) {
        cli_err(&e);
        return EXIT_INPUT;
    }
    return -1;
}

/* ---- analogues --------------------------------------------------------------------------- */

static void analogues_help(FILE *f, const char *prog, const char *note)
{
    fprintf(f,
            "Usage: %s analogues -l LIB.h5 [options] QUERY...\n\n"
            "For every spectrum of the QUERY files: an identity search, a hybrid (fragment +\n"
            "neutral-loss) search for relatives with a different mass, mass shifts by\n"
            "cross-correlation, substituent hypotheses for the mass difference, the likely drug\n"
            "class, and a verdict (in_library, analogue, unknown) with a calibrated confidence.\n"
            "These are library search results, not identifications.\n\n"
            "%s%s"
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
            prog, note ? note : "", note ? "\n" : "", NPSW_ANALYSE_MAX_K);
}

enum { OPT_AN_STRICT = OPT_ANALYSIS_LAST, OPT_AN_PROGRESS };

int analogues_cli_parse(int argc, char **argv, const char *prog, const char *note,
                        analogues_cli *x)
{
    static const struct option longopts[] = {
        {"library", required_argument, NULL, 'l'},
        {"output", required_argument, NULL, 'o'},
        ANALYSIS_LONGOPTS,
        {"strict", no_argument, NULL, OPT_AN_STRICT},
        {"progress", no_argument, NULL, OPT_AN_PROGRESS},
        {"help", no_argument, NULL, 'h'},
        CLI_READ_LONGOPTS,
        {NULL, 0, NULL, 0}};
    memset(x, 0, sizeof *x);
    analysis_cli an;
    analysis_cli_init(&an);
    x->ro = npsw_read_opts_default();
    int bad = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:k:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': x->libpath = optarg; break;
        case 'o': x->outpath = optarg; break;
        case OPT_AN_STRICT: x->strict = 1; break;
        case OPT_AN_PROGRESS: x->progress = 1; break;
        case 'h': analogues_help(stdout, prog, note); return EXIT_OK;
        default:
            if (!analysis_cli_option(c, optarg, &an, &bad) && !cli_read_option(c, optarg, &x->ro, &bad))
                bad = 1;
        }
    }
    analysis_cli_finish(&an);
    x->ao = an.ao;
    x->fmt = an.fmt;
    if (!positional_ok("analogues", bad, x->libpath, argc)) {
        analogues_help(stderr, prog, note);
        return EXIT_INPUT;
    }
    x->first_query = optind;
    return -1;
}
