/* npsw/ledger_signals.h - signals and advisories stored in the lab-submissions ledger
 * (npsw/ledger.h; tables signals, signal_members and advisories in docs/ledger.md; method in
 * docs/signals.md, advisory files in docs/advisory.md).
 *
 *     npsw_signal_opts o = npsw_signal_opts_default();  o.now = ...;
 *     npsw_ledger_signal *sig; size_t n;
 *     rc = npsw_ledger_signals_update(l, &o, "cli:alice", &sig, &n, &rep, &err);
 *     ... report the signals with sig[i].sig.n_labs >= min_labs ...
 *     npsw_ledger_signals_free(sig, n);
 *
 * Privacy (docs/ledger.md, "Privacy rules"): what these functions return describes a signal by
 * counts and countries (npsw_signal); laboratory and submission ids stay inside the ledger.
 */
#ifndef NPSW_LEDGER_SIGNALS_H
#define NPSW_LEDGER_SIGNALS_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/err.h"
#include "npsw/ledger.h"
#include "npsw/signals.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct npsw_ledger_signal {
    int64_t id;              /* signals.id: stable across updates (docs/signals.md) */
    char status[16];         /* "open", "advised" or "closed" */
    char created_utc[32], updated_utc[32];
    npsw_signal sig;         /* the summary (members are spectra.id values) */
} npsw_ledger_signal;

void npsw_ledger_signals_free(npsw_ledger_signal *v, size_t n);

typedef struct npsw_ledger_signals_report {
    uint64_t n_candidates; /* spectra whose latest result is analogue or unknown */
    uint64_t n_signals;    /* clusters of at least o->min_members spectra */
    uint64_t n_new;        /* signals created */
    uint64_t n_changed;    /* existing signals whose members changed */
    uint64_t n_unchanged;  /* existing signals with the same members */
    uint64_t n_closed;     /* earlier signals no cluster continues: status closed */
    int64_t audit_seq;     /* the "signals.update" audit entry */
} npsw_ledger_signals_report;

/* Cluster every spectrum of the ledger whose latest result says analogue or unknown
 * (npsw_signals_cluster, read in one read transaction; the clustering runs outside any
 * transaction), then store the signals in ONE write transaction: a cluster continues the
 * existing signal it shares most member spectra with (ties: the older signal; each signal
 * continues at most one cluster) and keeps its id and status (a closed signal, e.g. one whose
 * advisory was accepted, reopens only when a member was received after it was closed); other
 * clusters become new signals (status open); earlier signals that no cluster continues are
 * closed (their members are kept). An audit entry "signals.update" by `actor` records the
 * counts and parameters. *out (may be NULL) receives the current signals ordered by id.
 * Returns 0 or an error (NPSW_EIO for SQLite failures, the ledger named in err). */
int npsw_ledger_signals_update(npsw_ledger *l, const npsw_signal_opts *o, const char *actor,
                               npsw_ledger_signal **out, size_t *n_out,
                               npsw_ledger_signals_report *rep, npsw_err *err) NPSW_WUR;

/* The library most of a signal's members were analysed with (their latest results). */
typedef struct npsw_ledger_signal_library {
    char sha256[65];       /* library_versions.content_sha256 ("" when unknown) */
    char name[256], version[64];
    char *file_path;       /* where the file was when recorded (malloc'ed; NULL = none) */
    uint32_t n_members;    /* members analysed with it */
    int64_t analogue_index; /* 1-based index in that library of the signal's most frequent
                               analogue (sig.analogues[0]) as the members' results gave it;
                               0 = none */
} npsw_ledger_signal_library;

/* Signal `id` with its stored members summarised again (o->now for the trend), and the library
 * of its members (lib may be NULL; free lib->file_path). NPSW_EINVAL when there is no such
 * signal or it has no members. */
int npsw_ledger_signal_get(npsw_ledger *l, int64_t id, const npsw_signal_opts *o,
                           npsw_ledger_signal *out, npsw_ledger_signal_library *lib,
                           npsw_err *err) NPSW_WUR;

/* ---- advisories ---------------------------------------------------------------------------- */

/* Writes the advisory files for the key and version chosen inside the transaction (supersedes:
 * "KEY vN" of the previous version, or NULL) and returns advisory.json's text in *json
 * (malloc'ed). Returns 0 or an error code. */
typedef int (*npsw_ledger_advisory_writer)(void *user, const char *key, int version,
                                           const char *supersedes, char **json, npsw_err *err);

typedef struct npsw_ledger_advisory_rec {
    int64_t id;              /* advisories.id */
    char key[64];            /* "NPSW-ADV-2026-0007" */
    int version;
    int64_t supersedes_id;   /* 0 = none */
    int files_written;       /* the writer succeeded: when an error follows, the caller removes
                                what it wrote */
} npsw_ledger_advisory_rec;

/* Create an advisory for signal `signal_id` in ONE write transaction: the key is that of the
 * signal's earlier advisory (a new version supersedes it) or "NPSW-ADV-<year>-<signal id, 4
 * digits>"; the writer writes the files; then the advisories row (state draft, advisory_json,
 * dir_path), the audit entry "advisory.create" by `actor` (details: key, version, signal,
 * supersedes, directory, SHA-256 of the JSON) and the signal's status 'advised' are stored.
 * NPSW_EINVAL when there is no such signal. */
int npsw_ledger_advisory_create(npsw_ledger *l, int64_t signal_id, int year, const char *dir_path,
                                const char *actor, npsw_ledger_advisory_writer writer, void *user,
                                npsw_ledger_advisory_rec *out, npsw_err *err) NPSW_WUR;

/* "2026-11-26T10:00:00Z" -> Unix seconds; NPSW_EPARSE when it is not that form. */
int npsw_ledger_parse_utc(const char *s, int64_t *t) NPSW_WUR;

#ifdef __cplusplus
}
#endif
#endif
