/* mpi_analogues.c - npswatch-mpi analogues: `npswatch analogues` over a library split between
 * the MPI ranks (docs/mpi.md, "Analogues").
 *
 * npsw_analyse looks at the whole library in three places only, each a top list over every
 * library spectrum in which each spectrum is scored on its own: the identity search (top K),
 * the hybrid search (top K) and the table-shift scan (top NPSW_ANALYSE_TABLE_KEEP). Every rank
 * computes the three lists on its shard (identity search first for all queries, then the
 * hybrid index is built and the other two lists made); rank 0 merges them with their rankings, reads the
 * spectra on the merged lists from the library file (a part of the library), and finishes each
 * query there with npsw_analyse_decide_table, which looks at those spectra only. The FFT
 * lengths of the cross-correlation follow the whole library's m/z range (the ranks' maximum).
 * The output is written with npswatch's code: the same bytes as `npswatch analogues`. */
#include <omp.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "analysis_out.h"
#include "args.h"
#include "dist.h"
#include "mpi_cmds.h"
#include "npsw/analyse.h"
#include "npsw/libfile.h"

static int hit_before(const void *a, const void *b) { return npsw_hit_before(a, b); }
static int cand_before(const void *a, const void *b) { return npsw_analogue_hit_before(a, b); }
static int pair_before(const void *a, const void *b) { return npsw_table_pair_before(a, b); }

/* The identity search of a batch of nb queries on the shard (six: its prepared search, NULL for
 * an empty shard), with whole-library indices. */
static int stage_identity(const npsw_lib *shard, const npsw_search_index *six,
                          const npsw_spectrum *qs, size_t nb, const npsw_analyse_opts *o,
                          npsw_hit *h, uint32_t *nh, npsw_err *err)
{
    memset(nh, 0, nb * sizeof *nh);
    if (!six) return 0; /* an empty shard lists nothing */
    int rc = npsw_search_with(six, qs, nb, o->threads, o->search.progress, o->search.progress_user,
                              h, nh, NULL, err);
    if (rc < 0) return rc;
    for (size_t i = 0; i < nb; i++)
        for (uint32_t j = 0; j < nh[i]; j++)
            h[i * o->k + j].index = npsw_lib_whole_index(shard, h[i * o->k + j].index);
    return 0;
}

/* The hybrid search and the table scan of a batch on the shard, with whole-library indices. */
static int stage_relatives(const npsw_lib *shard, const npsw_analyser *an,
                           npsw_analyse_scratch **sc, const npsw_analogue_index *ix,
                           const npsw_spectrum *qs, size_t nb, const npsw_analyse_opts *o,
                           npsw_analogue_hit *c, uint32_t *nc, npsw_table_pair *t, uint32_t *nt,
                           npsw_err *err)
{
    const uint32_t k = o->k, T = NPSW_ANALYSE_TABLE_KEEP;
    memset(nc, 0, nb * sizeof *nc);
    memset(nt, 0, nb * sizeof *nt);
    if (npsw_lib_size(shard) == 0) return 0;
    npsw_search_opts so;
    npsw_analogue_opts ao;
    npsw_analyse_stage_opts(o, &so, &ao);
    int rc = npsw_analogue_search_index(ix, qs, nb, &ao, o->threads, c, nc, NULL, err);
    if (rc < 0) return rc;
    int nthreads = o->threads > 0 ? o->threads : omp_get_max_threads();
#pragma omp parallel for num_threads(nthreads) schedule(dynamic, 4)
    for (size_t i = 0; i < nb; i++)
        nt[i] = (uint32_t)npsw_analyse_table_scan(an, sc[omp_get_thread_num()], &qs[i], o, NULL,
                                                  NULL, t + i * T);
    for (size_t i = 0; i < nb; i++) {
        for (uint32_t j = 0; j < nc[i]; j++) c[i * k + j].index = npsw_lib_whole_index(shard, c[i * k + j].index);
        for (uint32_t j = 0; j < nt[i]; j++) t[i * T + j].index = npsw_lib_whole_index(shard, t[i * T + j].index);
    }
    return 0;
}

/* Rank 0: finish every query on the part holding the listed spectra. The merged lists' indices
 * become the part's for npsw_analyse_finish (in place: the lists are not used afterwards), the
 * results' whole again for the output. */
