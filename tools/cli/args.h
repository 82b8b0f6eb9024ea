/* args.h - the arguments of `search` and `analogues`, parsed by one implementation for the
 * npswatch subcommands and for npswatch-mpi (tools/mpi), which take the same options. */
#ifndef NPSW_CLI_ARGS_H
#define NPSW_CLI_ARGS_H

#include "analysis_out.h"
#include "cli.h"

typedef struct search_cli {
    const char *libpath, *outpath;
    npsw_search_opts so;
    npsw_read_opts ro;
    out_format fmt;
    int strict, progress, brute;
    int first_query; /* argv index of the first QUERY file */
} search_cli;

typedef struct analogues_cli {
    const char *libpath, *outpath;
    npsw_analyse_opts ao;
    out_format fmt;
    npsw_read_opts ro;
    int strict, progress;
    int first_query;
} analogues_cli;

/* Parse `PROG search ...` (argv[0] is the subcommand). `note` (may be NULL) is a paragraph
 * added to the help. Returns -1 when the command is to run, else the exit code to return now:
 * 0 after --help, 1 after a usage error (message and help printed on stderr). */
int search_cli_parse(int argc, char **argv, const char *prog, const char *note, search_cli *x);
/* The same for `PROG analogues ...`. */
int analogues_cli_parse(int argc, char **argv, const char *prog, const char *note,
                        analogues_cli *x);

#endif
