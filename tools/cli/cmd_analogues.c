/* cmd_analogues.c - npswatch analogues: is each query in the library, an analogue of a library
 * substance, or unknown; with the analogue, its mass difference, substituent hypotheses, the
 * predicted drug class and diagnostic ions (docs/cli.md, docs/analogues.md). The options
 * (args.c) and the output (analysis_out.c) are shared with npswatch-mpi analogues (tools/mpi). */
#include <stdlib.h>
#include <string.h>

#include "analysis_out.h"
#include "args.h"
#include "cli.h"
#include "npsw/analyse.h"
#include "npsw/libfile.h"

int cmd_analogues(int argc, char **argv)
{
    analogues_cli x;
    int rc = analogues_cli_parse(argc, argv, "npswatch", NULL, &x);
    if (rc >= 0) return rc;
    npsw_analyse_opts ao = x.ao;
    npsw_err e;
    npsw_err_clear(&e);
    npsw_lib *lib = npsw_lib_open(x.libpath, &e);
    if (!lib) {
        cli_err(&e);
        return cli_exit_code(e.code);
    }
    char **qpaths = argv + x.first_query;
    cli_inputs in;
    rc = cli_read_queries("analogues", lib, qpaths, argc - x.first_query, &x.ro, x.strict, &in);
    npsw_analysis *res = NULL;
    if (rc != EXIT_OK) goto done;
    res = malloc(in.spectra.n * sizeof *res);
    if (!res) {
        cli_msg("out of memory for %zu queries", in.spectra.n);
        rc = EXIT_INTERNAL;
        goto done;
    }
    cli_progress pr;
    cli_progress_init(&pr, "analysing", x.progress);
    ao.search.progress = pr.on ? cli_progress_cb : NULL;
    ao.search.progress_user = &pr;
    int arc = npsw_analyse(lib, in.spectra.v, in.spectra.n, &ao, res, &e);
    if (pr.on) cli_progress_done(&pr);
    if (arc < 0) {
        cli_err(&e);
        rc = cli_exit_code(arc);
        goto done;
    }
    char extra[256];
    analysis_params_text(&ao, extra, sizeof extra);
    run_record rr = {x.libpath, lib, &ao.search, "", qpaths, &in, extra, analysis_tsv_header};
    npsw_utc_now(rr.utc);
    rc = analysis_write(x.outpath, x.fmt, &rr, res);
done:
    free(res);
    cli_inputs_free(&in);
    npsw_lib_free(lib);
    return rc;
}
