/* consumer.c - a program built against an installed npswatch only (ctest install.consumer, via
 * pkg-config and via find_package): opens a library file, reads the query spectra of a file,
 * cleans them as the library was and prints each query's best hit as
 * "query_index<TAB>hit_index<TAB>mf" (1-based indices, NIST 0-999 MF), the columns
 * `npswatch search` prints as query_index, hit_index and mf for rank 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <npsw/clean.h>
#include <npsw/config.h>
#include <npsw/io.h>
#include <npsw/libfile.h>
#include <npsw/npsw_api.h>
#include <npsw/search.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: consumer LIB.h5 QUERIES\n");
        return 1;
    }
    if (npsw_api_version() != NPSW_API_VERSION ||
        strcmp(npsw_api_npswatch_version(), NPSW_VERSION) != 0) {
        fprintf(stderr, "consumer: headers (%s, API %d) and library (%s, API %d) disagree\n",
                NPSW_VERSION, NPSW_API_VERSION, npsw_api_npswatch_version(), npsw_api_version());
        return 1;
    }
    npsw_err e;
    npsw_err_clear(&e);
    char msg[NPSW_ERR_MSG_MAX + NPSW_ERR_WHERE_MAX + 64];
    npsw_lib *lib = npsw_lib_open(argv[1], &e);
    if (!lib) {
        fprintf(stderr, "consumer: %s\n", npsw_err_format(&e, msg, sizeof msg));
        return 1;
    }
    npsw_spectra qs = {0};
    npsw_read_opts ro = npsw_read_opts_default();
    npsw_read_report rep;
    npsw_hit *hits = NULL;
    uint32_t *nh = NULL;
    int rc = 1;
    if (npsw_read_file(argv[2], &ro, 0, &qs, &rep, &e) < 0 || qs.n == 0) {
        fprintf(stderr, "consumer: %s: no query spectra (%s)\n", argv[2],
                npsw_err_format(&e, msg, sizeof msg));
        goto done;
    }
    for (size_t i = 0; i < qs.n; i++)
        if (npsw_clean(&qs.v[i], &npsw_lib_get_info(lib)->clean, NULL) < 0) qs.v[i].n = 0;
    npsw_search_opts so = npsw_search_opts_default();
    so.k = 1;
    hits = malloc(qs.n * sizeof *hits);
    nh = calloc(qs.n, sizeof *nh);
    if (!hits || !nh) {
        fprintf(stderr, "consumer: out of memory\n");
        goto done;
    }
    if (npsw_search(lib, qs.v, qs.n, &so, hits, nh, NULL, &e) < 0) {
        fprintf(stderr, "consumer: %s\n", npsw_err_format(&e, msg, sizeof msg));
        goto done;
    }
    for (size_t i = 0; i < qs.n; i++)
        if (nh[i])
            printf("%zu\t%llu\t%d\n", i + 1, (unsigned long long)hits[i].index + 1,
                   npsw_mf_display(hits[i].all.mf));
    rc = 0;
done:
    free(hits);
    free(nh);
    npsw_spectra_free(&qs);
    npsw_lib_free(lib);
    return rc;
}
