/* library_internal.h - the layout of npsw_lib, shared by core (build, search) and spectra_db
 * (the HDF5 file reader and writer). Not installed. */
#ifndef NPSW_LIBRARY_INTERNAL_H
#define NPSW_LIBRARY_INTERNAL_H

#include "npsw/library.h"

/* A string column: value i is data[off[i] .. off[i+1]) (no NUL inside; "" when empty). */
typedef struct npsw_strcol {
    char *data;
    uint64_t *off; /* n + 1 entries */
} npsw_strcol;

/* Inverted peak index of a nominal-mass library: for nominal m/z m (1..max_mz), postings
 * bin_start[m] .. bin_start[m+1] hold (spectrum id, intensity) pairs sorted by spectrum id. */
typedef struct npsw_nominal_index {
    uint32_t max_mz;
    uint64_t *bin_start; /* max_mz + 2 entries */
    uint32_t *spec;      /* n_peaks */
    float *in;           /* n_peaks */
} npsw_nominal_index;

struct npsw_lib {
    uint64_t n, n_peaks;
    uint64_t *offsets; /* n + 1 */
    double *mz;
    float *in;
    double *mw, *exact_mass, *precursor_mz, *ri;
    int8_t *ion_mode;
    npsw_strcol meta[NPSW_META_COUNT];
    npsw_lib_info info;
    npsw_nominal_index idx; /* built for nominal libraries; empty otherwise */
    /* a part of a library file (npsw_lib_is_part): spectra whole_first .. whole_first + n - 1
     * of the whole, or, when whole_idx is set, spectra whole_idx[0..n) (strictly ascending) */
    int part;
    uint64_t whole_n, whole_first;
    uint64_t *whole_idx;
};

/* Allocate an empty library with room for n spectra and n_peaks peaks (columns zeroed). */
npsw_lib *npsw_lib_alloc(uint64_t n, uint64_t n_peaks);
/* Build idx from the peaks. Returns 0 or NPSW_ENOMEM. */
int npsw_lib_build_index(npsw_lib *lib);
/* Check a loaded index against the peaks it must have been made from. */
int npsw_lib_check_index(const npsw_lib *lib, npsw_err *err);
void npsw_lib_info_free(npsw_lib_info *info);

#endif
