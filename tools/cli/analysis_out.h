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

#endif
