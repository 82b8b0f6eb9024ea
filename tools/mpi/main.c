/* main.c - npswatch-mpi: `search` and `analogues` over a library split between MPI ranks
 * (docs/mpi.md). Run under mpirun; every rank runs the same command line. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "dist.h"
#include "mpi_cmds.h"
#include "npsw/config.h"
#include "npsw/libfile.h"

/* The subcommands: dispatched from this table and listed by --help, from which
 * tools/man/gen_man.py makes a man page for each (tests/install/check_man.py reads this table). */
typedef struct {
    const char *name, *summary;
    int (*run)(dist *d, int argc, char **argv);
} mpi_command;

static const mpi_command commands[] = {
    {"search", "npswatch search over the ranks: the top K hits of each query", mpi_search},
    {"analogues", "npswatch analogues over the ranks: verdict, analogue, substituents, class",
     mpi_analogues},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f,
            "npswatch-mpi %s - npswatch search and analogues over a library split between MPI "
            "ranks\n\n"
            "Usage: mpirun -n RANKS npswatch-mpi search -l LIB.h5 [options] QUERY...\n"
            "       mpirun -n RANKS npswatch-mpi analogues -l LIB.h5 [options] QUERY...\n"
            "       npswatch-mpi --version | --help\n\n"
            "Commands:\n",
            NPSW_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
    fprintf(f,
            "\nEach rank reads one shard of the library file (a contiguous range of its spectra) and\n"
            "all the queries; rank 0 merges the ranks' exact top lists and writes the output,\n"
            "byte for byte that of 'npswatch search' / 'npswatch analogues' with the same options\n"
            "(only utc_time differs, as between two runs). The options are those of npswatch;\n"
            "'npswatch-mpi <command> --help' lists them. Results are library search results, not\n"
            "identifications. See docs/mpi.md.\n");
}

int main(int argc, char **argv)
{
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    dist d;
    memset(&d, 0, sizeof d);
    d.quiet_fd = d.quiet_out = -1;
    MPI_Comm_rank(MPI_COMM_WORLD, &d.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d.size);
    static char prog[64];
    if (d.rank == 0) snprintf(prog, sizeof prog, "npswatch-mpi");
    else snprintf(prog, sizeof prog, "npswatch-mpi[rank %d]", d.rank);
    cli_prog = prog;
    int rc = EXIT_INPUT;
    const char *cmd = argc >= 2 ? argv[1] : "";
    const mpi_command *run = NULL;
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(cmd, commands[i].name)) run = &commands[i];
    if (run) {
        rc = run->run(&d, argc - 1, argv + 1);
    } else if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V") || !strcmp(cmd, "version")) {
        if (d.rank == 0) {
            char lv[MPI_MAX_LIBRARY_VERSION_STRING];
            int len = 0;
            MPI_Get_library_version(lv, &len);
            char *nl = strchr(lv, '\n');
            if (nl) *nl = '\0';
            printf("npswatch-mpi %s\nlibrary file format %d.%d\nbuild: %s\nmpi: %s\nlinked: %s\n",
                   NPSW_VERSION, NPSW_FORMAT_MAJOR, NPSW_FORMAT_MINOR, NPSW_BUILD_TYPE, lv,
                   npsw_hdf5_version());
        }
        rc = EXIT_OK;
    } else if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        if (d.rank == 0) usage(stdout);
        rc = EXIT_OK;
    } else {
        if (d.rank == 0) {
            if (*cmd) fprintf(stderr, "npswatch-mpi: unknown command '%s'\n\n", cmd);
            usage(stderr);
        }
    }
    MPI_Finalize();
    return rc;
}