static int finish(const npsw_lib *part, uint32_t whole_max_mz, const npsw_spectrum *qs,
                  size_t nq, const npsw_analyse_opts *o, npsw_hit *hits, const uint32_t *nh,
                  npsw_analogue_hit *cands, const uint32_t *nc, npsw_table_pair *pairs,
                  const uint32_t *nt, npsw_analysis *res, npsw_err *err)
{
    const uint32_t k = o->k, T = NPSW_ANALYSE_TABLE_KEEP;
    for (size_t i = 0; i < nq; i++) {
        for (uint32_t j = 0; j < nh[i]; j++)
            hits[i * k + j].index = npsw_lib_local_index(part, hits[i * k + j].index);
        for (uint32_t j = 0; j < nc[i]; j++)
            cands[i * k + j].index = npsw_lib_local_index(part, cands[i * k + j].index);
        for (uint32_t j = 0; j < nt[i]; j++)
            pairs[i * T + j].index = npsw_lib_local_index(part, pairs[i * T + j].index);
    }
    npsw_analyser *an = npsw_analyser_new_part(part, whole_max_mz, 1, err);
    if (!an) return err->code;
    int rc = npsw_analyse_finish(an, qs, nq, o, o->threads, hits, nh, cands, nc, pairs, nt, res,
                                 err);
    npsw_analyser_free(an);
    for (size_t i = 0; i < nq && rc == 0; i++) {
        npsw_analysis *a = &res[i];
        for (uint32_t j = 0; j < a->n_hits; j++)
            a->hits[j].index = npsw_lib_whole_index(part, a->hits[j].index);
        for (uint32_t j = 0; j < a->n_cands; j++)
            a->cands[j].index = npsw_lib_whole_index(part, a->cands[j].index);
        if (a->has_analogue) a->analogue.index = npsw_lib_whole_index(part, a->analogue.index);
    }
    return rc;
}

