/* mpi_search.c - npswatch-mpi search: `npswatch search` over a library split between the MPI
 * ranks (docs/mpi.md). Each rank searches its shard for every query and keeps its local top K
 * (whole-library indices, exact scores); rank 0 merges the ranks' lists with the search's own
 * ranking (score, then library index), reads the hit spectra from the library file and writes
 * the output with npswatch's output code: the same bytes as `npswatch search`. */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "dist.h"
#include "mpi_cmds.h"
#include "npsw/libfile.h"

static int hit_before(const void *a, const void *b) { return npsw_hit_before(a, b); }

int mpi_search(dist *d, int argc, char **argv)
{
    search_cli x;
    dist_quiet_begin(d);
    int rc = search_cli_parse(argc, argv, "npswatch-mpi", MPI_CMD_NOTE, &x);
    dist_quiet_end(d);
    if (rc >= 0) return rc; /* every rank parsed the same arguments: no need to agree */
    npsw_search_opts so = x.so;
    npsw_lib *shard = NULL, *part = NULL;
    npsw_search_index *six = NULL;
    cli_inputs in;
    memset(&in, 0, sizeof in);
    npsw_hit *hits = NULL, *loc = NULL;
    uint32_t *nhits = NULL, *nloc = NULL;
    uint64_t *ids = NULL;
    double t0 = dist_now();
    if ((rc = dist_open_shard(d, x.libpath, &shard)) != EXIT_OK) goto done;
    const uint64_t shard_n = npsw_lib_size(shard);
    double t1 = dist_now();
    d->t[DIST_T_OPEN] = t1 - t0;
    char **qpaths = argv + x.first_query;
    int nqpaths = argc - x.first_query;
    rc = dist_read_queries(d, "search", shard, qpaths, nqpaths, &x.ro, x.strict, &in);
    if (rc != EXIT_OK) goto done;
    d->t[DIST_T_QUERIES] = dist_now() - t1;
    const size_t nq = in.spectra.n, k = so.k;
    if (d->rank == 0) cli_warn_no_precursor(&so, &in);
    const size_t batch = dist_batch(d, so.k, sizeof(npsw_hit));
    loc = malloc(batch * k * sizeof *loc);
    nloc = calloc(batch, sizeof *nloc);
    if (d->rank == 0) {
        hits = malloc(nq * k * sizeof *hits);
        nhits = calloc(nq, sizeof *nhits);
    }
    rc = !loc || !nloc || (d->rank == 0 && (!hits || !nhits)) ? EXIT_INTERNAL : EXIT_OK;
    if (rc) cli_msg("out of memory for %zu queries", nq);
    if ((rc = dist_agree(d, rc, "to allocate the hit lists")) != EXIT_OK) goto done;
    cli_progress pr;
    cli_progress_init(&pr, "searching (rank 0's shard)", x.progress && d->rank == 0);
    dist_progress dp = {&pr, 0, nq};
    so.progress = pr.on ? dist_progress_cb : NULL;
    so.progress_user = &dp;
    npsw_err e;
    npsw_err_clear(&e);
    /* the search's index tables, made once for all batches (a batch of npsw_search would
     * make them again each time) */
    int prc = 0;
    if (!x.brute && shard_n > 0 && !(six = npsw_search_index_new(shard, &so, &e))) prc = e.code;
    if ((rc = dist_agree_err(d, prc < 0 ? cli_exit_code(prc) : EXIT_OK, &e,
                             "to prepare its shard")))
        goto done;
    for (size_t q0 = 0; q0 < nq; q0 += batch) {
        size_t nb = nq - q0 < batch ? nq - q0 : batch;
        dp.base = q0;
        int src = 0;
        double ta = dist_now();
        memset(nloc, 0, nb * sizeof *nloc);
        if (shard_n > 0) /* an empty shard has no hits */
            src = x.brute ? npsw_search_brute(shard, in.spectra.v + q0, nb, &so, 0, loc, nloc, &e)
                          : npsw_search_with(six, in.spectra.v + q0, nb, so.threads, so.progress,
                                             so.progress_user, loc, nloc, NULL, &e);
        if ((rc = dist_agree_err(d, src < 0 ? cli_exit_code(src) : EXIT_OK, &e,
                                 "to search its shard")))
            goto done;
        for (size_t i = 0; i < nb; i++)
            for (uint32_t j = 0; j < nloc[i]; j++)
                loc[i * k + j].index = npsw_lib_whole_index(shard, loc[i * k + j].index);
        double tb = dist_now();
        d->t[DIST_T_LOCAL] += tb - ta;
        int mrc = dist_gather_merge(d, loc, nloc, nb, so.k, sizeof *loc, hit_before,
                                    d->rank == 0 ? hits + q0 * k : NULL,
                                    d->rank == 0 ? nhits + q0 : NULL);
        if (mrc < 0) {
            if (d->rank == 0) cli_msg("out of memory merging the hit lists");
            rc = EXIT_INTERNAL;
            goto done;
        }
        d->t[DIST_T_GATHER] += dist_now() - tb;
    }
    if (pr.on) cli_progress_done(&pr);
    /* rank 0: the hit spectra from the file, then npswatch's output */
    if (d->rank == 0) {
        size_t n = 0;
        ids = malloc((nq * k > 0 ? nq * k : 1) * sizeof *ids);
        if (!ids) {
            cli_msg("out of memory for %zu queries", nq);
            rc = EXIT_INTERNAL;
        } else {
            for (size_t i = 0; i < nq; i++)
                for (uint32_t j = 0; j < nhits[i]; j++) ids[n++] = hits[i * k + j].index;
            npsw_search_index_free(six);
            six = NULL;
            npsw_lib_free(shard); /* its memory is better used for the part */
            shard = NULL;
            rc = dist_open_listed(d, x.libpath, ids, n, &part);
        }
        if (rc == EXIT_OK) {
            double to = dist_now();
            run_record rr = {x.libpath, part, &so, "", qpaths, &in, NULL, NULL};
            npsw_utc_now(rr.utc);
            rc = out_hit_lists(x.outpath, x.fmt, &rr, hits, nhits);
            d->t[DIST_T_OUTPUT] = dist_now() - to;
        }
    }
    rc = dist_agree(d, rc, "to write the output");
    if (rc == EXIT_OK) dist_stats(d, shard_n);
done:
    free(ids);
    free(hits);
    free(nhits);
    free(loc);
    free(nloc);
    cli_inputs_free(&in);
    npsw_lib_free(part);
    npsw_search_index_free(six);
    npsw_lib_free(shard);
    return rc;
}
