/* cmd_search.c - npswatch search: identity search, hit lists with a run record. The options
 * (args.c) and the output (output.c) are shared with npswatch-mpi search (tools/mpi). */
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "npsw/libfile.h"

int cmd_search(int argc, char **argv)
{
    search_cli x;
    int rc = search_cli_parse(argc, argv, "npswatch", NULL, &x);
    if (rc >= 0) return rc;
    npsw_search_opts so = x.so;
    npsw_err e;
    npsw_err_clear(&e);
    npsw_lib *lib = npsw_lib_open(x.libpath, &e);
    if (!lib) {
        cli_err(&e);
        return cli_exit_code(e.code);
    }
    char **qpaths = argv + x.first_query;
    int nqpaths = argc - x.first_query;
    cli_inputs in;
    rc = cli_read_queries("search", lib, qpaths, nqpaths, &x.ro, x.strict, &in);
    npsw_hit *hits = NULL;
    uint32_t *nhits = NULL;
    if (rc != EXIT_OK) goto done;
    cli_warn_no_precursor(&so, &in);
    hits = malloc(in.spectra.n * so.k * sizeof *hits);
    nhits = calloc(in.spectra.n, sizeof *nhits);
    if (!hits || !nhits) {
        cli_msg("out of memory for %zu queries", in.spectra.n);
        rc = EXIT_INTERNAL;
        goto done;
    }
    cli_progress pr;
    cli_progress_init(&pr, "searching", x.progress);
    so.progress = pr.on ? cli_progress_cb : NULL;
    so.progress_user = &pr;
    npsw_search_stats st;
    int src = x.brute ? npsw_search_brute(lib, in.spectra.v, in.spectra.n, &so, 0, hits, nhits, &e)
                      : npsw_search(lib, in.spectra.v, in.spectra.n, &so, hits, nhits, &st, &e);
    if (pr.on) cli_progress_done(&pr);
    if (src < 0) {
        cli_err(&e);
        rc = cli_exit_code(src);
        goto done;
    }
    run_record rr = {x.libpath, lib, &so, "", qpaths, &in, NULL, NULL};
    npsw_utc_now(rr.utc);
    rc = out_hit_lists(x.outpath, x.fmt, &rr, hits, nhits);
done:
    free(hits);
    free(nhits);
    cli_inputs_free(&in);
    npsw_lib_free(lib);
    return rc;
}
