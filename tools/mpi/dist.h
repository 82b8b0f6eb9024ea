/* dist.h - what npswatch-mpi's commands share (docs/mpi.md): every rank opens its shard of the
 * library (a contiguous range of spectra of the one library file) and reads the queries; the
 * per-query top lists of the ranks are gathered on rank 0 and merged there with the library's
 * own rankings; rank 0 then reads the listed spectra from the file and writes the output with
 * the same code as npswatch.
 *
 * Every rank runs every collective step; a step's outcome is agreed by dist_agree so that all
 * ranks stop together, with one message, when any rank fails. */
#ifndef NPSW_MPI_DIST_H
#define NPSW_MPI_DIST_H

#include <stddef.h>
#include <stdint.h>

#include "cli.h"

/* Phases timed for NPSW_MPI_STATS=1 (docs/mpi.md, "Measuring"). */
enum { DIST_T_OPEN, DIST_T_QUERIES, DIST_T_LOCAL, DIST_T_GATHER, DIST_T_PART, DIST_T_FINISH,
       DIST_T_OUTPUT, DIST_T_COUNT };

typedef struct dist {
    int rank, size;
    int quiet_fd, quiet_out; /* saved stderr and stdout while silenced (-1: not silenced) */
    double t[DIST_T_COUNT]; /* seconds spent in each phase by this rank */
    uint64_t bytes_sent;    /* list bytes this rank sent to rank 0 */
    uint64_t part_spectra;  /* rank 0: spectra read for the output */
} dist;

/* Wall-clock seconds (MPI_Wtime). */
double dist_now(void);
/* With NPSW_MPI_STATS=1 in the environment: rank 0 prints each phase's time (largest over the
 * ranks), the list bytes gathered, the spectra read for the output, and the peak memory
 * (VmHWM) and CPU time (user + system) of every rank, on stderr. Collective. */
void dist_stats(const dist *d, uint64_t shard_spectra);

/* Messages that every rank would print alike (usage errors, --help, query warnings) are printed
 * by rank 0 only: the other ranks' stdout and stderr go to /dev/null between these calls. */
void dist_quiet_begin(dist *d);
void dist_quiet_end(dist *d);

/* Agree on a step: each rank gives its exit code (0 = ok) and, when it failed, the message
 * (NULL: it printed its own). Returns the largest code on every rank. Rank 0 prints each
 * distinct message once: as is when every rank failed alike (as npswatch would print it), else
 * naming the ranks ("rank 2 of 4: ..."); for a failed rank without a message, "rank r of P
 * failed WHAT" (unless rank 0 failed too). */
int dist_agree_msg(const dist *d, int rc, const char *msg, const char *what);
int dist_agree(const dist *d, int rc, const char *what); /* no message */
int dist_agree_err(const dist *d, int rc, const npsw_err *e, const char *what);

/* Open this rank's shard of the library and check that all ranks opened the same library (same
 * content SHA-256 and size). Returns 0 or an exit code (agreed). */
int dist_open_shard(const dist *d, const char *path, npsw_lib **shard);

/* Read the query files on every rank (rank 0 prints the messages) and check that every rank
 * read the same spectra from files with the same SHA-256. Returns 0 or an exit code (agreed). */
int dist_read_queries(dist *d, const char *cmd, const npsw_lib *shard, char **paths, int n,
                      const npsw_read_opts *ro, int strict, cli_inputs *in);

/* Queries per batch: each batch's lists are gathered in one step, so that rank 0 receives at
 * most about 256 MB per step (items of `size` bytes, k per query per rank); 1..4096.
 * NPSW_MPI_BATCH=N (1..4096) in the environment sets it, within a 1 GB bound (tests use it to
 * run many batches). */
size_t dist_batch(const dist *d, uint32_t k, size_t size);

/* Gather nq per-query lists from every rank onto rank 0 and merge them there. This rank's list
 * of query q is local[q * k ...], nloc[q] items of `size` bytes in `before` order, with whole-
 * library indices. On rank 0, out[q * k ...] and nout[q] receive the first k items of the
 * union of the ranks' lists in `before` order. Returns 0 or NPSW_ENOMEM (not agreed). */
int dist_gather_merge(dist *d, const void *local, const uint32_t *nloc, size_t nq,
                      uint32_t k, size_t size, int (*before)(const void *, const void *),
                      void *out, uint32_t *nout);

/* Rank 0: the part of the library file at path holding the listed spectra ids[0..n) (whole
 * indices in any order, repeats allowed: sorted and made unique in place), for the output; its
 * time and size go to the statistics. EXIT_OK, or the exit code with the message printed. */
int dist_open_listed(dist *d, const char *path, uint64_t *ids, size_t n, npsw_lib **part);

/* Progress of rank 0 over all batches: the bar shows base + done of total queries. */
typedef struct dist_progress {
    cli_progress *bar;
    uint64_t base, total;
} dist_progress;
void dist_progress_cb(void *user, uint64_t done, uint64_t total);

#endif
