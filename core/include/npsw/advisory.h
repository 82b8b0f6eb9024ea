/* npsw/advisory.h - early-warning advisories for a signal (npsw/signals.h): a directory with
 *   advisory.json  machine-readable, schema "npswatch-advisory/1" (docs/advisory.md,
 *                  docs/advisory.schema.json)
 *   advisory.md    for people: what was seen, where (countries), when, the consensus
 *                  spectrum's top peaks, nearest known substances, substituent hypotheses,
 *                  predicted class, the figures, the library, and the note "library search
 *                  results, not identifications"
 *   mirror.png     the consensus spectrum (up) against the nearest library spectrum (down)
 *   timeline.png   the members' detections per day (or ISO week)
 *
 *     npsw_advisory a = {.key = "NPSW-ADV-2026-0001", .version = 1, .state = "draft", ...};
 *     rc = npsw_advisory_write(&a, "adv/", 0, &err);
 *
 * An advisory reports counts and countries only: it is built from an npsw_signal, which holds
 * no laboratory or submission ids (docs/ledger.md, "Privacy rules"). The same input (and the
 * same font, FreeType and libpng) gives the same bytes: no clock is read here.
 */
#ifndef NPSW_ADVISORY_H
#define NPSW_ADVISORY_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/err.h"
#include "npsw/score.h"
#include "npsw/signals.h"

#ifdef __cplusplus
extern "C" {
#endif

#define NPSW_ADVISORY_SCHEMA "npswatch-advisory/1"
#define NPSW_ADVISORY_MAX_HITS 10

/* A library spectrum the consensus was compared with. Strings may be NULL. */
typedef struct npsw_advisory_ref {
    const char *name, *inchikey, *accession, *formula, *cls;
    uint64_t index;      /* 1-based library index (0 = unknown) */
    npsw_peaks peaks;    /* for the mirror plot (may be empty in a hit list) */
    npsw_scores scores;  /* the consensus (query) against this spectrum */
    int has_delta;       /* delta: the members' median mass difference to it (analogue) */
    double delta;
} npsw_advisory_ref;

typedef struct npsw_advisory {
    const char *key;           /* stable advisory id, e.g. "NPSW-ADV-2026-0001" */
    int version;               /* 1, 2, ...: a new version never overwrites an old one */
    const char *state;         /* review state: "draft", "accepted" or "rejected" */
    const char *supersedes;    /* "KEY vN" of the version this one replaces, or NULL */
    const char *issued_utc;    /* ISO 8601 UTC (callers honour SOURCE_DATE_EPOCH) */
    const char *issuer;        /* e.g. "npswatch 0.1.0" */
    int64_t signal_id;
    const npsw_signal *signal;
    const npsw_signal_opts *signal_opts; /* the method's parameters (and `now` of the trend) */
    uint32_t min_labs;         /* the reporting threshold the signal met */
    const char *lib_name, *lib_version, *lib_sha256, *lib_file; /* the library compared with */
    /* the library spectrum of the mirror plot, and why it was chosen ("the most frequent
     * analogue of the members", "the best identity hit of the consensus"); NULL = none */
    const npsw_advisory_ref *ref;
    const char *ref_basis;
    const npsw_advisory_ref *hits; /* identity hits of the consensus, best first */
    size_t n_hits;                 /* at most NPSW_ADVISORY_MAX_HITS are reported */
    const char *font_path;     /* NULL: npsw_font_path(NULL) */
    /* how the consensus and the reference were matched (the library's search parameters): the
     * mirror plot then draws the unmatched peaks pale (npsw_match_peaks); NULL: all full */
    const npsw_score_params *match_params;
} npsw_advisory;

/* Check that the fields an advisory needs are there (NPSW_EINVAL with a message). */
int npsw_advisory_check(const npsw_advisory *a, npsw_err *err) NPSW_WUR;
/* advisory.json (pretty-printed, ends with a newline) and advisory.md texts; malloc'ed.
 * has_mirror says whether mirror.png is part of the advisory (it needs a reference spectrum). */
int npsw_advisory_json(const npsw_advisory *a, int has_mirror, char **json, npsw_err *err) NPSW_WUR;
int npsw_advisory_markdown(const npsw_advisory *a, int has_mirror, char **md, npsw_err *err) NPSW_WUR;

/* Write the advisory directory `dir` atomically: everything goes into "DIR.tmp-PID" (created
 * new), each file is fsync'ed, then the directory is renamed to DIR and the parent fsync'ed.
 * An existing DIR is an error (NPSW_EINVAL, nothing written) unless `force`; then it must be
 * an earlier advisory directory (holding advisory.json) or empty: it is moved aside, the new
 * one renamed in, and the old one's files removed. On any failure the temporary directory is
 * removed and an existing DIR is left as it was. */
int npsw_advisory_write(const npsw_advisory *a, const char *dir, int force, npsw_err *err) NPSW_WUR;

/* "precursor of fentanyl" for "precursor:fentanyl", "unclassified" for "other", else the
 * class name. */
const char *npsw_advisory_class_statement(const char *cls, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
