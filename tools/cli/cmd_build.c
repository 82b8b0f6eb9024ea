/* cmd_build.c - npswatch build: spectra files -> HDF5 reference library. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "npsw/classes.h"
#include "npsw/libfile.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: npswatch build -o LIB.h5 [options] INPUT...\n\n"
            "Reads spectra from any mix of MSP, MGF, JCAMP-DX and CSV/TSV files, cleans them and\n"
            "writes an HDF5 reference library (docs/format.md). The file is replaced atomically:\n"
            "an interrupted or failed build leaves an existing LIB.h5 untouched.\n\n"
            "Options:\n"
            "  -o, --output FILE   library file to write (required)\n"
            "  --name NAME         library name (default: the output file name)\n"
            "  --lib-version V     library version label (default 1)\n"
            "  --strict            stop at the first bad record instead of skipping it\n"
            "  --accurate          accurate-mass (MS/MS) library: no nominal binning, peaks merged\n"
            "                      within 0.01 Da by summing, no intensity rounding, peaks above\n"
            "                      precursor - 1.6 Da removed\n"
            "  --bin-boundary B    nominal m/z = ceil(mz - B) (default 0.649, AMDIS)\n"
            "  --merge max|sum     how peaks falling in one bin are merged (default max for EI)\n"
            "  --noise-floor F     drop peaks below F x base peak (default 0)\n"
            "  --no-round          keep fractional intensities (default: rounded on the 0-999 "
            "scale)\n"
            "  --progress          progress bars even when stderr is not a terminal\n" CLI_READ_HELP
            "  -h, --help          this help\n");
}

enum { OPT_NAME = OPT_CLI_LAST, OPT_VERSION, OPT_STRICT, OPT_ACCURATE, OPT_BIN, OPT_MERGE,
       OPT_FLOOR, OPT_NOROUND, OPT_PROGRESS };

int cmd_build(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"name", required_argument, NULL, OPT_NAME},
        {"lib-version", required_argument, NULL, OPT_VERSION},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"accurate", no_argument, NULL, OPT_ACCURATE},
        {"bin-boundary", required_argument, NULL, OPT_BIN},
        {"merge", required_argument, NULL, OPT_MERGE},
        {"noise-floor", required_argument, NULL, OPT_FLOOR},
        {"no-round", no_argument, NULL, OPT_NOROUND},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"help", no_argument, NULL, 'h'},
        CLI_READ_LONGOPTS,
        {NULL, 0, NULL, 0}};
    const char *out = NULL, *name = NULL, *version = "1";
    int strict = 0, bad = 0, progress = 1; /* 1: on a terminal; 2: always */
    npsw_read_opts ro = npsw_read_opts_default();
    npsw_clean_opts co = npsw_clean_opts_default();
    double bin = -1, floor_ = -1;
    int merge = -1, noround = 0, accurate = 0;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case OPT_NAME: name = optarg; break;
        case OPT_VERSION: version = optarg; break;
        case OPT_STRICT: strict = 1; break;
        case OPT_ACCURATE: accurate = 1; break;
        case OPT_BIN: bad |= cli_parse_double("--bin-boundary", optarg, 0.01, 0.99, &bin) < 0; break;
        case OPT_MERGE:
            if (!strcmp(optarg, "max")) merge = NPSW_MERGE_MAX;
            else if (!strcmp(optarg, "sum")) merge = NPSW_MERGE_SUM;
            else {
                cli_msg("--merge expects max or sum, got '%s'", optarg);
                bad = 1;
            }
            break;
        case OPT_FLOOR: bad |= cli_parse_double("--noise-floor", optarg, 0, 0.99, &floor_) < 0; break;
        case OPT_NOROUND: noround = 1; break;
        case OPT_PROGRESS: progress = 2; break;
        case 'h': help(stdout); return EXIT_OK;
        default:
            if (!cli_read_option(c, optarg, &ro, &bad)) bad = 1;
        }
    }
    if (!bad && !out) {
        cli_msg("build: -o LIB.h5 is required");
        bad = 1;
    }
    if (!bad && optind >= argc) {
        cli_msg("build: no input files");
        bad = 1;
    }
    if (bad) {
        help(stderr);
        return EXIT_INPUT;
    }
    if (accurate) co = npsw_clean_opts_msms();
    if (bin > 0) co.bin_boundary = bin;
    if (merge >= 0) co.merge = merge;
    if (floor_ >= 0) co.noise_floor = floor_;
    if (noround) co.round_intensity = 0;

    cli_inputs in;
    int rc = cli_read_inputs(argv + optind, argc - optind, &ro, strict, 0, progress, &in);
    if (rc != EXIT_OK) {
        cli_inputs_free(&in);
        return rc;
    }
    if (in.spectra.n == 0) {
        cli_msg("build: no spectra could be read from the inputs; %s not written", out);
        cli_inputs_free(&in);
        return EXIT_INPUT;
    }
    /* drug classes from the names, unless the records give one (docs/classes.md) */
    if (npsw_classify_spectra(in.spectra.v, in.spectra.n) < 0) {
        cli_msg("out of memory");
        cli_inputs_free(&in);
        return EXIT_INTERNAL;
    }
    const char *base = strrchr(out, '/');
    npsw_err e;
    npsw_err_clear(&e);
    npsw_lib_build_report rep;
    npsw_lib *lib = npsw_lib_build(in.spectra.v, in.spectra.n, &co, name ? name : (base ? base + 1 : out),
                                   version, in.files, in.n_files, &rep, &e);
    cli_inputs_free(&in);
    if (!lib) {
        cli_err(&e);
        return cli_exit_code(e.code);
    }
    if (rep.n_empty)
        cli_msg("build: %llu spectra had no peaks left after cleaning and were left out",
                (unsigned long long)rep.n_empty);
    if (rep.n_duplicate_accessions)
        cli_msg("warning: %llu accession numbers occur more than once",
                (unsigned long long)rep.n_duplicate_accessions);
    if (rep.n_out == 0) {
        cli_msg("build: no spectra left after cleaning; %s not written", out);
        npsw_lib_free(lib);
        return EXIT_INPUT;
    }
    rc = npsw_lib_write(lib, out, &e);
    if (rc < 0) {
        cli_err(&e);
        npsw_lib_free(lib);
        return cli_exit_code(rc) == EXIT_INPUT ? EXIT_INPUT : EXIT_INTERNAL;
    }
    cli_msg("built %s: %llu spectra, %llu peaks, content sha256 %s", out,
            (unsigned long long)npsw_lib_size(lib), (unsigned long long)npsw_lib_npeaks(lib),
            npsw_lib_get_info(lib)->content_sha256);
    npsw_lib_free(lib);
    return EXIT_OK;
}
