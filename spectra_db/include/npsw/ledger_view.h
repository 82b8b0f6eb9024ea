/* npsw/ledger_view.h - read-only views of the ledger as JSON (cJSON) objects, for the HTTP
 * service (docs/service.md) and any other reader. Every view keeps the privacy rules of
 * docs/ledger.md: a laboratory's submissions are addressed by their per-laboratory number
 * (1, 2, 3, ... in the order the laboratory submitted them), never by the global submission id;
 * signals are listed only once at least min_labs laboratories saw them, by counts and
 * countries; no view returns token hashes.
 *
 * Returns follow npsw/err.h: 0 (or a count), NPSW_EINVAL when the object does not exist (for a
 * laboratory's submission: does not exist *for that laboratory*), NPSW_EIO for SQLite failures,
 * NPSW_ENOMEM. *out is to be freed with cJSON_Delete.
 */
#ifndef NPSW_LEDGER_VIEW_H
#define NPSW_LEDGER_VIEW_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "npsw/err.h"
#include "npsw/ledger.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The laboratory's number of submission `id` (1-based, in submission order); 0 when the
 * submission is not the laboratory's. */
int64_t npsw_view_submission_number(npsw_ledger *l, int64_t lab_id, int64_t id, npsw_err *err);

/* {"total": N, "offset": O, "submissions": [ {number, received_utc, file_name, sha256, size,
 * format, n_spectra, n_skipped}, ... ]}, newest first. limit 1..1000. */
int npsw_view_submissions(npsw_ledger *l, int64_t lab_id, int64_t offset, int64_t limit,
                          cJSON **out, npsw_err *err) NPSW_WUR;

/* One of the laboratory's submissions by its number: the list fields plus "report" (the parser
 * report) and, with `results`, "spectra": [{position, name, precursor_mz, n_peaks, status,
 * results: [{created_utc, library_sha256, verdict, confidence, ..., analysis, run}]}].
 * *id (may be NULL) receives the global id. NPSW_EINVAL when the laboratory has no such
 * submission. */
int npsw_view_submission(npsw_ledger *l, int64_t lab_id, int64_t number, int results,
                         cJSON **out, int64_t *id, npsw_err *err) NPSW_WUR;

/* {"min_labs": M, "signals": [{id, status, n_labs, n_submissions, countries, first_seen_utc,
 * last_seen_utc, score, predicted_class, created_utc, updated_utc, details, consensus:
 * [[mz, intensity], ...], advisories: [keys]}]} for signals seen by >= min_labs laboratories,
 * most urgent (score) first. With id > 0 only that signal (NPSW_EINVAL when there is no such
 * reportable signal). */
int npsw_view_signals(npsw_ledger *l, uint32_t min_labs, int64_t id, cJSON **out,
                      npsw_err *err) NPSW_WUR;

/* {"advisories": [{id, key, version, signal_id, state, supersedes_id, retracted_utc,
 * created_utc, reviewed_utc, reviewer, note}]}, newest first. */
int npsw_view_advisories(npsw_ledger *l, cJSON **out, npsw_err *err) NPSW_WUR;
/* One advisory by key (its newest version) or id (all digits), with "advisory" (the parsed
 * advisory.json); *dir (may be NULL; malloc'ed, may come back NULL) receives its directory. */
int npsw_view_advisory(npsw_ledger *l, const char *key_or_id, cJSON **out, char **dir,
                       npsw_err *err) NPSW_WUR;

/* {"libraries": [{id, name, version, content_sha256, parent_sha256, advisory_key, created_utc,
 * has_file}]}, oldest first. With id > 0 that one; *file (may be NULL; malloc'ed, may come back
 * NULL) receives its recorded file path. */
int npsw_view_libraries(npsw_ledger *l, int64_t id, cJSON **out, char **file,
                        npsw_err *err) NPSW_WUR;

#ifdef __cplusplus
}
#endif
#endif
