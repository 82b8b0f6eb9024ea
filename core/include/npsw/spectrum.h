/* npsw/spectrum.h - the spectrum model shared by importers, the library file and the search.
 *
 * A spectrum is a list of peaks (m/z as double, intensity as float) plus metadata. Text metadata
 * live in one array indexed by enum npsw_meta, so that storage (HDF5 string columns), output and
 * importers can loop over the fields instead of naming each one. All strings are UTF-8 (importers
 * convert Latin-1/CP437 input) and owned by the spectrum; NULL means "not given".
 */
#ifndef NPSW_SPECTRUM_H
#define NPSW_SPECTRUM_H

#include <stddef.h>
#include <stdint.h>

#include "npsw/err.h"

#ifdef __cplusplus
extern "C" {
#endif

/* X(ENUM_SUFFIX, "column_name", "description") - the order is the on-disk column order of the
 * library file format; append new fields at the end only. */
#define NPSW_META_FIELDS(X)                                                          \
    X(NAME, "name", "compound name")                                                 \
    X(SYNONYMS, "synonyms", "synonyms, one per line (separated by \\n)")             \
    X(FORMULA, "formula", "molecular formula")                                       \
    X(CAS, "cas", "CAS registry number, normalised to NNNNNNN-NN-N")                 \
    X(INCHIKEY, "inchikey", "InChIKey")                                              \
    X(SMILES, "smiles", "SMILES")                                                    \
    X(PRECURSOR_TYPE, "precursor_type", "precursor ion type, e.g. [M+H]+")           \
    X(INSTRUMENT, "instrument", "instrument model")                                  \
    X(INSTRUMENT_TYPE, "instrument_type", "instrument type, e.g. GC-EI-Q")           \
    X(IONIZATION, "ionization", "ionisation / technique, e.g. EI, ESI-MS/MS")        \
    X(COLLISION_ENERGY, "collision_energy", "collision energy as given")             \
    X(SOURCE, "source", "contributor / source")                                      \
    X(ACCESSION, "accession", "library accession (DB#, NIST#, MassBank accession)")  \
    X(LICENSE, "license", "licence of the record")                                   \
    X(COMMENTS, "comments", "free comments")                                         \
    X(CLASS, "class", "drug class, e.g. cathinone, precursor:fentanyl (docs/classes.md)")

enum npsw_meta {
#define NPSW_X_META(e, col, desc) NPSW_META_##e,
    NPSW_META_FIELDS(NPSW_X_META)
#undef NPSW_X_META
        NPSW_META_COUNT
};

/* Column name of a metadata field ("name", "inchikey", ...), or NULL when out of range. */
const char *npsw_meta_column(int field);

enum npsw_ion_mode { NPSW_ION_UNKNOWN = 0, NPSW_ION_POSITIVE = 1, NPSW_ION_NEGATIVE = -1 };

typedef struct npsw_spectrum {
    uint32_t n;          /* number of peaks */
    uint32_t cap;        /* allocated peaks */
    double *mz;          /* m/z, ascending after cleaning */
    float *intensity;    /* intensities; base peak 999 after cleaning */
    char *meta[NPSW_META_COUNT];
    double mw;           /* nominal or average molecular weight; 0 = unknown */
    double exact_mass;   /* monoisotopic mass; 0 = unknown */
    double precursor_mz; /* 0 = none (EI, or PrecursorMZ: 0 in the input) */
    double retention_index; /* 0 = unknown */
    int ion_mode;        /* enum npsw_ion_mode */
    /* where the record came from, for messages */
    uint64_t src_line;   /* line of the record's first line in its file; 0 = unknown */
} npsw_spectrum;

/* Initialise an empty spectrum (no allocation). */
void npsw_spectrum_init(npsw_spectrum *s);
/* Free everything the spectrum owns and re-initialise it. Accepts NULL. */
void npsw_spectrum_free(npsw_spectrum *s);
/* Drop peaks and metadata but keep the peak buffers for reuse. */
void npsw_spectrum_reset(npsw_spectrum *s);
/* Append a peak. Returns 0 or NPSW_ENOMEM. */
int npsw_spectrum_push(npsw_spectrum *s, double mz, float intensity) NPSW_WUR;
/* Make room for `n` peaks in total. */
int npsw_spectrum_reserve(npsw_spectrum *s, uint32_t n) NPSW_WUR;
/* Set metadata field `field` to a copy of `value` (len bytes, or strlen when len == (size_t)-1).
 * Replaces any previous value. */
int npsw_spectrum_set_meta(npsw_spectrum *s, int field, const char *value, size_t len) NPSW_WUR;
/* Append a line to a metadata field (used for synonyms, comments): joined with '\n'. */
int npsw_spectrum_append_meta(npsw_spectrum *s, int field, const char *value, size_t len) NPSW_WUR;
/* Deep copy `src` into `dst` (dst is freed first). */
int npsw_spectrum_copy(npsw_spectrum *dst, const npsw_spectrum *src) NPSW_WUR;
/* Metadata value or "" (never NULL), convenient for printing. */
const char *npsw_spectrum_meta(const npsw_spectrum *s, int field);

#ifdef __cplusplus
}
#endif
#endif