int mpi_analogues(dist *d, int argc, char **argv)
{
    analogues_cli x;
    dist_quiet_begin(d);
    int rc = analogues_cli_parse(argc, argv, "npswatch-mpi", MPI_CMD_NOTE, &x);
    dist_quiet_end(d);
    if (rc >= 0) return rc;
    npsw_analyse_opts ao = x.ao;
    const uint32_t k = ao.k, T = NPSW_ANALYSE_TABLE_KEEP;
    npsw_lib *shard = NULL, *part = NULL;
    npsw_analyser *an = NULL;
    npsw_analogue_index *ix = NULL;
    npsw_search_index *six = NULL; /* the identity search, pass 1 */
    npsw_analyse_scratch **sc = NULL;
    int nsc = 0;
    cli_inputs in;
    memset(&in, 0, sizeof in);
    /* this rank's lists of a batch, and (rank 0) the merged lists of all queries */
    npsw_hit *lh = NULL, *hits = NULL;
    npsw_analogue_hit *lc = NULL, *cands = NULL;
    npsw_table_pair *lt = NULL, *pairs = NULL;
    uint32_t *lnh = NULL, *lnc = NULL, *lnt = NULL, *nh = NULL, *nc = NULL, *nt = NULL;
    uint64_t *ids = NULL;
    npsw_analysis *res = NULL;
    npsw_err e;
    npsw_err_clear(&e);
    double t0 = dist_now();
    if ((rc = dist_open_shard(d, x.libpath, &shard)) != EXIT_OK) goto done;
    const uint64_t shard_n = npsw_lib_size(shard);
    double t1 = dist_now();
    d->t[DIST_T_OPEN] = t1 - t0;
    char **qpaths = argv + x.first_query;
    rc = dist_read_queries(d, "analogues", shard, qpaths, argc - x.first_query, &x.ro, x.strict, &in);
    if (rc != EXIT_OK) goto done;
    d->t[DIST_T_QUERIES] = dist_now() - t1;
    const size_t nq = in.spectra.n;
    /* the whole library's m/z range sizes the FFTs on rank 0 */
    uint32_t my_max = npsw_analyser_max_mz(shard), whole_max = 0;
    MPI_Allreduce(&my_max, &whole_max, 1, MPI_UINT32_T, MPI_MAX, MPI_COMM_WORLD);
    const size_t batch = dist_batch(d, k, sizeof(npsw_hit));
    lh = malloc(batch * k * sizeof *lh);
    lc = malloc(batch * k * sizeof *lc);
    lt = malloc(batch * T * sizeof *lt);
    lnh = calloc(batch, sizeof *lnh);
    lnc = calloc(batch, sizeof *lnc);
    lnt = calloc(batch, sizeof *lnt);
    int ok = lh && lc && lt && lnh && lnc && lnt;
    if (d->rank == 0) {
        hits = malloc(nq * k * sizeof *hits);
        cands = malloc(nq * k * sizeof *cands);
        pairs = malloc(nq * T * sizeof *pairs);
        nh = calloc(nq, sizeof *nh);
        nc = calloc(nq, sizeof *nc);
        nt = calloc(nq, sizeof *nt);
        ok &= hits && cands && pairs && nh && nc && nt;
    }
    if (!ok) cli_msg("out of memory for %zu queries", nq);
    if ((rc = dist_agree(d, ok ? EXIT_OK : EXIT_INTERNAL, "to allocate the lists")) != EXIT_OK)
        goto done;
    cli_progress pr;
    cli_progress_init(&pr, "analysing (rank 0's shard)", x.progress && d->rank == 0);
    dist_progress dp = {&pr, 0, nq};
    ao.search.progress = pr.on ? dist_progress_cb : NULL;
    ao.search.progress_user = &dp;
    /* pass 1: the identity search, batch by batch, with its index tables made once */
    if (shard_n > 0) {
        npsw_search_opts so0;
        npsw_analogue_opts ao0;
        npsw_analyse_stage_opts(&ao, &so0, &ao0);
        if (!(six = npsw_search_index_new(shard, &so0, &e))) rc = cli_exit_code(e.code);
    }
    if ((rc = dist_agree_err(d, rc, &e, "to prepare its shard")) != EXIT_OK) goto done;
    for (size_t q0 = 0; q0 < nq; q0 += batch) {
        size_t nb = nq - q0 < batch ? nq - q0 : batch;
        dp.base = q0;
        double ta = dist_now();
        int src = stage_identity(shard, six, in.spectra.v + q0, nb, &ao, lh, lnh, &e);
        if ((rc = dist_agree_err(d, src < 0 ? cli_exit_code(src) : EXIT_OK, &e,
                                 "to search its shard")))
            goto done;
        double tb = dist_now();
        d->t[DIST_T_LOCAL] += tb - ta;
        int mrc = dist_gather_merge(d, lh, lnh, nb, k, sizeof *lh, hit_before,
                                    d->rank == 0 ? hits + q0 * k : NULL, d->rank == 0 ? nh + q0 : NULL);
        if (mrc < 0) {
            if (d->rank == 0) cli_msg("out of memory merging the lists");
            rc = EXIT_INTERNAL;
            goto done;
        }
        d->t[DIST_T_GATHER] += dist_now() - tb;
    }
    /* pass 2: the hybrid index (built once, after the identity search's index is gone: the two
     * never take memory together) and the table scan's buffers */
    npsw_search_index_free(six);
    six = NULL;
    t1 = dist_now();
    if (npsw_lib_size(shard) > 0) {
        npsw_search_opts so0;
        npsw_analogue_opts ao0;
        npsw_analyse_stage_opts(&ao, &so0, &ao0);
        nsc = ao.threads > 0 ? ao.threads : omp_get_max_threads();
        if (!(an = npsw_analyser_new_part(shard, whole_max, 0, &e)) ||
            !(ix = npsw_analogue_index_new(shard, &ao0, ao.threads, &e))) {
            rc = cli_exit_code(e.code);
        } else if (!(sc = calloc((size_t)nsc, sizeof *sc))) {
            rc = npsw_err_set(&e, NPSW_ENOMEM, NULL, 0, "out of memory for the analysis buffers");
        } else {
            for (int i = 0; i < nsc && rc == EXIT_OK; i++)
                if (!(sc[i] = npsw_analyse_scratch_new(an)))
                    rc = npsw_err_set(&e, NPSW_ENOMEM, NULL, 0, "out of memory for the analysis buffers");
        }
        if (rc < 0) rc = cli_exit_code(rc);
    }
    if ((rc = dist_agree_err(d, rc, &e, "to prepare its shard")) != EXIT_OK) goto done;
    d->t[DIST_T_LOCAL] += dist_now() - t1; /* the hybrid index and norms: local work */
    for (size_t q0 = 0; q0 < nq; q0 += batch) {
        size_t nb = nq - q0 < batch ? nq - q0 : batch;
        double ta = dist_now();
        int src = stage_relatives(shard, an, sc, ix, in.spectra.v + q0, nb, &ao, lc, lnc, lt,
                                  lnt, &e);
        if ((rc = dist_agree_err(d, src < 0 ? cli_exit_code(src) : EXIT_OK, &e,
                                 "to analyse its shard")))
            goto done;
        double tb = dist_now();
        d->t[DIST_T_LOCAL] += tb - ta;
        int r0 = d->rank == 0;
        int mrc = dist_gather_merge(d, lc, lnc, nb, k, sizeof *lc, cand_before,
                                    r0 ? cands + q0 * k : NULL, r0 ? nc + q0 : NULL);
        if (mrc == 0)
            mrc = dist_gather_merge(d, lt, lnt, nb, T, sizeof *lt, pair_before,
                                    r0 ? pairs + q0 * T : NULL, r0 ? nt + q0 : NULL);
        if (mrc < 0) {
            if (r0) cli_msg("out of memory merging the lists");
            rc = EXIT_INTERNAL;
            goto done;
        }
        d->t[DIST_T_GATHER] += dist_now() - tb;
    }
    if (pr.on) cli_progress_done(&pr);
    if (d->rank == 0) {
        /* the shard is no longer needed: its memory goes to the part */
        for (int i = 0; i < nsc && sc; i++) npsw_analyse_scratch_free(sc[i]);
        free(sc);
        sc = NULL;
        npsw_analogue_index_free(ix);
        ix = NULL;
        npsw_analyser_free(an);
        an = NULL;
        npsw_lib_free(shard);
        shard = NULL;
        size_t n = 0;
        ids = malloc((nq * (2 * k + T) > 0 ? nq * (2 * k + T) : 1) * sizeof *ids);
        res = malloc((nq ? nq : 1) * sizeof *res);
        if (!ids || !res) {
            cli_msg("out of memory for %zu queries", nq);
            rc = EXIT_INTERNAL;
        } else {
            for (size_t i = 0; i < nq; i++) {
                for (uint32_t j = 0; j < nh[i]; j++) ids[n++] = hits[i * k + j].index;
                for (uint32_t j = 0; j < nc[i]; j++) ids[n++] = cands[i * k + j].index;
                for (uint32_t j = 0; j < nt[i]; j++) ids[n++] = pairs[i * T + j].index;
            }
            rc = dist_open_listed(d, x.libpath, ids, n, &part);
        }
        double tf = dist_now();
        if (rc == EXIT_OK) {
            int frc = finish(part, whole_max, in.spectra.v, nq, &ao, hits, nh, cands, nc, pairs,
                             nt, res, &e);
            if (frc < 0) {
                cli_err(&e);
                rc = cli_exit_code(frc);
            }
        }
        d->t[DIST_T_FINISH] = dist_now() - tf;
        if (rc == EXIT_OK) {
            double to = dist_now();
            char extra[256];
            analysis_params_text(&ao, extra, sizeof extra);
            run_record rr = {x.libpath, part, &ao.search, "", qpaths, &in, extra,
                             analysis_tsv_header};
            npsw_utc_now(rr.utc);
            rc = analysis_write(x.outpath, x.fmt, &rr, res);
            d->t[DIST_T_OUTPUT] = dist_now() - to;
        }
    }
    rc = dist_agree(d, rc, "to write the output");
    if (rc == EXIT_OK) dist_stats(d, shard_n);
done:
    npsw_search_index_free(six);
    for (int i = 0; i < nsc && sc; i++) npsw_analyse_scratch_free(sc[i]);
    free(sc);
    npsw_analogue_index_free(ix);
    npsw_analyser_free(an);
    free(lh);
    free(lc);
    free(lt);
    free(lnh);
    free(lnc);
    free(lnt);
    free(hits);
    free(cands);
    free(pairs);
    free(nh);
    free(nc);
    free(nt);
    free(ids);
    free(res);
    cli_inputs_free(&in);
    npsw_lib_free(part);
    npsw_lib_free(shard);
    return rc;
}
