/* npsw/library.h - an in-memory reference library: cleaned spectra in flat columns.
 *
 * All peaks of all spectra live in two arrays (m/z, intensity) with per-spectrum offsets;
 * metadata are string columns. A library is built from spectra (npsw_lib_build) or read from an
 * HDF5 library file (npsw_lib_open in npsw/libfile.h), and is immutable afterwards, so any
 * number of threads may search it at once.
 */
#ifndef NPSW_LIBRARY_H
#define NPSW_LIBRARY_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/clean.h"
#include "npsw/err.h"
#include "npsw/score.h"
#include "npsw/spectrum.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct npsw_lib npsw_lib;

/* One input file the library was built from. */
typedef struct npsw_lib_input {
    char *path;        /* as given on the command line (file name only is also fine) */
    char sha256[65];   /* of the file's bytes */
    uint64_t n_records;  /* spectra taken from it */
    uint64_t n_skipped;  /* bad records skipped */
} npsw_lib_input;

/* Lineage (library format 1.2, docs/format.md "/lineage"): how a library version was made from
 * another one. Lineage is provenance, not content: it is not part of the content SHA-256. */

/* One library version in the ancestry chain. */
typedef struct npsw_lib_ancestor {
    char content_sha256[65]; /* its content SHA-256 */
    char version[64];        /* its version label */
    char advisory_key[64];   /* the advisory whose acceptance made it; "" = none (a library
                                built from files, or one extended with build --from --add) */
} npsw_lib_ancestor;

/* One spectrum added to the parent's spectra. */
typedef struct npsw_lib_addition {
    uint64_t index;  /* 0-based index in this library (>= the parent's size) */
    char *accession; /* its accession ("" when it has none) */
    char *name;      /* its name */
    char *reason;    /* why it was added, e.g. "accepted npswatch advisory NPSW-2026-0001" */
} npsw_lib_addition;

typedef struct npsw_lib_lineage {
    char parent_sha256[65];  /* content SHA-256 of the parent; "" = no parent (a library built
                                from files, or a file of format 1.0/1.1): all else is empty */
    char parent_name[256];   /* the parent's name and version */
    char parent_version[64];
    char advisory_key[64];   /* the advisory that caused this version; "" = none */
    int64_t advisory_id;     /* its id in the ledger; 0 = none */
    size_t n_added;          /* spectra appended to the parent's, in library order */
    npsw_lib_addition *added;
    size_t n_ancestors;      /* the full chain from the root library to the parent (last);
                                each child copies its parent's chain and adds the parent */
    npsw_lib_ancestor *ancestors;
} npsw_lib_lineage;

typedef struct npsw_lib_info {
    char name[256];          /* library name, e.g. "SWGDRUG DEA subset" */
    char version[64];        /* library version, e.g. "3.4-dea.1" */
    char created_utc[32];    /* ISO 8601 */
    char npsw_version[32];   /* npswatch that built it */
    int format_major, format_minor;
    char content_sha256[65]; /* SHA-256 of the content (docs/format.md, "Content checksum") */
    npsw_clean_opts clean;   /* how the spectra were cleaned */
    size_t n_inputs;
    npsw_lib_input *inputs;
    npsw_lib_lineage lineage; /* parent, advisory, added entries, ancestry (format 1.2) */
} npsw_lib_info;

typedef struct npsw_lib_build_report {
    uint64_t n_in;           /* spectra given */
    uint64_t n_empty;        /* dropped: no peaks left after cleaning */
    uint64_t n_out;          /* spectra in the library */
    uint64_t n_duplicate_accessions; /* accessions seen more than once (warned) */
} npsw_lib_build_report;

/* Build a library from spectra: each is cleaned with `clean` (modifying `spectra`), spectra left
 * without peaks are dropped and counted. `inputs` (may be NULL) is copied as provenance.
 * created_utc is taken from SOURCE_DATE_EPOCH when set (reproducible builds), else the clock. */
npsw_lib *npsw_lib_build(npsw_spectrum *spectra, size_t n, const npsw_clean_opts *clean,
                         const char *name, const char *version, const npsw_lib_input *inputs,
                         size_t n_inputs, npsw_lib_build_report *rep, npsw_err *err);
void npsw_lib_free(npsw_lib *lib);

