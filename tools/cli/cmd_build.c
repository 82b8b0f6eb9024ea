/* cmd_build.c - npswatch build: spectra files -> HDF5 reference library; with --from, a new
 * version of a library with spectra appended (lineage recorded, docs/format.md "/lineage"). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "npsw/classes.h"
#include "npsw/libfile.h"

static void help(FILE *f)
{
    fprintf(f,
            "Usage: npswatch build -o LIB.h5 [options] INPUT...\n"
            "       npswatch build --from LIB.h5 --add FILE... -o NEW.h5 [--lib-version V] "
            "[--name N]\n\n"
            "Reads spectra from any mix of MSP, MGF, JCAMP-DX and CSV/TSV files, cleans them and\n"
            "writes an HDF5 reference library (docs/format.md). The file is replaced atomically:\n"
            "an interrupted or failed build leaves an existing LIB.h5 untouched.\n\n"
            "With --from, NEW.h5 is a new version of LIB.h5: all its spectra, unchanged and in\n"
            "their order (library indices stay valid), then the spectra of the added files,\n"
            "cleaned with LIB.h5's cleaning parameters. Its lineage records LIB.h5 as the parent\n"
            "(content SHA-256, name, version) and the added entries. An added spectrum whose\n"
            "accession is already in LIB.h5 (or added twice) is refused.\n\n"
            "Options:\n"
            "  -o, --output FILE   library file to write (required)\n"
            "  --name NAME         library name (default: the output file name; with --from the\n"
            "                      parent's name)\n"
            "  --lib-version V     library version label (default 1; with --from the parent's\n"
            "                      version + \".1\")\n"
            "  --from LIB.h5       make a new version of this library (cleaning options are\n"
            "                      then the parent's and cannot be given)\n"
            "  --add FILE          a file of spectra to append (repeatable; with --from, further\n"
            "                      INPUT files are added too)\n"
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
       OPT_FLOOR, OPT_NOROUND, OPT_PROGRESS, OPT_FROM, OPT_ADD };

static int same_file(const char *a, const char *b)
{
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* build --from PARENT: append the spectra of `in` to the parent and write the new version. */
static int build_from(const char *from, const char *out, const char *name, const char *version,
                      cli_inputs *in)
{
    npsw_err e;
    npsw_err_clear(&e);
    if (same_file(from, out)) {
        cli_msg("build: -o %s is the --from library itself; a new version is written to a new "
                "file",
                out);
        return EXIT_INPUT;
    }
    npsw_lib *parent = npsw_lib_open(from, &e);
    if (!parent) {
        cli_err(&e);
        return cli_exit_code(e.code);
    }
    const npsw_lib_info *pi = npsw_lib_get_info(parent);
    char vbuf[96];
    if (!version) {
        snprintf(vbuf, sizeof vbuf, "%s.1", pi->version[0] ? pi->version : "1");
        version = vbuf;
    }
    int rc = EXIT_OK;
    /* per added spectrum: the file it came from */
    size_t n = in->spectra.n;
    char **why = calloc(n ? n : 1, sizeof *why);
    if (!why) goto nomem;
    for (size_t f = 0; f < in->n_files; f++) {
        const char *path = in->files[f].path, *b = strrchr(path, '/');
        char text[512];
        snprintf(text, sizeof text, "added from %s (sha256 %.16s...) by npswatch build --from",
                 b ? b + 1 : path, in->files[f].sha256);
        for (size_t i = in->first[f]; i < in->first[f + 1]; i++)
            if (!(why[i] = strdup(text))) goto nomem;
    }
    npsw_lib_append_opts ao = {
        .name = name, .version = version, .reasons = (const char *const *)why,
        .reason = "added by npswatch build --from", .inputs = in->files, .n_inputs = in->n_files};
    npsw_lib_build_report rep;
    npsw_lib *lib = npsw_lib_append(parent, in->spectra.v, n, &ao, &rep, &e);
    if (!lib) {
        cli_err(&e);
        rc = cli_exit_code(e.code);
        goto done;
    }
    if (rep.n_empty)
        cli_msg("build: %llu added spectra had no peaks left after cleaning and were left out",
                (unsigned long long)rep.n_empty);
    int wrc = npsw_lib_write(lib, out, &e);
    if (wrc < 0) {
        cli_err(&e);
        rc = cli_exit_code(wrc) == EXIT_INPUT ? EXIT_INPUT : EXIT_INTERNAL;
    } else {
        const npsw_lib_info *li = npsw_lib_get_info(lib);
        cli_msg("built %s: %s version %s = %llu spectra of %s (sha256 %s) + %zu added, %llu "
                "peaks, content sha256 %s",
                out, li->name, li->version, (unsigned long long)npsw_lib_size(parent), from,
                pi->content_sha256, li->lineage.n_added, (unsigned long long)npsw_lib_npeaks(lib),
                li->content_sha256);
    }
    npsw_lib_free(lib);
    goto done;
nomem:
    cli_msg("out of memory");
    rc = EXIT_INTERNAL;
done:
    for (size_t i = 0; why && i < n; i++) free(why[i]);
    free(why);
    npsw_lib_free(parent);
    return rc;
}

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
        {"from", required_argument, NULL, OPT_FROM},
        {"add", required_argument, NULL, OPT_ADD},
        {"help", no_argument, NULL, 'h'},
        CLI_READ_LONGOPTS,
        {NULL, 0, NULL, 0}};
    const char *out = NULL, *name = NULL, *version = NULL, *from = NULL;
    int strict = 0, bad = 0, progress = 1; /* 1: on a terminal; 2: always */
    int cleaning_given = 0;
    char **adds = calloc((size_t)argc + 1, sizeof *adds); /* --add FILE, then INPUT... */
    int n_adds = 0;
    if (!adds) {
        cli_msg("out of memory");
        return EXIT_INTERNAL;
    }
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
        case OPT_FROM: from = optarg; break;
        case OPT_ADD: adds[n_adds++] = optarg; break;
        case OPT_ACCURATE: accurate = cleaning_given = 1; break;
        case OPT_BIN:
            cleaning_given = 1;
            bad |= cli_parse_double("--bin-boundary", optarg, 0.01, 0.99, &bin) < 0;
            break;
        case OPT_MERGE:
            cleaning_given = 1;
            if (!strcmp(optarg, "max")) merge = NPSW_MERGE_MAX;
            else if (!strcmp(optarg, "sum")) merge = NPSW_MERGE_SUM;
            else {
                cli_msg("--merge expects max or sum, got '%s'", optarg);
                bad = 1;
            }
            break;
        case OPT_FLOOR:
            cleaning_given = 1;
            bad |= cli_parse_double("--noise-floor", optarg, 0, 0.99, &floor_) < 0;
            break;
        case OPT_NOROUND: noround = cleaning_given = 1; break;
        case OPT_PROGRESS: progress = 2; break;
        case 'h':
            free(adds);
            help(stdout);
            return EXIT_OK;
        default:
            if (!cli_read_option(c, optarg, &ro, &bad)) bad = 1;
        }
    }
    if (!bad && !out) {
        cli_msg("build: -o LIB.h5 is required");
        bad = 1;
    }
    if (!bad && n_adds && !from) {
        cli_msg("build: --add needs --from LIB.h5 (the library to add to)");
        bad = 1;
    }
    if (!bad && from && cleaning_given) {
        cli_msg("build: with --from the spectra are cleaned as %s was; cleaning options cannot "
                "be given",
                from);
        bad = 1;
    }
    if (!bad && from) /* INPUT... after --from are added too */
        while (optind < argc) adds[n_adds++] = argv[optind++];
    if (!bad && (from ? n_adds == 0 : optind >= argc)) {
        cli_msg(from ? "build: --from needs files to add (--add FILE)" : "build: no input files");
        bad = 1;
    }
    if (bad) {
        free(adds);
        help(stderr);
        return EXIT_INPUT;
    }
    if (!from && !version) version = "1";
    if (accurate) co = npsw_clean_opts_msms();
    if (bin > 0) co.bin_boundary = bin;
    if (merge >= 0) co.merge = merge;
    if (floor_ >= 0) co.noise_floor = floor_;
    if (noround) co.round_intensity = 0;

    cli_inputs in;
    int rc = from ? cli_read_inputs(adds, n_adds, &ro, strict, 0, progress, &in)
                  : cli_read_inputs(argv + optind, argc - optind, &ro, strict, 0, progress, &in);
    free(adds);
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
    if (from) {
        rc = build_from(from, out, name, version, &in);
        cli_inputs_free(&in);
        return rc;
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
