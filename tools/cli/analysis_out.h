/* analysis_out.h - one query's analogue analysis (npsw/analyse.h) as a TSV row or a JSON Lines
 * object, after the run record of out_begin(): the output of `npswatch analogues` and of
 * `npswatch submit` (docs/cli.md, "npswatch analogues"). */
#ifndef NPSW_ANALYSIS_OUT_H
#define NPSW_ANALYSIS_OUT_H

#include <stddef.h>
#include <stdio.h>

#include "cli.h"
#include "npsw/analyse.h"

/* The TSV column header (no newline): pass it as run_record.tsv_header. */
extern const char analysis_tsv_header[];

/* "+CH2 (+14.016);+beta-keto (+13.979)": the substituent hypotheses, best first. */
void analysis_subst_text(const npsw_analysis *a, char *buf, size_t size);
/* "58:phenethylamine;..." : the diagnostic ions found. */
void analysis_diag_text(const npsw_analysis *a, char *buf, size_t size);

/* One row / one {"record":"analysis",...} line for query qi (0-based) of rr->queries. */
void analysis_tsv_row(FILE *f, const run_record *rr, size_t qi, const npsw_spectrum *q,
                      const npsw_analysis *a);
void analysis_json_row(FILE *f, const run_record *rr, size_t qi, const npsw_spectrum *q,
                       const npsw_analysis *a);

/* The whole output of `analogues`: run record (rr->tsv_header = analysis_tsv_header), then one
 * row per query (res[i] for query i), written to path (NULL or "-": stdout) atomically. Returns
 * 0 or an exit code. */
int analysis_write(const char *path, out_format fmt, const run_record *rr,
                   const npsw_analysis *res);

/* ---- the analysis options shared by `analogues` and `submit` ------------------------------- */

/* Long-option codes; a command numbers its own options from OPT_ANALYSIS_LAST on. */
enum { OPT_AN_THREADS = OPT_CLI_LAST, OPT_AN_FORMAT, OPT_AN_MAXD, OPT_AN_NMION, OPT_AN_TOLDA,
       OPT_AN_TOLPPM, OPT_ANALYSIS_LAST };
#define ANALYSIS_LONGOPTS                                                  \
    {"threads", required_argument, NULL, OPT_AN_THREADS},                  \
        {"format", required_argument, NULL, OPT_AN_FORMAT},                \
        {"max-delta", required_argument, NULL, OPT_AN_MAXD},               \
        {"n-mion", required_argument, NULL, OPT_AN_NMION},                 \
        {"tol-da", required_argument, NULL, OPT_AN_TOLDA},                 \
        {"tol-ppm", required_argument, NULL, OPT_AN_TOLPPM}

typedef struct analysis_cli {
    npsw_analyse_opts ao;
    out_format fmt;
    double tol_da, tol_ppm; /* applied to both searches by analysis_cli_finish */
} analysis_cli;

void analysis_cli_init(analysis_cli *x);
/* Handle -k and the ANALYSIS_LONGOPTS options; returns 1 when `opt` was one of them (a bad
 * value prints a usage message and sets *bad). */
int analysis_cli_option(int opt, const char *arg, analysis_cli *x, int *bad);
/* After parsing: tolerances and k into both the identity and the hybrid search options. */
void analysis_cli_finish(analysis_cli *x);
/* The analysis parameters for the run record's parameters line. */
void analysis_params_text(const npsw_analyse_opts *ao, char *buf, size_t size);

#endif
