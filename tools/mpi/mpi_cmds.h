/* mpi_cmds.h - the subcommands of npswatch-mpi (docs/mpi.md). */
#ifndef NPSW_MPI_CMDS_H
#define NPSW_MPI_CMDS_H

#include "dist.h"

/* Added to each subcommand's --help. */
#define MPI_CMD_NOTE                                                                          \
    "Run under mpirun: the library file is split into one shard (range of spectra) per\n"     \
    "rank, every rank reads its shard and the queries, rank 0 merges the exact top lists\n"   \
    "and writes the output, byte for byte that of 'npswatch' (docs/mpi.md). --threads is\n"   \
    "per rank. The library and query files must be readable at the same path by every rank.\n"

int mpi_search(dist *d, int argc, char **argv);
int mpi_analogues(dist *d, int argc, char **argv);

#endif
