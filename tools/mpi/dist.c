/* dist.c - shards, queries, agreement and the gather-merge of npswatch-mpi (dist.h). */
#include "dist.h"

#include <fcntl.h>
#include <limits.h>
#include <mpi.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npsw/libfile.h"

void dist_quiet_begin(dist *d)
{
    d->quiet_fd = d->quiet_out = -1;
    if (d->rank == 0) return;
    fflush(stdout);
    fflush(stderr);
    int null = open("/dev/null", O_WRONLY);
    if (null < 0) return;
    int err = dup(STDERR_FILENO), out = dup(STDOUT_FILENO);
    if (err >= 0 && dup2(null, STDERR_FILENO) >= 0) d->quiet_fd = err;
    else if (err >= 0) close(err);
    if (out >= 0 && dup2(null, STDOUT_FILENO) >= 0) d->quiet_out = out;
    else if (out >= 0) close(out);
    close(null);
}

void dist_quiet_end(dist *d)
{
    fflush(stdout);
    fflush(stderr);
    if (d->quiet_fd >= 0) {
        dup2(d->quiet_fd, STDERR_FILENO);
        close(d->quiet_fd);
    }
    if (d->quiet_out >= 0) {
        dup2(d->quiet_out, STDOUT_FILENO);
        close(d->quiet_out);
    }
    d->quiet_fd = d->quiet_out = -1;
}

#define DIST_MSG 600 /* bytes of a message gathered by dist_agree_msg */

