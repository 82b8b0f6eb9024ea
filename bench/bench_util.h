/* bench_util.h - what the in-library benchmark programs share: a clock and query loading.
 * Header-only (static functions) so each benchmark stays one source file plus this. */
#ifndef NPSW_BENCH_UTIL_H
#define NPSW_BENCH_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npsw/clean.h"
#include "npsw/io.h"
#include "npsw/libfile.h"
#include "npsw/library.h"

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Read every spectrum of `path` (lenient, as `npswatch search` does) and clean each with the
 * library's cleaning options, so the queries are exactly what `npswatch search` would search.
 * At most max_q spectra are kept when max_q > 0. Returns 0, or prints the error and returns -1. */
static inline int bench_load_queries(const char *path, const npsw_lib *lib, size_t max_q,
                                     npsw_spectra *out)
{
    npsw_read_opts ro = npsw_read_opts_default();
    npsw_read_report rep;
    npsw_err e;
    npsw_err_clear(&e);
    memset(out, 0, sizeof *out);
    if (npsw_read_file(path, &ro, 0, out, &rep, &e) < 0) {
        char buf[1024];
        fprintf(stderr, "bench: %s\n", npsw_err_format(&e, buf, sizeof buf));
        return -1;
    }
    if (max_q > 0 && out->n > max_q) {
        for (size_t i = max_q; i < out->n; i++) npsw_spectrum_free(&out->v[i]);
        out->n = max_q;
    }
    const npsw_clean_opts *co = &npsw_lib_get_info(lib)->clean;
    for (size_t i = 0; i < out->n; i++)
        if (npsw_clean(&out->v[i], co, NULL) < 0) out->v[i].n = 0; /* matches nothing */
    return 0;
}

/* Call fn(spectrum, user) for every spectrum of every file (lenient reading). Returns 0, or
 * prints the error and returns -1. */
static inline int bench_each_spectrum(char **paths, int n, void (*fn)(npsw_spectrum *, void *),
                                      void *user)
{
    for (int a = 0; a < n; a++) {
        npsw_read_opts ro = npsw_read_opts_default();
        npsw_spectra sp = {0};
        npsw_err e;
        npsw_err_clear(&e);
        if (npsw_read_file(paths[a], &ro, 0, &sp, NULL, &e) < 0) {
            char buf[1024];
            fprintf(stderr, "bench: %s\n", npsw_err_format(&e, buf, sizeof buf));
            return -1;
        }
        for (size_t i = 0; i < sp.n; i++) fn(&sp.v[i], user);
        npsw_spectra_free(&sp);
    }
    return 0;
}

static inline npsw_lib *bench_open_lib(const char *path)
{
    npsw_err e;
    npsw_err_clear(&e);
    npsw_lib *lib = npsw_lib_open(path, &e);
    if (!lib) {
        char buf[1024];
        fprintf(stderr, "bench: %s\n", npsw_err_format(&e, buf, sizeof buf));
    }
    return lib;
}

#endif