/* How npsw_lib_append makes a new version. */
typedef struct npsw_lib_append_opts {
    const char *name;          /* library name; NULL = the parent's */
    const char *version;       /* version label (required, not empty) */
    const char *advisory_key;  /* the advisory that causes this version; NULL = none */
    int64_t advisory_id;       /* its ledger id; 0 = none */
    const char *reason;        /* why the spectra are added (recorded per added entry) */
    const char *const *reasons; /* per added spectrum (n_add entries; NULL entries and a NULL
                                   array fall back to `reason`) */
    const npsw_lib_input *inputs; /* provenance of the added spectra's files (may be NULL); they
                                     are listed after the parent's inputs */
    size_t n_inputs;
} npsw_lib_append_opts;

/* A new library version: every spectrum of `parent` unchanged and in its order (indices stay
 * valid), then the spectra `add` cleaned with the parent's cleaning parameters (modifying
 * `add`); spectra left without peaks are dropped and counted in rep->n_empty. An added spectrum
 * whose accession is already in the parent, or given twice, is refused (NPSW_EINVAL naming it):
 * no silent duplicates. The lineage is filled in: parent SHA-256, name and version, the
 * advisory, the added entries with their reasons, and the ancestry (the parent's chain plus the
 * parent). NPSW_EEMPTY when no added spectrum keeps a peak. created_utc as for npsw_lib_build.
 * rep (may be NULL): n_in and n_empty count the added spectra, n_out is the new library's size. */
npsw_lib *npsw_lib_append(const npsw_lib *parent, npsw_spectrum *add, size_t n_add,
                          const npsw_lib_append_opts *o, npsw_lib_build_report *rep,
                          npsw_err *err);

uint64_t npsw_lib_size(const npsw_lib *lib);
uint64_t npsw_lib_npeaks(const npsw_lib *lib);
const npsw_lib_info *npsw_lib_get_info(const npsw_lib *lib);
/* Peaks of spectrum i (0-based). */
npsw_peaks npsw_lib_peaks(const npsw_lib *lib, uint64_t i);
/* Metadata of spectrum i; "" when absent. The string lives in a small per-thread ring of four
 * buffers (values are stored without terminators): it stays valid for the next three calls on
 * the same thread. Copy it to keep it longer. Values longer than 4095 bytes are cut. */
const char *npsw_lib_meta(const npsw_lib *lib, uint64_t i, int field);
double npsw_lib_precursor_mz(const npsw_lib *lib, uint64_t i);
double npsw_lib_mw(const npsw_lib *lib, uint64_t i);
double npsw_lib_exact_mass(const npsw_lib *lib, uint64_t i);
double npsw_lib_retention_index(const npsw_lib *lib, uint64_t i);
int npsw_lib_ion_mode(const npsw_lib *lib, uint64_t i);
/* Copy spectrum i out (peaks and metadata). */
int npsw_lib_get_spectrum(const npsw_lib *lib, uint64_t i, npsw_spectrum *out) NPSW_WUR;

/* How the match-factor search index is held (format 1.3, docs/format.md "/index/mf"): stored in
 * the file (for which weights, mapped or read), or built in memory at each search. */
void npsw_lib_search_index_describe(const npsw_lib *lib, char *buf, size_t size);

/* ---- part of a library ------------------------------------------------------------------
 * A library may hold only some of a library file's spectra (npsw_lib_open_shard and
 * npsw_lib_open_part in npsw/libfile.h): one contiguous range for one rank of a distributed
 * search (tools/mpi, docs/mpi.md), or a list of spectra such as the hits of a merged search.
 * A part keeps the file's order, and each of its spectra knows its index in the whole library;
 * every other function takes and returns the part's own (local) indices, 0..npsw_lib_size-1.
 * Its info (name, version, content SHA-256, cleaning, provenance, lineage) is the whole
 * library's. A part cannot be written, verified or extended (NPSW_EINVAL): its content is not
 * the content its checksum describes. For a whole library, whole and local indices coincide. */
int npsw_lib_is_part(const npsw_lib *lib);
/* Spectra in the whole library (npsw_lib_size for a whole library). */
uint64_t npsw_lib_whole_size(const npsw_lib *lib);
/* Whole-library index of local spectrum i. */
uint64_t npsw_lib_whole_index(const npsw_lib *lib, uint64_t i);
/* Local index of whole-library index w, or UINT64_MAX when this part does not hold it. */
uint64_t npsw_lib_local_index(const npsw_lib *lib, uint64_t w);

/* Recompute the content SHA-256 (docs/format.md) into hex. */
void npsw_lib_content_sha256(const npsw_lib *lib, char hex[65]);

/* Current UTC time as ISO 8601 ("2026-11-26T10:00:00Z"), or SOURCE_DATE_EPOCH when set. */
void npsw_utc_now(char buf[32]);

#ifdef __cplusplus
}
#endif
#endif