int dist_agree_msg(const dist *d, int rc, const char *msg, const char *what)
{
    const int P = d->size;
    char mine[DIST_MSG];
    snprintf(mine, sizeof mine, "%s", msg && rc ? msg : "");
    int *all = d->rank == 0 ? calloc((size_t)P, sizeof *all) : NULL;
    char *msgs = d->rank == 0 ? calloc((size_t)P, DIST_MSG) : NULL;
    int *shared = d->rank == 0 ? calloc((size_t)P, sizeof *shared) : NULL;
    MPI_Gather(&rc, 1, MPI_INT, all, 1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Gather(mine, DIST_MSG, MPI_CHAR, msgs, DIST_MSG, MPI_CHAR, 0, MPI_COMM_WORLD);
    int worst = rc;
    if (d->rank == 0) {
        if (!all || !msgs || !shared) { /* cannot tell who failed how; still agree below */
            cli_msg("out of memory");
            worst = EXIT_INTERNAL;
        }
        for (int r = 0; all && msgs && shared && r < P; r++) {
            if (all[r] > worst) worst = all[r];
            if (!all[r]) continue;
            const char *m = msgs + (size_t)r * DIST_MSG;
            if (!m[0]) { /* the rank printed its own message, if any */
                if (r && !all[0]) cli_msg("rank %d of %d failed %s", r, P, what);
                continue;
            }
            int seen = 0, n = 0;
            for (int j = 0; j < r; j++) seen |= all[j] && !strcmp(m, msgs + (size_t)j * DIST_MSG);
            if (seen) continue;
            for (int j = r; j < P; j++) n += shared[j] = all[j] && !strcmp(m, msgs + (size_t)j * DIST_MSG);
            if (n == P) { /* every rank failed alike: one message, as npswatch prints it */
                cli_msg("%s", m);
                continue;
            }
            char ranks[256];
            size_t at = 0;
            for (int j = r; j < P && at < sizeof ranks - 16; j++)
                if (shared[j]) at += (size_t)snprintf(ranks + at, sizeof ranks - at, "%s%d", at ? "," : "", j);
            cli_msg("rank%s %s of %d: %s", n > 1 ? "s" : "", ranks, P, m);
        }
    }
    free(all);
    free(msgs);
    free(shared);
    MPI_Bcast(&worst, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return worst;
}

int dist_agree(const dist *d, int rc, const char *what) { return dist_agree_msg(d, rc, NULL, what); }

int dist_agree_err(const dist *d, int rc, const npsw_err *e, const char *what)
{
    char buf[NPSW_ERR_MSG_MAX + NPSW_ERR_WHERE_MAX + 64];
    return dist_agree_msg(d, rc, rc && e ? npsw_err_format(e, buf, sizeof buf) : NULL, what);
}

int dist_open_shard(const dist *d, const char *path, npsw_lib **shard)
{
    npsw_err e;
    npsw_err_clear(&e);
    *shard = npsw_lib_open_shard(path, (uint32_t)d->rank, (uint32_t)d->size, &e);
    int rc = *shard ? EXIT_OK : cli_exit_code(e.code);
    if ((rc = dist_agree_err(d, rc, &e, "to open its shard of the library")) != EXIT_OK) return rc;
    /* the same library everywhere: rank 0's SHA-256 and size */
    char sha[65];
    uint64_t n = npsw_lib_whole_size(*shard);
    const npsw_lib_info *li = npsw_lib_get_info(*shard);
    memcpy(sha, li->content_sha256, sizeof sha);
    MPI_Bcast(sha, sizeof sha, MPI_CHAR, 0, MPI_COMM_WORLD);
    MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    char msg[DIST_MSG] = "";
    if (strcmp(sha, li->content_sha256) != 0 || n != npsw_lib_whole_size(*shard)) {
        snprintf(msg, sizeof msg,
                 "%s is not the library rank 0 opened (SHA-256 %.16s..., %llu spectra; rank 0: "
                 "%.16s..., %llu spectra): every rank must read the same file",
                 path, li->content_sha256, (unsigned long long)npsw_lib_whole_size(*shard), sha,
                 (unsigned long long)n);
        rc = EXIT_INPUT;
    }
    return dist_agree_msg(d, rc, msg, "to open the same library as rank 0");
}

int dist_read_queries(dist *d, const char *cmd, const npsw_lib *shard, char **paths, int n,
                      const npsw_read_opts *ro, int strict, cli_inputs *in)
{
    dist_quiet_begin(d);
    int rc = cli_read_queries(cmd, shard, paths, n, ro, strict, in);
    dist_quiet_end(d);
    if ((rc = dist_agree(d, rc, "to read the query files (every rank reads them: they must be "
                                "readable at the same path on every node)")) != EXIT_OK)
        return rc;
    /* the same spectra everywhere: rank 0's count and file checksums */
    uint64_t nq = in->spectra.n;
    size_t bytes = (size_t)n * 64 + 1;
    char *sha = calloc(bytes, 1), *mine = calloc(bytes, 1);
    if (!sha || !mine) {
        cli_msg("out of memory");
        rc = EXIT_INTERNAL;
    } else {
        for (size_t i = 0; i < in->n_files; i++) memcpy(mine + 64 * i, in->files[i].sha256, 64);
        memcpy(sha, mine, bytes);
    }
    if ((rc = dist_agree(d, rc, "to compare the query files")) == EXIT_OK) {
        MPI_Bcast(sha, (int)bytes, MPI_CHAR, 0, MPI_COMM_WORLD);
        MPI_Bcast(&nq, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
        char msg[DIST_MSG] = "";
        if (nq != in->spectra.n || memcmp(sha, mine, bytes) != 0) {
            snprintf(msg, sizeof msg,
                     "other query files than rank 0's (%llu spectra, rank 0: %llu; or other "
                     "SHA-256): every rank must read the same files",
                     (unsigned long long)in->spectra.n, (unsigned long long)nq);
            rc = EXIT_INPUT;
        }
        rc = dist_agree_msg(d, rc, msg, "to read the same query files as rank 0");
    }
    free(sha);
    free(mine);
    return rc;
}

size_t dist_batch(const dist *d, uint32_t k, size_t size)
{
    const double per_query = (double)d->size * (k ? k : 1) * (double)size;
    double b = 256.0 * 1024 * 1024 / per_query;
    const char *env = getenv("NPSW_MPI_BATCH"); /* tests: several batches with few queries */
    if (env && *env) {
        char *end;
        unsigned long v = strtoul(env, &end, 10);
        double most = 1024.0 * 1024 * 1024 / per_query; /* rank 0's buffer stays below 1 GB */
        if (!*end && v >= 1 && v <= 4096) b = (double)v < most ? (double)v : most;
    }
    return b < 1 ? 1 : b > 4096 ? 4096 : (size_t)b;
}

int dist_gather_merge(dist *d, const void *local, const uint32_t *nloc, size_t nq,
                      uint32_t k, size_t size, int (*before)(const void *, const void *),
                      void *out, uint32_t *nout)
{
    const int P = d->size;
    int rc = 0;
    /* this rank's lists, packed one after another */
    size_t nitems = 0;
    for (size_t q = 0; q < nq; q++) nitems += nloc[q];
    char *send = malloc(nitems ? nitems * size : 1);
    uint32_t *counts = NULL; /* rank 0: counts[r * nq + q] */
    int *bytes = NULL, *displ = NULL;
    char *recv = NULL;
    size_t *pos = NULL, *start = NULL;
    int ok = send != NULL;
    if (d->rank == 0) {
        counts = malloc((size_t)P * nq * sizeof *counts);
        bytes = malloc((size_t)P * sizeof *bytes);
        displ = malloc((size_t)P * sizeof *displ);
        pos = malloc((size_t)P * sizeof *pos);
        start = malloc((size_t)P * sizeof *start);
        ok &= counts && bytes && displ && pos && start;
    }
    /* an out-of-memory rank still takes part (sending nothing), so no rank waits forever */
    int any_bad = !ok, bad_somewhere = 0;
    MPI_Allreduce(&any_bad, &bad_somewhere, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (bad_somewhere) {
        rc = NPSW_ENOMEM;
        goto done;
    }
    for (size_t q = 0, at = 0; q < nq; q++) {
        memcpy(send + at * size, (const char *)local + q * k * size, nloc[q] * size);
        at += nloc[q];
    }
    MPI_Gather(nloc, (int)nq, MPI_UINT32_T, counts, (int)nq, MPI_UINT32_T, 0, MPI_COMM_WORLD);
    int mybytes = (int)(nitems * size);
    d->bytes_sent += (uint64_t)mybytes + nq * sizeof(uint32_t);
    MPI_Gather(&mybytes, 1, MPI_INT, bytes, 1, MPI_INT, 0, MPI_COMM_WORLD);
    size_t total = 0;
    if (d->rank == 0) {
        for (int r = 0; r < P; r++) {
            displ[r] = (int)(total < INT_MAX ? total : 0);
            total += (size_t)bytes[r];
        }
        /* MPI counts and displacements are ints: one gather holds less than 2 GB (a batch of
         * one query with k items from every rank must fit) */
        recv = total < INT_MAX ? malloc(total ? total : 1) : NULL;
    }
    int have = d->rank != 0 || recv != NULL, all_have = 0;
    MPI_Allreduce(&have, &all_have, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_have) {
        rc = NPSW_ENOMEM;
        goto done;
    }
    MPI_Gatherv(send, mybytes, MPI_BYTE, recv, bytes, displ, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (d->rank != 0) goto done;
    /* k-way merge per query: rank r's list of query q starts where its lists of the queries
     * before q end */
    for (int r = 0; r < P; r++) start[r] = (size_t)displ[r];
    for (size_t q = 0; q < nq; q++) {
        char *o = (char *)out + q * k * size;
        uint32_t m = 0;
        for (int r = 0; r < P; r++) pos[r] = 0;
        while (m < k) {
            int best = -1;
            const char *bx = NULL;
            for (int r = 0; r < P; r++) {
                if (pos[r] >= counts[(size_t)r * nq + q]) continue;
                const char *x = recv + start[r] + pos[r] * size;
                if (best < 0 || before(x, bx)) best = r, bx = x;
            }
            if (best < 0) break;
            memcpy(o + (size_t)m++ * size, bx, size);
            pos[best]++;
        }
        nout[q] = m;
        for (int r = 0; r < P; r++) start[r] += counts[(size_t)r * nq + q] * size;
    }
done:
    free(send);
    free(counts);
    free(bytes);
    free(displ);
    free(recv);
    free(pos);
    free(start);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int dist_open_listed(dist *d, const char *path, uint64_t *ids, size_t n, npsw_lib **part)
{
    qsort(ids, n, sizeof *ids, cmp_u64);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!m || ids[m - 1] != ids[i]) ids[m++] = ids[i];
    double t0 = dist_now();
    npsw_err e;
    npsw_err_clear(&e);
    *part = npsw_lib_open_part(path, ids, m, &e);
    d->t[DIST_T_PART] = dist_now() - t0;
    d->part_spectra = m;
    if (*part) return EXIT_OK;
    cli_err(&e);
    return cli_exit_code(e.code);
}

double dist_now(void) { return MPI_Wtime(); }

/* Peak resident memory of this process, kB (VmHWM of /proc/self/status; 0 when unknown). */
static uint64_t peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    uint64_t kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = strtoull(line + 6, NULL, 10);
    if (f) fclose(f);
    return kb;
}

void dist_stats(const dist *d, uint64_t shard_spectra)
{
    const char *env = getenv("NPSW_MPI_STATS");
    if (!env || strcmp(env, "1") != 0) return;
    double tmax[DIST_T_COUNT];
    struct rusage ru;
    double cpu = getrusage(RUSAGE_SELF, &ru) == 0
                     ? (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
                           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6
                     : 0;
    uint64_t bytes = 0, mine[4] = {peak_rss_kb(), shard_spectra, d->bytes_sent,
                                   (uint64_t)(cpu * 1000)};
    uint64_t *all = d->rank == 0 ? calloc((size_t)d->size * 4, sizeof *all) : NULL;
    MPI_Reduce(d->t, tmax, DIST_T_COUNT, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    MPI_Reduce(&d->bytes_sent, &bytes, 1, MPI_UINT64_T, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Gather(mine, 4, MPI_UINT64_T, all, 4, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (d->rank != 0 || !all) return;
    static const char *names[DIST_T_COUNT] = {"open_shard", "read_queries", "local_search",
                                              "gather_merge", "read_part", "finish_rank0",
                                              "output"};
    fprintf(stderr, "npswatch-mpi stats: ranks=%d", d->size);
    for (int i = 0; i < DIST_T_COUNT; i++) fprintf(stderr, " %s=%.3fs", names[i], tmax[i]);
    fprintf(stderr, " list_bytes_gathered=%llu part_spectra=%llu\n", (unsigned long long)bytes,
            (unsigned long long)d->part_spectra);
    for (int r = 0; r < d->size; r++)
        fprintf(stderr, "npswatch-mpi stats: rank=%d shard_spectra=%llu peak_rss_kb=%llu cpu_s=%.2f\n",
                r, (unsigned long long)all[4 * r + 1], (unsigned long long)all[4 * r],
                (double)all[4 * r + 3] / 1000);
    free(all);
}

void dist_progress_cb(void *user, uint64_t done, uint64_t total)
{
    (void)total;
    dist_progress *p = user;
    cli_progress_cb(p->bar, p->base + done, p->total);
}
