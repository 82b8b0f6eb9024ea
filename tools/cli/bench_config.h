/* bench_config.h - the configuration of `npswatch bench` (docs/cli.md, "bench"). */
#ifndef NPSW_BENCH_CONFIG_H
#define NPSW_BENCH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/score.h"

#define BENCH_NAME_MAX 64
#define BENCH_MAX_FILES 16
#define BENCH_MAX_EXT 8
#define BENCH_MAX_LIST 16
#define BENCH_MAX_DATASETS 16

typedef struct bench_external {
    char name[BENCH_NAME_MAX];
    char *path;
    unsigned line; /* of the config file */
} bench_external;

typedef struct bench_dataset {
    char name[BENCH_NAME_MAX];
    unsigned line;             /* of its [dataset] header */
    char *library;             /* .h5: opened; anything else: read and built in memory */
    char *queries[BENCH_MAX_FILES];
    size_t n_queries;
    char *truth;
    bench_external ext[BENCH_MAX_EXT];
    size_t n_ext;
    int leave_out;             /* 1: leave-compound-out on the library itself */
    uint32_t sample;           /* every sample-th query (leave_out: compound); default 1 */
    uint32_t max_queries;      /* 0 = all */
} bench_dataset;

typedef struct bench_config {
    char name[256];
    int methods[NPSW_SCORE_COUNT];
    size_t n_methods;          /* default: wmf */
    uint32_t ks[BENCH_MAX_LIST];
    size_t n_k;                /* default 1 5 10; ascending */
    uint32_t threads[BENCH_MAX_LIST];
    size_t n_threads;          /* default 1; ascending */
    int analysis;              /* default 1 */
    bench_dataset ds[BENCH_MAX_DATASETS];
    size_t n_ds;
} bench_config;

/* Read and check a configuration; prints "FILE:LINE: problem" and returns EXIT_INPUT on a bad
 * one. Paths are expanded (${VAR}, ${VAR:-default}) and taken relative to the file's directory;
 * the files they name must exist. */
int bench_config_load(const char *path, bench_config *c);
void bench_config_free(bench_config *c);

#endif
