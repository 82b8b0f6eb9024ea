/* main.c - npswatch: dispatch to subcommands (one file each, registered in `commands`). */
#include <cjson/cJSON.h>
#include <fftw3.h>
#include <microhttpd.h>
#include <openssl/crypto.h>
#include <png.h>
#include <stdio.h>
#include <string.h>
#include <zlib.h>

#include "cli.h"
#include "npsw/config.h"
#include "npsw/io.h"
#include "npsw/ledger.h"
#include "npsw/libfile.h"

static const cli_command commands[] = {
    {"build", "build an HDF5 reference library from MSP/MGF/JCAMP-DX/CSV files", cmd_build},
    {"search", "identity search of query spectra against a library (hit lists)", cmd_search},
    {"analogues", "unknown-analogue analysis: verdict, analogue, substituents, class", cmd_analogues},
    {"info", "describe a library file; --verify checks its checksum", cmd_info},
    {"lint", "quality report on spectra files or a library: peaks, masses, identity, duplicates", cmd_lint},
    {"diff", "what changed between two library versions: entries, lineage, cleaning", cmd_diff},
    {"ledger", "create (init) or describe (info) a lab-submissions ledger", cmd_ledger},
    {"lab", "add a laboratory to a ledger (prints its token once), or list them", cmd_lab},
    {"submit", "submit spectra files to a ledger: analyse, store, audit, print results", cmd_submit},
    {"audit", "verify a ledger's hash-chained audit log", cmd_audit},
    {"curate", "accept or reject a draft advisory; accepting makes a new library version", cmd_curate},
    {"signals", "cluster analogue/unknown spectra across labs into signals; report them", cmd_signals},
    {"advise", "write an advisory (JSON, Markdown, mirror plot, timeline) for a signal", cmd_advise},
    {"serve", "the HTTP service: API for labs and curators, audit, limits, TLS", cmd_serve},
    {"plot", "mirror plot (PNG) of a query spectrum against one of its hits", cmd_plot},
    {"bench", "run a benchmark config: recall@k, ROC/PR, class confusion, speed; TSV/JSON/PNG", cmd_bench},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f,
            "npswatch %s - mass-spectral library search and early warning for new psychoactive "
            "substances\n\n"
            "Usage: npswatch <command> [options]\n       npswatch --version | --help\n\n"
            "Commands:\n",
            NPSW_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'npswatch <command> --help' describes each command. Results are library search "
               "results, not identifications.\n");
}

static void version(void)
{
    printf("npswatch %s\n", NPSW_VERSION);
    printf("library file format %d.%d\n", NPSW_FORMAT_MAJOR, NPSW_FORMAT_MINOR);
    printf("build: %s\n", NPSW_BUILD_TYPE);
    printf("search kernel: %s\n", npsw_search_kernel_name());
    printf("features: importers=msp,mgf,jcamp,csv,mzml scores=mf,rmf,cosine,entropy openmp\n");
    /* the versions of the libraries actually loaded (run time, not the headers built against) */
    printf("linked: %s, FFTW %s, libpng %s, zlib %s, cJSON %s, %s, %s, %s, libmicrohttpd %s\n",
           npsw_hdf5_version(), fftw_version, png_get_libpng_ver(NULL), zlibVersion(),
           cJSON_Version(), OpenSSL_version(OPENSSL_VERSION), npsw_sqlite_version(),
           npsw_libxml2_version(), MHD_get_version());
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_INPUT;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V") || !strcmp(cmd, "version")) {
        version();
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "npswatch: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return EXIT_INPUT;
}
